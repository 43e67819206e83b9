#include "broker/store/message_store.h"

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/file_util.h"
#include "common/rocks.h"

namespace nrm::broker {
namespace {

using rocks::FromRocks;
using rocks::FromSlice;
using rocks::ToSlice;

constexpr size_t kIdBytes = 16;
constexpr size_t kEntryHeader = kIdBytes + 1 + 8;  // message id, type, expires_at

void PutBigEndian64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBigEndian64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(in[i]);
  return v;
}
// A queue entry's expires_at_ms (see kEntryHeader). REQUIRES: entry.size() >= kEntryHeader.
int64_t EntryExpiry(std::string_view entry) {
  return static_cast<int64_t>(GetBigEndian64(entry.substr(kIdBytes + 1)));
}
std::string QueueKey(const std::string& recipient, uint64_t seq) {
  std::string key = recipient;
  key.push_back('\0');
  PutBigEndian64(key, seq);
  return key;
}
// Just past the last key of `recipient`'s queue: an iterator's upper bound, so that a scan of
// one queue never steps over the deleted entries of the next.
std::string QueueEnd(const std::string& recipient) { return recipient + std::string(1, '\1'); }

std::string ExpiryKey(int64_t expires_at_ms, uint64_t seq) {
  std::string key;
  PutBigEndian64(key, static_cast<uint64_t>(expires_at_ms));
  PutBigEndian64(key, seq);
  return key;
}

}  // namespace

Result<std::unique_ptr<MessageStore>> MessageStore::Open(
    const std::string& path, const std::vector<std::string>& extra_column_families,
    rocksdb::Env* env) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_log_file_size = 1 << 20;
  options.keep_log_file_num = 3;
  // Bounded descriptors: table files beyond this are opened when read and closed again, so the
  // store stays within the broker's descriptor reserve (docs/OPERATIONS.md).
  options.max_open_files = 128;
  // Bounded memory whatever waits on disk (a recipient offline for days): small memtables
  // under one budget for all column families, and a small block cache. Queued envelopes are
  // read back at most once, when delivered.
  options.write_buffer_size = 4 << 20;
  options.db_write_buffer_size = 16 << 20;
  options.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  // Table files' indexes and Bloom filters live in that cache too, so they do not add memory
  // for every file the queues grow to (level-0 ones stay pinned: they are read the most).
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Every SEND asks the replay memory for an id it has almost never seen: a Bloom filter
  // answers that without reading each table file's index.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  auto store = std::unique_ptr<MessageStore>(new MessageStore());
  store->names_ = {rocksdb::kDefaultColumnFamilyName, "queue", "expiry", "seen", "cases"};
  store->names_.insert(store->names_.end(), extra_column_families.begin(),
                       extra_column_families.end());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : store->names_) {
    rocksdb::ColumnFamilyOptions cf(options);
    // Sealed envelopes and random message ids do not compress: do not spend CPU trying.
    if (n == "queue" || n == "seen") cf.compression = rocksdb::kNoCompression;
    cfs.push_back({n, cf});
  }
  rocksdb::DB* db = nullptr;
  NRM_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, cfs, &store->handles_, &db),
                                "cannot open the broker store at " + path));
  store->db_.reset(db);
  store->queue_ = store->handles_[1];
  store->expiry_ = store->handles_[2];
  store->seen_ = store->handles_[3];
  store->cases_cf_ = store->handles_[4];

  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, store->queue_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::string_view value = it->value().ToStringView();
    size_t nul = key.find('\0');
    if (nul == std::string_view::npos || key.size() != nul + 9 || value.size() < kEntryHeader) {
      return Corruption("broker store: malformed queue entry");
    }
    const uint64_t seq = GetBigEndian64(key.substr(nul + 1));
    store->counts_[std::string(key.substr(0, nul))]++;
    store->next_seq_ = std::max(store->next_seq_, seq + 1);
    store->total_++;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
  return store;
}

MessageStore::~MessageStore() {
  if (synced_fd_ >= 0) ::close(synced_fd_);
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

rocksdb::ColumnFamilyHandle* MessageStore::Handle(const std::string& name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return nullptr;
}

Result<bool> MessageStore::Seen(ByteView message_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), seen_, ToSlice(message_id), &value);
  if (s.IsNotFound()) return false;
  NRM_RETURN_IF_ERROR(FromRocks(s, "cannot read the replay memory"));
  return true;
}

Result<std::optional<AcceptedMessage>> MessageStore::Accepted(ByteView message_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), seen_, ToSlice(message_id), &value);
  if (s.IsNotFound()) return std::optional<AcceptedMessage>();
  NRM_RETURN_IF_ERROR(FromRocks(s, "cannot read the replay memory"));
  if (value.size() < 8) return Corruption("broker store: malformed replay memory entry");
  AcceptedMessage m;
  m.created_at_ms = static_cast<int64_t>(GetBigEndian64(value));
  if (value.size() >= 16) {
    m.leaf = GetBigEndian64(std::string_view(value).substr(8));
    m.sender = value.substr(16);
  }
  return std::optional<AcceptedMessage>(std::move(m));
}

