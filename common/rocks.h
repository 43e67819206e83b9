// Small adapters between RocksDB's types and nrm's, shared by the broker's store and its
// audit log. Header-only; thread-safe.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/utilities/checkpoint.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::rocks {

inline rocksdb::Slice ToSlice(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline ByteView FromSlice(const rocksdb::Slice& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// OK, or the RocksDB error prefixed with `what`: kCorruption for damaged data,
// kResourceExhausted for what passes when resources return (a full disk, a full descriptor
// table: EMFILE, ENFILE), kIOError for the rest.
inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Corruption(std::move(message));
  if (s.IsNoSpace()) return ResourceExhausted(std::move(message));
  // RocksDB's POSIX layer reports EMFILE and ENFILE as IOError with strerror's words.
  if (s.IsIOError() && (message.find("Too many open files") != std::string::npos)) {
    return ResourceExhausted(std::move(message));
  }
  return IOError(std::move(message));
}

// Writes a consistent copy of the open database `db` at `dir`, which must not exist: the
// memtables are flushed, then the table files are hard-linked (copied across file systems) and
// the rest copied. What was written before the call is in it; the live database goes on.
inline Status CheckpointTo(rocksdb::DB* db, const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  return FromRocks(s, "cannot copy the store to " + dir);
}

}  // namespace nrm::rocks
