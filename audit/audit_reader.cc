#include "audit/audit_reader.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "audit/big_endian.h"
#include "common/clock.h"
#include "common/json/json.h"
#include "common/rocks.h"

namespace nrm::audit {
namespace {

using rocks::FromRocks;
using rocks::FromSlice;
using rocks::ToSlice;

bool SameBytes(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// A read-only open of the broker's database with the audit column families.
class ReadOnlyLog {
 public:
  static Result<std::unique_ptr<ReadOnlyLog>> Open(const std::string& path) {
    // A log begun before "audit_nodes" existed has no such column family: open what there is.
    std::vector<std::string> existing;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &existing);
    if (!s.ok()) return OpenError(path, s);
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, {}}};
    for (const std::string& name : AuditColumnFamilyNames()) {
      if (std::find(existing.begin(), existing.end(), name) != existing.end()) {
        descriptors.push_back({name, {}});
      }
    }
    auto log = std::unique_ptr<ReadOnlyLog>(new ReadOnlyLog());
    rocksdb::DB* db = nullptr;
    s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, descriptors, &log->handles_, &db);
    if (!s.ok()) return OpenError(path, s);
    log->db_.reset(db);
    log->cfs_ = AuditColumnFamilies::From([&](const std::string& name) {
      for (size_t i = 0; i < descriptors.size(); ++i) {
        if (descriptors[i].name == name) return log->handles_[i];
      }
      return static_cast<rocksdb::ColumnFamilyHandle*>(nullptr);
    });
    if (log->cfs_.records == nullptr || log->cfs_.heads == nullptr || log->cfs_.meta == nullptr) {
      return NotFound("no audit log at " + path);
    }
    return log;
  }

  ~ReadOnlyLog() {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      if (db_) (void)db_->DestroyColumnFamilyHandle(h);
    }
  }

  rocksdb::DB* db() const { return db_.get(); }
  const AuditColumnFamilies& cfs() const { return cfs_; }

 private:
  ReadOnlyLog() = default;
  static Status OpenError(const std::string& path, const rocksdb::Status& s) {
    std::string message = "cannot open the audit log at " + path + ": " + s.ToString();
    return s.IsCorruption() ? Corruption(std::move(message)) : IOError(std::move(message));
  }
  std::unique_ptr<rocksdb::DB> db_;  // declared first, destroyed last (after the handles)
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  AuditColumnFamilies cfs_;
};

// The stored head with the largest size, or kNotFound.
Result<StoredHead> LatestStoredHead(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.heads));
  it->SeekToLast();
  if (!it->Valid()) {
    NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading tree heads"));
    return NotFound("the audit log has no signed tree head yet");
  }
  return DecodeStoredHead(FromSlice(it->value()));
}

// The checkpoint a proof is made against: of size `at_size`, or the latest when 0.
Result<StoredHead> CheckpointForProof(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                                      uint64_t at_size) {
  StoredHead head;
  if (at_size == 0) {
    NRM_ASSIGN_OR_RETURN(head, LatestStoredHead(db, cfs));
  } else {
    std::string value;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), cfs.heads, ToSlice(Be64Key(at_size)), &value);
    if (s.IsNotFound()) {
      return NotFound("the log has no checkpoint of size " + std::to_string(at_size));
    }
    NRM_RETURN_IF_ERROR(FromRocks(s, "reading a checkpoint"));
    NRM_ASSIGN_OR_RETURN(head, DecodeStoredHead(AsBytes(value)));
  }
  if (head.legacy) {
    return NotFound("the head of size " + std::to_string(head.size) +
                    " predates checkpoints; a broker of this version signs one at its next start");
  }
  return head;
}

Result<std::string> StoredMeta(rocksdb::DB* db, const AuditColumnFamilies& cfs, const char* key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs.meta, key, &value);
  if (s.IsNotFound()) return NotFound(std::string("the audit log stores no ") + key);
  NRM_RETURN_IF_ERROR(FromRocks(s, std::string("reading ") + key));
  return value;
}

