// MessageStore on a real RocksDB in a temporary directory.
#include "broker/store/message_store.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <atomic>

#include "common/crypto/crypto.h"
#include "common/rocks.h"
#include "tests/testing/temp_dir.h"

namespace nrm::broker {
namespace {

constexpr int64_t kT0 = 1795910400000;  // 2026-11-29
constexpr int64_t kDay = 86400000;

// Every acknowledged message leaves deleted entries in the queue and in the expiry index until
// compaction. The broker scans the expiry index every second (the deleted entries sort before
// those still queued: they expire earlier) and reads a queue whenever it may deliver; neither
// may step over them, or each costs time growing with the load.
TEST(MessageStoreTest, ScansStepOverNoDeletedEntry) {
  testing::TempDir dir;
  auto store = MessageStore::Open(dir.path() + "/store");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  MessageStore& s = **store;
  const int kAcknowledged = 2000;
  for (int i = 0; i <= kAcknowledged; ++i) {
    rocksdb::WriteBatch batch;
    s.AddAccepted(batch, crypto::RandomBytes(16), kT0, "police", {"shelter"}, Bytes(100, 1),
                  kT0 + kDay + i);
    ASSERT_TRUE(s.Commit(batch, /*sync=*/false).ok());
  }
  Result<std::vector<QueuedMessage>> queued = s.Pending("shelter", 0, kAcknowledged);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  ASSERT_EQ(queued->size(), static_cast<size_t>(kAcknowledged));  // all but the last
  rocksdb::WriteBatch acks;
  for (const QueuedMessage& m : *queued) {
    ASSERT_TRUE(s.AddAcknowledged(acks, "shelter", m.message_id, m.seq).ok());
  }
  ASSERT_TRUE(s.Commit(acks, /*sync=*/false).ok());
  ASSERT_EQ(s.PendingCount("shelter"), 1u);

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  rocksdb::WriteBatch batch;
  Result<std::vector<ExpiredMessage>> none = s.AddExpired(batch, kT0 + 1000, 100);
  const uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  EXPECT_LE(skipped, 1u) << "the scan stepped over the deleted entries of acknowledged messages";

  // Nor does a read of another queue (the broker reads one whenever it may deliver).
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  Result<std::vector<QueuedMessage>> police = s.Pending("police", 0, 64);
  const uint64_t skipped_reading = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(police.ok()) << police.status().ToString();
  EXPECT_TRUE(police->empty());
  EXPECT_LE(skipped_reading, 1u) << "reading police's queue stepped over shelter's";

  // Control: what is due is still found, and only that.
  Result<std::vector<ExpiredMessage>> due = s.AddExpired(batch, kT0 + kDay + kAcknowledged, 100);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ(due->front().recipient, "shelter");
}

// A file system whose log files (the WAL) fail every write while armed: with the error
// RocksDB's POSIX layer gives for EMFILE ("Too many open files"), or with a plain I/O error.
class FailingLogFs : public rocksdb::FileSystemWrapper {
 public:
  enum class Mode { kOff, kTooManyOpenFiles, kInputOutputError };
  FailingLogFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingLogFs"; }
  void Arm(Mode m) { mode_ = m; }
  // With true, log files are wrapped so that their writes fail too while armed.
  void FailLogWrites(bool on) { fail_log_writes_ = on; }
  rocksdb::IOStatus Failure(const std::string& what) const {
    switch (mode_.load()) {
      case Mode::kTooManyOpenFiles:
        return rocksdb::IOStatus::IOError(what, "Too many open files");
      case Mode::kInputOutputError:
        return rocksdb::IOStatus::IOError(what, "Input/output error");
      case Mode::kOff:
        break;
    }
    return rocksdb::IOStatus::OK();
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Failure("While open a file for appending: " + f); !s.ok()) return s;
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok() && f.ends_with(".log") && fail_log_writes_) {
      *r = std::make_unique<Log>(std::move(*r), this);
    }
    return s;
  }

 private:
  class Log : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    Log(std::unique_ptr<rocksdb::FSWritableFile> f, FailingLogFs* fs)
        : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Failure("While appending to the log"); !s.ok()) return s;
      return target()->Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      if (rocksdb::IOStatus s = fs_->Failure("While appending to the log"); !s.ok()) return s;
      return target()->Append(data, o, v, dbg);
    }

   private:
    FailingLogFs* fs_;
  };
  std::atomic<Mode> mode_{Mode::kOff};
  bool fail_log_writes_ = false;
};

