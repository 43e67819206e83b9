// The broker's durable queues and replay memory in RocksDB: ciphertext envelopes only, one
// queue per recipient in arrival order, kept until the recipient acknowledges them or their
// time-to-live runs out (then the sender finds an expiry notice in its own queue).
//
// Column families: "queue"  recipient || 0x00 || be64 seq -> entry (see Entry below)
//                  "expiry" be64 expires_at_ms || be64 seq -> recipient || 0x00 || sender
//                  "seen"   message_id -> be64 created_at_ms || be64 leaf || sender (replay
//                           memory; leaf: the index of the "accepted" audit record, for the
//                           sender's receipt; values of 8 bytes, written before, have neither)
//                  "cases"  case_ref -> the parties on the case (for H2 onward-sharing rules)
// Every change goes into a WriteBatch that Commit() writes with fsync. Nothing per message is
// kept in memory (the queues may hold millions while a recipient is offline): only a count per
// recipient, updated when a write succeeded.
//
// Thread-compatible: used by the broker's one routing thread.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::broker {

enum class EntryType : uint8_t {
  kEnvelope = 0,      // data: the envelope frame, to deliver
  kExpiryNotice = 1,  // data: the recipient that never acknowledged; for the sender
  // data: the partner country (2 bytes), the leaf (8, big-endian) and the partner log's
  // checkpoint note, as the partner's RELAYED gave them; for the sender (PROTOCOL.md 12.3)
  kRelayReceipt = 2,
};

struct QueuedMessage {
  uint64_t seq;
  Bytes message_id;
  EntryType type;
  Bytes data;
};

// What the broker knows of a case from envelopes alone: who opened it, whether it is H2
// ("not to be passed on without the provider's permission"), who is on it, and whom the
// originator approved.
struct CaseParties {
  std::string originator;
  bool h2 = false;
  std::set<std::string> parties;
  std::set<std::string> approved;
  bool operator==(const CaseParties&) const = default;
};

// What the replay memory holds of an accepted message.
struct AcceptedMessage {
  int64_t created_at_ms = 0;
  std::optional<uint64_t> leaf;  // its "accepted" audit record; absent in older entries
  std::string sender;            // empty in older entries
};

struct ExpiredMessage {
  std::string recipient;
  std::string sender;
  Bytes message_id;
  uint64_t seq;  // its place in the recipient's queue
};

class MessageStore {
 public:
  // Opens (creating if needed) the store under `path`, with `extra_column_families` (e.g. the
  // audit log's) in the same DB so that one synced batch covers both. kCorruption / kIOError
  // when RocksDB cannot open it: the broker then refuses to start.
  // `env` is a fault seam for tests (e.g. an Env over a FileSystemWrapper that drops unsynced
  // writes on cue); null means RocksDB's default Env.
  static Result<std::unique_ptr<MessageStore>> Open(
      const std::string& path, const std::vector<std::string>& extra_column_families = {},
      rocksdb::Env* env = nullptr);
  ~MessageStore();

  // The handle of a column family ("queue", "expiry", "seen" or one named at Open), or nullptr.
  rocksdb::ColumnFamilyHandle* Handle(const std::string& name) const;
  rocksdb::DB* db() { return db_.get(); }

  // True when `message_id` was accepted before (survives restarts).
  Result<bool> Seen(ByteView message_id) const;
  // What the replay memory holds of `message_id`, or nullopt when it was never accepted here.
  Result<std::optional<AcceptedMessage>> Accepted(ByteView message_id) const;

  // Adds to `batch`: the message id to the replay memory (with `leaf`, its audit record) and the
  // frame to each recipient's queue, to expire at `expires_at_ms`.
  void AddAccepted(rocksdb::WriteBatch& batch, ByteView message_id, int64_t created_at_ms,
                   const std::string& sender, const std::vector<std::string>& recipients,
                   ByteView frame, int64_t expires_at_ms,
                   std::optional<uint64_t> leaf = std::nullopt);
  // Adds to `batch` the removal of entry `seq` of `recipient`'s queue, which must hold
  // `message_id` (the broker knows the seq from the delivery). kNotFound when there is no such
  // entry: already acknowledged, expired or dropped.
  Status AddAcknowledged(rocksdb::WriteBatch& batch, const std::string& recipient,
                         ByteView message_id, uint64_t seq);
  // Adds to `batch` the removal of up to `limit` entries whose time ran out at `now_ms`, and
  // for each an expiry notice in its sender's queue. Returns what expired.
  Result<std::vector<ExpiredMessage>> AddExpired(rocksdb::WriteBatch& batch, int64_t now_ms,
                                                 size_t limit);
  // Adds to `batch` an expiry notice for `sender`: its message `message_id` will not reach
  // `recipient` (a partner broker reported it expired there, or refused it).
  void AddExpiryNotice(rocksdb::WriteBatch& batch, const std::string& sender, ByteView message_id,
                       const std::string& recipient);
  // Adds to `batch` a partner broker's relay receipt for `sender`, of its message `message_id`:
  // `data` as EntryType::kRelayReceipt says.
  void AddRelayReceipt(rocksdb::WriteBatch& batch, const std::string& sender, ByteView message_id,
                       ByteView data);
  // Adds to `batch` the removal of everything queued for `recipient` (a revoked agency).
  // Returns how many entries.
  Result<size_t> AddDropQueue(rocksdb::WriteBatch& batch, const std::string& recipient);

