#include "agent/store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iterator>
#include <sstream>

#include "agent/step_state.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "common/rocks.h"

namespace nrm::agent {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Corruption(std::move(m));
  return IOError(std::move(m));
}

}  // namespace

// Shared with store_erase.cc.
toml::array TomlArray(const std::vector<std::string>& v) {
  toml::array a;
  for (const std::string& s : v) a.push_back(s);
  return a;
}

std::vector<std::string> TomlStrings(const toml::table& t, std::string_view key) {
  std::vector<std::string> out;
  if (const toml::array* a = t[key].as_array()) {
    for (const toml::node& n : *a) {
      if (auto s = n.value<std::string>()) out.push_back(*s);
    }
  }
  return out;
}

// The indexes of message ids (store.h): waiting to send, at the broker, held.
constexpr std::string_view kMessageIndexes[] = {"o/", "a/", "h/"};

// Shared with store_erase.cc: puts or deletes the index entries of `m` as it is now.
Status IndexMessage(rocksdb::WriteBatch& batch, const MessageRecord& m) {
  // A receipt is done once the broker holds it: nobody confirms a receipt.
  const bool out = m.direction == "out";
  const bool indexed[] = {out && m.state == kWaitingToSend,
                          out && m.state == kAtTheBroker && m.kind != "receipt",
                          m.direction == "in" && m.state == kHeld};
  for (size_t i = 0; i < std::size(kMessageIndexes); ++i) {
    const std::string key = std::string(kMessageIndexes[i]) + m.id;
    NRM_RETURN_IF_ERROR(FromRocks(indexed[i] ? batch.Put(key, "") : batch.Delete(key), "batch"));
  }
  return Status::Ok();
}

// Shared with store_erase.cc: deletes every index entry of message `id` (an erased message).
Status UnindexMessage(rocksdb::WriteBatch& batch, const std::string& id) {
  for (std::string_view prefix : kMessageIndexes) {
    NRM_RETURN_IF_ERROR(FromRocks(batch.Delete(std::string(prefix) + id), "batch"));
  }
  return Status::Ok();
}