// The vkeys the broker recorded, one per line; lines that do not parse are skipped.
std::vector<note::VerifierKey> StoredWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  std::vector<note::VerifierKey> out;
  Result<std::string> text = StoredMeta(db, cfs, kWitnessesKey);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (Result<note::VerifierKey> k = note::ParseVerifierKey(rest.substr(0, nl)); k) {
      out.push_back(std::move(*k));
    }
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  return out;
}

Result<Bytes> StoredBrokerKey(rocksdb::DB* db, const AuditColumnFamilies& cfs) {
  NRM_ASSIGN_OR_RETURN(std::string key, StoredMeta(db, cfs, kBrokerKeyKey));
  return ToBytes(key);
}

// Calls fn(index, record encoding) for records 0, 1, ... until `limit` records, the end of the
// records, or fn returns false. Returns how many records fn accepted; kCorruption on a gap or a
// short value, or fn's error.
template <typename Fn>
Result<uint64_t> ForEachRecord(rocksdb::DB* db, const AuditColumnFamilies& cfs, uint64_t limit,
                               Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  uint64_t index = 0;
  for (it->SeekToFirst(); it->Valid() && index < limit; it->Next(), ++index) {
    ByteView key = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (key.size() != 8 || GetBe64(key.data()) != index || value.size() < kChainBytes) {
      return Corruption("record " + std::to_string(index) + " is missing or malformed; run verify");
    }
    NRM_ASSIGN_OR_RETURN(bool more, fn(index, value.subspan(kChainBytes)));
    if (!more) return index + 1;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  return index;
}

// One pass over records [0, n): the roots of the disjoint `ranges` (in their order) and the root
// of the first `prefix_size` leaves.
Status RangeRoots(rocksdb::DB* db, const AuditColumnFamilies& cfs, uint64_t n,
                  const std::vector<LeafRange>& ranges, uint64_t prefix_size,
                  std::vector<Hash>* roots, Hash* prefix_root) {
  std::vector<size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return ranges[a].begin < ranges[b].begin; });
  std::vector<CompactRange> acc(ranges.size());
  CompactRange prefix;
  size_t cur = 0;
  NRM_ASSIGN_OR_RETURN(
      uint64_t count, ForEachRecord(db, cfs, n, [&](uint64_t i, ByteView encoding) -> Result<bool> {
        const Hash leaf = HashLeaf(encoding);
        if (i < prefix_size) prefix.Append(leaf);
        while (cur < order.size() && ranges[order[cur]].end <= i) ++cur;
        if (cur < order.size() && ranges[order[cur]].begin <= i) acc[order[cur]].Append(leaf);
        return true;
      }));
  if (count < n) return Corruption("record " + std::to_string(count) + " is missing; run verify");
  roots->clear();
  for (const CompactRange& r : acc) roots->push_back(r.Root());
  if (prefix_root != nullptr) *prefix_root = prefix.Root();
  return Status::Ok();
}

// ------------------------------------------------------------------------------ JSON forms

using json::Json;

Json HashesJson(const std::vector<Hash>& hashes) {
  Json out = Json::array();
  for (const Hash& h : hashes) out.push_back(ToHex(h));
  return out;
}

// The record as displayed in a proof: its encoding, its leaf hash, then the decoded fields.
Json RecordJson(const AuditRecord& r, ByteView encoding) {
  Json recipients = Json::array();
  for (const std::string& recipient : r.recipients) recipients.push_back(recipient);
  Json out{{"encoding", ToHex(encoding)},
           {"leaf_hash", ToHex(HashLeaf(encoding))},
           {"event", EventName(r.event)},
           {"time_ms", r.time_ms},
           {"time_utc", FormatTimeUtc(r.time_ms)},
           {"message_id", ToHex(r.message_id)},
           {"envelope_hash", ToHex(r.envelope_hash)},
           {"sender", r.sender},
           {"recipients", std::move(recipients)},
           {"kind", r.kind},
           {"case_ref", ToHex(r.case_ref)},
           {"decision", r.decision},
           {"rule", r.rule},
           {"reason", r.reason}};
  if (r.count > 1) out["count"] = r.count;  // a counted record (version 2)
  return out;
}

