// AgentStore's case keys and erasure (agent/store.h): each case's records are sealed under its
// own key, which erasure destroys; tombstones say what was erased, when, by whom and why.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <toml++/toml.h>

#include <csignal>
#include <cstdlib>
#include <sstream>

#include "agent/store.h"
#include "common/config/toml_util.h"
#include "common/rocks.h"

namespace nrm::agent {

// store.cc: lists in the store's TOML records, and the index entries of a message (o/, a/, h/).
toml::array TomlArray(const std::vector<std::string>& v);
std::vector<std::string> TomlStrings(const toml::table& t, std::string_view key);
Status IndexMessage(rocksdb::WriteBatch& batch, const MessageRecord& m);
Status UnindexMessage(rocksdb::WriteBatch& batch, const std::string& id);

namespace {

using rocks::FromRocks;

constexpr size_t kRefHexBytes = 32;

std::string Boxed(const Bytes& b) { return std::string(AsChars(b)); }

std::string TombstoneText(const Tombstone& t) {
  std::ostringstream out;
  out << toml::table{{"ref", t.ref},
                     {"at_ms", t.at_ms},
                     {"erased_by", t.erased_by},
                     {"reason", t.reason},
                     {"asked", TomlArray(t.asked)},
                     {"confirmed", TomlArray(t.confirmed)},
                     {"requests", TomlArray(t.requests)},
                     {"compacted", t.compacted}};
  return out.str();
}

Tombstone TombstoneFrom(const toml::table& t) {
  Tombstone x;
  x.ref = t["ref"].value_or(std::string());
  x.at_ms = t["at_ms"].value_or(int64_t{0});
  x.erased_by = t["erased_by"].value_or(std::string());
  x.reason = t["reason"].value_or(std::string());
  x.asked = TomlStrings(t, "asked");
  x.confirmed = TomlStrings(t, "confirmed");
  x.requests = TomlStrings(t, "requests");
  x.compacted = t["compacted"].value_or(false);
  return x;
}

}  // namespace

// store.cc: a message record as the store writes it.
std::string ToTomlText(const MessageRecord& m);

Result<const crypto::SecretBytes*> AgentStore::CaseKey(const std::string& ref) {
  auto it = case_keys_.find(ref);
  if (it != case_keys_.end()) return &it->second;
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> wrapped, Get("k/" + ref));
  if (!wrapped) return static_cast<const crypto::SecretBytes*>(nullptr);
  Result<crypto::SecretBytes> key = crypto::SecretBoxOpen(key_, AsBytes(*wrapped));
  if (!key.ok()) return Corruption("the key of case " + ref + " does not open");
  return &case_keys_.emplace(ref, std::move(*key)).first->second;
}

Result<std::string> AgentStore::SealValue(const std::string& case_ref, std::string_view plaintext,
                                          rocksdb::WriteBatch& batch) {
  std::lock_guard<std::mutex> lock(keys_mu_);
  if (case_ref.size() == kRefHexBytes) {
    NRM_ASSIGN_OR_RETURN(const crypto::SecretBytes* key, CaseKey(case_ref));
    if (key == nullptr) {
      NRM_ASSIGN_OR_RETURN(std::optional<std::string> erased, Get("t/" + case_ref));
      if (!erased) {  // a new case: its own key, stored (sealed) in the same batch
        crypto::SecretBytes fresh = crypto::SecretBytes::FromBytes(crypto::RandomBytes(32));
        NRM_RETURN_IF_ERROR(FromRocks(
            batch.Put("k/" + case_ref, Boxed(crypto::SecretBoxSeal(key_, fresh.view()))), "batch"));
        key = &case_keys_.emplace(case_ref, std::move(fresh)).first->second;
        fresh_keys_.push_back(case_ref);
      }
    }
    if (key != nullptr) {
      return "C" + case_ref + ":" + Boxed(crypto::SecretBoxSeal(*key, AsBytes(plaintext)));
    }
  }
  return "L" + Boxed(crypto::SecretBoxSeal(key_, AsBytes(plaintext)));
}

Result<crypto::SecretBytes> AgentStore::OpenValue(const std::string& value) {
  std::lock_guard<std::mutex> lock(keys_mu_);
  if (value.size() > kRefHexBytes + 2 && value[0] == 'C' && value[kRefHexBytes + 1] == ':') {
    const std::string ref = value.substr(1, kRefHexBytes);
    NRM_ASSIGN_OR_RETURN(const crypto::SecretBytes* key, CaseKey(ref));
    if (key == nullptr) return Corruption("a record of case " + ref + " has no key");
    return crypto::SecretBoxOpen(*key, AsBytes(value).subspan(kRefHexBytes + 2));
  }
  if (!value.empty() && value[0] == 'L') {
    Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(key_, AsBytes(value).subspan(1));
    if (plain.ok()) return plain;
  }
  // A store written before case keys: every value sealed under the local key.
  return crypto::SecretBoxOpen(key_, AsBytes(value));
}

Result<std::vector<std::pair<std::string, std::string>>> AgentStore::ScanPairs(
    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + prefix));
  return out;
}

