// Hostile input against a real nrm-broker process: mutated, truncated, oversized and forged
// envelopes. Each is refused (and the refusal audited) or harmless; nothing corrupt reaches a
// recipient; the broker stays up and its memory stays flat.
#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "tests/reliability/reliability_fixture.h"

namespace nrm {
namespace {

using testing::Frame;
using testing::FrameText;
using testing::kMmNgo;
using testing::kPolice;
using testing::kShelter;

class BadInputTest : public testing::ReliabilityFixture {
 protected:
  // These tests send thousands of refused frames on purpose, and check the answer to each: the
  // refusal rate that throttles a flooding agency (limits.cc) is raised out of their way.
  std::string ExtraBrokerConfig() const override { return "refusals_per_second = 1000000\n"; }

  // Offset of `part` (a span inside `frame`) from the frame's start.
  static size_t OffsetIn(const Bytes& frame, ByteView part) {
    return static_cast<size_t>(part.data() - frame.data());
  }
};

// Every single-byte change (low bit and high bit of each byte) of three valid envelopes: the
// broker refuses it, or it is harmless (it decodes to the same signed body, so it is the original
// message). The recipient then gets exactly the three originals, each verified and opened.
TEST_F(BadInputTest, EverySingleByteMutationIsRefusedOrHarmless) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  auto raw = Raw(kPolice);
  ASSERT_TRUE(raw);
  std::vector<wire::Sealed> originals;
  for (const std::string& name :
       std::vector<std::string>{"A", "Somchai Canary", std::string(300, 'x')}) {
    originals.push_back(SealOne(*police, kShelter, Payload(name)));
  }
  const long rss_before = BrokerRssKb();
  size_t refused = 0, harmless = 0;
  std::set<Bytes> original_ids;
  for (const wire::Sealed& s : originals) original_ids.insert(s.message_id);
  for (const wire::Sealed& s : originals) {
    for (size_t i = 0; i < s.frame.size(); ++i) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
        Bytes m = s.frame;
        m[i] = static_cast<uint8_t>(m[i] ^ mask);
        transport::Frames reply = SendRaw(*raw, m);
        ASSERT_GE(reply.size(), 2u) << "byte " << i;
        const std::string_view verb = FrameText(reply[0]);
        if (verb == "REFUSED") {
          ++refused;
          // A changed id is never the original's: the signature covers it.
          if (FrameText(reply[2]) == "already_exists") {
            EXPECT_EQ(reply[1], s.message_id) << "byte " << i;
          }
        } else {
          ASSERT_EQ(verb, "ACCEPTED") << "byte " << i;
          EXPECT_EQ(reply[1], s.message_id) << "a mutation was accepted as a new message";
          ++harmless;
        }
      }
    }
  }
  // The originals themselves: accepted, or already accepted through a harmless mutation.
  for (const wire::Sealed& s : originals) {
    transport::Frames reply = SendRaw(*raw, s.frame);
    ASSERT_GE(reply.size(), 2u);
    if (FrameText(reply[0]) == "REFUSED") {
      ++refused;
      ASSERT_GE(reply.size(), 3u);
      EXPECT_EQ(FrameText(reply[2]), "already_exists");
    } else {
      EXPECT_EQ(FrameText(reply[0]), "ACCEPTED");
    }
  }
  ASSERT_TRUE(BrokerAlive());
  const long rss_after = BrokerRssKb();
  EXPECT_LT(rss_after - rss_before, kRssSlackKb)
      << "broker memory grew by " << rss_after - rss_before << " KiB";

  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  std::vector<agent::Received> got = Drain(*shelter, 1000);
  std::set<Bytes> got_ids;
  for (const agent::Received& r : got) {
    EXPECT_EQ(r.sender, kPolice);
    EXPECT_TRUE(original_ids.count(r.message_id)) << "a message nobody sent was delivered";
    got_ids.insert(r.message_id);
  }
  EXPECT_EQ(got_ids, original_ids);
  EXPECT_EQ(got.size(), 3u) << "a message was delivered twice";

  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  // Every refusal is audited, with its reason (harmless repeats refused as already_exists too).
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused), refused)
      << refused << " refused, " << harmless << " harmless";
  std::printf(
      "[ MUTATIONS ] %zu refused, %zu harmless (accepted as the original), broker RSS "
      "%ld -> %ld KiB\n",
      refused, harmless, rss_before, rss_after);
}

