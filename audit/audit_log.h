// AuditLog: the broker's tamper-evident audit log, an RFC 6962 Merkle tree of AuditRecords kept
// in column families of the broker's RocksDB, with checkpoints (tree heads in the C2SP
// tlog-checkpoint format, checkpoint.h) signed by the broker's Ed25519 key under the log's
// origin. The log never writes on its own: Append and SignHead add their writes to a WriteBatch
// the caller commits (the broker group-commits message-store writes and audit records in one
// synced batch), so a crash before the batch is written leaves no trace of it.
//
// Storage (docs/AUDIT.md):
//   "audit"        be64 index -> chain (32 bytes) || EncodeRecord(record)
//                  chain_i = SHA-256(chain_{i-1} || leaf_hash_i), chain_{-1} = 32 zero bytes.
//                  The chain is a storage aid that lets `verify` name the first bad record; the
//                  Merkle leaf covers the record encoding only.
//   "audit_heads"  be64 size -> the checkpoint note (with the witnesses' cosignatures once
//                  collected); in logs begun before checkpoints, older heads are 112-byte
//                  nrm/tree-head/v1 heads (tree_head.h), still read and verified.
//   "audit_nodes"  u8 level || be64 index -> the root of the perfect subtree over leaves
//                  [index << level, (index + 1) << level), level >= 1: proofs read O(log n).
//   "audit_meta"   "checkpoint" -> the frontier (CompactRange::Serialize() || chain tip),
//                  written with every signed head and every kFrontierInterval records (the key's
//                  name predates C2SP checkpoints: it holds no checkpoint note);
//                  "broker_sign_public" -> the broker's 32-byte Ed25519 public key;
//                  "origin" -> the log's origin; "nodes" -> present once "audit_nodes" covers
//                  every record; "cosigned" -> be64 size of the latest checkpoint that carries
//                  a witness cosignature; "witnesses" -> the vkeys of the witnesses the broker
//                  is configured with, one per line (audit_reader.h: StoreWitnessKeys).
// Open() restores the frontier and replays the few records after it, so Append never reads.
//
// Thread-compatible: one thread (the broker's commit thread) calls the mutating methods.
// StoredTree reads beside it (RocksDB reads are thread-safe; it reads only what was written).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/note.h"
#include "audit/record.h"
#include "audit/tree_head.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit {

inline constexpr char kRecordsColumnFamily[] = "audit";
inline constexpr char kHeadsColumnFamily[] = "audit_heads";
inline constexpr char kMetaColumnFamily[] = "audit_meta";
inline constexpr char kNodesColumnFamily[] = "audit_nodes";
inline constexpr char kFrontierKey[] = "checkpoint";
inline constexpr char kBrokerKeyKey[] = "broker_sign_public";
inline constexpr char kOriginKey[] = "origin";
inline constexpr char kNodesKey[] = "nodes";
inline constexpr char kCosignedKey[] = "cosigned";
inline constexpr char kWitnessesKey[] = "witnesses";
inline constexpr uint64_t kFrontierInterval = 1024;
inline constexpr size_t kChainBytes = 32;

// The column families the broker must create (with default options: keys compare bytewise).
std::vector<std::string> AuditColumnFamilyNames();

// Handles into the broker's DB. Not owned; they must outlive every AuditLog using them.
struct AuditColumnFamilies {
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* heads = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* nodes = nullptr;

  // The handles `handle(name)` gives for AuditColumnFamilyNames().
  template <typename Lookup>
  static AuditColumnFamilies From(Lookup handle) {
    return {handle(kRecordsColumnFamily), handle(kHeadsColumnFamily), handle(kMetaColumnFamily),
            handle(kNodesColumnFamily)};
  }
};

// A head as stored in "audit_heads": a checkpoint note, or a legacy nrm/tree-head/v1 head.
struct StoredHead {
  uint64_t size = 0;
  Hash root{};
  std::string note;                      // the checkpoint note; empty for a legacy head
  std::optional<SignedTreeHead> legacy;  // set for a legacy head
};
// Parses (does not verify) a stored value. kCorruption when it is neither form.
Result<StoredHead> DecodeStoredHead(ByteView value);
// Verifies a stored head: a note under `log_key` (and any witness of `witnesses` it names), a
// legacy head under log_key.public_key. kUnauthenticated when it does not verify.
Result<std::optional<VerifiedCheckpoint>> VerifyStoredHead(
    const StoredHead& head, const note::VerifierKey& log_key,
    std::span<const note::VerifierKey> witnesses = {});

// A checkpoint the log signed: what SignHead returns.
struct SignedCheckpoint {
  uint64_t size = 0;
  Hash root{};
  int64_t time_ms = 0;
  std::string note;  // the checkpoint note: the log's signature and its timestamp
};

// SHA-256(prev || leaf_hash): the next link of the storage chain.
Hash NextChain(const Hash& prev, const Hash& leaf_hash);