  // The parties of case `case_ref` as the batch being built leaves them, or std::nullopt for a
  // case never seen. Read from disk (the registry is not held in memory: it grows with every
  // case for years). An error when the registry cannot be read: the caller must then refuse,
  // for without the parties an H2 case's restriction cannot be checked.
  Result<std::optional<CaseParties>> FindCase(ByteView case_ref) const;
  // Adds to `batch` the case's new state; FindCase gives it at once (and forgets it should the
  // batch fail).
  void AddCase(rocksdb::WriteBatch& batch, ByteView case_ref, CaseParties parties);

  // Writes `batch` with fsync: when this returns OK the batch survives a power cut. On
  // failure nothing of it is applied, in memory or on disk. With `sync` false the write goes to
  // the WAL without fsync: it becomes durable with the next synced write, and a power cut
  // before that loses it (and everything after it) whole, never in part.
  // kResourceExhausted when resources were short (a full disk, a full descriptor table) and
  // RocksDB resumed: the store takes writes again once they return. kCorruption or kIOError
  // otherwise (also a shortage RocksDB cannot resume from): the store cannot go on as it is.
  Status Commit(rocksdb::WriteBatch& batch, bool sync = true);
  // From now on, after every synced Commit, writes RocksDB's latest sequence number to `file`
  // (24 bytes, overwritten in place, not itself synced: it only ever names writes already
  // synced). First, if `file` exists, checks that the store holds at least that sequence:
  // kCorruption when it does not, i.e. writes acknowledged as durable are gone (a truncated or
  // damaged WAL, an older copy of the store put in its place). RocksDB's recovery would take a
  // cut WAL for a torn write and go on without them.
  Status TrackSyncedWrites(const std::string& file);

  // Test only: with false, Commit writes without fsync (the control of the power-loss test,
  // which must then see loss). Never called outside tests.
  void set_sync_for_testing(bool sync) { sync_ = sync; }

  // Up to `limit` queued entries of `recipient` with seq > `after`, in order; it stops once
  // their data reach `max_bytes` (the entry that crosses it included, so at least one).
  Result<std::vector<QueuedMessage>> Pending(const std::string& recipient, uint64_t after,
                                             size_t limit, size_t max_bytes = SIZE_MAX) const;
  // How many entries wait for `recipient`, and in all (counted in memory; no I/O).
  size_t PendingCount(const std::string& recipient) const;
  size_t PendingTotal() const;
  // The expires_at_ms of the first entry queued for `recipient`, or nullopt when none is.
  Result<std::optional<int64_t>> OldestQueuedExpiry(const std::string& recipient) const;

 private:
  struct CountChange {
    std::string recipient;
    uint64_t seq;
    bool added;  // false: removed
  };

  MessageStore() = default;
  void AddEntry(rocksdb::WriteBatch& batch, const std::string& recipient, ByteView message_id,
                EntryType type, ByteView data, int64_t expires_at_ms, const std::string& sender);
  void AddRemove(rocksdb::WriteBatch& batch, const std::string& recipient, uint64_t seq,
                 int64_t expires_at_ms);
  bool RemovedInBatch(const std::string& recipient, uint64_t seq) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
  rocksdb::ColumnFamilyHandle* queue_ = nullptr;
  rocksdb::ColumnFamilyHandle* expiry_ = nullptr;
  rocksdb::ColumnFamilyHandle* seen_ = nullptr;
  rocksdb::ColumnFamilyHandle* cases_cf_ = nullptr;
  std::map<Bytes, CaseParties> batch_cases_;  // what AddCase put in the batch not yet committed
  uint64_t next_seq_ = 1;
  // recipient -> entries queued; counted from the queue at Open.
  std::map<std::string, size_t> counts_;
  size_t total_ = 0;
  std::vector<CountChange> uncommitted_;
  bool sync_ = true;    // see set_sync_for_testing
  int synced_fd_ = -1;  // see TrackSyncedWrites
};

}  // namespace nrm::broker