namespace {

std::string Text(const toml::table& t, std::string_view key) {
  return t[key].value_or(std::string());
}
int64_t Int(const toml::table& t, std::string_view key) { return t[key].value_or(int64_t{0}); }
Bytes HexBytes(const toml::table& t, std::string_view key) {
  Result<Bytes> b = FromHex(Text(t, key));
  return b.ok() ? *b : Bytes();
}

std::string Serialize(const toml::table& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

// A phrase as the JSON text of PhraseToJson, written only when there is one.
void InsertPhrase(toml::table& t, std::string_view key, const Phrase& p) {
  if (!p.empty()) t.insert(key, PhraseToJson(p).dump());
}
Phrase PhraseOf(const toml::table& t, std::string_view key) {
  const std::string text = Text(t, key);
  if (text.empty()) return {};
  Result<json::Json> j = json::Parse(text);
  return j.ok() ? PhraseFromJson(*j) : Phrase{};
}

toml::table ToToml(const MessageRecord& m) {
  toml::table t{{"id", m.id},
                {"direction", m.direction},
                {"kind", m.kind},
                {"from", m.from},
                {"to", TomlArray(m.to)},
                {"case_ref", m.case_ref},
                {"in_reply_to", m.in_reply_to},
                {"created_at_ms", m.created_at_ms},
                {"consent_override", m.consent_override},
                {"state", m.state},
                {"note", m.note},
                {"detail", m.detail},
                {"attempts", m.attempts},
                {"frame", ToHex(m.frame)},
                {"payload", ToHex(m.payload)},
                {"broker_receipt", m.broker_receipt},
                {"broker_head", ToHex(m.broker_head)},
                {"receipts", TomlArray(m.receipts)},
                {"prev_state", m.prev_state},
                {"handling", m.handling},
                {"taken_at_ms", m.taken_at_ms},
                {"accepted_at_ms", m.accepted_at_ms},
                {"checked_at_ms", m.checked_at_ms},
                {"confirmed_by", TomlArray(m.confirmed_by)},
                {"received_at_ms", m.received_at_ms},
                {"previous", m.previous},
                {"sections", TomlArray(m.sections)},
                {"withheld", TomlArray(m.withheld)}};
  InsertPhrase(t, "detail_phrase", m.detail_phrase);
  InsertPhrase(t, "broker_receipt_phrase", m.broker_receipt_phrase);
  return t;
}

MessageRecord MessageFromToml(const toml::table& t) {
  MessageRecord m;
  m.id = Text(t, "id");
  m.direction = Text(t, "direction");
  m.kind = Text(t, "kind");
  m.from = Text(t, "from");
  m.to = TomlStrings(t, "to");
  m.case_ref = Text(t, "case_ref");
  m.in_reply_to = Text(t, "in_reply_to");
  m.created_at_ms = Int(t, "created_at_ms");
  m.consent_override = t["consent_override"].value_or(false);
  m.state = CurrentStateWord(m.direction, Text(t, "state"));
  m.note = Text(t, "note");
  m.detail = Text(t, "detail");
  m.attempts = Int(t, "attempts");
  m.frame = HexBytes(t, "frame");
  m.payload = HexBytes(t, "payload");
  m.broker_receipt = Text(t, "broker_receipt");
  m.broker_head = HexBytes(t, "broker_head");
  m.receipts = TomlStrings(t, "receipts");
  m.prev_state = Text(t, "prev_state");
  m.handling = t["handling"].value_or(std::string("H0"));
  m.taken_at_ms = Int(t, "taken_at_ms");
  if (m.taken_at_ms == 0) m.taken_at_ms = m.created_at_ms;  // written by an earlier version
  m.accepted_at_ms = Int(t, "accepted_at_ms");
  m.checked_at_ms = Int(t, "checked_at_ms");
  m.confirmed_by = TomlStrings(t, "confirmed_by");
  m.received_at_ms = Int(t, "received_at_ms");
  m.previous = Text(t, "previous");
  m.sections = TomlStrings(t, "sections");
  m.withheld = TomlStrings(t, "withheld");
  m.detail_phrase = PhraseOf(t, "detail_phrase");
  m.broker_receipt_phrase = PhraseOf(t, "broker_receipt_phrase");
  return m;
}

}  // namespace

std::string ToTomlText(const MessageRecord& m) { return Serialize(ToToml(m)); }

namespace {

toml::table ToToml(const CaseRecord& c) {
  toml::table t{{"ref", c.ref},
                {"label", c.label},
                {"state", c.state},
                {"parties", TomlArray(c.parties)},
                {"attention", c.attention},
                {"payload", ToHex(c.payload)},
                {"person_keys", TomlArray(c.person_keys)}};
  if (c.consent) {
    const ConsentRecord& r = *c.consent;
    t.insert("consent", toml::table{{"share_sections", TomlArray(r.share_sections)},
                                    {"share_with_roles", TomlArray(r.share_with_roles)},
                                    {"share_with_agencies", TomlArray(r.share_with_agencies)},
                                    {"purpose", r.purpose},
                                    {"date", r.date},
                                    {"recorded_by", r.recorded_by},
                                    {"revoked", r.revoked},
                                    {"revoked_reason", r.revoked_reason}});
  }
  toml::array steps;
  for (const TimelineStep& s : c.timeline) {
    toml::table step{
        {"at_ms", s.at_ms}, {"message_id", s.message_id}, {"kind", s.kind}, {"from", s.from},
        {"to", s.to},       {"state", s.state},           {"note", s.note}, {"by", s.by}};
    InsertPhrase(step, "note_phrase", s.note_phrase);
    steps.push_back(std::move(step));
  }
  t.insert("timeline", std::move(steps));
  return t;
}

CaseRecord CaseFromToml(const toml::table& t) {
  CaseRecord c;
  c.ref = Text(t, "ref");
  c.label = Text(t, "label");
  c.state = Text(t, "state");
  c.parties = TomlStrings(t, "parties");
  c.attention = Text(t, "attention");
  c.payload = HexBytes(t, "payload");
  c.person_keys = TomlStrings(t, "person_keys");
  if (const toml::table* r = t["consent"].as_table()) {
    ConsentRecord k;
    k.share_sections = TomlStrings(*r, "share_sections");
    k.share_with_roles = TomlStrings(*r, "share_with_roles");
    k.share_with_agencies = TomlStrings(*r, "share_with_agencies");
    k.purpose = Text(*r, "purpose");
    k.date = Text(*r, "date");
    k.recorded_by = Text(*r, "recorded_by");
    k.revoked = (*r)["revoked"].value_or(false);
    k.revoked_reason = Text(*r, "revoked_reason");
    c.consent = std::move(k);
  }
  if (const toml::array* steps = t["timeline"].as_array()) {
    for (const toml::node& n : *steps) {
      const toml::table* s = n.as_table();
      if (s == nullptr) continue;
      c.timeline.push_back({Int(*s, "at_ms"), Text(*s, "message_id"), Text(*s, "kind"),
                            Text(*s, "from"), Text(*s, "to"), Text(*s, "state"), Text(*s, "note"),
                            Text(*s, "by"), PhraseOf(*s, "note_phrase")});
    }
  }
  return c;
}

// Opens a stored value (AgentStore::OpenValue), for the templates below.
using Opener = std::function<Result<crypto::SecretBytes>(const std::string&)>;

Result<toml::table> ParseRecord(const Opener& open, const std::string& sealed,
                                const std::string& what) {
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes plain, open(sealed));
  Result<config::TomlDoc> doc = config::ParseToml(AsChars(plain.view()), what);
  if (!doc.ok()) return Corruption(what + " does not parse: " + doc.status().message());
  return std::move(doc->root);
}

// One record of either kind: `sealed` as read (absent: nullopt), opened and converted.
template <typename Record>
Result<std::optional<Record>> OneRecord(Result<std::optional<std::string>> sealed,
                                        const Opener& key, const std::string& what,
                                        Record (*from_toml)(const toml::table&)) {
  NRM_RETURN_IF_ERROR(sealed.status());
  if (!*sealed) return std::optional<Record>();
  NRM_ASSIGN_OR_RETURN(toml::table t, ParseRecord(key, **sealed, what));
  return std::optional<Record>(from_toml(t));
}

// Every record of a scan, in scan order.
template <typename Record>
Result<std::vector<Record>> AllRecords(Result<std::vector<std::string>> sealed, const Opener& key,
                                       const std::string& what,
                                       Record (*from_toml)(const toml::table&)) {
  NRM_RETURN_IF_ERROR(sealed.status());
  std::vector<Record> out;
  for (const std::string& v : *sealed) {
    NRM_ASSIGN_OR_RETURN(toml::table t, ParseRecord(key, v, what));
    out.push_back(from_toml(t));
  }
  return out;
}

constexpr std::string_view kPlain = "plain ";
constexpr std::string_view kPwhash = "pwhash ";

}  // namespace