// Frames of 0 to 7 bytes, a frame of exactly max_message_bytes, vectors claiming 2^31 elements:
// refused. One byte over max_message_bytes: ZeroMQ disconnects the peer and nothing is routed.
// The broker's memory stays flat over many rounds and it stays up.
TEST_F(BadInputTest, ShortHugeAndLyingFramesAreRefusedWithFlatMemory) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  auto raw = Raw(kPolice);
  ASSERT_TRUE(raw);
  const wire::Sealed s = SealOne(*police, kShelter, Payload("Lying Vector"));
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(s.frame);
  ASSERT_TRUE(env.ok());
  // The u32 length prefixes of the body, the signature and the header's recipients vector,
  // each made to claim 2^31 elements.
  std::vector<Bytes> lying;
  const size_t body_len = OffsetIn(s.frame, env->body) - 4;
  const size_t sig_len = OffsetIn(s.frame, env->signature) - 4;
  const size_t rcpt_len =
      OffsetIn(s.frame, ByteView(reinterpret_cast<const uint8_t*>(env->header->recipients()), 4));
  for (size_t at : {body_len, sig_len, rcpt_len}) {
    Bytes m = s.frame;
    m[at] = 0;
    m[at + 1] = 0;
    m[at + 2] = 0;
    m[at + 3] = 0x80;
    lying.push_back(std::move(m));
  }
  const size_t max = size_t{1} << 20;  // the scenario's max_message_bytes (the default)
  // Large but under the limit: refused as malformed.
  const Bytes near_max(max - 1, 0x41);
  size_t refused = 0;
  auto round = [&] {
    for (size_t n = 0; n < 8; ++n) {
      transport::Frames r = SendRaw(*raw, Bytes(n, 0x10));
      ASSERT_FALSE(r.empty());
      ASSERT_EQ(FrameText(r[0]), "REFUSED") << n << " bytes";
      ++refused;
    }
    for (const Bytes& m : lying) {
      transport::Frames r = SendRaw(*raw, m);
      ASSERT_FALSE(r.empty());
      ASSERT_EQ(FrameText(r[0]), "REFUSED");
      EXPECT_EQ(FrameText(r[2]), "invalid_argument");
      ++refused;
    }
    transport::Frames r = SendRaw(*raw, near_max);
    ASSERT_FALSE(r.empty());
    ASSERT_EQ(FrameText(r[0]), "REFUSED") << "a frame of max_message_bytes - 1";
    ++refused;
  };
  round();
  const long rss_before = BrokerRssKb();
  for (int i = 0; i < 30; ++i) round();
  const long rss_after = BrokerRssKb();
  EXPECT_LT(rss_after - rss_before, kRssSlackKb / 2)
      << "broker RSS grew from " << rss_before << " to " << rss_after << " KiB";

  // Exactly max_message_bytes is read and answered (PROTOCOL.md §3); one byte over disconnects
  // the peer: no answer, nothing routed, the broker stays up.
  for (size_t size : {max, max + 1}) {
    auto big = Raw(kPolice);
    ASSERT_TRUE(big);
    ASSERT_TRUE(big->Send({Frame("SEND"), Bytes(size, 0x41)}).ok());
    Result<std::optional<transport::Frames>> r = big->Receive(1000);
    const bool answered = r.ok() && r->has_value();
    EXPECT_EQ(answered, size == max) << "a frame of " << size << " bytes";
    if (answered) {
      EXPECT_EQ(FrameText((**r)[0]), "REFUSED");
      ++refused;
    }
  }
  ASSERT_TRUE(BrokerAlive());
  // A well-formed message still goes through afterwards.
  transport::Frames ok = SendRaw(*raw, s.frame);
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(FrameText(ok[0]), "ACCEPTED");
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  std::vector<agent::Received> got = Drain(*shelter, 1000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message_id, s.message_id);

  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused), refused);
  std::printf("[ FRAMES ] %zu refused, broker RSS %ld -> %ld KiB over 30 rounds\n", refused,
              rss_before, rss_after);
}

