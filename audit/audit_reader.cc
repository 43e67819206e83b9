#include "audit/audit_reader.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "audit/big_endian.h"
#include "audit/stored_log.h"

namespace nrm::audit {

using rocks::FromRocks;
using rocks::FromSlice;
using stored::CheckpointForProof;
using stored::ForEachRecord;
using stored::ReadOnlyLog;
using stored::SameBytes;
using stored::StoredBrokerKey;
using stored::StoredMeta;
using stored::StoredWitnessKeys;

Result<VerifyReport> VerifyLog(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                               const VerifyOptions& options) {
  VerifyReport report;
  auto bad_record = [&](uint64_t index, std::string problem) {
    report.first_bad_index = index;
    report.problem = std::move(problem);
    return report;
  };
  auto bad_head = [&](uint64_t size, std::string problem) {
    report.bad_head_size = size;
    report.problem = std::move(problem);
    return report;
  };

  Bytes key = options.broker_public_key;
  Result<Bytes> stored_key = StoredBrokerKey(db, cfs);
  if (!stored_key && stored_key.status().code() != Code::kNotFound) return stored_key.status();
  if (key.empty()) {
    if (!stored_key) return NotFound("the log stores no broker key; pass the broker's public key");
    key = *stored_key;
  } else if (stored_key && !SameBytes(*stored_key, key)) {
    report.problem = "the log's stored broker key " + ToHex(*stored_key) + " is not the key given";
    return report;
  }
  // The log's verifier key: the origin given, else the stored one. A log with legacy heads only
  // may have none; its heads need only the key.
  std::string origin = options.origin;
  Result<std::string> stored_origin = StoredMeta(db, cfs, kOriginKey);
  if (!stored_origin && stored_origin.status().code() != Code::kNotFound) {
    return stored_origin.status();
  }
  if (origin.empty() && stored_origin) origin = *stored_origin;
  if (!origin.empty() && stored_origin && *stored_origin != origin) {
    report.problem = "the log's stored origin \"" + *stored_origin + "\" is not the origin given";
    return report;
  }
  note::VerifierKey log_key{origin, 0, note::kTypeEd25519, key};
  if (!origin.empty()) {
    Result<note::VerifierKey> k = LogVerifierKey(origin, key);
    if (!k) {
      report.problem = "the log's origin is not valid: " + k.status().message();
      return report;
    }
    log_key = std::move(*k);
  }
  const std::vector<note::VerifierKey> witnesses =
      options.witnesses.empty() ? StoredWitnessKeys(db, cfs) : options.witnesses;

  // The checkpoints obtained elsewhere: each must be the log's, then match it at its size.
  struct External {
    const ExternalCheckpoint* source;
    Checkpoint checkpoint;
  };
  std::vector<External> externals;
  for (const ExternalCheckpoint& e : options.checkpoints) {
    if (origin.empty()) {
      report.problem = "the log has no origin to check checkpoint " + e.label + " against";
      return report;
    }
    Result<VerifiedCheckpoint> v = VerifyCheckpointNote(e.note, log_key, witnesses);
    if (!v) {
      report.problem =
          "checkpoint " + e.label + " is not one of this log's: " + v.status().message();
      return report;
    }
    externals.push_back({&e, std::move(v->checkpoint)});
  }
  std::sort(externals.begin(), externals.end(), [](const External& a, const External& b) {
    return a.checkpoint.size < b.checkpoint.size;
  });
  size_t next_external = 0;

  CompactRange frontier;
  Hash frontier_chain{};
  bool has_frontier = false;
  {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs.meta, kFrontierKey, &value);
    if (s.ok()) {
      if (!DecodeFrontier(AsBytes(value), &frontier, &frontier_chain).ok()) {
        report.problem = "the audit_meta frontier does not parse";
        return report;
      }
      has_frontier = true;
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading the frontier");
    }
  }

