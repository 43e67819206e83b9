// A RocksDB FileSystem for power-loss tests (in the spirit of RocksDB's FaultInjectionTestFS):
// it passes everything through while remembering, per file written through it, how many bytes
// were durable at the last Sync/Fsync. CutPower() makes every later write, sync, rename and delete
// a silent no-op (the machine is off); after the DB is closed, RestoreToSynced() truncates every
// file to what was synced, which is what a disk holds after a power cut. Directory entries are
// taken as durable (RocksDB syncs its directories; this model does not drop them).
// Thread-safe.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace nrm::testing {

class PowerCutFs : public rocksdb::FileSystemWrapper {
 public:
  PowerCutFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "PowerCutFs"; }

  void CutPower() {
    std::lock_guard<std::mutex> lock(mu_);
    cut_ = true;
  }

  // REQUIRES: the DB using this file system is closed. Returns how many files lost bytes.
  int RestoreToSynced() {
    std::lock_guard<std::mutex> lock(mu_);
    int damaged = 0;
    for (const auto& [name, f] : files_) {
      if (f.written > f.synced) ++damaged;
      if (::truncate(name.c_str(), static_cast<off_t>(f.synced)) != 0) continue;
    }
    return damaged;
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        files_[f] = {};
      }
      *r = std::make_unique<File>(std::move(*r), this, f);
    }
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    uint64_t size = 0;
    (void)target()->GetFileSize(f, rocksdb::IOOptions(), &size, dbg);
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, o, r, dbg);
    if (s.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        files_[f] = {size, size};
      }
      *r = std::make_unique<File>(std::move(*r), this, f);
    }
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cut_) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = target()->RenameFile(src, dst, o, dbg);
    if (s.ok()) {
      auto it = files_.find(src);
      if (it != files_.end()) {
        files_[dst] = it->second;
        files_.erase(src);
      } else {
        files_.erase(dst);
      }
    }
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cut_) return rocksdb::IOStatus::OK();
    files_.erase(f);
    return target()->DeleteFile(f, o, dbg);
  }

 private:
  struct Sizes {
    uint64_t synced = 0;
    uint64_t written = 0;
  };

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile>&& t, PowerCutFs* fs, std::string name)
        : FSWritableFileOwnerWrapper(std::move(t)), fs_(fs), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->Off()) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Append(data, o, dbg);
      if (s.ok()) fs_->Wrote(name_, data.size());
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (fs_->Off()) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Append(data, o, info, dbg);
      if (s.ok()) fs_->Wrote(name_, data.size());
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->Off()) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Sync(o, dbg);
      if (s.ok()) fs_->Synced(name_);
      return s;
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      if (fs_->Off()) return rocksdb::IOStatus::OK();
      rocksdb::IOStatus s = target()->Fsync(o, dbg);
      if (s.ok()) fs_->Synced(name_);
      return s;
    }

   private:
    PowerCutFs* fs_;
    std::string name_;
  };

  bool Off() {
    std::lock_guard<std::mutex> lock(mu_);
    return cut_;
  }
  void Wrote(const std::string& f, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[f].written += n;
  }
  void Synced(const std::string& f) {
    std::lock_guard<std::mutex> lock(mu_);
    files_[f].synced = files_[f].written;
  }

  std::mutex mu_;
  bool cut_ = false;
  std::map<std::string, Sizes> files_;
};

}  // namespace nrm::testing
