// Small adapters between RocksDB's types and nrm's, shared by the broker's store and its
// audit log. Header-only; thread-safe.
#pragma once

#include <rocksdb/slice.h>
#include <rocksdb/status.h>

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

}  // namespace nrm::rocks