  CompactRange tree;
  Hash chain{};
  uint64_t last_good_head = 0;
  std::unique_ptr<rocksdb::Iterator> heads(db->NewIterator(rocksdb::ReadOptions(), cfs.heads));
  heads->SeekToFirst();
  // Checks the signed heads, the frontier and the external checkpoints of the current tree
  // size; nullopt when all is well, else the report to return.
  auto check_heads = [&]() -> std::optional<VerifyReport> {
    const uint64_t size = tree.size();
    for (; heads->Valid(); heads->Next()) {
      ByteView k = FromSlice(heads->key());
      if (k.size() != 8) return bad_head(size, "a tree head has a malformed key");
      const uint64_t head_size = GetBe64(k.data());
      if (head_size > size) break;
      Result<StoredHead> head = DecodeStoredHead(FromSlice(heads->value()));
      if (!head) return bad_head(head_size, head.status().message());
      if (head->size != head_size || head_size != size) {
        return bad_head(head_size, "the tree head is stored under the wrong size");
      }
      if (!head->legacy && origin.empty()) {
        return bad_head(head_size, "a checkpoint, but the log stores no origin to check it with");
      }
      Result<std::optional<VerifiedCheckpoint>> v = VerifyStoredHead(*head, log_key, witnesses);
      if (!v) return bad_head(head_size, v.status().message());
      if (head->root != tree.Root()) {
        return bad_record(last_good_head, "the signed tree head at size " + std::to_string(size) +
                                              " does not match the records: one of records " +
                                              std::to_string(last_good_head) + ".." +
                                              std::to_string(size - 1) +
                                              " was altered and the chain rewritten");
      }
      last_good_head = size;
      ++report.heads_checked;
      if (*v) report.cosignatures_checked += (*v)->cosigned_by.size();
    }
    if (has_frontier && frontier.size() == size &&
        (!(frontier == tree) || frontier_chain != chain)) {
      report.problem =
          "the audit_meta frontier at size " + std::to_string(size) + " does not match the records";
      return report;
    }
    for (; next_external < externals.size() && externals[next_external].checkpoint.size == size;
         ++next_external) {
      const External& e = externals[next_external];
      if (e.checkpoint.root != tree.Root()) {
        report.differs_at_size = size;
        report.differs_from = e.source->label;
        report.problem = "the log differs from checkpoint " + e.source->label + " at size " +
                         std::to_string(size) + ": its root there is " +
                         ToBase64(e.checkpoint.root) + ", the records give " +
                         ToBase64(tree.Root()) +
                         "; the log was rewritten or forked after that checkpoint was signed";
        if (report.agrees_at_size) {
          report.problem += " (it still agrees at size " + std::to_string(*report.agrees_at_size) +
                            ": the change lies in records " +
                            std::to_string(*report.agrees_at_size) + ".." +
                            std::to_string(size - 1) + ")";
        }
        return report;
      }
      report.agrees_at_size = size;
      ++report.external_checked;
    }
    return std::nullopt;
  };

  if (auto bad = check_heads()) return *bad;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const uint64_t index = tree.size();
    ByteView k = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (k.size() != 8) return bad_record(index, "a record has a malformed key");
    if (GetBe64(k.data()) != index) return bad_record(index, "the record is missing");
    if (value.size() < kChainBytes) return bad_record(index, "the record is truncated");
    ByteView encoding = value.subspan(kChainBytes);
    Result<AuditRecord> record = DecodeRecord(encoding);
    if (!record)
      return bad_record(index, "the record does not decode: " + record.status().message());
    const Hash leaf = HashLeaf(encoding);
    const Hash next = NextChain(chain, leaf);
    if (!SameBytes(next, value.first(kChainBytes))) {
      return bad_record(index,
                        "the record was altered, replaced or moved (its chain link differs)");
    }
    tree.Append(leaf);
    chain = next;
    report.records = tree.size();
    if (auto bad = check_heads()) return *bad;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  NRM_RETURN_IF_ERROR(FromRocks(heads->status(), "reading tree heads"));