Result<crypto::SecretBytes> LoadOrCreateLocalKey(const std::string& data_dir,
                                                 const std::string& passphrase) {
  if (!std::filesystem::exists(data_dir)) {
    NRM_RETURN_IF_ERROR(MakeDirs(data_dir));
    if (::chmod(data_dir.c_str(), 0700) != 0) return IOError("cannot chmod 700 " + data_dir);
  }
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0) return IOError("cannot stat " + data_dir);
  if ((st.st_mode & 077) != 0) {
    return PermissionDenied(data_dir +
                            " is open to group or others; it holds the agent's store and must "
                            "be mode 0700 (chmod 700 " +
                            data_dir + ")");
  }
  const std::string path = data_dir + "/local.key";
  if (!std::filesystem::exists(path)) {
    crypto::SecretBytes key = crypto::SecretBytes::FromBytes(crypto::RandomBytes(32));
    std::string text;
    if (passphrase.empty()) {
      text = std::string(kPlain) + ToHex(key.view()) + "\n";
    } else {
      const Bytes salt = crypto::RandomBytes(crypto::kPwhashSaltBytes);
      NRM_ASSIGN_OR_RETURN(crypto::SecretBytes wrap, crypto::KeyFromPassphrase(passphrase, salt));
      text = std::string(kPwhash) + ToHex(salt) + " " +
             ToHex(crypto::SecretBoxSeal(wrap, key.view())) + "\n";
    }
    NRM_RETURN_IF_ERROR(WriteFileAtomic(path, text, 0600));
    return key;
  }
  NRM_RETURN_IF_ERROR(CheckPrivateFile(path));
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.rfind(kPlain, 0) == 0) {
    Result<Bytes> key = FromHexExact(text.substr(kPlain.size()), 32, path);
    if (!key.ok()) return Corruption(key.status().message());
    return crypto::SecretBytes::FromBytes(*key);
  }
  if (text.rfind(kPwhash, 0) != 0) return Corruption(path + " is not an agent local key");
  if (passphrase.empty()) {
    return InvalidArgument(path +
                           " is protected by a passphrase: set NRM_AGENT_PASSPHRASE before "
                           "starting the agent");
  }
  const std::string rest = text.substr(kPwhash.size());
  const size_t space = rest.find(' ');
  Result<Bytes> salt = FromHex(rest.substr(0, space));
  Result<Bytes> boxed = FromHex(space == std::string::npos ? "" : rest.substr(space + 1));
  if (!salt.ok() || !boxed.ok()) return Corruption(path + " is damaged");
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes wrap, crypto::KeyFromPassphrase(passphrase, *salt));
  Result<crypto::SecretBytes> key = crypto::SecretBoxOpen(wrap, *boxed);
  if (!key.ok()) return Unauthenticated("wrong passphrase for " + path);
  return std::move(*key);
}

