// Sealing and opening envelopes, and what the verifier and the signature refuse.
#include "schemas/wire/envelope.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "schemas/wire/payload.h"

namespace nrm::wire {
namespace {

// Where a scalar field of a table sits in its buffer (generated tables hide flatbuffers::Table).
const uint8_t* FieldAddress(const Header* h, flatbuffers::voffset_t field) {
  return reinterpret_cast<const flatbuffers::Table*>(h)->GetAddressOf(field);
}

struct Party {
  std::string id;
  crypto::SignKeyPair sign = crypto::GenerateSignKeyPair();
  crypto::BoxKeyPair box = crypto::GenerateBoxKeyPair();
  Recipient AsRecipient() const { return {id, box.public_key}; }
  // What it opens with. A fresh one has met no epoch key yet.
  std::unique_ptr<Reader> NewReader() const {
    return std::make_unique<Reader>(id, box.secret_key.Clone());
  }
};

class EnvelopeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  HeaderFields Fields() const {
    HeaderFields f;
    f.sender = police_.id;
    f.kind = Kind::ReferralOffer;
    f.case_ref = Bytes(kCaseRefBytes, 0x42);
    f.handling = Handling::H1;
    f.created_at_ms = 1'790'000'000'000;
    return f;
  }

  Sealed Seal(std::vector<const Party*> to) {
    std::vector<Recipient> rs;
    for (const Party* p : to) rs.push_back(p->AsRecipient());
    Result<Sealed> s =
        SealEnvelope(Fields(), rs, AsBytes(payload_), police_.sign.secret_key, epoch_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(*s);
  }

  Result<crypto::SecretBytes> Open(const Bytes& frame, const Party& reader) const {
    NRM_ASSIGN_OR_RETURN(EnvelopeView env, DecodeEnvelope(frame));
    return OpenEnvelope(env, police_.sign.public_key, *reader.NewReader());
  }

  // `frame` with its body changed by `edit`, packed as a writer packs (nested buffers aligned
  // to 8) and signed again by the sender: a validly signed envelope, so that what refuses it is
  // a check after the signature. `b.header` holds the header's bytes as sealed (the AEAD's
  // associated data); an edit that changes them makes the payload undecryptable.
  Bytes Resigned(const Bytes& frame, const std::function<void(BodyT&)>& edit) const {
    Result<EnvelopeView> env = DecodeEnvelope(frame);
    EXPECT_TRUE(env.ok());
    if (!env.ok()) return {};
    BodyT b;
    env->body_table->UnPackTo(&b);
    edit(b);
    flatbuffers::FlatBufferBuilder bb;
    std::vector<flatbuffers::Offset<WrappedKey>> keys;
    for (const auto& k : b.keys) keys.push_back(WrappedKey::Pack(bb, k.get()));
    auto keys_vec = bb.CreateVector(keys);
    auto nonce_vec = bb.CreateVector(b.nonce);
    auto ct_vec = bb.CreateVector(b.ciphertext);
    auto epoch_vec = b.epoch_key.empty() ? 0 : bb.CreateVector(b.epoch_key);
    bb.ForceVectorAlignment(b.header.size(), 1, 8);
    auto header_vec = bb.CreateVector(b.header);
    bb.Finish(CreateBody(bb, header_vec, keys_vec, nonce_vec, ct_vec, epoch_vec));
    const ByteView body(bb.GetBufferPointer(), bb.GetSize());
    const Bytes signature = crypto::Sign(police_.sign.secret_key, SignedBytes(body));
    flatbuffers::FlatBufferBuilder eb;
    auto sig_vec = eb.CreateVector(signature);
    eb.ForceVectorAlignment(body.size(), 1, 8);
    auto body_vec = eb.CreateVector(body.data(), body.size());
    eb.Finish(CreateEnvelope(eb, body_vec, sig_vec));
    return Bytes(eb.GetBufferPointer(), eb.GetBufferPointer() + eb.GetSize());
  }

  // Refused with `code` and a message holding `why`: the check that was meant to refuse it.
  void ExpectOpenRefused(const Bytes& frame, const Party& reader, Code code,
                         std::string_view why) const {
    Result<crypto::SecretBytes> r = Open(frame, reader);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code);
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
  }

  // Refused by the decoder with a message holding `why`.
  static void ExpectMalformed(const Bytes& frame, std::string_view why) {
    Result<EnvelopeView> env = DecodeEnvelope(frame);
    ASSERT_FALSE(env.ok());
    EXPECT_EQ(env.status().code(), Code::kInvalidArgument);
    EXPECT_NE(env.status().message().find(why), std::string::npos) << env.status().message();
  }

