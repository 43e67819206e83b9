// Internal to nrm_audit: the stored log as the read side opens it (read-only, with the audit
// column families) and the few things read from it that verification and proofs both need.
// Not part of the library's interface: audit_reader.h is.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/big_endian.h"
#include "audit/note.h"
#include "common/bytes.h"
#include "common/rocks.h"
#include "common/status.h"

namespace nrm::audit::stored {

using rocks::FromRocks;
using rocks::FromSlice;
using rocks::ToSlice;

inline bool SameBytes(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// A read-only open of the broker's database with the audit column families.
class ReadOnlyLog {
 public:
  // kNotFound when `path` holds no audit log; kIOError or kCorruption when it cannot be opened.
  static Result<std::unique_ptr<ReadOnlyLog>> Open(const std::string& path);
  ~ReadOnlyLog();

  rocksdb::DB* db() const { return db_.get(); }
  const AuditColumnFamilies& cfs() const { return cfs_; }

 private:
  ReadOnlyLog() = default;
  std::unique_ptr<rocksdb::DB> db_;  // declared first, destroyed last (after the handles)
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  AuditColumnFamilies cfs_;
};

// The stored head with the largest size, or kNotFound.
Result<StoredHead> LatestStoredHead(rocksdb::DB* db, const AuditColumnFamilies& cfs);
// The checkpoint a proof is made against: of size `at_size`, or the latest when 0.
Result<StoredHead> CheckpointForProof(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                      uint64_t at_size);
// The "audit_meta" value under `key`; kNotFound when there is none.
Result<std::string> StoredMeta(rocksdb::DB* db, const AuditColumnFamilies& cfs, const char* key);
// The vkeys the broker recorded, one per line; lines that do not parse are skipped.
std::vector<note::VerifierKey> StoredWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs);
Result<Bytes> StoredBrokerKey(rocksdb::DB* db, const AuditColumnFamilies& cfs);

// Calls fn(index, record encoding) for records 0, 1, ... until `limit` records, the end of the
// records, or fn returns false. Returns how many records fn accepted; kCorruption on a gap or a
// short value, or fn's error.
template <typename Fn>
Result<uint64_t> ForEachRecord(rocksdb::DB* db, const AuditColumnFamilies& cfs, uint64_t limit,
                               Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  uint64_t index = 0;
  for (it->SeekToFirst(); it->Valid() && index < limit; it->Next(), ++index) {
    ByteView key = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (key.size() != 8 || GetBe64(key.data()) != index || value.size() < kChainBytes) {
      return Corruption("record " + std::to_string(index) + " is missing or malformed; run verify");
    }
    NRM_ASSIGN_OR_RETURN(bool more, fn(index, value.subspan(kChainBytes)));
    if (!more) return index + 1;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  return index;
}

}  // namespace nrm::audit::stored
