// The read side of the audit log, for auditors and the `nrm audit` tool: verify a whole log,
// prove that a record is in it, prove that an old tree is a prefix of today's, and check such
// proofs offline with nothing but the broker's public key.
//
// The functions taking `db_path` open the RocksDB read-only and close it before returning. Run
// them on a copy or a RocksDB checkpoint of a live broker's database: a read-only open of a
// database that is being compacted may fail. Proof formats: docs/AUDIT.md.
//
// Thread-safe (no shared state). REQUIRES: crypto::InitCrypto() has succeeded.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_log.h"
#include "audit/record.h"
#include "audit/tree_head.h"
#include "common/bytes.h"
#include "common/status.h"

namespace nrm::audit {

inline constexpr std::string_view kInclusionProofType = "nrm-audit-inclusion/v1";
inline constexpr std::string_view kConsistencyProofType = "nrm-audit-consistency/v1";

struct VerifyOptions {
  // The broker key to check signed heads with. Empty: the key stored in the log, which proves
  // only that the log is self-consistent; an auditor should pass the key they trust.
  Bytes broker_public_key;
};

struct VerifyReport {
  bool intact = false;
  uint64_t records = 0;        // records read and found good
  uint64_t heads_checked = 0;  // signed tree heads whose signature and root checked out
  Hash root{};                 // MTH of the good records
  std::optional<uint64_t> first_bad_index;  // set when a record is to blame
  std::optional<uint64_t> bad_head_size;    // set when a signed head is to blame
  std::string problem;                      // what is wrong; empty when intact
};

// Recomputes the tree from every record in index order and checks: keys are contiguous from 0,
// each record decodes, each record's chain link matches, every signed head's signature verifies
// and its root equals the recomputed root at its size, and nothing (head or checkpoint) claims
// more records than are stored. Stops at the first problem. A changed byte, a deleted record and
// two swapped records are each named by the first bad index.
// Returns the report (intact or not); an error only when the log cannot be read at all.
Result<VerifyReport> VerifyLog(const std::string& db_path, const VerifyOptions& options = {});
// The same, on an open database (e.g. the broker's own).
Result<VerifyReport> VerifyLog(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                               const VerifyOptions& options = {});

// Verifies the log (as VerifyLog), then calls fn(index, record) for every record in order.
// kCorruption naming the first bad record when the log does not verify: figures are drawn only
// from an intact log.
Status ReadVerifiedRecords(const std::string& db_path,
                           const std::function<void(uint64_t, const AuditRecord&)>& fn);

// The inclusion proof JSON (kInclusionProofType) for the first record of `message_id` (of
// `event`, if given) against the latest signed tree head. kNotFound when there is no such
// record or no signed head; kUnavailable when the record is newer than the latest signed head;
// kCorruption when the log does not match its own head (run VerifyLog). O(log size) memory,
// two passes over the records.
Result<std::string> Prove(const std::string& db_path, ByteView message_id,
                          std::optional<AuditEvent> event = std::nullopt);

// The consistency proof JSON (kConsistencyProofType) from the tree of the first `from_size`
// records to the latest signed head. kInvalidArgument when from_size exceeds that head's size.
Result<std::string> Consistency(const std::string& db_path, uint64_t from_size);

// What a proof established, once CheckProof accepted it.
struct CheckedProof {
  std::string_view type;  // kInclusionProofType or kConsistencyProofType
  SignedTreeHead head;    // verified under the broker key
  // Inclusion: the record, decoded from its encoding, and its leaf index.
  uint64_t leaf_index = 0;
  AuditRecord record;
  // Consistency: the old tree that is a prefix of the head's tree.
  uint64_t from_size = 0;
  Hash from_root{};
};

// Checks a proof produced by Prove or Consistency, offline: the tree head's signature under
// `broker_public_key`, and the inclusion path (recomputed from the record's encoding, whose
// decoded fields must equal the ones displayed) or the consistency path. kInvalidArgument for a
// malformed document, kUnauthenticated for one that does not check out.
Result<CheckedProof> CheckProof(std::string_view json_text, ByteView broker_public_key);

}  // namespace nrm::audit