  // A copy of `frame` with the bytes at `field` (a pointer into `frame`, found through a
  // decoded view of it) XORed with `mask`: a change to exactly one field, nothing else.
  static Bytes Flip(const Bytes& frame, const void* field, size_t len, uint8_t mask) {
    const auto* p = static_cast<const uint8_t*>(field);
    EXPECT_TRUE(p >= frame.data() && p + len <= frame.data() + frame.size());
    Bytes out = frame;
    for (size_t i = 0; i < len; ++i) out[static_cast<size_t>(p - frame.data()) + i] ^= mask;
    return out;
  }

  // Flips the field chosen by `pick` with mask 0 (the control: must still verify and open)
  // and with `mask` (must be refused).
  void ExpectFieldProtected(
      const std::function<std::pair<const void*, size_t>(const EnvelopeView&)>& pick,
      uint8_t mask = 0x01) {
    Sealed s = Seal({&shelter_});
    Result<EnvelopeView> env = DecodeEnvelope(s.frame);
    ASSERT_TRUE(env.ok());
    auto [where, len] = pick(*env);
    Bytes control = Flip(s.frame, where, len, 0);
    ASSERT_TRUE(Open(control, shelter_).ok()) << "control: an unchanged frame must open";
    ExpectRefused(Flip(s.frame, where, len, mask));
  }

  // The tampered frame must decode (it is well-formed) but never verify or open.
  void ExpectRefused(const Bytes& tampered) const {
    Result<EnvelopeView> env = DecodeEnvelope(tampered);
    if (!env.ok()) return;  // refused by the structural checks: also fine
    EXPECT_EQ(VerifySignature(*env, police_.sign.public_key).code(), Code::kUnauthenticated);
    EXPECT_FALSE(Open(tampered, shelter_).ok());
  }

