// What an operator who holds the broker's signing key can do to the audit log: drop some
// records and write the log anew, every checkpoint re-signed with the real key. The log then
// verifies on its own (`nrm audit verify` says intact); only a checkpoint kept from before (a
// witness's, an agent's) shows the rewrite. For the tests of that attack; header-only.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/big_endian.h"
#include "common/rocks.h"
#include "common/status.h"

namespace nrm::testing {

// Rewrites the log in `cfs` without the records for which `drop(index, record)` is true. Each
// checkpoint of the old log is signed again at the new size of its records (its time now_ms).
// Returns how many records were dropped.
inline Result<uint64_t> RewriteAuditLog(
    rocksdb::DB* db, const audit::AuditColumnFamilies& cfs, const crypto::SecretBytes& secret,
    const std::string& origin, int64_t now_ms,
    const std::function<bool(uint64_t, const audit::AuditRecord&)>& drop) {
  std::vector<audit::AuditRecord> kept;
  std::vector<uint64_t> new_size_of;  // new_size_of[i]: records kept among the first i
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  new_size_of.push_back(0);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const ByteView value(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size());
    NRM_ASSIGN_OR_RETURN(audit::AuditRecord r,
                         audit::DecodeRecord(value.subspan(audit::kChainBytes)));
    if (!drop(new_size_of.size() - 1, r)) kept.push_back(std::move(r));
    new_size_of.push_back(kept.size());
  }
  std::vector<uint64_t> head_sizes;
  std::unique_ptr<rocksdb::Iterator> heads(db->NewIterator(rocksdb::ReadOptions(), cfs.heads));
  for (heads->SeekToFirst(); heads->Valid(); heads->Next()) {
    const uint64_t size = audit::GetBe64(reinterpret_cast<const uint8_t*>(heads->key().data()));
    if (size < new_size_of.size()) head_sizes.push_back(new_size_of[size]);
  }
  it.reset();
  heads.reset();
  // Everything of the log goes, but the broker key and the origin.
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (rocksdb::ColumnFamilyHandle* cf : {cfs.records, cfs.heads, cfs.nodes}) {
    NRM_RETURN_IF_ERROR(rocks::FromRocks(
        db->DeleteRange(sync, cf, rocksdb::Slice("\0", 1), rocksdb::Slice("\xff\xff", 2)),
        "delete"));
  }
  for (const char* key : {audit::kFrontierKey, audit::kCosignedKey}) {
    NRM_RETURN_IF_ERROR(rocks::FromRocks(db->Delete(sync, cfs.meta, key), "delete"));
  }
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditLog> log,
                       audit::AuditLog::Open(db, cfs, secret.Clone(), origin));
  rocksdb::WriteBatch batch;
  size_t next_head = 0;
  for (size_t i = 0; i <= kept.size(); ++i) {
    while (next_head < head_sizes.size() && head_sizes[next_head] == i) {
      if (i > 0 && (next_head == 0 || head_sizes[next_head - 1] != i)) {
        NRM_RETURN_IF_ERROR(log->SignHead(now_ms, &batch).status());
      }
      ++next_head;
    }
    if (i < kept.size()) NRM_RETURN_IF_ERROR(log->Append(kept[i], &batch, nullptr));
  }
  NRM_RETURN_IF_ERROR(rocks::FromRocks(db->Write(sync, &batch), "write"));
  return uint64_t{new_size_of.size() - 1 - kept.size()};
}

}  // namespace nrm::testing