// How RocksDB's errors are told apart: what passes when resources return (a full disk, a full
// descriptor table) is kResourceExhausted, damage is kCorruption, other I/O errors kIOError.
TEST(MessageStoreTest, ErrorsThatPassAreToldApartFromDamage) {
  using rocksdb::Status;
  EXPECT_EQ(rocks::FromRocks(Status::IOError("While open a file for appending: 000012.log",
                                             "Too many open files"),
                             "write")
                .code(),
            Code::kResourceExhausted);
  EXPECT_EQ(
      rocks::FromRocks(Status::NoSpace("While appending to file: 000012.log"), "write").code(),
      Code::kResourceExhausted);
  EXPECT_EQ(
      rocks::FromRocks(Status::IOError("While appending", "Input/output error"), "write").code(),
      Code::kIOError);
  EXPECT_EQ(rocks::FromRocks(Status::Corruption("block checksum mismatch"), "read").code(),
            Code::kCorruption);
}

// A full descriptor table when RocksDB needs a new file (a new log when a memtable fills: the
// "While open a file for appending" of issue 20's second attack): the write is refused and
// nothing of it applied. RocksDB 7.8 makes this error fatal to the open DB (Resume refuses), so
// the store says it cannot go on (kIOError: the broker stops, as before, and systemd restarts
// it); reopened, it holds every write it acknowledged and takes new ones.
TEST(MessageStoreTest, FullDescriptorTableAtANewLogRefusesTheWriteAndLosesNothing) {
  testing::TempDir dir;
  auto fs = std::make_shared<FailingLogFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  int written = 0;
  auto add = [&](MessageStore& s, int i) {
    rocksdb::WriteBatch batch;
    Bytes id(16, 0);
    id[0] = static_cast<uint8_t>(i >> 8);
    id[1] = static_cast<uint8_t>(i);
    s.AddAccepted(batch, id, kT0, "police", {"shelter"}, Bytes(200 * 1024, 7), kT0 + kDay);
    return s.Commit(batch);
  };
  {
    auto store = MessageStore::Open(dir.path() + "/store", {}, env.get());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(add(**store, 0).ok());
    written = 1;
    fs->Arm(FailingLogFs::Mode::kTooManyOpenFiles);
    // 200 KB a write: the 4 MiB memtable fills within 21, and the next needs a new log.
    Status refused;
    for (int i = 1; i < 64 && refused.ok(); ++i) {
      refused = add(**store, i);
      if (refused.ok()) ++written;
    }
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("Too many open files"), std::string::npos)
        << refused.ToString();
    EXPECT_EQ(refused.code(), Code::kIOError) << refused.ToString();
    fs->Arm(FailingLogFs::Mode::kOff);
  }
  auto reopened = MessageStore::Open(dir.path() + "/store", {}, env.get());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Result<std::vector<QueuedMessage>> queued = (*reopened)->Pending("shelter", 0, 1000);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_EQ(queued->size(), static_cast<size_t>(written))
      << "an acknowledged write was lost, or the refused one applied";
  EXPECT_TRUE(add(**reopened, 1000).ok());
}

// An I/O error that is not a shortage (EIO) is not taken for one: kIOError, which stops the
// broker as before (the store may be damaged).
TEST(MessageStoreTest, AnInputOutputErrorIsNotTakenForAShortage) {
  testing::TempDir dir;
  auto fs = std::make_shared<FailingLogFs>();
  fs->FailLogWrites(true);  // an EIO while writing the log
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  auto store = MessageStore::Open(dir.path() + "/store", {}, env.get());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  MessageStore& s = **store;
  rocksdb::WriteBatch first;
  s.AddAccepted(first, Bytes(16, 1), kT0, "police", {"shelter"}, Bytes(100, 1), kT0 + kDay);
  ASSERT_TRUE(s.Commit(first).ok());
  fs->Arm(FailingLogFs::Mode::kInputOutputError);
  rocksdb::WriteBatch second;
  s.AddAccepted(second, Bytes(16, 2), kT0, "police", {"shelter"}, Bytes(100, 2), kT0 + kDay);
  const Status refused = s.Commit(second);
  EXPECT_EQ(refused.code(), Code::kIOError) << refused.ToString();
  fs->Arm(FailingLogFs::Mode::kOff);
}

}  // namespace
}  // namespace nrm::broker