AgentStore::AgentStore(std::unique_ptr<rocksdb::DB> db, crypto::SecretBytes key)
    : db_(std::move(db)), key_(std::move(key)) {}

AgentStore::~AgentStore() {
  if (db_) (void)Close();
}

Result<std::unique_ptr<AgentStore>> AgentStore::Open(const std::string& data_dir,
                                                     crypto::SecretBytes key) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  NRM_RETURN_IF_ERROR(FromRocks(
      rocksdb::DB::Open(options, data_dir + "/store", &raw),
      "cannot open the agent store " + data_dir + "/store (is another nrm-agent run using it?)"));
  std::unique_ptr<AgentStore> store(
      new AgentStore(std::unique_ptr<rocksdb::DB>(raw), std::move(key)));
  NRM_RETURN_IF_ERROR(store->FinishErasures());  // a crash between an erasure and compaction
  return store;
}

Status AgentStore::Checkpoint(const std::string& dir) {
  return rocks::CheckpointTo(db_.get(), dir);
}

Status AgentStore::Close() {
  if (!db_) return Status::Ok();
  Status s = FromRocks(db_->SyncWAL(), "sync");
  Status c = FromRocks(db_->Close(), "close");
  db_.reset();
  return s.ok() ? c : s;
}

Result<std::optional<std::string>> AgentStore::Get(const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  NRM_RETURN_IF_ERROR(FromRocks(s, "read " + key));
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<std::string>> AgentStore::Scan(const std::string& prefix, bool values) {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.push_back(values ? it->value().ToString() : it->key().ToString().substr(prefix.size()));
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + prefix));
  return out;
}

Result<std::optional<MessageRecord>> AgentStore::GetMessage(const std::string& id) {
  return OneRecord(
      Get("m/" + id), [this](const std::string& v) { return OpenValue(v); }, "message " + id,
      MessageFromToml);
}

Result<std::optional<CaseRecord>> AgentStore::GetCase(const std::string& ref) {
  return OneRecord(
      Get("c/" + ref), [this](const std::string& v) { return OpenValue(v); }, "case " + ref,
      CaseFromToml);
}

