#include "schemas/wire/envelope.h"

#include <set>

namespace nrm::wire {
namespace {

constexpr std::string_view kSignContext{"nrm/envelope/v1\0", 16};
// Nested buffers hold 8-byte fields; align them so the Verifier's alignment check passes.
constexpr size_t kNestedAlign = 8;

struct KindEntry {
  Kind kind;
  std::string_view name;
};
constexpr KindEntry kKinds[] = {
    {Kind::ReferralOffer, "referral_offer"},
    {Kind::ReferralAccept, "referral_accept"},
    {Kind::ReferralDecline, "referral_decline"},
    {Kind::HandoverConfirmed, "handover_confirmed"},
    {Kind::ReferralRevoke, "referral_revoke"},
    {Kind::CaseClose, "case_close"},
    {Kind::RepatriationRequest, "repatriation_request"},
    {Kind::RepatriationResponse, "repatriation_response"},
    {Kind::TravelDocuments, "travel_documents"},
    {Kind::ReturnScheduled, "return_scheduled"},
    {Kind::ReturnCompleted, "return_completed"},
    {Kind::ReintegrationFollowUp, "reintegration_followup"},
    {Kind::StatusUpdate, "status_update"},
    {Kind::CounsellingNotes, "counselling_notes"},
    {Kind::InterviewRequest, "interview_request"},
    {Kind::ConsentRevoke, "consent_revoke"},
    {Kind::H2Approval, "h2_approval"},
    {Kind::Receipt, "receipt"},
    {Kind::ErasureRequest, "erasure_request"},
};

ByteView View(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? ByteView() : ByteView(v->data(), v->size());
}

template <typename T>
bool VerifyNested(ByteView bytes) {
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), /*max_depth=*/16,
                                 /*max_tables=*/256);
  return verifier.VerifyBuffer<T>(nullptr);
}

Status Bad(std::string what) { return InvalidArgument("malformed envelope: " + std::move(what)); }