class AuditLog {
 public:
  // Loads the frontier, replays the records after it (checking their keys are contiguous and
  // their chain links match) and checks the latest signed head against the result. On a new log
  // it records the broker's public key and the origin in "audit_meta" (synced writes); on a log
  // begun before "audit_nodes" existed it writes the nodes of every record first (once).
  // Returns kCorruption when the stored log is inconsistent, kInvalidArgument when the key is
  // not a 64-byte Ed25519 secret or differs from the one the log was started with (key rotation
  // is not supported), or when `origin` is not a valid origin (CheckOrigin) or differs from the
  // log's; kIOError for RocksDB failures.
  // REQUIRES: `db` and the handles outlive the result; crypto::InitCrypto() has succeeded.
  static Result<std::unique_ptr<AuditLog>> Open(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                                crypto::SecretBytes broker_sign_secret,
                                                std::string_view origin);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Assigns the record the next index, adds its Put (and sometimes a checkpoint) to `batch`, and
  // advances the pending tree. Returns kInvalidArgument (and changes nothing) when the record
  // does not encode; see ValidateRecord. O(1) amortised hashes, no reads.
  // REQUIRES: the caller writes its batches in the order it built them, then calls
  // MarkWritten() after a successful write or DiscardPending() after a failed one.
  Status Append(const AuditRecord& record, rocksdb::WriteBatch* batch, uint64_t* index_out);

  // Signs the checkpoint (origin, pending size, pending root) with the time now_ms, adds it and
  // the frontier to `batch`, and returns it. With Append's index it makes a receipt.
  // kIOError if the batch refuses. REQUIRES: now_ms >= 0.
  Result<SignedCheckpoint> SignHead(int64_t now_ms, rocksdb::WriteBatch* batch);

  // The batches built so far were written: they become the state DiscardPending returns to.
  void MarkWritten() { written_ = pending_; }
  // The batches built since the last MarkWritten() were not written: forget them.
  void DiscardPending() { pending_ = written_; }

  uint64_t size() const { return pending_.frontier.size(); }
  Hash Root() const { return pending_.frontier.Root(); }
  const Bytes& broker_public_key() const { return public_key_; }
  // The log's verifier key: name = origin, type 0x01, the broker's public key.
  const note::VerifierKey& log_key() const { return log_key_; }

 private:
  struct State {
    CompactRange frontier;
    Hash chain{};
    uint64_t since_frontier = 0;
  };

  AuditLog(const AuditColumnFamilies& cfs, crypto::SecretBytes secret, Bytes public_key,
           note::VerifierKey log_key, State state);
  Status PutFrontier(rocksdb::WriteBatch* batch);

  AuditColumnFamilies cfs_;
  crypto::SecretBytes secret_;
  Bytes public_key_;
  note::VerifierKey log_key_;
  std::vector<CompactRange::Node> nodes_;  // scratch for Append
  State written_;
  State pending_;
};

// Frontier value: CompactRange::Serialize() || chain tip.
Bytes EncodeFrontier(const CompactRange& frontier, const Hash& chain);
// kCorruption when `data` is not an EncodeFrontier() result.
Status DecodeFrontier(ByteView data, CompactRange* frontier, Hash* chain);

// The "audit_nodes" key of the perfect subtree (level, index).
Bytes NodeKey(uint8_t level, uint64_t index);

// Reads a stored log: roots and proofs from "audit_nodes" and the records (O(log n) reads),
// and the stored checkpoints. For sizes already written; safe beside the writer (thread-safe).
// REQUIRES: "audit_nodes" covers the log (AuditLog::Open made sure of it).
class StoredTree {
 public:
  StoredTree(rocksdb::DB* db, const AuditColumnFamilies& cfs) : db_(db), cfs_(cfs) {}

  // The root of the tree of the first `size` leaves. kCorruption when a node is missing.
  Result<Hash> RootAt(uint64_t size) const;
  // RFC 6962 proofs, as merkle.h's functions compute them from all the leaves.
  Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;

  // The stored checkpoint note at `size` (kNotFound when no checkpoint has that size, or it is a
  // legacy head), the latest one, and the latest that carries a witness cosignature (else the
  // latest).
  Result<StoredHead> HeadAt(uint64_t size) const;
  Result<StoredHead> LatestHead() const;
  Result<StoredHead> LatestCosignedHead() const;

  // Adds cosignature lines to the stored checkpoint note at `size` and records it as the latest
  // cosigned one; not synced (the broker's next synced write makes it durable). Lines already
  // there are not repeated. REQUIRES: one caller at a time (a read-modify-write).
  Status AddCosignatures(uint64_t size, std::span<const note::Signature> cosignatures) const;

 private:
  // The root of the perfect subtree (level, index): a record's leaf hash at level 0.
  Result<Hash> Node(uint8_t level, uint64_t index) const;
  // The MTH of leaves [begin, end), from the perfect subtrees that make it up.
  Result<Hash> RangeRoot(uint64_t begin, uint64_t end) const;
  Result<std::vector<Hash>> Roots(const std::vector<LeafRange>& ranges) const;

  rocksdb::DB* db_;
  AuditColumnFamilies cfs_;
};

}  // namespace nrm::audit