void MessageStore::AddEntry(rocksdb::WriteBatch& batch, const std::string& recipient,
                            ByteView message_id, EntryType type, ByteView data,
                            int64_t expires_at_ms, const std::string& sender) {
  const uint64_t seq = next_seq_++;
  std::string entry(reinterpret_cast<const char*>(message_id.data()), message_id.size());
  entry.push_back(static_cast<char>(type));
  PutBigEndian64(entry, static_cast<uint64_t>(expires_at_ms));
  entry.append(reinterpret_cast<const char*>(data.data()), data.size());
  batch.Put(queue_, QueueKey(recipient, seq), entry);
  if (expires_at_ms != std::numeric_limits<int64_t>::max()) {
    std::string value(reinterpret_cast<const char*>(message_id.data()), message_id.size());
    batch.Put(expiry_, ExpiryKey(expires_at_ms, seq),
              value.append(recipient).append(1, '\0').append(sender));
  }
  uncommitted_.push_back({recipient, seq, true});
}

void MessageStore::AddAccepted(rocksdb::WriteBatch& batch, ByteView message_id,
                               int64_t created_at_ms, const std::string& sender,
                               const std::vector<std::string>& recipients, ByteView frame,
                               int64_t expires_at_ms, std::optional<uint64_t> leaf) {
  std::string when;
  PutBigEndian64(when, static_cast<uint64_t>(created_at_ms));
  if (leaf) {
    PutBigEndian64(when, *leaf);
    when += sender;
  }
  batch.Put(seen_, ToSlice(message_id), when);
  for (const std::string& r : recipients) {
    AddEntry(batch, r, message_id, EntryType::kEnvelope, frame, expires_at_ms, sender);
  }
}

bool MessageStore::RemovedInBatch(const std::string& recipient, uint64_t seq) const {
  for (const CountChange& c : uncommitted_) {
    if (!c.added && c.seq == seq && c.recipient == recipient) return true;
  }
  return false;
}

void MessageStore::AddRemove(rocksdb::WriteBatch& batch, const std::string& recipient, uint64_t seq,
                             int64_t expires_at_ms) {
  batch.Delete(queue_, QueueKey(recipient, seq));
  if (expires_at_ms != std::numeric_limits<int64_t>::max()) {
    batch.Delete(expiry_, ExpiryKey(expires_at_ms, seq));
  }
  uncommitted_.push_back({recipient, seq, false});
}

Status MessageStore::AddAcknowledged(rocksdb::WriteBatch& batch, const std::string& recipient,
                                     ByteView message_id, uint64_t seq) {
  if (RemovedInBatch(recipient, seq)) return NotFound("message was already acknowledged");
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), queue_, QueueKey(recipient, seq), &value);
  if (s.IsNotFound()) return NotFound("message is no longer queued for " + recipient);
  NRM_RETURN_IF_ERROR(FromRocks(s, "cannot read the broker store"));
  if (value.size() < kEntryHeader) return Corruption("broker store: malformed queue entry");
  if (std::string_view(value).substr(0, kIdBytes) != AsChars(message_id)) {
    return NotFound("queue entry " + std::to_string(seq) + " holds another message");
  }
  AddRemove(batch, recipient, seq, EntryExpiry(value));
  return Status::Ok();
}

Result<std::vector<ExpiredMessage>> MessageStore::AddExpired(rocksdb::WriteBatch& batch,
                                                             int64_t now_ms, size_t limit) {
  std::vector<ExpiredMessage> out;
  // The bound stops the scan at the first key not yet due, deleted or not. Without it the scan
  // (every second) stepped over the deletion of every message acknowledged since the last
  // compaction, all of which sort before the entries still queued: a stall growing with load.
  const std::string bound = ExpiryKey(now_ms + 1, 0);
  const rocksdb::Slice upper(bound);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, expiry_));
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::string_view value = it->value().ToStringView();
    size_t nul = value.find('\0', kIdBytes);
    if (key.size() != 16 || nul == std::string_view::npos) {
      return Corruption("broker store: malformed expiry entry");
    }
    if (static_cast<int64_t>(GetBigEndian64(key)) > now_ms) break;
    const Bytes id = ToBytes(value.substr(0, kIdBytes));
    std::string recipient(value.substr(kIdBytes, nul - kIdBytes));
    std::string sender(value.substr(nul + 1));
    // An expiry entry is written and deleted with its queue entry, so it names one still queued
    // unless this batch removes it already.
    const uint64_t seq = GetBigEndian64(key.substr(8));
    if (RemovedInBatch(recipient, seq)) continue;
    AddRemove(batch, recipient, seq, static_cast<int64_t>(GetBigEndian64(key)));
    AddEntry(batch, sender, id, EntryType::kExpiryNotice, AsBytes(recipient),
             std::numeric_limits<int64_t>::max(), sender);
    out.push_back({std::move(recipient), std::move(sender), id, seq});
  }
  Status read = FromRocks(it->status(), "cannot read the expiry index");
  // Short of resources part way: what was added is consistent (each removal with its notice);
  // the next scan takes the rest.
  if (!read.ok() && !(read.code() == Code::kResourceExhausted && !out.empty())) return read;
  return out;
}