Status CheckId(const flatbuffers::String* s, std::string_view what) {
  if (s == nullptr || s->size() == 0 || s->size() > kMaxAgencyIdBytes) {
    return Bad(std::string(what) + " must be an agency id of 1 to 64 bytes");
  }
  // Only the agency-id alphabet (A-Z 0-9 . -): ids reach logs and audit records, which take text.
  for (char c : s->string_view()) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return Bad(std::string(what) + " holds a byte that is not in an agency id");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view KindName(Kind kind) {
  for (const KindEntry& e : kKinds) {
    if (e.kind == kind) return e.name;
  }
  return "unknown";
}

Result<Kind> KindFromName(std::string_view name) {
  std::string known;
  for (const KindEntry& e : kKinds) {
    if (e.name == name) return e.kind;
    known += (known.empty() ? "" : ", ") + std::string(e.name);
  }
  return InvalidArgument("unknown message kind '" + std::string(name) +
                         "' (expected one of: " + known + ")");
}

std::string_view HandlingName(Handling h) {
  switch (h) {
    case Handling::H0:
      return "H0";
    case Handling::H1:
      return "H1";
    case Handling::H2:
      return "H2";
    case Handling::H3:
      return "H3";
  }
  return "H?";
}

Result<Handling> HandlingFromName(std::string_view name) {
  for (Handling h : {Handling::H0, Handling::H1, Handling::H2, Handling::H3}) {
    if (HandlingName(h) == name) return h;
  }
  return InvalidArgument("unknown handling code '" + std::string(name) +
                         "' (expected H0, H1, H2 or H3)");
}

ByteView EnvelopeView::message_id() const { return View(header->message_id()); }
std::string_view EnvelopeView::sender() const { return header->sender()->string_view(); }
ByteView EnvelopeView::case_ref() const { return View(header->case_ref()); }
ByteView EnvelopeView::in_reply_to() const { return View(header->in_reply_to()); }
ByteView EnvelopeView::previous(size_t index) const {
  const ByteView all = View(header->previous());
  if (all.size() < (index + 1) * kMessageIdBytes) return {};
  return all.subspan(index * kMessageIdBytes, kMessageIdBytes);
}
ByteView EnvelopeView::epoch_key() const { return View(body_table->epoch_key()); }
std::vector<std::string_view> EnvelopeView::recipients() const {
  std::vector<std::string_view> out;
  for (const flatbuffers::String* r : *header->recipients()) out.push_back(r->string_view());
  return out;
}

Result<EnvelopeView> DecodeEnvelope(ByteView frame) {
  if (frame.size() < 8 || frame.size() > kMaxEnvelopeBytes) {
    return Bad("size " + std::to_string(frame.size()) + " outside 8.." +
               std::to_string(kMaxEnvelopeBytes));
  }
  if (!VerifyNested<Envelope>(frame)) return Bad("envelope fails the FlatBuffers verifier");
  EnvelopeView v;
  const Envelope* env = flatbuffers::GetRoot<Envelope>(frame.data());
  v.body = View(env->body());
  v.signature = View(env->signature());
  if (v.signature.size() != crypto::kSignatureBytes) return Bad("signature must be 64 bytes");
  // The Verifier checks alignment relative to the buffer it is given, so a nested buffer must
  // itself start on an 8-byte boundary of the buffer that holds it (PROTOCOL.md section 5).
  if ((v.body.data() - frame.data()) % kNestedAlign != 0) {
    return Bad("body is not aligned to 8 bytes in the envelope");
  }
  if (v.body.empty() || !VerifyNested<Body>(v.body)) return Bad("body fails the verifier");
  v.body_table = flatbuffers::GetRoot<Body>(v.body.data());
  v.header_bytes = View(v.body_table->header());
  if ((v.header_bytes.data() - v.body.data()) % kNestedAlign != 0) {
    return Bad("header is not aligned to 8 bytes in the body");
  }
  if (v.header_bytes.empty() || !VerifyNested<Header>(v.header_bytes)) {
    return Bad("header fails the verifier");
  }
  v.header = flatbuffers::GetRoot<Header>(v.header_bytes.data());

  const Header* h = v.header;
  if (h->version() != kWireVersion) {
    return Bad("version " + std::to_string(h->version()) + " (expected " +
               std::to_string(kWireVersion) + ")");
  }
  if (View(h->message_id()).size() != kMessageIdBytes) return Bad("message_id must be 16 bytes");
  NRM_RETURN_IF_ERROR(CheckId(h->sender(), "sender"));
  if (View(h->case_ref()).size() != kCaseRefBytes) return Bad("case_ref must be 16 bytes");
  if (KindName(h->kind()) == "unknown") return Bad("unknown kind");
  if (h->handling() > Handling::H3) return Bad("unknown handling code");
  if (size_t n = View(h->in_reply_to()).size(); n != 0 && n != kMessageIdBytes) {
    return Bad("in_reply_to must be absent or 16 bytes");
  }
  const auto* recipients = h->recipients();
  const auto* keys = v.body_table->keys();
  if (recipients == nullptr || recipients->size() == 0 || recipients->size() > kMaxRecipients) {
    return Bad("recipients must name 1 to 16 agencies");
  }
  if (size_t n = View(h->previous()).size(); n != 0 && n != recipients->size() * kMessageIdBytes) {
    return Bad("previous must be absent or 16 bytes per recipient");
  }
  if (keys == nullptr || keys->size() != recipients->size()) {
    return Bad("keys must hold one wrapped key per recipient");
  }
  std::set<std::string_view> seen;
  for (flatbuffers::uoffset_t i = 0; i < recipients->size(); ++i) {
    NRM_RETURN_IF_ERROR(CheckId(recipients->Get(i), "recipient"));
    if (!seen.insert(recipients->Get(i)->string_view()).second) {
      return Bad("recipient " + recipients->Get(i)->str() + " appears twice");
    }
    const WrappedKey* k = keys->Get(i);
    if (k->recipient() == nullptr ||
        k->recipient()->string_view() != recipients->Get(i)->string_view()) {
      return Bad("wrapped key " + std::to_string(i) + " is not for recipient " + std::to_string(i));
    }
    if (View(k->wrapped()).size() != crypto::kWrappedKeyBytes) {
      return Bad("wrapped key " + std::to_string(i) + " must be 72 bytes");
    }
  }
  if (v.epoch_key().size() != crypto::kBoxPublicBytes) return Bad("epoch_key must be 32 bytes");
  if (View(v.body_table->nonce()).size() != crypto::kAeadNonceBytes) {
    return Bad("nonce must be 24 bytes");
  }
  if (View(v.body_table->ciphertext()).size() < crypto::kAeadTagBytes) {
    return Bad("ciphertext shorter than its tag");
  }
  return v;
}

Bytes SignedBytes(ByteView body) {
  Bytes out(kSignContext.size() + body.size());
  std::copy(kSignContext.begin(), kSignContext.end(), out.begin());
  std::copy(body.begin(), body.end(), out.begin() + static_cast<ptrdiff_t>(kSignContext.size()));
  return out;
}

Status VerifySignature(const EnvelopeView& env, ByteView sender_sign_key) {
  return crypto::Verify(sender_sign_key, SignedBytes(env.body), env.signature);
}

Result<Sealed> SealEnvelope(const HeaderFields& f, std::span<const Recipient> recipients,
                            ByteView payload, const crypto::SecretBytes& sender_sign_secret,
                            SenderEpoch& epoch) {
  if (f.case_ref.size() != kCaseRefBytes) return InvalidArgument("case_ref must be 16 bytes");
  if (!f.in_reply_to.empty() && f.in_reply_to.size() != kMessageIdBytes) {
    return InvalidArgument("in_reply_to must be empty or 16 bytes");
  }
  if (KindName(f.kind) == "unknown") return InvalidArgument("unknown kind");
  if (!f.message_id.empty() && f.message_id.size() != kMessageIdBytes) {
    return InvalidArgument("message_id must be empty or 16 bytes");
  }
  if (!f.previous.empty() && f.previous.size() != recipients.size() * kMessageIdBytes) {
    return InvalidArgument("previous must be empty or 16 bytes per recipient");
  }
  if (f.sender.empty() || f.sender.size() > kMaxAgencyIdBytes) {
    return InvalidArgument("sender must be an agency id");
  }
  if (recipients.empty() || recipients.size() > kMaxRecipients) {
    return InvalidArgument("a message needs 1 to 16 recipients");
  }
  std::set<std::string_view> seen;
  std::vector<ByteView> box_keys;
  for (const Recipient& r : recipients) {
    if (r.id.empty() || r.id.size() > kMaxAgencyIdBytes || !seen.insert(r.id).second ||
        r.box_key.size() != crypto::kBoxPublicBytes) {
      return InvalidArgument("recipient '" + r.id + "' is repeated or has no valid key");
    }
    box_keys.push_back(r.box_key);
  }

  Sealed out;
  out.message_id = f.message_id.empty() ? crypto::RandomBytes(kMessageIdBytes) : f.message_id;
  const Bytes nonce = crypto::RandomBytes(crypto::kAeadNonceBytes);
  crypto::SecretBytes content_key(crypto::kContentKeyBytes);
  crypto::RandomFill(content_key.data(), content_key.size());
  Result<SenderEpoch::Wrapped> wrapped = epoch.Wrap(box_keys, content_key);
  if (!wrapped) return InvalidArgument("a recipient's box key: " + wrapped.status().message());

  flatbuffers::FlatBufferBuilder hb(256);
  std::vector<flatbuffers::Offset<flatbuffers::String>> rids;
  for (const Recipient& r : recipients) rids.push_back(hb.CreateString(r.id));
  auto header =
      CreateHeader(hb, kWireVersion, hb.CreateVector(out.message_id), hb.CreateString(f.sender),
                   hb.CreateVector(rids), f.kind, hb.CreateVector(f.case_ref), f.handling,
                   f.created_at_ms, f.in_reply_to.empty() ? 0 : hb.CreateVector(f.in_reply_to),
                   f.consent_override, f.previous.empty() ? 0 : hb.CreateVector(f.previous));
  hb.Finish(header);
  const ByteView header_bytes(hb.GetBufferPointer(), hb.GetSize());

  const Bytes ciphertext = crypto::AeadEncrypt(content_key, nonce, payload, header_bytes);

  flatbuffers::FlatBufferBuilder bb(ciphertext.size() + header_bytes.size() + 256);
  std::vector<flatbuffers::Offset<WrappedKey>> keys;
  for (size_t i = 0; i < recipients.size(); ++i) {
    keys.push_back(
        CreateWrappedKey(bb, bb.CreateString(recipients[i].id), bb.CreateVector(wrapped->keys[i])));
  }
  auto keys_vec = bb.CreateVector(keys);
  auto nonce_vec = bb.CreateVector(nonce);
  auto ct_vec = bb.CreateVector(ciphertext);
  auto epoch_vec = bb.CreateVector(wrapped->epoch_public);
  bb.ForceVectorAlignment(header_bytes.size(), 1, kNestedAlign);
  auto header_vec = bb.CreateVector(header_bytes.data(), header_bytes.size());
  bb.Finish(CreateBody(bb, header_vec, keys_vec, nonce_vec, ct_vec, epoch_vec));
  const ByteView body(bb.GetBufferPointer(), bb.GetSize());

  const Bytes signature = crypto::Sign(sender_sign_secret, SignedBytes(body));

  flatbuffers::FlatBufferBuilder eb(body.size() + 128);
  auto sig_vec = eb.CreateVector(signature);
  eb.ForceVectorAlignment(body.size(), 1, kNestedAlign);
  auto body_vec = eb.CreateVector(body.data(), body.size());
  eb.Finish(CreateEnvelope(eb, body_vec, sig_vec));
  out.frame.assign(eb.GetBufferPointer(), eb.GetBufferPointer() + eb.GetSize());
  return out;
}

Result<crypto::SecretBytes> OpenEnvelope(const EnvelopeView& env, ByteView sender_sign_key,
                                         Reader& reader) {
  // The signature first: only a sender of the directory gets its epoch key into the cache.
  NRM_RETURN_IF_ERROR(VerifySignature(env, sender_sign_key));
  const auto* keys = env.body_table->keys();
  for (flatbuffers::uoffset_t i = 0; i < keys->size(); ++i) {
    if (keys->Get(i)->recipient()->string_view() != reader.id()) continue;
    NRM_ASSIGN_OR_RETURN(crypto::SecretBytes content_key,
                         reader.Unwrap(env.epoch_key(), View(keys->Get(i)->wrapped())));
    return crypto::AeadDecrypt(content_key, View(env.body_table->nonce()),
                               View(env.body_table->ciphertext()), env.header_bytes);
  }
  return PermissionDenied(reader.id() + " is not a recipient of this message");
}

}  // namespace nrm::wire