// The reading side takes a document from anyone: every member is looked up with find() and its
// type checked before it is read, so that no nlohmann accessor can throw.

Result<const Json*> Member(const Json& obj, std::string_view key) {
  const auto it = obj.find(std::string(key));  // end() as well when obj is not an object
  if (it == obj.end()) return InvalidArgument("proof: \"" + std::string(key) + "\" is missing");
  return &*it;
}

Result<uint64_t> GetUint(const Json& obj, std::string_view key) {
  NRM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key));
  if (!v->is_number_unsigned()) {
    return InvalidArgument("proof: \"" + std::string(key) + "\" is not an unsigned integer");
  }
  return v->get<uint64_t>();
}

Result<int64_t> GetInt(const Json& obj, std::string_view key) {
  NRM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key));
  if (v->is_number_unsigned() && v->get<uint64_t>() <= uint64_t{INT64_MAX}) {
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<int64_t>();
  return InvalidArgument("proof: \"" + std::string(key) + "\" is not an integer");
}

Result<Bytes> GetHex(const Json& obj, std::string_view key, size_t size) {
  NRM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key));
  if (!v->is_string())
    return InvalidArgument("proof: \"" + std::string(key) + "\" is not a string");
  const std::string& text = v->get_ref<const std::string&>();
  if (size == 0) return FromHex(text);
  return FromHexExact(text, size, "proof: " + std::string(key));
}

Result<Hash> ToHash(const Bytes& b) {
  if (b.size() != crypto::kHashBytes) return InvalidArgument("proof: a hash is not 32 bytes");
  Hash h;
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

Result<SignedTreeHead> ParseHead(const Json& obj, std::string_view key) {
  NRM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key));
  if (!v->is_object())
    return InvalidArgument("proof: \"" + std::string(key) + "\" is not an object");
  SignedTreeHead head;
  NRM_ASSIGN_OR_RETURN(head.size, GetUint(*v, "size"));
  NRM_ASSIGN_OR_RETURN(Bytes root, GetHex(*v, "root", crypto::kHashBytes));
  NRM_ASSIGN_OR_RETURN(head.root, ToHash(root));
  NRM_ASSIGN_OR_RETURN(head.time_ms, GetInt(*v, "time_ms"));
  NRM_ASSIGN_OR_RETURN(head.signature, GetHex(*v, "signature", crypto::kSignatureBytes));
  return head;
}

Result<std::vector<Hash>> ParseHashes(const Json& obj, std::string_view key) {
  NRM_ASSIGN_OR_RETURN(const Json* v, Member(obj, key));
  if (!v->is_array()) return InvalidArgument("proof: \"" + std::string(key) + "\" is not an array");
  if (v->size() > 64) return InvalidArgument("proof: more than 64 hashes");
  std::vector<Hash> out;
  for (const Json& item : *v) {
    if (!item.is_string()) return InvalidArgument("proof: a hash is not a string");
    NRM_ASSIGN_OR_RETURN(Bytes b, FromHexExact(item.get_ref<const std::string&>(),
                                               crypto::kHashBytes, "proof hash"));
    NRM_ASSIGN_OR_RETURN(Hash h, ToHash(b));
    out.push_back(h);
  }
  return out;
}

// True when a number anywhere in `v` is not an integer: no proof format has one, so a document
// with one is refused as malformed. Recursion is bounded by json::Parse's depth limit.
bool HasNonInteger(const Json& v) {
  if (v.is_number_float()) return true;
  if (!v.is_structured()) return false;
  return std::any_of(v.begin(), v.end(), HasNonInteger);
}

// Structural equality: the same types (an unsigned and a signed integer differ, as their text
// does), arrays in order, object members whatever their order.
bool SameJson(const Json& a, const Json& b) {
  if (a.type() != b.type() || a.size() != b.size()) return false;
  if (a.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const auto it = b.find(key);
      if (it == b.end() || !SameJson(value, *it)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), SameJson);
  }
  return a == b;
}

