// The broker's durable queue and replay memory in RocksDB: ciphertext envelopes only, one
// queue per recipient in arrival order, kept until the recipient acknowledges.
// Thread-compatible: used by the broker's one routing thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::broker {

struct QueuedMessage {
  uint64_t seq;
  Bytes message_id;
  Bytes frame;
};

class MessageStore {
 public:
  // Opens (creating if needed) the store under `path`. kCorruption / kIOError when RocksDB
  // cannot open it: the broker then refuses to start.
  static Result<std::unique_ptr<MessageStore>> Open(const std::string& path);
  ~MessageStore();

  // True when `message_id` was accepted before (survives restarts).
  Result<bool> Seen(ByteView message_id) const;

  // Adds to `batch`: the message id to the replay memory and the frame to each recipient's
  // queue. Nothing is durable until Commit(batch).
  void AddAccepted(rocksdb::WriteBatch& batch, ByteView message_id, int64_t created_at_ms,
                   const std::vector<std::string>& recipients, ByteView frame);
  // Adds to `batch` the removal of `message_id` from `recipient`'s queue. kNotFound when the
  // recipient holds no such message (an ACK that acknowledges nothing).
  Status AddAcknowledged(rocksdb::WriteBatch& batch, const std::string& recipient,
                         ByteView message_id);

  // Writes `batch` with fsync: when this returns OK the batch survives a power cut. On
  // failure nothing of it is applied, in memory or on disk.
  Status Commit(rocksdb::WriteBatch& batch);

  // Up to `limit` queued messages of `recipient` with seq > `after`, in order.
  Result<std::vector<QueuedMessage>> Pending(const std::string& recipient, uint64_t after,
                                             size_t limit) const;
  // How many messages wait for `recipient` (from memory; no I/O).
  size_t PendingCount(const std::string& recipient) const;

  rocksdb::DB* db() { return db_.get(); }

 private:
  MessageStore() = default;
  static std::string QueueKey(const std::string& recipient, uint64_t seq);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, queue, seen
  rocksdb::ColumnFamilyHandle* queue_ = nullptr;
  rocksdb::ColumnFamilyHandle* seen_ = nullptr;
  uint64_t next_seq_ = 1;
  // recipient -> message id -> seq, for acknowledgements; rebuilt from the queue at Open.
  std::map<std::string, std::map<Bytes, uint64_t>> index_;
  // Index changes of the batch being built, applied by Commit only when the write succeeded.
  struct IndexChange {
    std::string recipient;
    Bytes message_id;
    uint64_t seq;  // 0: erase
  };
  std::vector<IndexChange> uncommitted_;
};

}  // namespace nrm::broker