void MessageStore::AddExpiryNotice(rocksdb::WriteBatch& batch, const std::string& sender,
                                   ByteView message_id, const std::string& recipient) {
  AddEntry(batch, sender, message_id, EntryType::kExpiryNotice, AsBytes(recipient),
           std::numeric_limits<int64_t>::max(), sender);
}

void MessageStore::AddRelayReceipt(rocksdb::WriteBatch& batch, const std::string& sender,
                                   ByteView message_id, ByteView data) {
  AddEntry(batch, sender, message_id, EntryType::kRelayReceipt, data,
           std::numeric_limits<int64_t>::max(), sender);
}

Result<size_t> MessageStore::AddDropQueue(rocksdb::WriteBatch& batch,
                                          const std::string& recipient) {
  const std::string prefix = recipient + std::string(1, '\0');
  const std::string end = QueueEnd(recipient);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, queue_));
  size_t n = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view key = it->key().ToStringView();
    std::string_view value = it->value().ToStringView();
    if (key.size() != prefix.size() + 8 || value.size() < kEntryHeader) {
      return Corruption("broker store: malformed queue entry");
    }
    const uint64_t seq = GetBigEndian64(key.substr(prefix.size()));
    if (RemovedInBatch(recipient, seq)) continue;
    AddRemove(batch, recipient, seq, EntryExpiry(value));
    ++n;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
  return n;
}

namespace {
// originator '\n' h2 ('0' or '1') '\n' parties (comma-separated) '\n' approved: agency ids
// hold neither commas nor newlines.
std::string EncodeCase(const CaseParties& c) {
  auto join = [](const std::set<std::string>& ids) {
    std::string out;
    for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
    return out;
  };
  return c.originator + "\n" + (c.h2 ? "1" : "0") + "\n" + join(c.parties) + "\n" +
         join(c.approved);
}
Result<CaseParties> DecodeCase(std::string_view v) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i) {
    if (i == v.size() || v[i] == '\n') {
      lines.emplace_back(v.substr(start, i - start));
      start = i + 1;
    }
  }
  if (lines.size() != 4 || (lines[1] != "0" && lines[1] != "1")) {
    return Corruption("broker store: malformed case entry");
  }
  auto split = [](const std::string& s) {
    std::set<std::string> out;
    size_t from = 0;
    while (from < s.size()) {
      size_t comma = s.find(',', from);
      if (comma == std::string::npos) comma = s.size();
      out.insert(s.substr(from, comma - from));
      from = comma + 1;
    }
    return out;
  };
  return CaseParties{lines[0], lines[1] == "1", split(lines[2]), split(lines[3])};
}
}  // namespace

Result<std::optional<CaseParties>> MessageStore::FindCase(ByteView case_ref) const {
  Bytes key(case_ref.begin(), case_ref.end());
  if (auto it = batch_cases_.find(key); it != batch_cases_.end()) return {it->second};
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cases_cf_, ToSlice(case_ref), &value);
  if (s.IsNotFound()) return std::optional<CaseParties>();
  NRM_RETURN_IF_ERROR(FromRocks(s, "cannot read the case registry"));
  NRM_ASSIGN_OR_RETURN(CaseParties c, DecodeCase(value));
  return {std::move(c)};
}

void MessageStore::AddCase(rocksdb::WriteBatch& batch, ByteView case_ref, CaseParties parties) {
  batch.Put(cases_cf_, ToSlice(case_ref), EncodeCase(parties));
  batch_cases_[Bytes(case_ref.begin(), case_ref.end())] = std::move(parties);
}

namespace {

constexpr std::string_view kSyncedMagic = "nrmsync1";
constexpr size_t kSyncedBytes = 24;  // magic, be64 sequence, be64 its complement

std::string EncodeSynced(uint64_t seq) {
  std::string out(kSyncedMagic);
  PutBigEndian64(out, seq);
  PutBigEndian64(out, ~seq);
  return out;
}

}  // namespace