Status CheckInclusion(const Json& doc, CheckedProof* out) {
  NRM_ASSIGN_OR_RETURN(out->leaf_index, GetUint(doc, "leaf_index"));
  NRM_ASSIGN_OR_RETURN(const Json* shown, Member(doc, "record"));
  if (!shown->is_object()) return InvalidArgument("proof: \"record\" is not an object");
  NRM_ASSIGN_OR_RETURN(Bytes encoding, GetHex(*shown, "encoding", 0));
  NRM_ASSIGN_OR_RETURN(std::vector<Hash> proof, ParseHashes(doc, "inclusion_proof"));
  NRM_RETURN_IF_ERROR(
      VerifyInclusion(HashLeaf(encoding), out->leaf_index, out->size, proof, out->root));
  // The displayed fields must say exactly what the verified encoding says. The canonical form
  // goes through text, as the shown one did, so that both have the same number types.
  Result<AuditRecord> record = DecodeRecord(encoding);
  if (!record) return Unauthenticated("proof: the record encoding does not decode");
  Result<Json> canonical = json::Parse(json::Dump(RecordJson(*record, encoding)));
  if (!canonical) return Internal("proof: " + canonical.status().message());
  if (!SameJson(*canonical, *shown)) {
    return Unauthenticated("proof: the displayed record fields differ from its encoding");
  }
  out->record = std::move(*record);
  return Status::Ok();
}

Status CheckConsistency(const Json& doc, CheckedProof* out) {
  NRM_ASSIGN_OR_RETURN(out->from_size, GetUint(doc, "from_size"));
  NRM_ASSIGN_OR_RETURN(Bytes from_root, GetHex(doc, "from_root", crypto::kHashBytes));
  NRM_ASSIGN_OR_RETURN(out->from_root, ToHash(from_root));
  NRM_ASSIGN_OR_RETURN(std::vector<Hash> proof, ParseHashes(doc, "consistency_proof"));
  NRM_RETURN_IF_ERROR(
      VerifyConsistency(out->from_size, out->size, out->from_root, out->root, proof));
  return Status::Ok();
}

}  // namespace

