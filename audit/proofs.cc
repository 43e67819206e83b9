// Proofs of the audit log: make them (Prove, Consistency) from a stored log and check them
// offline (CheckProof). Declared in audit_reader.h; formats in docs/AUDIT.md section 6.
#include <algorithm>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/stored_log.h"
#include "common/clock.h"
#include "common/json/json.h"

namespace nrm::audit {
namespace {

using stored::CheckpointForProof;
using stored::ForEachRecord;
using stored::ReadOnlyLog;
using stored::SameBytes;

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

}  // namespace nrm::audit