// created_at is the sender's number, any int64. Values that overflow `now - created_at` (now -
// 2^63 wrapped to a negative skew that passed both window tests, and was refused only later by
// the policy's date parsing, with the wrong code): each is refused as invalid_argument by the
// freshness check, and under UBSan the check itself never overflows. Nothing is accepted.
TEST_F(BadInputTest, CreatedAtFarFromNowIsRefusedAsInvalidArgumentWithoutOverflow) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  auto raw = Raw(kPolice);
  ASSERT_TRUE(raw);
  const identity::KeySet keys = Keys(kPolice);
  const identity::Agency* shelter = police->directory().Find(kShelter);
  ASSERT_NE(shelter, nullptr);
  const int64_t now = SystemClock::Get().NowMillis();
  wire::SenderEpoch epoch(SystemClock::Get());
  for (int64_t created_at :
       {static_cast<int64_t>(static_cast<uint64_t>(now) - (uint64_t{1} << 63)),
        std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    SCOPED_TRACE("created_at " + std::to_string(created_at));
    wire::HeaderFields f;
    f.sender = kPolice;
    f.kind = wire::Kind::ReferralOffer;
    f.case_ref = Bytes(16, 3);
    f.handling = wire::Handling::H1;
    f.created_at_ms = created_at;
    const std::vector<wire::Recipient> to = {{kShelter, shelter->box_key}};
    Result<wire::Sealed> s =
        wire::SealEnvelope(f, to, Payload("Overflow"), keys.sign_secret, epoch);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    transport::Frames r = SendRaw(*raw, s->frame);
    ASSERT_GE(r.size(), 4u);
    EXPECT_EQ(FrameText(r[0]), "REFUSED");
    EXPECT_EQ(FrameText(r[2]), "invalid_argument") << FrameText(r[3]);
    EXPECT_NE(FrameText(r[3]).find("freshness window"), std::string_view::npos) << FrameText(r[3]);
  }
  ASSERT_TRUE(BrokerAlive());
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  EXPECT_EQ(Count(records, audit::AuditEvent::kAccepted), 0u);
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused, "invalid_argument"), 3u);
}

// A signature with one bit flipped; a sender field naming another agency; another agency's
// envelope forwarded on one's own connection; an ACK replayed as a message. All refused, none
// delivered, each refusal audited with its code.
TEST_F(BadInputTest, ForgedMisattributedAndReplayedAreRefusedAndAudited) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  auto raw_police = Raw(kPolice);
  auto raw_shelter2 = Raw(testing::kShelter2);
  ASSERT_TRUE(raw_police && raw_shelter2);

  // 1. One bit of the signature flipped.
  wire::Sealed s1 = SealOne(*police, kShelter, Payload("Flip"));
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(s1.frame);
  ASSERT_TRUE(env.ok());
  Bytes flipped = s1.frame;
  flipped[OffsetIn(s1.frame, env->signature) + 10] ^= 0x04;
  transport::Frames r1 = SendRaw(*raw_police, flipped);
  ASSERT_GE(r1.size(), 3u);
  EXPECT_EQ(FrameText(r1[0]), "REFUSED");
  EXPECT_EQ(FrameText(r1[2]), "unauthenticated");

  // 2. A sender field naming another agency, signed with the connection's own key.
  identity::KeySet police_keys = Keys(kPolice);
  wire::HeaderFields f;
  f.sender = testing::kShelter2;
  f.kind = wire::Kind::ReferralOffer;
  f.case_ref = Bytes(16, 2);
  f.handling = wire::Handling::H1;
  f.created_at_ms = SystemClock::Get().NowMillis();
  const identity::Agency* shelter_entry = police->directory().Find(kShelter);
  ASSERT_NE(shelter_entry, nullptr);
  std::vector<wire::Recipient> to = {{kShelter, shelter_entry->box_key}};
  wire::SenderEpoch epoch(SystemClock::Get());
  Result<wire::Sealed> s2 =
      wire::SealEnvelope(f, to, Payload("Claims"), police_keys.sign_secret, epoch);
  ASSERT_TRUE(s2.ok());
  transport::Frames r2 = SendRaw(*raw_police, s2->frame);
  ASSERT_GE(r2.size(), 3u);
  EXPECT_EQ(FrameText(r2[0]), "REFUSED");
  EXPECT_EQ(FrameText(r2[2]), "permission_denied");

  // 3. The police's genuine envelope forwarded by another agency on its own connection.
  wire::Sealed s3 = SealOne(*police, kShelter, Payload("Forwarded"));
  transport::Frames r3 = SendRaw(*raw_shelter2, s3.frame);
  ASSERT_GE(r3.size(), 3u);
  EXPECT_EQ(FrameText(r3[0]), "REFUSED");
  EXPECT_EQ(FrameText(r3[2]), "permission_denied");

  // 4. An acknowledgement (a 16-byte message id) replayed as a message.
  transport::Frames r4 = SendRaw(*raw_police, s1.message_id);
  ASSERT_GE(r4.size(), 3u);
  EXPECT_EQ(FrameText(r4[0]), "REFUSED");
  EXPECT_EQ(FrameText(r4[2]), "invalid_argument");
  // ... and as a whole ACK message in a SEND frame.
  transport::Frames r5 = SendRaw(*raw_police, Frame("ACK"));
  ASSERT_GE(r5.size(), 3u);
  EXPECT_EQ(FrameText(r5[0]), "REFUSED");

  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  EXPECT_TRUE(Drain(*shelter, 1000).empty()) << "a refused message was delivered";

  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  EXPECT_EQ(Count(records, audit::AuditEvent::kAccepted), 0u);
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused, "unauthenticated"), 1u);
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused, "permission_denied"), 2u);
  EXPECT_EQ(Count(records, audit::AuditEvent::kRefused, "invalid_argument"), 2u);
  bool misattributed_audited = false;
  for (const audit::AuditRecord& r : records) {
    if (r.event == audit::AuditEvent::kRefused && r.message_id == s3.message_id) {
      misattributed_audited = true;
    }
  }
  EXPECT_TRUE(misattributed_audited) << "the forwarded envelope's refusal names its message id";
}