Result<std::optional<Tombstone>> AgentStore::GetTombstone(const std::string& ref) {
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> sealed, Get("t/" + ref));
  if (!sealed) return std::optional<Tombstone>();
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes plain, OpenValue(*sealed));
  Result<config::TomlDoc> doc = config::ParseToml(AsChars(plain.view()), "tombstone " + ref);
  if (!doc.ok()) return Corruption("tombstone " + ref + " does not parse");
  return std::optional<Tombstone>(TombstoneFrom(doc->root));
}

Result<std::vector<Tombstone>> AgentStore::Tombstones() {
  NRM_ASSIGN_OR_RETURN(auto pairs, ScanPairs("t/"));
  std::vector<Tombstone> out;
  for (const auto& [key, value] : pairs) {
    NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> t, GetTombstone(key.substr(2)));
    if (t) out.push_back(std::move(*t));
  }
  return out;
}

// Adds the tombstone `t` and `messages` of its case to `batch`.
Status AgentStore::AddTombstone(rocksdb::WriteBatch& batch, const Tombstone& t,
                                const std::vector<MessageRecord>& messages) {
  NRM_RETURN_IF_ERROR(FromRocks(
      batch.Put("t/" + t.ref, "L" + Boxed(crypto::SecretBoxSeal(key_, AsBytes(TombstoneText(t))))),
      "batch"));
  for (const MessageRecord& m : messages) {
    // The case has no key any more: these are sealed under the local key (no personal data).
    NRM_ASSIGN_OR_RETURN(std::string sealed, SealValue("", ToTomlText(m), batch));
    NRM_RETURN_IF_ERROR(FromRocks(batch.Put("m/" + m.id, sealed), "batch"));
    // Indexed like any message: an erasure request waits to send, then waits at the broker for
    // its receipts (agent/step_state.h).
    NRM_RETURN_IF_ERROR(IndexMessage(batch, m));
  }
  return Status::Ok();
}

Status AgentStore::WriteTombstone(const Tombstone& t, const std::vector<MessageRecord>& messages) {
  rocksdb::WriteBatch batch;
  NRM_RETURN_IF_ERROR(AddTombstone(batch, t, messages));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return FromRocks(db_->Write(sync, &batch), "write a tombstone");
}

Status AgentStore::Erase(const Tombstone& t, const std::vector<MessageRecord>& messages) {
  rocksdb::WriteBatch batch;
  NRM_RETURN_IF_ERROR(FromRocks(batch.Delete("k/" + t.ref), "batch"));
  NRM_RETURN_IF_ERROR(FromRocks(batch.Delete("c/" + t.ref), "batch"));
  // Every message of the case, found without opening it: its value names its case.
  NRM_ASSIGN_OR_RETURN(auto all, ScanPairs("m/"));
  const std::string mark = "C" + t.ref + ":";
  for (const auto& [key, value] : all) {
    if (!value.starts_with(mark)) continue;
    NRM_RETURN_IF_ERROR(FromRocks(batch.Delete(key), "batch"));
    NRM_RETURN_IF_ERROR(UnindexMessage(batch, key.substr(2)));
  }
  // The tombstone and the erasure requests in the same batch: a crash leaves the case whole, or
  // erased with its requests in the outbox, never half.
  Tombstone pending = t;
  pending.compacted = false;
  NRM_RETURN_IF_ERROR(AddTombstone(batch, pending, messages));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  NRM_RETURN_IF_ERROR(FromRocks(db_->Write(sync, &batch), "erase case " + t.ref));
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (auto it = case_keys_.find(t.ref); it != case_keys_.end()) {
      it->second.Wipe();
      case_keys_.erase(it);
    }
  }
  if (erase_observer_) erase_observer_(t.ref);
  CrashPointForTesting("erase:after-write");
  NRM_RETURN_IF_ERROR(Compact());
  Tombstone done = t;
  done.compacted = true;
  return WriteTombstone(done, {});
}

Status AgentStore::FinishErasures() {
  NRM_ASSIGN_OR_RETURN(std::vector<Tombstone> all, Tombstones());
  bool compact = false;
  for (const Tombstone& t : all) compact = compact || !t.compacted;
  if (!compact) return Status::Ok();
  NRM_RETURN_IF_ERROR(Compact());
  for (Tombstone t : all) {
    if (t.compacted) continue;
    t.compacted = true;
    NRM_RETURN_IF_ERROR(WriteTombstone(t, {}));
  }
  return Status::Ok();
}

void CrashPointForTesting(std::string_view point) {
  // Tests of kill -9 during an erasure name the point where the agent dies (SIGKILL itself:
  // no destructor, no flush), so that both sides of the synced batch are tested every run.
  static const char* wanted = std::getenv("NRM_AGENT_CRASH_AT");
  if (wanted != nullptr && point == wanted) ::raise(SIGKILL);
}

Status AgentStore::Compact() {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  NRM_RETURN_IF_ERROR(FromRocks(db_->Flush(flush), "flush"));
  rocksdb::CompactRangeOptions all;
  all.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  all.change_level = false;
  NRM_RETURN_IF_ERROR(FromRocks(db_->CompactRange(all, nullptr, nullptr), "compact"));
  // The records now live only in the new table files; the flush made the logs that held them
  // obsolete, and RocksDB deletes obsolete files at once (no WAL archive is kept).
  return FromRocks(db_->Flush(flush), "flush");
}

}  // namespace nrm::agent