  report.root = tree.Root();
  if (heads->Valid()) {
    ByteView k = FromSlice(heads->key());
    const uint64_t claimed = k.size() == 8 ? GetBe64(k.data()) : 0;
    return bad_record(tree.size(), "the record is missing: a signed tree head covers " +
                                       std::to_string(claimed) + " records");
  }
  if (has_frontier && frontier.size() > tree.size()) {
    return bad_record(tree.size(), "the record is missing: the frontier covers " +
                                       std::to_string(frontier.size()) + " records");
  }
  if (next_external < externals.size()) {
    const External& e = externals[next_external];
    report.differs_at_size = e.checkpoint.size;
    report.differs_from = e.source->label;
    report.problem = "the log holds " + std::to_string(tree.size()) + " records, but checkpoint " +
                     e.source->label + ", signed with the log's key, " + "covers " +
                     std::to_string(e.checkpoint.size) +
                     ": records were removed, or the log was rolled back";
    return report;
  }
  report.intact = true;
  return report;
}

Result<VerifyReport> VerifyLog(const std::string& db_path, const VerifyOptions& options) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  return VerifyLog(log->db(), log->cfs(), options);
}

Status ReadVerifiedRecords(const std::string& db_path,
                           const std::function<void(uint64_t, const AuditRecord&)>& fn) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  NRM_ASSIGN_OR_RETURN(VerifyReport report, VerifyLog(log->db(), log->cfs()));
  if (!report.intact) return Corruption("the audit log does not verify: " + report.problem);
  return ForEachRecord(log->db(), log->cfs(), report.records,
                       [&](uint64_t index, ByteView encoding) -> Result<bool> {
                         NRM_ASSIGN_OR_RETURN(AuditRecord record, DecodeRecord(encoding));
                         fn(index, record);
                         return true;
                       })
      .status();
}

Result<std::string> LatestCheckpoint(const std::string& db_path, bool cosigned) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  uint64_t size = 0;
  if (cosigned) {
    Result<std::string> at = StoredMeta(log->db(), log->cfs(), kCosignedKey);
    if (at && at->size() == 8) size = GetBe64(AsBytes(*at).data());
  }
  NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), size));
  return head.note;
}

Result<LogStatus> ReadLogStatus(const std::string& db_path) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  LogStatus out;
  NRM_ASSIGN_OR_RETURN(out.origin, StoredMeta(log->db(), log->cfs(), kOriginKey));
  NRM_ASSIGN_OR_RETURN(Bytes key, StoredBrokerKey(log->db(), log->cfs()));
  NRM_ASSIGN_OR_RETURN(note::VerifierKey log_key, LogVerifierKey(out.origin, key));
  out.witnesses = StoredWitnessKeys(log->db(), log->cfs());
  auto verified = [&](uint64_t size) -> Result<VerifiedCheckpoint> {
    NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), size));
    Result<VerifiedCheckpoint> v = VerifyCheckpointNote(head.note, log_key, out.witnesses);
    if (!v)
      return Corruption("the checkpoint of size " + std::to_string(head.size) +
                        " does not verify: " + v.status().message());
    return v;
  };
  NRM_ASSIGN_OR_RETURN(out.latest, verified(0));
  if (Result<std::string> at = StoredMeta(log->db(), log->cfs(), kCosignedKey);
      at && at->size() == 8) {
    NRM_ASSIGN_OR_RETURN(out.cosigned, verified(GetBe64(AsBytes(*at).data())));
  }
  return out;
}

Status StoreWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                        std::span<const note::VerifierKey> witnesses) {
  std::string text;
  for (const note::VerifierKey& k : witnesses) text += note::FormatVerifierKey(k) + "\n";
  rocksdb::WriteOptions write;
  write.sync = true;
  return FromRocks(db->Put(write, cfs.meta, kWitnessesKey, text), "storing the witness keys");
}

}  // namespace nrm::audit