Status AgentStore::Write(const std::vector<MessageRecord>& messages,
                         const std::vector<CaseRecord>& cases) {
  rocksdb::WriteBatch batch;
  auto fill = [&]() -> Status {
    for (const CaseRecord& c : cases) {
      NRM_ASSIGN_OR_RETURN(std::optional<std::string> erased, Get("t/" + c.ref));
      if (erased) return InvalidArgument("case " + c.ref + " was erased; it cannot be written");
    }
    auto put = [&](const std::string& key, const std::string& case_ref, const toml::table& t) {
      Result<std::string> sealed = SealValue(case_ref, Serialize(t), batch);
      if (!sealed.ok()) return sealed.status();
      return FromRocks(batch.Put(key, *sealed), "batch");
    };
    for (const MessageRecord& m : messages) {
      NRM_RETURN_IF_ERROR(put("m/" + m.id, m.case_ref, ToToml(m)));
      NRM_RETURN_IF_ERROR(IndexMessage(batch, m));
    }
    for (const CaseRecord& c : cases) NRM_RETURN_IF_ERROR(put("c/" + c.ref, c.ref, ToToml(c)));
    rocksdb::WriteOptions sync;
    sync.sync = true;
    return FromRocks(db_->Write(sync, &batch), "write the agent store");
  };
  Status s = fill();
  // A case key made for this batch exists only if the batch does.
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (!s.ok()) {
      for (const std::string& ref : fresh_keys_) case_keys_.erase(ref);
    }
    fresh_keys_.clear();
  }
  if (s.ok() && observer_) observer_(messages, cases);
  return s;
}

Status AgentStore::PutLocal(const std::string& key, std::string_view value) {
  if (!key.starts_with("w/")) return Internal("a local record key must start with w/: " + key);
  const Bytes sealed = crypto::SecretBoxSeal(key_, AsBytes(value));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  return FromRocks(
      db_->Put(sync, key,
               rocksdb::Slice(reinterpret_cast<const char*>(sealed.data()), sealed.size())),
      "write the agent store");
}

Result<std::optional<std::string>> AgentStore::GetLocal(const std::string& key) {
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> sealed, Get(key));
  if (!sealed) return std::optional<std::string>();
  Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(key_, AsBytes(*sealed));
  if (!plain.ok()) return Corruption("record " + key + " does not open under the local key");
  return std::optional<std::string>(std::string(AsChars(plain->view())));
}

Result<std::vector<std::pair<std::string, std::string>>> AgentStore::ScanLocal(
    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(
        key_, ByteView(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size()));
    if (!plain.ok()) {
      return Corruption("record " + it->key().ToString() + " does not open under the local key");
    }
    out.emplace_back(it->key().ToString(), std::string(AsChars(plain->view())));
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "scan " + prefix));
  return out;
}

Result<std::vector<MessageRecord>> AgentStore::Messages() {
  NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> out,
                       AllRecords(
                           Scan("m/", true), [this](const std::string& v) { return OpenValue(v); },
                           "a message record", MessageFromToml));
  std::stable_sort(out.begin(), out.end(), [](const MessageRecord& a, const MessageRecord& b) {
    return a.created_at_ms < b.created_at_ms;
  });
  return out;
}

Result<std::vector<CaseRecord>> AgentStore::Cases() {
  return AllRecords(
      Scan("c/", true), [this](const std::string& v) { return OpenValue(v); }, "a case record",
      CaseFromToml);
}

Result<std::vector<std::string>> AgentStore::WaitingOutbox() { return Scan("o/", false); }

Result<std::vector<std::string>> AgentStore::AtTheBroker() { return Scan("a/", false); }

Result<std::vector<std::string>> AgentStore::HeldInbox() { return Scan("h/", false); }

void SetDetail(MessageRecord& m, Phrase p) {
  m.detail = English(p);
  m.detail_phrase = std::move(p);
}

}  // namespace nrm::agent
