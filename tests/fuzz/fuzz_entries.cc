#include "tests/fuzz/fuzz_entries.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "agent/htcds.h"
#include "audit/audit_reader.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "audit/tree_head.h"
#include "audit/witness/add_checkpoint.h"
#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/identity/identity.h"
#include "common/json/json.h"
#include "policy/policy.h"
#include "schemas/wire/envelope.h"
#include "schemas/wire/payload.h"

namespace nrm::fuzz {
namespace {

// 2026-11-29T00:00:00Z: a fixed "now" so that a run does not depend on the wall clock.
constexpr int64_t kNowMs = 1795910400000;

// An Ed25519 key pair made once per process. Which key it is does not matter to the code under
// test; that the fuzzer's bytes are signed with it does.
const crypto::SignKeyPair& Key() {
  static const crypto::SignKeyPair* key = [] {
    if (!crypto::InitCrypto().ok()) __builtin_trap();
    return new crypto::SignKeyPair(crypto::GenerateSignKeyPair());
  }();
  return *key;
}

void Touch(std::string_view s) {
  volatile size_t sum = 0;
  for (char c : s) sum = sum + static_cast<unsigned char>(c);
}
void Touch(ByteView b) { Touch(AsChars(b)); }

// 1 to 64 bytes of A-Z 0-9 . - : ids go into logs and audit records, which take only text (a
// broker abort on an id with a 0x80 byte was found by tests/reliability and fixed in the decoder).
bool IdAlphabet(std::string_view id) {
  if (id.empty() || id.size() > wire::kMaxAgencyIdBytes) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace

void FuzzEnvelope(const uint8_t* data, size_t size) {
  const ByteView frame(data, size);
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(frame);
  if (!env.ok()) return;
  // What the decoder promises (docs/PROTOCOL.md §5); a break here is a decoder bug.
  if (env->message_id().size() != wire::kMessageIdBytes) __builtin_trap();
  if (env->case_ref().size() != wire::kCaseRefBytes) __builtin_trap();
  if (env->signature.size() != crypto::kSignatureBytes) __builtin_trap();
  if (env->epoch_key().size() != crypto::kBoxPublicBytes) __builtin_trap();
  const std::vector<std::string_view> recipients = env->recipients();
  if (recipients.empty() || recipients.size() > wire::kMaxRecipients) __builtin_trap();
  for (std::string_view r : recipients) {
    if (!IdAlphabet(r)) __builtin_trap();
    Touch(r);
  }
  if (!IdAlphabet(env->sender())) __builtin_trap();
  const size_t reply = env->in_reply_to().size();
  if (reply != 0 && reply != wire::kMessageIdBytes) __builtin_trap();
  Touch(env->sender());
  Touch(env->header_bytes);
  Touch(wire::KindName(env->kind()));
  Touch(wire::HandlingName(env->handling()));
  (void)env->created_at_ms();
  // The fuzzer cannot forge a signature: this must refuse.
  if (wire::VerifySignature(*env, Key().public_key).ok()) __builtin_trap();
  // A short or empty key must refuse too, not read out of bounds.
  if (wire::VerifySignature(*env, ByteView()).ok()) __builtin_trap();
}

void FuzzPayload(const uint8_t* data, size_t size) {
  const ByteView payload(data, size);
  Result<const payload::Payload*> p = wire::VerifyPayload(payload);
  Result<std::string> json = wire::PayloadToJson(payload);
  if (!p.ok()) {
    if (json.ok()) __builtin_trap();  // printed what did not verify
    return;
  }
  const std::vector<std::string> present = wire::PresentSections(**p);
  if (json.ok()) Touch(*json);
  // Keep every other present section, then none, then all: each result must verify and hold
  // exactly what was kept.
  std::vector<std::string> keep;
  for (size_t i = 0; i < present.size(); i += 2) keep.push_back(present[i]);
  for (const std::vector<std::string>& k : {keep, std::vector<std::string>{}, present}) {
    Result<Bytes> kept = wire::KeepSections(payload, k);
    if (!kept.ok()) continue;
    Result<const payload::Payload*> again = wire::VerifyPayload(*kept);
    if (!again.ok()) __builtin_trap();
    if (wire::PresentSections(**again) != k) __builtin_trap();
  }
}

void FuzzDirectory(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // 1. The bytes as a whole file: almost always unsigned or wrongly signed.
  Result<identity::Directory> d =
      identity::Directory::Parse(text, "fuzz.toml", Key().public_key, kNowMs);
  if (d.ok()) __builtin_trap();  // the fuzzer cannot sign with Key()
  // 2. The bytes as a body, validly signed: reaches the TOML parser and the field checks.
  std::string body(text);
  if (body.empty() || body.back() != '\n') body.push_back('\n');
  const Bytes sig = crypto::Sign(Key().secret_key, identity::DirectorySignedBytes(body));
  const std::string signed_text = body + "signature = \"" + ToHex(sig) + "\"\n";
  Result<identity::Directory> parsed =
      identity::Directory::Parse(signed_text, "fuzz.toml", Key().public_key, kNowMs);
  if (!parsed.ok()) return;
  for (const identity::Agency& a : parsed->agencies()) {
    if (parsed->Find(a.id) == nullptr) __builtin_trap();
    if (parsed->FindByCurveKey(a.curve_key) == nullptr) __builtin_trap();
    if (!identity::IsRole(a.role)) __builtin_trap();
  }
}

void FuzzPayloadJson(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  Result<Bytes> p = wire::PayloadFromJson(json);
  if (!p.ok()) return;
  if (!wire::VerifyPayload(*p).ok()) __builtin_trap();  // we built it; it must verify
  Result<std::string> printed = wire::PayloadToJson(*p);
  if (!printed.ok()) __builtin_trap();
  Touch(*printed);
}

void FuzzHtcdsJson(const uint8_t* data, size_t size) {
  static const identity::Directory kNoAgencies;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  agent::HtcdsImport in = agent::ImportHtcds(text, kNoAgencies, {});
  for (const agent::FieldError& e : in.errors) Touch(e.path + e.value + e.message);
  if (!in.errors.empty()) return;
  // Validated: the payload must build, verify and export (the checks follow the schema).
  Result<Bytes> p = wire::PayloadFromJson(in.payload.dump());
  if (!p.ok() || !wire::VerifyPayload(*p).ok()) __builtin_trap();
  Result<std::string> printed = wire::PayloadToJson(*p);
  if (!printed.ok()) __builtin_trap();
  Result<json::Json> again = json::Parse(*printed);
  if (!again.ok() || !agent::ExportHtcds(*again, {}).ok()) __builtin_trap();
}

void FuzzPolicy(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<policy::Policy> p = policy::Policy::Parse(text, "fuzz.toml", "h");
  std::vector<std::string> problems = policy::Lint(text, "fuzz.toml");
  if (p.ok() != problems.empty()) __builtin_trap();
  if (!p.ok()) return;
  // Route every rule's first combination, at home and abroad, to reach the evaluator.
  for (const policy::Rule& r : p->rules()) {
    if (r.from.empty() || r.to.empty() || r.kinds.empty()) continue;
    policy::RouteQuery q;
    q.from.role = r.from.front();
    q.to.role = r.to.front();
    q.kind = r.kinds.front();
    q.date = "2010-06-15";
    for (const policy::Agreement& a : p->agreements()) {
      q.from.country = a.countries.front();
      q.to.country = a.countries.back();
      policy::Decision d = p->Route(q);
      if (d.allowed == d.rule_id.empty()) __builtin_trap();
    }
  }
}

void FuzzAuditProof(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // 1. As given: the fuzzer cannot sign with Key(), so no proof may check out, under any origin.
  Result<json::Json> doc = json::Parse(text);
  std::string origin = "nrm.fuzz/audit/v1";
  if (doc.ok() && doc->is_object()) {
    const auto cp = doc->find("checkpoint");
    if (cp != doc->end() && cp->is_string()) {
      const std::string& note = cp->get_ref<const std::string&>();
      if (audit::CheckOrigin(note.substr(0, note.find('\n'))).ok()) {
        origin = note.substr(0, note.find('\n'));
      }
    }
  }
  Result<audit::note::VerifierKey> key = audit::LogVerifierKey(origin, Key().public_key);
  if (!key.ok()) __builtin_trap();
  if (audit::CheckProof(text, *key).ok()) __builtin_trap();
  // 2. With its checkpoint (v2) or tree head (v1) signed by Key(): reaches the paths.
  if (!doc.ok() || !doc->is_object()) return;
  uint64_t tree_size = 0;
  if (const auto cp = doc->find("checkpoint"); cp != doc->end() && cp->is_string()) {
    Result<audit::note::Note> n = audit::note::ParseNote(cp->get_ref<const std::string&>());
    if (!n.ok()) return;
    Result<audit::Checkpoint> c = audit::ParseCheckpoint(n->text);
    if (!c.ok() || c->origin != origin) return;
    tree_size = c->size;
    *cp = audit::SignCheckpoint(*c, Key().secret_key, kNowMs);
  } else if (const auto head = doc->find("tree_head"); head != doc->end() && head->is_object()) {
    const auto size_it = head->find("size");
    const auto root_it = head->find("root");
    const auto time_it = head->find("time_ms");
    if (size_it == head->end() || root_it == head->end() || time_it == head->end() ||
        !size_it->is_number_unsigned() || !root_it->is_string() || !time_it->is_number_integer()) {
      return;
    }
    Result<Bytes> root = FromHexExact(root_it->get_ref<const std::string&>(), 32, "root");
    if (!root.ok()) return;
    audit::Hash root_hash;
    std::copy(root->begin(), root->end(), root_hash.begin());
    tree_size = size_it->get<uint64_t>();
    const audit::SignedTreeHead signed_head =
        audit::SignTreeHead(tree_size, root_hash, time_it->get<int64_t>(), Key().secret_key);
    (*head)["signature"] = ToHex(signed_head.signature);
  } else {
    return;
  }
  Result<audit::CheckedProof> checked = audit::CheckProof(json::Dump(*doc), *key);
  if (!checked.ok()) return;
  // What a proof that checks out promises.
  if (checked->size != tree_size) __builtin_trap();
  if (checked->type == audit::kInclusionProofType ||
      checked->type == audit::kInclusionProofTypeV1) {
    if (checked->leaf_index >= tree_size) __builtin_trap();
  } else if (checked->type == audit::kConsistencyProofType ||
             checked->type == audit::kConsistencyProofTypeV1) {
    if (checked->from_size > tree_size) __builtin_trap();
  } else {
    __builtin_trap();
  }
}

void FuzzNote(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A witness's add-checkpoint request: what parses is exactly what formats.
  if (Result<audit::witness::AddCheckpointRequest> r = audit::witness::ParseAddCheckpoint(text);
      r.ok()) {
    if (r->proof.size() > audit::witness::kMaxProofLines) __builtin_trap();
    if (audit::witness::FormatAddCheckpoint(*r) != text) __builtin_trap();
  }
  // A checkpoint body on its own: what parses is exactly what formats.
  if (Result<audit::Checkpoint> c = audit::ParseCheckpoint(text); c.ok()) {
    if (audit::FormatCheckpoint(*c) != text) __builtin_trap();
  }
  Result<audit::note::Note> n = audit::note::ParseNote(text);
  if (!n.ok()) return;
  if (audit::note::FormatNote(*n) != text) __builtin_trap();
  if (n->signatures.empty() || n->signatures.size() > audit::note::kMaxSignatures) {
    __builtin_trap();
  }
  for (const audit::note::Signature& sig : n->signatures) {
    if (!audit::note::CheckKeyName(sig.name).ok()) __builtin_trap();
  }
  // The fuzzer cannot sign with Key(): no signature may verify under it, whatever its name.
  std::vector<audit::note::VerifierKey> keys;
  for (const audit::note::Signature& sig : n->signatures) {
    for (uint8_t type : {audit::note::kTypeEd25519, audit::note::kTypeCosignatureV1}) {
      Result<audit::note::VerifierKey> k =
          audit::note::MakeVerifierKey(sig.name, type, Key().public_key);
      if (k.ok()) keys.push_back(*k);
    }
  }
  if (audit::note::OpenNote(*n, keys).ok()) __builtin_trap();
  // Its text as a checkpoint, signed by Key(): then it verifies and says what the text says.
  Result<audit::Checkpoint> c = audit::ParseCheckpoint(n->text);
  if (!c.ok() || !audit::CheckOrigin(c->origin).ok()) return;
  const std::string signed_note = audit::SignCheckpoint(*c, Key().secret_key, kNowMs);
  Result<audit::note::VerifierKey> log = audit::LogVerifierKey(c->origin, Key().public_key);
  if (!log.ok()) __builtin_trap();
  Result<audit::VerifiedCheckpoint> v = audit::VerifyCheckpointNote(signed_note, *log);
  if (!v.ok() || !(v->checkpoint == *c) || v->log_time != uint64_t{kNowMs / 1000}) {
    __builtin_trap();
  }
}

}  // namespace nrm::fuzz