  FakeClock clock_{1'790'000'000'000};
  SenderEpoch epoch_{clock_};
  Party police_{"TH.POLICE.CRI-ATU"};
  Party shelter_{"TH.SHELTER.KREDTRAKARN"};
  Party shelter2_{"TH.SHELTER.BAN-PING"};
  Party ngo_{"TH.NGO.HOPE"};
  std::string payload_ = "referral payload bytes";
};

TEST_F(EnvelopeTest, RoundTripOneRecipient) {
  Sealed s = Seal({&shelter_});
  Result<crypto::SecretBytes> opened = Open(s.frame, shelter_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(AsChars(opened->view()), payload_);
  Result<EnvelopeView> env = DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->sender(), police_.id);
  EXPECT_EQ(env->kind(), Kind::ReferralOffer);
  EXPECT_EQ(env->handling(), Handling::H1);
  EXPECT_EQ(Bytes(env->message_id().begin(), env->message_id().end()), s.message_id);
}

TEST_F(EnvelopeTest, RoundTripThreeRecipients) {
  Sealed s = Seal({&shelter_, &shelter2_, &ngo_});
  for (const Party* p : {&shelter_, &shelter2_, &ngo_}) {
    Result<crypto::SecretBytes> opened = Open(s.frame, *p);
    ASSERT_TRUE(opened.ok()) << p->id << ": " << opened.status().ToString();
    EXPECT_EQ(AsChars(opened->view()), payload_);
  }
}

TEST_F(EnvelopeTest, NonRecipientCannotOpen) {
  Sealed s = Seal({&shelter_});
  EXPECT_EQ(Open(s.frame, ngo_).status().code(), Code::kPermissionDenied);
  // Even claiming a recipient's id, the wrong key does not unwrap the content key.
  Result<EnvelopeView> env = DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  Reader impostor(shelter_.id, ngo_.box.secret_key.Clone());
  EXPECT_EQ(OpenEnvelope(*env, police_.sign.public_key, impostor).status().code(),
            Code::kUnauthenticated);
}

TEST_F(EnvelopeTest, WrongSenderKeyIsRefused) {
  Sealed s = Seal({&shelter_});
  Result<EnvelopeView> env = DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(VerifySignature(*env, ngo_.sign.public_key).code(), Code::kUnauthenticated);
}

using Field = std::pair<const void*, size_t>;

TEST_F(EnvelopeTest, TamperedMessageIdIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) { return Field(e.message_id().data(), 1); });
}
TEST_F(EnvelopeTest, TamperedSenderIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) { return Field(e.sender().data() + 3, 1); });
}
TEST_F(EnvelopeTest, ReaddressedMessageIsRefused) {
  // The recipient named in the header, and the same change in its wrapped key's name.
  Sealed s = Seal({&shelter_});
  Result<EnvelopeView> env = DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  const auto* in_header = env->header->recipients()->Get(0);
  const auto* in_keys = env->body_table->keys()->Get(0)->recipient();
  Bytes moved = Flip(s.frame, in_header->Data() + 3, 1, 0x02);
  ExpectRefused(moved);
  ExpectRefused(
      Flip(moved,
           moved.data() + (reinterpret_cast<const uint8_t*>(in_keys->Data()) - s.frame.data()) + 3,
           1, 0x02));
}
TEST_F(EnvelopeTest, RekindedMessageIsRefused) {
  // ReferralOffer (1) XOR 3 = ReferralAccept (2): a valid kind, so only the signature stops it.
  ExpectFieldProtected(
      [](const EnvelopeView& e) { return Field(FieldAddress(e.header, Header::VT_KIND), 1); },
      0x03);
}
TEST_F(EnvelopeTest, TamperedCaseRefIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) { return Field(e.case_ref().data() + 5, 1); });
}
TEST_F(EnvelopeTest, TamperedHandlingIsRefused) {
  ExpectFieldProtected(
      [](const EnvelopeView& e) { return Field(FieldAddress(e.header, Header::VT_HANDLING), 1); });
}
TEST_F(EnvelopeTest, TamperedCreatedAtIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) {
    return Field(FieldAddress(e.header, Header::VT_CREATED_AT_MS), 1);
  });
}
TEST_F(EnvelopeTest, TamperedWrappedKeyIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) {
    return Field(e.body_table->keys()->Get(0)->wrapped()->Data() + 40, 1);
  });
}
TEST_F(EnvelopeTest, TamperedWrapNonceIsRefused) {
  // The wrap's own nonce (its first 24 bytes): the signature refuses it, and so does the
  // unwrap when the sender signed the altered bytes.
  ExpectFieldProtected([](const EnvelopeView& e) {
    return Field(e.body_table->keys()->Get(0)->wrapped()->Data() + 5, 1);
  });
  Bytes resigned =
      Resigned(Seal({&shelter_}).frame, [](BodyT& b) { b.keys[0]->wrapped[5] ^= 0x01; });
  ExpectOpenRefused(resigned, shelter_, Code::kUnauthenticated, "wrapped key does not open");
}
TEST_F(EnvelopeTest, TamperedEpochKeyIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) { return Field(e.epoch_key().data() + 9, 1); });
}
TEST_F(EnvelopeTest, ResignedControlOpens) {
  // The control of the Resigned() tests below: unchanged, it opens.
  Bytes same = Resigned(Seal({&shelter_}).frame, [](BodyT&) {});
  Result<crypto::SecretBytes> opened = Open(same, shelter_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(AsChars(opened->view()), payload_);
}
TEST_F(EnvelopeTest, WrongEpochKeyIsRefused) {
  // Signed by the sender, but the epoch key is not the one the keys were wrapped with: another
  // valid key, then the all-zero point (its shared key would be zero: refused, not computed).
  const Bytes other = crypto::GenerateBoxKeyPair().public_key;
  const Bytes zero(crypto::kBoxPublicBytes, 0);
  for (const auto& [key, why] :
       {std::pair(other, "wrapped key does not open"), std::pair(zero, "unusable epoch key")}) {
    Bytes resigned = Resigned(Seal({&shelter_}).frame, [&](BodyT& b) { b.epoch_key = key; });
    Result<EnvelopeView> env = DecodeEnvelope(resigned);
    ASSERT_TRUE(env.ok());
    EXPECT_TRUE(VerifySignature(*env, police_.sign.public_key).ok());
    ExpectOpenRefused(resigned, shelter_, Code::kUnauthenticated, why);
  }
}
TEST_F(EnvelopeTest, EpochKeyOfTheWrongSizeIsRefused) {
  for (size_t n : {size_t{0}, size_t{31}, size_t{33}}) {
    ExpectMalformed(
        Resigned(Seal({&shelter_}).frame, [&](BodyT& b) { b.epoch_key.resize(n, 0x55); }),
        "epoch_key must be 32 bytes");
  }
}
TEST_F(EnvelopeTest, BodyNotAlignedTo8IsRefused) {
  // The same body, validly signed, packed at 4 mod 8 in the envelope: the Verifier alone,
  // which checks alignment relative to the buffer it is given, would pass it.
  const Bytes frame = Seal({&shelter_}).frame;
  Result<EnvelopeView> env = DecodeEnvelope(frame);
  ASSERT_TRUE(env.ok());
  const Bytes body(env->body.begin(), env->body.end());
  flatbuffers::FlatBufferBuilder eb;
  auto sig_vec = eb.CreateVector(Bytes(env->signature.begin(), env->signature.end()));
  eb.ForceVectorAlignment(body.size() + 4, 1, 8);
  auto body_vec = eb.CreateVector(body.data(), body.size());
  eb.Finish(CreateEnvelope(eb, body_vec, sig_vec));
  const Bytes shifted(eb.GetBufferPointer(), eb.GetBufferPointer() + eb.GetSize());
  const auto* packed = flatbuffers::GetRoot<Envelope>(shifted.data())->body();
  ASSERT_NE((packed->data() - shifted.data()) % 8, 0);  // the test built what it meant to
  ExpectMalformed(shifted, "body is not aligned to 8 bytes");
}
TEST_F(EnvelopeTest, WrappedKeyOfTheWrongSizeIsRefused) {
  // 80 is a version-1 wrap (crypto_box_seal).
  for (size_t n : {size_t{0}, size_t{71}, size_t{73}, size_t{80}}) {
    ExpectMalformed(Resigned(Seal({&shelter_, &ngo_}).frame,
                             [&](BodyT& b) { b.keys[1]->wrapped.resize(n, 0x55); }),
                    "wrapped key 1 must be 72 bytes");
  }
}
TEST_F(EnvelopeTest, SwappedWrappedKeysDoNotOpen) {
  // Each recipient's wrap, signed in the other's place: neither opens the other's.
  Bytes swapped = Resigned(Seal({&shelter_, &ngo_}).frame,
                           [](BodyT& b) { std::swap(b.keys[0]->wrapped, b.keys[1]->wrapped); });
  ExpectOpenRefused(swapped, shelter_, Code::kUnauthenticated, "wrapped key does not open");
  ExpectOpenRefused(swapped, ngo_, Code::kUnauthenticated, "wrapped key does not open");
}
TEST_F(EnvelopeTest, TamperedNonceIsRefused) {
  ExpectFieldProtected(
      [](const EnvelopeView& e) { return Field(e.body_table->nonce()->Data() + 7, 1); });
}
TEST_F(EnvelopeTest, TamperedCiphertextIsRefused) {
  ExpectFieldProtected(
      [](const EnvelopeView& e) { return Field(e.body_table->ciphertext()->Data() + 2, 1); });
}
TEST_F(EnvelopeTest, TamperedSignatureIsRefused) {
  ExpectFieldProtected([](const EnvelopeView& e) { return Field(e.signature.data() + 10, 1); });
}
TEST_F(EnvelopeTest, ReplyAndOverrideFieldsAreSigned) {
  // in_reply_to and consent_override are present only when set; seal with both set.
  HeaderFields f = Fields();
  f.in_reply_to = Bytes(kMessageIdBytes, 9);
  f.consent_override = true;
  std::vector<Recipient> one = {shelter_.AsRecipient()};
  Result<Sealed> s = SealEnvelope(f, one, AsBytes(payload_), police_.sign.secret_key, epoch_);
  ASSERT_TRUE(s.ok());
  Result<EnvelopeView> env = DecodeEnvelope(s->frame);
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(env->header->consent_override());
  ExpectRefused(Flip(s->frame, env->in_reply_to().data(), 1, 0x10));
  ExpectRefused(Flip(s->frame, FieldAddress(env->header, Header::VT_CONSENT_OVERRIDE), 1, 0x01));
}
TEST_F(EnvelopeTest, OtherVersionsAreRefused) {
  Sealed s = Seal({&shelter_});
  Result<EnvelopeView> env = DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->header->version(), kWireVersion);
  // Validly signed, so only the version check refuses them. Version 1 is the schema's default,
  // so a version-1 header omits the field, as the version-1 writers did.
  for (int version : {0, 1, 3, 255}) {
    Bytes other = Resigned(s.frame, [&](BodyT& b) {
      HeaderT h;
      flatbuffers::GetRoot<Header>(b.header.data())->UnPackTo(&h);
      h.version = static_cast<uint8_t>(version);
      flatbuffers::FlatBufferBuilder hb;
      hb.Finish(Header::Pack(hb, &h));
      b.header.assign(hb.GetBufferPointer(), hb.GetBufferPointer() + hb.GetSize());
    });
    ExpectMalformed(other, "version " + std::to_string(version) + " (expected 2)");
  }
}

