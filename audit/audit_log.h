// AuditLog: the broker's tamper-evident audit log, an RFC 6962 Merkle tree of AuditRecords kept
// in three column families of the broker's RocksDB, with heads signed by the broker's Ed25519
// key. The log never writes on its own: Append and SignHead add their writes to a WriteBatch the
// caller commits (the broker group-commits message-store writes and audit records in one synced
// batch), so a crash before the batch is written leaves no trace of it.
//
// Storage (docs/AUDIT.md):
//   "audit"        be64 index -> chain (32 bytes) || EncodeRecord(record)
//                  chain_i = SHA-256(chain_{i-1} || leaf_hash_i), chain_{-1} = 32 zero bytes.
//                  The chain is a storage aid that lets `verify` name the first bad record; the
//                  Merkle leaf covers the record encoding only.
//   "audit_heads"  be64 size -> EncodeTreeHead(head)
//   "audit_meta"   "checkpoint" -> CompactRange::Serialize() || chain tip (32 bytes), written
//                  with every signed head and every kCheckpointInterval records;
//                  "broker_sign_public" -> the broker's 32-byte Ed25519 public key.
// Open() restores the frontier from the checkpoint and replays the few records after it, so
// Append never reads the database.
//
// Thread-compatible: one thread (the broker's commit thread) calls the mutating methods.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "audit/record.h"
#include "audit/tree_head.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit {

inline constexpr char kRecordsColumnFamily[] = "audit";
inline constexpr char kHeadsColumnFamily[] = "audit_heads";
inline constexpr char kMetaColumnFamily[] = "audit_meta";
inline constexpr char kCheckpointKey[] = "checkpoint";
inline constexpr char kBrokerKeyKey[] = "broker_sign_public";
inline constexpr uint64_t kCheckpointInterval = 1024;
inline constexpr size_t kChainBytes = 32;

// The column families the broker must create (with default options: keys compare bytewise).
std::vector<std::string> AuditColumnFamilyNames();

// Handles into the broker's DB. Not owned; they must outlive every AuditLog using them.
struct AuditColumnFamilies {
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* heads = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
};

// SHA-256(prev || leaf_hash): the next link of the storage chain.
Hash NextChain(const Hash& prev, const Hash& leaf_hash);

class AuditLog {
 public:
  // Loads the checkpoint, replays the records after it (checking their keys are contiguous and
  // their chain links match) and checks the latest signed head against the result. On a new log
  // it records the broker's public key in "audit_meta" (one synced write).
  // Returns kCorruption when the stored log is inconsistent, kInvalidArgument when the key is
  // not a 64-byte Ed25519 secret or differs from the one the log was started with (key rotation
  // is not supported), kIOError for RocksDB failures.
  // REQUIRES: `db` and the handles outlive the result; crypto::InitCrypto() has succeeded.
  static Result<std::unique_ptr<AuditLog>> Open(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                                crypto::SecretBytes broker_sign_secret);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Assigns the record the next index, adds its Put (and sometimes a checkpoint) to `batch`, and
  // advances the pending tree. Returns kInvalidArgument (and changes nothing) when the record
  // does not encode; see ValidateRecord. O(1) amortised hashes, no reads.
  // REQUIRES: the caller writes its batches in the order it built them, then calls
  // MarkWritten() after a successful write or DiscardPending() after a failed one.
  Status Append(const AuditRecord& record, rocksdb::WriteBatch* batch, uint64_t* index_out);

  // Signs (pending size, pending root, now_ms), adds the head and a checkpoint to `batch`, and
  // returns the head. With Append's index it makes a Receipt. kIOError if the batch refuses.
  Result<SignedTreeHead> SignHead(int64_t now_ms, rocksdb::WriteBatch* batch);

  // The batches built so far were written: they become the state DiscardPending returns to.
  void MarkWritten() { written_ = pending_; }
  // The batches built since the last MarkWritten() were not written: forget them.
  void DiscardPending() { pending_ = written_; }

  uint64_t size() const { return pending_.frontier.size(); }
  Hash Root() const { return pending_.frontier.Root(); }
  const Bytes& broker_public_key() const { return public_key_; }

 private:
  struct State {
    CompactRange frontier;
    Hash chain{};
    uint64_t since_checkpoint = 0;
  };

  AuditLog(const AuditColumnFamilies& cfs, crypto::SecretBytes secret, Bytes public_key,
           State state);
  Status PutCheckpoint(rocksdb::WriteBatch* batch);

  AuditColumnFamilies cfs_;
  crypto::SecretBytes secret_;
  Bytes public_key_;
  State written_;
  State pending_;
};

// Checkpoint value: CompactRange::Serialize() || chain tip.
Bytes EncodeCheckpoint(const CompactRange& frontier, const Hash& chain);
// kCorruption when `data` is not an EncodeCheckpoint() result.
Status DecodeCheckpoint(ByteView data, CompactRange* frontier, Hash* chain);

}  // namespace nrm::audit