Result<VerifyReport> VerifyLog(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                               const VerifyOptions& options) {
  VerifyReport report;
  auto bad_record = [&](uint64_t index, std::string problem) {
    report.first_bad_index = index;
    report.problem = std::move(problem);
    return report;
  };
  auto bad_head = [&](uint64_t size, std::string problem) {
    report.bad_head_size = size;
    report.problem = std::move(problem);
    return report;
  };

  Bytes key = options.broker_public_key;
  Result<Bytes> stored_key = StoredBrokerKey(db, cfs);
  if (!stored_key && stored_key.status().code() != Code::kNotFound) return stored_key.status();
  if (key.empty()) {
    if (!stored_key) return NotFound("the log stores no broker key; pass the broker's public key");
    key = *stored_key;
  } else if (stored_key && !SameBytes(*stored_key, key)) {
    report.problem = "the log's stored broker key " + ToHex(*stored_key) + " is not the key given";
    return report;
  }
  // The log's verifier key: the origin given, else the stored one. A log with legacy heads only
  // may have none; its heads need only the key.
  std::string origin = options.origin;
  Result<std::string> stored_origin = StoredMeta(db, cfs, kOriginKey);
  if (!stored_origin && stored_origin.status().code() != Code::kNotFound) {
    return stored_origin.status();
  }
  if (origin.empty() && stored_origin) origin = *stored_origin;
  if (!origin.empty() && stored_origin && *stored_origin != origin) {
    report.problem = "the log's stored origin \"" + *stored_origin + "\" is not the origin given";
    return report;
  }
  note::VerifierKey log_key{origin, 0, note::kTypeEd25519, key};
  if (!origin.empty()) {
    Result<note::VerifierKey> k = LogVerifierKey(origin, key);
    if (!k) {
      report.problem = "the log's origin is not valid: " + k.status().message();
      return report;
    }
    log_key = std::move(*k);
  }
  const std::vector<note::VerifierKey> witnesses =
      options.witnesses.empty() ? StoredWitnessKeys(db, cfs) : options.witnesses;

  // The checkpoints obtained elsewhere: each must be the log's, then match it at its size.
  struct External {
    const ExternalCheckpoint* source;
    Checkpoint checkpoint;
  };
  std::vector<External> externals;
  for (const ExternalCheckpoint& e : options.checkpoints) {
    if (origin.empty()) {
      report.problem = "the log has no origin to check checkpoint " + e.label + " against";
      return report;
    }
    Result<VerifiedCheckpoint> v = VerifyCheckpointNote(e.note, log_key, witnesses);
    if (!v) {
      report.problem =
          "checkpoint " + e.label + " is not one of this log's: " + v.status().message();
      return report;
    }
    externals.push_back({&e, std::move(v->checkpoint)});
  }
  std::sort(externals.begin(), externals.end(), [](const External& a, const External& b) {
    return a.checkpoint.size < b.checkpoint.size;
  });
  size_t next_external = 0;

  CompactRange frontier;
  Hash frontier_chain{};
  bool has_frontier = false;
  {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cfs.meta, kFrontierKey, &value);
    if (s.ok()) {
      if (!DecodeFrontier(AsBytes(value), &frontier, &frontier_chain).ok()) {
        report.problem = "the audit_meta frontier does not parse";
        return report;
      }
      has_frontier = true;
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading the frontier");
    }
  }

  CompactRange tree;
  Hash chain{};
  uint64_t last_good_head = 0;
  std::unique_ptr<rocksdb::Iterator> heads(db->NewIterator(rocksdb::ReadOptions(), cfs.heads));
  heads->SeekToFirst();
  // Checks the signed heads, the frontier and the external checkpoints of the current tree
  // size; nullopt when all is well, else the report to return.
  auto check_heads = [&]() -> std::optional<VerifyReport> {
    const uint64_t size = tree.size();
    for (; heads->Valid(); heads->Next()) {
      ByteView k = FromSlice(heads->key());
      if (k.size() != 8) return bad_head(size, "a tree head has a malformed key");
      const uint64_t head_size = GetBe64(k.data());
      if (head_size > size) break;
      Result<StoredHead> head = DecodeStoredHead(FromSlice(heads->value()));
      if (!head) return bad_head(head_size, head.status().message());
      if (head->size != head_size || head_size != size) {
        return bad_head(head_size, "the tree head is stored under the wrong size");
      }
      if (!head->legacy && origin.empty()) {
        return bad_head(head_size, "a checkpoint, but the log stores no origin to check it with");
      }
      Result<std::optional<VerifiedCheckpoint>> v = VerifyStoredHead(*head, log_key, witnesses);
      if (!v) return bad_head(head_size, v.status().message());
      if (head->root != tree.Root()) {
        return bad_record(last_good_head, "the signed tree head at size " + std::to_string(size) +
                                              " does not match the records: one of records " +
                                              std::to_string(last_good_head) + ".." +
                                              std::to_string(size - 1) +
                                              " was altered and the chain rewritten");
      }
      last_good_head = size;
      ++report.heads_checked;
      if (*v) report.cosignatures_checked += (*v)->cosigned_by.size();
    }
    if (has_frontier && frontier.size() == size &&
        (!(frontier == tree) || frontier_chain != chain)) {
      report.problem =
          "the audit_meta frontier at size " + std::to_string(size) + " does not match the records";
      return report;
    }
    for (; next_external < externals.size() && externals[next_external].checkpoint.size == size;
         ++next_external) {
      const External& e = externals[next_external];
      if (e.checkpoint.root != tree.Root()) {
        report.differs_at_size = size;
        report.differs_from = e.source->label;
        report.problem = "the log differs from checkpoint " + e.source->label + " at size " +
                         std::to_string(size) + ": its root there is " +
                         ToBase64(e.checkpoint.root) + ", the records give " +
                         ToBase64(tree.Root()) +
                         "; the log was rewritten or forked after that checkpoint was signed";
        if (report.agrees_at_size) {
          report.problem += " (it still agrees at size " + std::to_string(*report.agrees_at_size) +
                            ": the change lies in records " +
                            std::to_string(*report.agrees_at_size) + ".." +
                            std::to_string(size - 1) + ")";
        }
        return report;
      }
      report.agrees_at_size = size;
      ++report.external_checked;
    }
    return std::nullopt;
  };

  if (auto bad = check_heads()) return *bad;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cfs.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const uint64_t index = tree.size();
    ByteView k = FromSlice(it->key());
    ByteView value = FromSlice(it->value());
    if (k.size() != 8) return bad_record(index, "a record has a malformed key");
    if (GetBe64(k.data()) != index) return bad_record(index, "the record is missing");
    if (value.size() < kChainBytes) return bad_record(index, "the record is truncated");
    ByteView encoding = value.subspan(kChainBytes);
    Result<AuditRecord> record = DecodeRecord(encoding);
    if (!record)
      return bad_record(index, "the record does not decode: " + record.status().message());
    const Hash leaf = HashLeaf(encoding);
    const Hash next = NextChain(chain, leaf);
    if (!SameBytes(next, value.first(kChainBytes))) {
      return bad_record(index,
                        "the record was altered, replaced or moved (its chain link differs)");
    }
    tree.Append(leaf);
    chain = next;
    report.records = tree.size();
    if (auto bad = check_heads()) return *bad;
  }
  NRM_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  NRM_RETURN_IF_ERROR(FromRocks(heads->status(), "reading tree heads"));

  report.root = tree.Root();
  if (heads->Valid()) {
    ByteView k = FromSlice(heads->key());
    const uint64_t claimed = k.size() == 8 ? GetBe64(k.data()) : 0;
    return bad_record(tree.size(), "the record is missing: a signed tree head covers " +
                                       std::to_string(claimed) + " records");
  }
  if (has_frontier && frontier.size() > tree.size()) {
    return bad_record(tree.size(), "the record is missing: the frontier covers " +
                                       std::to_string(frontier.size()) + " records");
  }
  if (next_external < externals.size()) {
    const External& e = externals[next_external];
    report.differs_at_size = e.checkpoint.size;
    report.differs_from = e.source->label;
    report.problem = "the log holds " + std::to_string(tree.size()) + " records, but checkpoint " +
                     e.source->label + ", signed with the log's key, " + "covers " +
                     std::to_string(e.checkpoint.size) +
                     ": records were removed, or the log was rolled back";
    return report;
  }
  report.intact = true;
  return report;
}