Status MessageStore::TrackSyncedWrites(const std::string& file) {
  const uint64_t have = db_->GetLatestSequenceNumber();
  if (::access(file.c_str(), F_OK) == 0) {
    NRM_ASSIGN_OR_RETURN(std::string raw, ReadFile(file));
    if (raw.size() != kSyncedBytes || !raw.starts_with(kSyncedMagic) ||
        GetBigEndian64(raw.substr(8)) != ~GetBigEndian64(raw.substr(16))) {
      return Corruption(file + " is corrupt; remove it only if you accept the store as it is");
    }
    const uint64_t synced = GetBigEndian64(raw.substr(8));
    if (have < synced) {
      return Corruption("broker store corrupt: it ends at write " + std::to_string(have) +
                        " but writes up to " + std::to_string(synced) +
                        " were synced and acknowledged (a truncated or damaged WAL, or an older "
                        "copy of the store). Restore the store from a backup, or, to serve what "
                        "is left and lose the rest, remove " +
                        file);
    }
  }
  synced_fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (synced_fd_ < 0) return IOError("cannot open " + file + ": " + std::strerror(errno));
  return Status::Ok();
}

Status MessageStore::Commit(rocksdb::WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && sync_;
  Status s = FromRocks(db_->Write(wo, &batch), "cannot write the broker store");
  if (s.code() == Code::kResourceExhausted) {
    // A full descriptor table or disk: nothing of the batch was applied, and RocksDB may hold
    // the error and refuse writes until resumed. When it resumes, the broker refuses this batch
    // and goes on. RocksDB 7.8 makes some of these errors fatal to the open DB (a new log that
    // could not be created): then only reopening recovers, and the broker must restart.
    if (rocksdb::Status r = db_->Resume(); !r.ok()) {
      s = IOError(s.message() + "; RocksDB cannot resume from it (" + r.ToString() +
                  "): the store must be reopened");
    }
  }
  if (s.ok() && wo.sync && synced_fd_ >= 0) {
    // Rewrites the file's existing 24 bytes: no block to allocate, so even a full disk takes it.
    // Should it still fail, detection is weaker until the next commit; nothing is lost.
    const std::string now = EncodeSynced(db_->GetLatestSequenceNumber());
    (void)!::pwrite(synced_fd_, now.data(), now.size(), 0);
  }
  if (s.ok()) {
    for (const CountChange& c : uncommitted_) {
      size_t& n = counts_[c.recipient];
      if (c.added) {
        ++n;
        ++total_;
      } else if (n > 0) {
        --n;
        --total_;
      }
    }
  }
  // On failure the sequence numbers the batch used are skipped: order is all they promise.
  uncommitted_.clear();
  batch.Clear();
  batch_cases_.clear();  // committed, or (on failure) never applied
  return s;
}

Result<std::vector<QueuedMessage>> MessageStore::Pending(const std::string& recipient,
                                                         uint64_t after, size_t limit,
                                                         size_t max_bytes) const {
  std::vector<QueuedMessage> out;
  size_t bytes = 0;
  const std::string prefix = recipient + std::string(1, '\0');
  const std::string end = QueueEnd(recipient);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, queue_));
  for (it->Seek(QueueKey(recipient, after + 1));
       it->Valid() && out.size() < limit && (out.empty() || bytes < max_bytes); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 8) break;
    std::string_view value = it->value().ToStringView();
    if (value.size() < kEntryHeader ||
        static_cast<uint8_t>(value[kIdBytes]) > static_cast<uint8_t>(EntryType::kRelayReceipt)) {
      return Corruption("broker store: malformed queue entry");
    }
    out.push_back({GetBigEndian64(key.substr(prefix.size())), ToBytes(value.substr(0, kIdBytes)),
                   static_cast<EntryType>(value[kIdBytes]), ToBytes(value.substr(kEntryHeader))});
    bytes += out.back().data.size();
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
  return out;
}

size_t MessageStore::PendingCount(const std::string& recipient) const {
  auto q = counts_.find(recipient);
  return q == counts_.end() ? 0 : q->second;
}

size_t MessageStore::PendingTotal() const { return total_; }

Result<std::optional<int64_t>> MessageStore::OldestQueuedExpiry(
    const std::string& recipient) const {
  const std::string end = QueueEnd(recipient);
  const rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, queue_));
  it->Seek(QueueKey(recipient, 0));
  if (!it->Valid()) {
    NRM_RETURN_IF_ERROR(FromRocks(it->status(), "cannot read the broker store"));
    return std::optional<int64_t>();
  }
  const std::string_view value = it->value().ToStringView();
  if (value.size() < kEntryHeader) return Corruption("broker store: malformed queue entry");
  return std::optional<int64_t>(EntryExpiry(value));
}

}  // namespace nrm::broker
