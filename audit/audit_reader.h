// The read side of the audit log, for auditors and the `nrm audit` tool: verify a whole log
// (against its own checkpoints and cosignatures and against checkpoints kept elsewhere), prove
// that a record is in it, prove that an old tree is a prefix of a checkpoint's, and check such
// proofs offline with nothing but the log's verifier key.
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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "audit/record.h"
#include "audit/tree_head.h"
#include "common/bytes.h"
#include "common/status.h"

namespace nrm::audit {

// Proof documents (docs/AUDIT.md section 6). v2 carries a checkpoint note; v1 (a 112-byte
// nrm/tree-head/v1 head) is no longer produced but still checked.
inline constexpr std::string_view kInclusionProofType = "nrm-audit-inclusion/v2";
inline constexpr std::string_view kConsistencyProofType = "nrm-audit-consistency/v2";
inline constexpr std::string_view kInclusionProofTypeV1 = "nrm-audit-inclusion/v1";
inline constexpr std::string_view kConsistencyProofTypeV1 = "nrm-audit-consistency/v1";

// A checkpoint note obtained elsewhere (from a witness, an agent's store, a receipt), to check
// the log against; `label` names it in the report (e.g. its file name).
struct ExternalCheckpoint {
  std::string label;
  std::string note;
};

struct VerifyOptions {
  // The broker key to check signed heads with. Empty: the key stored in the log, which proves
  // only that the log is self-consistent; an auditor should pass the key they trust.
  Bytes broker_public_key;
  // The log's origin; empty: the one stored in the log.
  std::string origin;
  // The witnesses whose cosignatures are checked (type 0x04 keys). Empty: the ones the broker
  // recorded in the log ("audit_meta" "witnesses"); lines of other keys are not checked.
  std::vector<note::VerifierKey> witnesses;
  std::vector<ExternalCheckpoint> checkpoints;
};

struct VerifyReport {
  bool intact = false;
  uint64_t records = 0;               // records read and found good
  uint64_t heads_checked = 0;         // signed tree heads whose signature and root checked out
  uint64_t cosignatures_checked = 0;  // witness cosignatures on them that verified
  uint64_t external_checked = 0;      // checkpoints of `options.checkpoints` the log matches
  Hash root{};                        // MTH of the good records
  std::optional<uint64_t> first_bad_index;  // set when a record is to blame
  std::optional<uint64_t> bad_head_size;    // set when a signed head is to blame
  // Set when the log disagrees with a checkpoint obtained elsewhere: the smallest such size,
  // which checkpoint it is, and the largest size at which an external checkpoint still agreed.
  std::optional<uint64_t> differs_at_size;
  std::string differs_from;
  std::optional<uint64_t> agrees_at_size;
  std::string problem;  // what is wrong; empty when intact
};

// Recomputes the tree from every record in index order and checks: keys are contiguous from 0,
// each record decodes, each record's chain link matches, every stored checkpoint verifies under
// the log's key (and every cosignature on it of a known witness), its root equals the
// recomputed root at its size, and nothing (head or frontier) claims more records than are
// stored. Then the external checkpoints: each must verify under the log's key, and the log's
// root at its size must be its root (a log rewritten by someone holding the broker's key fails
// against any checkpoint kept from before). Stops at the first problem. A changed byte, a
// deleted record and two swapped records are each named by the first bad index.
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

// The latest checkpoint note of the log, with the cosignatures collected for it; with
// `cosigned`, the latest that carries a witness cosignature (else the latest). kNotFound when
// the log has none.
Result<std::string> LatestCheckpoint(const std::string& db_path, bool cosigned = false);

// The inclusion proof JSON (kInclusionProofType) for the first record of `message_id` (of
// `event`, if given) against the checkpoint of size `at_size` (0: the latest). kNotFound when
// there is no such record or checkpoint; kUnavailable when the record is newer than the
// checkpoint; kCorruption when the log does not match its own checkpoint (run VerifyLog).
// O(log size) memory, two passes over the records.
Result<std::string> Prove(const std::string& db_path, ByteView message_id,
                          std::optional<AuditEvent> event = std::nullopt, uint64_t at_size = 0);

// The inclusion proof JSON (kInclusionProofType) of the record `encoding` at `leaf_index`
// against `checkpoint_note` (what Prove prints; the agent prints it for its own messages).
// kInvalidArgument when the encoding does not decode. Checks nothing else: see CheckProof.
Result<std::string> FormatInclusionProof(uint64_t leaf_index, ByteView encoding,
                                         std::span<const Hash> proof,
                                         std::string_view checkpoint_note);

// The consistency proof JSON (kConsistencyProofType) from the tree of the first `from_size`
// records to the checkpoint of size `at_size` (0: the latest). kInvalidArgument when from_size
// exceeds that checkpoint's size.
Result<std::string> Consistency(const std::string& db_path, uint64_t from_size,
                                uint64_t at_size = 0);

// What a proof established, once CheckProof accepted it.
struct CheckedProof {
  std::string_view type;  // one of the four proof types
  uint64_t size = 0;      // the signed tree the proof is against
  Hash root{};
  std::optional<uint64_t> time;  // when the log signed it: POSIX seconds (v2), if it says
  std::optional<VerifiedCheckpoint> checkpoint;  // v2: the checkpoint, with its cosigners
  std::optional<SignedTreeHead> legacy_head;     // v1
  // Inclusion: the record, decoded from its encoding, and its leaf index.
  uint64_t leaf_index = 0;
  AuditRecord record;
  // Consistency: the old tree that is a prefix of the signed tree.
  uint64_t from_size = 0;
  Hash from_root{};
};

// Checks a proof produced by Prove or Consistency, offline: the checkpoint under `log_key` (and
// the cosignatures of `witnesses` on it; see VerifyCheckpointNote), or a v1 head's signature
// under log_key.public_key, and the inclusion path (recomputed from the record's encoding,
// whose decoded fields must equal the ones displayed) or the consistency path.
// kInvalidArgument for a malformed document, kUnauthenticated for one that does not check out.
Result<CheckedProof> CheckProof(std::string_view json_text, const note::VerifierKey& log_key,
                                std::span<const note::VerifierKey> witnesses = {});

// What `nrm audit status` shows of a log: its latest checkpoint and the latest one witnesses
// cosigned (each verified under the stored key, origin and witness keys).
struct LogStatus {
  std::string origin;
  std::optional<VerifiedCheckpoint> latest;
  std::optional<VerifiedCheckpoint> cosigned;  // the latest with a witness cosignature
  std::vector<note::VerifierKey> witnesses;    // as the broker recorded them
};
// kNotFound when the log has no checkpoint; kCorruption when a stored one does not verify.
Result<LogStatus> ReadLogStatus(const std::string& db_path);

// The broker writes its witnesses' status here, in its data_dir (JSON; docs/AUDIT.md).
inline constexpr char kWitnessStatusFile[] = "witnesses.json";

// Records the witnesses the broker is configured with ("audit_meta" "witnesses": their vkeys,
// one per line), so that VerifyLog checks their cosignatures when given no keys. Synced.
Status StoreWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                        std::span<const note::VerifierKey> witnesses);

}  // namespace nrm::audit