Result<VerifyReport> VerifyLog(const std::string& db_path, const VerifyOptions& options) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  return VerifyLog(log->db(), log->cfs(), options);
}

Status ReadVerifiedRecords(const std::string& db_path,
                           const std::function<void(uint64_t, const AuditRecord&)>& fn) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  NRM_ASSIGN_OR_RETURN(VerifyReport report, VerifyLog(log->db(), log->cfs()));
  if (!report.intact) return Corruption("the audit log does not verify: " + report.problem);
  return ForEachRecord(log->db(), log->cfs(), report.records,
                       [&](uint64_t index, ByteView encoding) -> Result<bool> {
                         NRM_ASSIGN_OR_RETURN(AuditRecord record, DecodeRecord(encoding));
                         fn(index, record);
                         return true;
                       })
      .status();
}

Result<std::string> LatestCheckpoint(const std::string& db_path, bool cosigned) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  uint64_t size = 0;
  if (cosigned) {
    Result<std::string> at = StoredMeta(log->db(), log->cfs(), kCosignedKey);
    if (at && at->size() == 8) size = GetBe64(AsBytes(*at).data());
  }
  NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), size));
  return head.note;
}

Result<std::string> Prove(const std::string& db_path, ByteView message_id,
                          std::optional<AuditEvent> event, uint64_t at_size) {
  if (message_id.size() != kMessageIdBytes) {
    return InvalidArgument("a message id is " + std::to_string(kMessageIdBytes) + " bytes");
  }
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), at_size));

  // Pass 1: find the record.
  std::optional<uint64_t> found;
  Bytes encoding;
  AuditRecord record;
  NRM_RETURN_IF_ERROR(ForEachRecord(log->db(), log->cfs(), UINT64_MAX,
                                    [&](uint64_t index, ByteView enc) -> Result<bool> {
                                      Result<AuditRecord> r = DecodeRecord(enc);
                                      if (!r) {
                                        return Corruption("record " + std::to_string(index) +
                                                          " does not decode; run verify");
                                      }
                                      if (!SameBytes(r->message_id, message_id) ||
                                          (event && r->event != *event)) {
                                        return true;
                                      }
                                      found = index;
                                      encoding.assign(enc.begin(), enc.end());
                                      record = std::move(*r);
                                      return false;
                                    })
                          .status());
  if (!found) return NotFound("no record for message " + ToHex(message_id));
  if (*found >= head.size) {
    return Unavailable("record " + std::to_string(*found) + " is newer than the checkpoint (size " +
                       std::to_string(head.size) + "); ask again after the next one");
  }

  // Pass 2: the audit path against the latest head.
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges, InclusionProofRanges(*found, head.size));
  std::vector<Hash> proof;
  NRM_RETURN_IF_ERROR(RangeRoots(log->db(), log->cfs(), head.size, ranges, 0, &proof, nullptr));
  if (Status s = VerifyInclusion(HashLeaf(encoding), *found, head.size, proof, head.root);
      !s.ok()) {
    return Corruption("the log does not match its signed tree head at size " +
                      std::to_string(head.size) + "; run verify");
  }

  return FormatInclusionProof(*found, encoding, proof, head.note);
}