TEST_F(EnvelopeTest, TruncatedFramesAreRefused) {
  Sealed s = Seal({&shelter_, &ngo_});
  for (size_t n = 0; n < s.frame.size(); ++n) {
    Bytes cut(s.frame.begin(), s.frame.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(DecodeEnvelope(cut).ok()) << "prefix of " << n << " bytes decoded";
  }
}

TEST_F(EnvelopeTest, RandomBuffersAreRefused) {
  for (size_t i = 0; i < 20000; ++i) {
    Bytes junk = crypto::RandomBytes(i % 600);
    EXPECT_FALSE(DecodeEnvelope(junk).ok());
  }
}

TEST_F(EnvelopeTest, EverySingleByteMutationIsRefusedOrHarmless) {
  Sealed s = Seal({&shelter_});
  Result<EnvelopeView> original = DecodeEnvelope(s.frame);
  ASSERT_TRUE(original.ok());
  const Bytes body(original->body.begin(), original->body.end());
  const Bytes sig(original->signature.begin(), original->signature.end());
  for (size_t i = 0; i < s.frame.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      Bytes m = s.frame;
      m[i] ^= flip;
      Result<EnvelopeView> env = DecodeEnvelope(m);
      if (!env.ok() || !VerifySignature(*env, police_.sign.public_key).ok()) continue;
      // Accepted only if what was signed is byte for byte what the sender signed (the byte
      // was padding or an offset of the outer table).
      EXPECT_EQ(Bytes(env->body.begin(), env->body.end()), body) << "byte " << i;
      EXPECT_EQ(Bytes(env->signature.begin(), env->signature.end()), sig) << "byte " << i;
    }
  }
}

