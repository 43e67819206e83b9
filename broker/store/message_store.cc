#include "broker/store/message_store.h"

#include <rocksdb/options.h>

namespace nrm::broker {
namespace {

void PutBigEndian64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}
rocksdb::Slice ToSlice(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Corruption(m);
  if (s.IsNoSpace()) return ResourceExhausted(m);
  return IOError(m);
}

}  // namespace

std::string MessageStore::QueueKey(const std::string& recipient, uint64_t seq) {
  std::string key = recipient;
  key.push_back('\0');
  PutBigEndian64(key, seq);
  return key;
}

Result<std::unique_ptr<MessageStore>> MessageStore::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_log_file_size = 1 << 20;
  options.keep_log_file_num = 3;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"queue", {}}, {"seen", {}}};
  auto store = std::unique_ptr<MessageStore>(new MessageStore());
  rocksdb::DB* db = nullptr;
  NRM_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, cfs, &store->handles_, &db),
                                "cannot open the broker store at " + path));
  store->db_.reset(db);
  store->queue_ = store->handles_[1];
  store->seen_ = store->handles_[2];

  // Rebuild the acknowledgement index and the next sequence number from the queue.
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, store->queue_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::string_view value = it->value().ToStringView();
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() != nul + 9 || value.size() < 16) {
      return Corruption("broker store: malformed queue entry");
    }
    uint64_t seq = GetBigEndian64(key.substr(nul + 1));
    store->index_[std::string(key.substr(0, nul))][Bytes(value.begin(), value.begin() + 16)] = seq;
    store->next_seq_ = std::max(store->next_seq_, seq + 1);
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
  return store;
}

MessageStore::~MessageStore() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

Result<bool> MessageStore::Seen(ByteView message_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), seen_, ToSlice(message_id), &value);
  if (s.IsNotFound()) return false;
  NRM_RETURN_IF_ERROR(FromRocks(s, "cannot read the replay memory"));
  return true;
}

void MessageStore::AddAccepted(rocksdb::WriteBatch& batch, ByteView message_id,
                               int64_t created_at_ms, const std::vector<std::string>& recipients,
                               ByteView frame) {
  std::string when;
  PutBigEndian64(when, static_cast<uint64_t>(created_at_ms));
  batch.Put(seen_, ToSlice(message_id), when);
  std::string value(reinterpret_cast<const char*>(message_id.data()), message_id.size());
  value.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  for (const std::string& r : recipients) {
    const uint64_t seq = next_seq_++;
    batch.Put(queue_, QueueKey(r, seq), value);
    uncommitted_.push_back({r, Bytes(message_id.begin(), message_id.end()), seq});
  }
}

Status MessageStore::AddAcknowledged(rocksdb::WriteBatch& batch, const std::string& recipient,
                                     ByteView message_id) {
  Bytes id(message_id.begin(), message_id.end());
  for (const IndexChange& c : uncommitted_) {  // acknowledged twice in one batch
    if (c.seq == 0 && c.recipient == recipient && c.message_id == id) {
      return NotFound("message was already acknowledged");
    }
  }
  auto q = index_.find(recipient);
  if (q == index_.end()) return NotFound("nothing is queued for " + recipient);
  auto m = q->second.find(id);
  if (m == q->second.end()) return NotFound("message is not queued for " + recipient);
  batch.Delete(queue_, QueueKey(recipient, m->second));
  uncommitted_.push_back({recipient, std::move(id), 0});
  return Status::Ok();
}

Status MessageStore::Commit(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  Status s = FromRocks(db_->Write(wo, &batch), "cannot write the broker store");
  if (s.ok()) {
    for (IndexChange& c : uncommitted_) {
      if (c.seq != 0) {
        index_[c.recipient][std::move(c.message_id)] = c.seq;
      } else {
        index_[c.recipient].erase(c.message_id);
      }
    }
  }
  uncommitted_.clear();
  batch.Clear();
  return s;
}

Result<std::vector<QueuedMessage>> MessageStore::Pending(const std::string& recipient,
                                                         uint64_t after, size_t limit) const {
  std::vector<QueuedMessage> out;
  const std::string prefix = recipient + std::string(1, '\0');
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, queue_));
  for (it->Seek(QueueKey(recipient, after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) break;
    std::string_view value = it->value().ToStringView();
    if (value.size() < 16) return Corruption("broker store: malformed queue entry");
    out.push_back({GetBigEndian64(key.substr(prefix.size())),
                   Bytes(value.begin(), value.begin() + 16), Bytes(value.begin() + 16, value.end())});
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
  return out;
}

size_t MessageStore::PendingCount(const std::string& recipient) const {
  auto q = index_.find(recipient);
  return q == index_.end() ? 0 : q->second.size();
}

}  // namespace nrm::broker