Result<std::string> FormatInclusionProof(uint64_t leaf_index, ByteView encoding,
                                         std::span<const Hash> proof,
                                         std::string_view checkpoint_note) {
  Result<AuditRecord> record = DecodeRecord(encoding);
  if (!record) return InvalidArgument("the record does not decode: " + record.status().message());
  return json::Dump(Json{{"type", kInclusionProofType},
                         {"leaf_index", leaf_index},
                         {"record", RecordJson(*record, encoding)},
                         {"inclusion_proof", HashesJson({proof.begin(), proof.end()})},
                         {"checkpoint", std::string(checkpoint_note)}});
}

Result<std::string> Consistency(const std::string& db_path, uint64_t from_size, uint64_t at_size) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), at_size));
  if (from_size > head.size) {
    return InvalidArgument("--from " + std::to_string(from_size) +
                           " is beyond the checkpoint (size " + std::to_string(head.size) + ")");
  }
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges, ConsistencyProofRanges(from_size, head.size));
  std::vector<Hash> proof;
  Hash from_root{};
  NRM_RETURN_IF_ERROR(
      RangeRoots(log->db(), log->cfs(), head.size, ranges, from_size, &proof, &from_root));
  if (!VerifyConsistency(from_size, head.size, from_root, head.root, proof).ok()) {
    return Corruption("the log does not match its signed tree head at size " +
                      std::to_string(head.size) + "; run verify");
  }

  return json::Dump(Json{{"type", kConsistencyProofType},
                         {"from_size", from_size},
                         {"from_root", ToHex(from_root)},
                         {"consistency_proof", HashesJson(proof)},
                         {"checkpoint", head.note}});
}