// A message signed by an agency that has since been revoked: its connection is closed and
// refused at the handshake (audited as connection_refused); forwarded by another agency it is
// refused as not that agency's. Nothing is delivered.
TEST_F(BadInputTest, RevokedKeyIsRefusedEverywhere) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  wire::Sealed s = SealOne(*police, kShelter, Payload("Revoked"));
  police.reset();
  ReloadDirectory([](std::string& body) { Revoke(body, kPolice); });
  // Poll until the reload took effect: the revoked key can no longer connect.
  const identity::KeySet police_keys = Keys(kPolice);
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    Result<std::unique_ptr<transport::Client>> c = RawClient(police_keys);
    if (!c.ok()) {
      refused = c.status().code() == Code::kUnauthenticated;
      continue;
    }
    // Connected before the reload: the send must still be refused.
    transport::Frames r = SendRaw(**c, s.frame);
    ASSERT_FALSE(r.empty());
    ASSERT_EQ(FrameText(r[0]), "REFUSED");
  }
  ASSERT_TRUE(refused) << "the revoked key still connects";
  auto raw_shelter2 = Raw(testing::kShelter2);
  ASSERT_TRUE(raw_shelter2);
  transport::Frames r = SendRaw(*raw_shelter2, s.frame);
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(FrameText(r[0]), "REFUSED");

  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  EXPECT_TRUE(Drain(*shelter, 1000).empty());
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  EXPECT_EQ(Count(records, audit::AuditEvent::kAccepted), 0u);
  size_t handshake_refusals = 0;
  for (const audit::AuditRecord& rec : records) {
    if (rec.event == audit::AuditEvent::kConnectionRefused && rec.sender == kPolice) {
      ++handshake_refusals;
    }
  }
  EXPECT_GE(handshake_refusals, 1u);
}

// A recipient re-seals what it received, under its own signature, to a third party the policy
// does not allow (an NGO abroad, on an H2 case): refused by policy/H2, or, if delivered, it shows
// as the recipient's own message, never as the original sender's.
TEST_F(BadInputTest, ReencryptedByRecipientIsRefusedOrItsOwn) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(police && shelter);
  const Bytes case_ref(16, 9);
  Result<agent::SendOutcome> sent =
      One(police->Send({kShelter}, wire::Kind::ReferralOffer, case_ref, wire::Handling::H2,
                       Payload("Onward"), 10000));
  ASSERT_TRUE(sent.ok() && sent->accepted) << sent.status().ToString();
  Result<std::optional<agent::Received>> got = shelter->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_TRUE(shelter->Acknowledge((*got)->message_id).ok());
  const Bytes payload((*got)->payload.view().begin(), (*got)->payload.view().end());

  Result<std::vector<agent::SendOutcome>> onward = shelter->Send(
      {kMmNgo}, wire::Kind::ReferralOffer, case_ref, wire::Handling::H2, payload, 10000);
  size_t accepted = 0;
  if (onward.ok()) {
    for (const agent::SendOutcome& o : *onward) {
      if (o.accepted) {
        ++accepted;
      } else {
        EXPECT_EQ(o.code, "permission_denied") << o.reason;
      }
    }
  }
  auto ngo = OpenAgent(kMmNgo);
  ASSERT_TRUE(ngo);
  std::vector<agent::Received> at_ngo = Drain(*ngo, 1000);
  EXPECT_EQ(at_ngo.size(), accepted);
  for (const agent::Received& r : at_ngo) {
    EXPECT_EQ(r.sender, kShelter) << "a re-sealed message shows as the original sender's";
    EXPECT_NE(r.message_id, sent->message_id);
  }
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  std::printf("[ ONWARD ] re-sealed to a third party: %zu accepted (%s)\n", accepted,
              accepted == 0 ? "refused by policy/H2" : "as the recipient's own message");
  if (accepted == 0 && onward.ok()) {
    EXPECT_GE(Count(records, audit::AuditEvent::kRefused, "permission_denied"), 1u);
  }
}

}  // namespace
}  // namespace nrm