TEST_F(EnvelopeTest, SealRefusesBadInput) {
  HeaderFields f = Fields();
  const crypto::SecretBytes& key = police_.sign.secret_key;
  std::vector<Recipient> none;
  EXPECT_FALSE(SealEnvelope(f, none, AsBytes(payload_), key, epoch_).ok());
  std::vector<Recipient> twice = {shelter_.AsRecipient(), shelter_.AsRecipient()};
  EXPECT_FALSE(SealEnvelope(f, twice, AsBytes(payload_), key, epoch_).ok());
  // A box key of small order (all zeros) would give an all-zero shared key.
  std::vector<Recipient> weak = {shelter_.AsRecipient(), {ngo_.id, Bytes(32, 0)}};
  Result<Sealed> refused = SealEnvelope(f, weak, AsBytes(payload_), key, epoch_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  f.case_ref.resize(3);
  std::vector<Recipient> one = {shelter_.AsRecipient()};
  EXPECT_FALSE(SealEnvelope(f, one, AsBytes(payload_), key, epoch_).ok());
}

TEST(KindTest, NamesRoundTrip) {
  for (int k = 0; k < 64; ++k) {
    std::string_view name = KindName(static_cast<Kind>(k));
    if (name == "unknown") continue;
    Result<Kind> back = KindFromName(name);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(static_cast<int>(*back), k);
  }
  EXPECT_FALSE(KindFromName("referral").ok());
}

TEST(PayloadTest, JsonRoundTripAndUnknownFieldNamed) {
  Result<Bytes> p = PayloadFromJson(R"({"person": {"first_name": "A"}, "needs": {}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Result<std::string> json = PayloadToJson(*p);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"first_name\": \"A\""), std::string::npos);

  Result<Bytes> bad = PayloadFromJson(R"({"person": {"frist_name": "A"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("frist_name"), std::string::npos) << bad.status().message();
  Result<Bytes> wrong_type = PayloadFromJson(R"({"person": {"is_child": "yes"}})");
  EXPECT_FALSE(wrong_type.ok());
}

TEST(PayloadTest, KeepSectionsDropsTheRest) {
  Result<Bytes> p = PayloadFromJson(
      R"({"case": {"status": "Active"}, "person": {"first_name": "A"},
          "investigation": {"evidence_refs": ["E1"]}})");
  ASSERT_TRUE(p.ok());
  Result<Bytes> kept = KeepSections(*p, {"case", "person"});
  ASSERT_TRUE(kept.ok());
  Result<const payload::Payload*> v = VerifyPayload(*kept);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(PresentSections(**v), (std::vector<std::string>{"case", "person"}));
}

TEST(PayloadTest, GarbageIsRefused) {
  for (size_t i = 0; i < 5000; ++i) {
    Bytes junk = crypto::RandomBytes(i % 300);
    Result<std::string> json = PayloadToJson(junk);  // must return, whatever the bytes
    if (junk.size() < 4) {
      EXPECT_FALSE(json.ok());
    }
  }
}

}  // namespace
}  // namespace nrm::wire