Result<CheckedProof> CheckProof(std::string_view json_text, const note::VerifierKey& log_key,
                                std::span<const note::VerifierKey> witnesses) {
  NRM_ASSIGN_OR_RETURN(Json doc, json::Parse(json_text));
  if (!doc.is_object()) return InvalidArgument("proof: not a JSON object");
  if (HasNonInteger(doc)) return InvalidArgument("proof: only integers are expected");
  NRM_ASSIGN_OR_RETURN(const Json* type, Member(doc, "type"));
  const std::string type_name = type->is_string() ? type->get<std::string>() : "";
  CheckedProof out;
  const bool v1 = type_name == kInclusionProofTypeV1 || type_name == kConsistencyProofTypeV1;
  if (v1) {
    NRM_ASSIGN_OR_RETURN(out.legacy_head, ParseHead(doc, "tree_head"));
    NRM_RETURN_IF_ERROR(VerifyTreeHead(*out.legacy_head, log_key.public_key));
    out.size = out.legacy_head->size;
    out.root = out.legacy_head->root;
  } else {
    NRM_ASSIGN_OR_RETURN(const Json* cp, Member(doc, "checkpoint"));
    if (!cp->is_string()) return InvalidArgument("proof: \"checkpoint\" is not a string");
    Result<VerifiedCheckpoint> v =
        VerifyCheckpointNote(cp->get_ref<const std::string&>(), log_key, witnesses);
    if (!v) return v.status().WithContext("proof: the checkpoint");
    out.checkpoint = std::move(*v);
    out.size = out.checkpoint->checkpoint.size;
    out.root = out.checkpoint->checkpoint.root;
    out.time = out.checkpoint->log_time;
  }
  if (type_name == kInclusionProofType || type_name == kInclusionProofTypeV1) {
    out.type = v1 ? kInclusionProofTypeV1 : kInclusionProofType;
    NRM_RETURN_IF_ERROR(CheckInclusion(doc, &out));
  } else if (type_name == kConsistencyProofType || type_name == kConsistencyProofTypeV1) {
    out.type = v1 ? kConsistencyProofTypeV1 : kConsistencyProofType;
    NRM_RETURN_IF_ERROR(CheckConsistency(doc, &out));
  } else {
    return InvalidArgument("proof: unknown \"type\"");
  }
  return out;
}

Result<LogStatus> ReadLogStatus(const std::string& db_path) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<ReadOnlyLog> log, ReadOnlyLog::Open(db_path));
  LogStatus out;
  NRM_ASSIGN_OR_RETURN(out.origin, StoredMeta(log->db(), log->cfs(), kOriginKey));
  NRM_ASSIGN_OR_RETURN(Bytes key, StoredBrokerKey(log->db(), log->cfs()));
  NRM_ASSIGN_OR_RETURN(note::VerifierKey log_key, LogVerifierKey(out.origin, key));
  out.witnesses = StoredWitnessKeys(log->db(), log->cfs());
  auto verified = [&](uint64_t size) -> Result<VerifiedCheckpoint> {
    NRM_ASSIGN_OR_RETURN(StoredHead head, CheckpointForProof(log->db(), log->cfs(), size));
    Result<VerifiedCheckpoint> v = VerifyCheckpointNote(head.note, log_key, out.witnesses);
    if (!v)
      return Corruption("the checkpoint of size " + std::to_string(head.size) +
                        " does not verify: " + v.status().message());
    return v;
  };
  NRM_ASSIGN_OR_RETURN(out.latest, verified(0));
  if (Result<std::string> at = StoredMeta(log->db(), log->cfs(), kCosignedKey);
      at && at->size() == 8) {
    NRM_ASSIGN_OR_RETURN(out.cosigned, verified(GetBe64(AsBytes(*at).data())));
  }
  return out;
}

Status StoreWitnessKeys(rocksdb::DB* db, const AuditColumnFamilies& cfs,
                        std::span<const note::VerifierKey> witnesses) {
  std::string text;
  for (const note::VerifierKey& k : witnesses) text += note::FormatVerifierKey(k) + "\n";
  rocksdb::WriteOptions write;
  write.sync = true;
  return FromRocks(db->Put(write, cfs.meta, kWitnessesKey, text), "storing the witness keys");
}

}  // namespace nrm::audit
