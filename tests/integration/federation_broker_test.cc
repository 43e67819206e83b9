// National brokers linked under signed agreements (docs/PROTOCOL.md section 12.3), as real
// processes: a cross-border envelope is accepted by the sender's broker, relayed, checked again
// and stored by the partner's, delivered there, and receipted back; routes without a valid
// agreement are refused at the sending broker and again at the receiving one; a malicious
// partner gets nothing past the recipient's broker.
#include <gtest/gtest.h>

#include <iostream>

#include "audit/checkpoint.h"
#include "broker/federation.h"
#include "tests/testing/federation_fixture.h"

namespace nrm::testing {
namespace {

using wire::Kind;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
std::string Reason(const transport::Frames& f) {
  return f.size() >= 4 ? std::string(FrameText(f[2])) + ": " + std::string(FrameText(f[3]))
                       : "(no refusal)";
}

class FederationBrokerTest : public FederationFixture {
 protected:
  // The verifier key of a country's audit log, as its directory publishes it.
  audit::note::VerifierKey LogKeyOf(const std::string& cc) const {
    const tools::NationalSetup& n = fed_.countries.at(cc);
    Result<identity::Directory> dir = identity::Directory::Load(
        n.directory, n.authority.sign_public, SystemClock::Get().NowMillis());
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    Result<audit::note::VerifierKey> key =
        audit::PublishedLogKey(dir->broker().log_vkey, dir->broker().id, dir->broker().sign_key);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return *key;
  }
  // A connection to the Cambodian broker with the Thai broker's keys, as a partner (or a
  // partner gone rogue) that sends what it likes.
  std::unique_ptr<transport::Client> ConnectAsThaiBroker() {
    const tools::NationalSetup& th = fed_.countries.at("TH");
    const tools::NationalSetup& kh = fed_.countries.at("KH");
    transport::ClientOptions o;
    o.endpoint = kh.endpoint;
    o.server_curve_public = kh.broker.curve_public;
    o.curve_public = th.broker.curve_public;
    o.curve_secret = th.broker.curve_secret.Clone();
    Result<std::unique_ptr<transport::Client>> c = transport::Client::Connect(std::move(o), 5000);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  // OK when `note` is a checkpoint of `cc`'s log, signed by its broker, whose tree holds `leaf`.
  ::testing::AssertionResult ReceiptHolds(const std::string& cc, std::string_view note,
                                          ByteView leaf) const {
    if (leaf.size() != 8) return ::testing::AssertionFailure() << "a leaf of 8 bytes";
    Result<audit::VerifiedCheckpoint> v = audit::VerifyCheckpointNote(note, LogKeyOf(cc));
    if (!v.ok()) return ::testing::AssertionFailure() << v.status().ToString() << "\n" << note;
    uint64_t index = 0;
    for (uint8_t b : leaf) index = index << 8 | b;
    if (index >= v->checkpoint.size) {
      return ::testing::AssertionFailure()
             << "leaf " << index << " outside a tree of " << v->checkpoint.size;
    }
    return ::testing::AssertionSuccess();
  }
};

TEST_F(FederationBrokerTest, CrossBorderEnvelopeIsRelayedDeliveredAndReceipted) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  auto kh = Connect("KH.NGO.PP-CARE");
  ASSERT_TRUE(th && kh);
  wire::Sealed sealed =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Canary-Sokha");
  transport::Frames answer = Send(*th, sealed.frame);
  ASSERT_EQ(FrameText(answer.at(0)), "ACCEPTED") << Reason(answer);
  EXPECT_EQ(Receive(*kh), sealed.frame) << "delivered by the Cambodian broker, byte for byte";
  // A domestic message on the same broker goes on as before.
  auto shelter = Connect("TH.SHELTER.KREDTRAKARN");
  wire::Sealed domestic =
      Seal("TH.NGO.RETURN-CRI", {"TH.SHELTER.KREDTRAKARN"}, Kind::ReferralOffer, "Domestic");
  ASSERT_EQ(FrameText(Send(*th, domestic.frame).at(0)), "ACCEPTED");
  EXPECT_EQ(Receive(*shelter), domestic.frame);
  // Wait for the receipt to be audited, then read both logs.
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) { return l["relayed"] == 1; }))
      << LinkStatus("TH", "KH").dump();
  StopBroker("TH");
  StopBroker("KH");
  std::vector<audit::AuditRecord> th_log = AuditOf("TH");
  std::vector<audit::AuditRecord> kh_log = AuditOf("KH");
  bool receipted = false, accepted_kh = false;
  for (const audit::AuditRecord& r : th_log) {
    if (r.event == audit::AuditEvent::kDelivered && r.message_id == sealed.message_id &&
        r.rule == "relay-receipt") {
      receipted = true;
      ASSERT_TRUE(r.reason.starts_with("KH.BROKER leaf ")) << r.reason;
      // "KH.BROKER leaf N checkpoint <base64 note>": the Cambodian log's checkpoint, signed
      // under the log key its directory publishes, holding leaf N.
      const size_t at = r.reason.find(" checkpoint ");
      ASSERT_NE(at, std::string::npos) << r.reason;
      Result<Bytes> note = FromBase64(r.reason.substr(at + 12));
      ASSERT_TRUE(note.ok()) << r.reason;
      const uint64_t leaf = std::stoull(r.reason.substr(15, at - 15));
      Bytes leaf_bytes;
      for (int i = 7; i >= 0; --i) leaf_bytes.push_back(static_cast<uint8_t>(leaf >> (8 * i)));
      EXPECT_TRUE(ReceiptHolds("KH", FrameText(*note), leaf_bytes));
    }
  }
  for (const audit::AuditRecord& r : kh_log) {
    if (r.event == audit::AuditEvent::kAccepted && r.message_id == sealed.message_id) {
      accepted_kh = true;
      EXPECT_TRUE(Has(r.rule, "relay from @TH")) << r.rule;
      EXPECT_TRUE(Has(r.rule, "th-kh-2003 v1")) << r.rule;
    }
  }
  EXPECT_TRUE(receipted) << "the Thai log holds the Cambodian broker's relay receipt";
  EXPECT_TRUE(accepted_kh) << "the Cambodian log holds the relayed message";
  // No payload byte in either broker's files.
  for (const std::string cc : {"TH", "KH"}) {
    Result<int> found = tools::WaitExit(
        *tools::Spawn({"/bin/grep", "-rqa", "Canary-Sokha", fed_.countries.at(cc).dir},
                      tmp_.path() + "/grep." + cc),
        10000);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(*found, 1) << "the canary name is in a file of " << cc << "'s broker";
  }
}

TEST_F(FederationBrokerTest, NoAgreementBetweenMyanmarAndVietNam) {
  StartBroker("MM");
  auto mm = Connect("MM.NGO.TACHILEIK");
  ASSERT_TRUE(mm);
  transport::Frames answer =
      Send(*mm, Seal("MM.NGO.TACHILEIK", {"VN.SHELTER.HANOI"}, Kind::ReferralOffer, "X").frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_EQ(FrameText(answer.at(2)), "permission_denied");
  EXPECT_TRUE(Has(Reason(answer), "no signed agreement between MM and VN")) << Reason(answer);
}

TEST_F(FederationBrokerTest, RouteTheAgreementDoesNotCoverIsRefusedAtBothBrokers) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  ASSERT_TRUE(th);
  // An NGO may not send a referral offer to the Cambodian police: no agreement route covers it.
  wire::Sealed sealed = Seal("TH.NGO.RETURN-CRI", {"KH.POLICE.PP"}, Kind::ReferralOffer, "X");
  transport::Frames answer = Send(*th, sealed.frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_TRUE(Has(Reason(answer), "refuses")) << Reason(answer);
  // Counselling notes never cross (no agreement lists them): refused naming the agreement.
  wire::Sealed notes = Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::CounsellingNotes, "X");
  answer = Send(*th, notes.frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  // H3 is above the agreement's H2.
  wire::Sealed h3 = Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "X",
                         wire::Handling::H3);
  answer = Send(*th, h3.frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_TRUE(Has(Reason(answer),
                  "agreement th-kh-2003 v1 (TH–KH MOU 2003) allows handling "
                  "codes up to H2; the message is H3"))
      << Reason(answer);
  // A modified Thai broker forces it through: the Cambodian broker refuses it again.
  std::unique_ptr<transport::Client> rogue = ConnectAsThaiBroker();
  ASSERT_TRUE(rogue);
  for (const wire::Sealed* s : {&sealed, &h3}) {
    ASSERT_TRUE(rogue->Send({Frame("RELAY"), s->frame}).ok());
    transport::Frames refused = Next(*rogue, {"RELAY-REFUSED", "RELAYED"});
    ASSERT_EQ(FrameText(refused.at(0)), "RELAY-REFUSED");
    EXPECT_EQ(refused.at(1), s->message_id);
  }
  StopBroker("KH");
  bool audited = false;
  for (const audit::AuditRecord& r : AuditOf("KH")) {
    if (r.event == audit::AuditEvent::kRefused && r.message_id == h3.message_id) {
      audited = Has(r.reason, "relay from @TH") && Has(r.reason, "th-kh-2003");
      EXPECT_TRUE(audited) << r.reason;
    }
  }
  EXPECT_TRUE(audited);
}

TEST_F(FederationBrokerTest, AMaliciousPartnerGetsNothingPast) {
  StartBroker("KH");
  std::unique_ptr<transport::Client> rogue = ConnectAsThaiBroker();
  ASSERT_TRUE(rogue);
  auto relay = [&](const Bytes& frame) {
    EXPECT_TRUE(rogue->Send({Frame("RELAY"), frame}).ok());
    return Next(*rogue, {"RELAY-REFUSED", "RELAYED"});
  };
  // A changed envelope: the sender's signature no longer verifies.
  wire::Sealed sealed =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "X");
  Bytes changed = sealed.frame;
  changed[changed.size() / 2] ^= 1;
  transport::Frames answer = relay(changed);
  ASSERT_EQ(FrameText(answer.at(0)), "RELAY-REFUSED");
  // An envelope for a third country's agency.
  answer = relay(Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE", "VN.SHELTER.HANOI"},
                      Kind::RepatriationRequest, "X")
                     .frame);
  ASSERT_EQ(FrameText(answer.at(0)), "RELAY-REFUSED");
  EXPECT_TRUE(Has(Reason(answer), "VN.SHELTER.HANOI is of neither TH nor KH")) << Reason(answer);
  // An envelope claiming a Cambodian sender: the Thai broker may not speak for KH's agencies.
  answer = relay(Seal("KH.POLICE.PP", {"KH.NGO.PP-CARE"}, Kind::StatusUpdate, "X").frame);
  ASSERT_EQ(FrameText(answer.at(0)), "RELAY-REFUSED");
  EXPECT_TRUE(Has(Reason(answer), "is not an agency of TH")) << Reason(answer);
  // The real one passes, and a repeat gets the same receipt.
  answer = relay(sealed.frame);
  ASSERT_EQ(FrameText(answer.at(0)), "RELAYED") << Reason(answer);
  ASSERT_EQ(answer.size(), 4u);
  EXPECT_TRUE(ReceiptHolds("KH", FrameText(answer.at(3)), answer.at(2)));
  transport::Frames again = relay(sealed.frame);
  ASSERT_EQ(FrameText(again.at(0)), "RELAYED");
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again.at(2), answer.at(2)) << "the same leaf";
  EXPECT_TRUE(ReceiptHolds("KH", FrameText(again.at(3)), again.at(2)));
  auto kh = Connect("KH.NGO.PP-CARE");
  EXPECT_EQ(Receive(*kh), sealed.frame);
  EXPECT_TRUE(Receive(*kh, 500).empty()) << "delivered once";
}

TEST_F(FederationBrokerTest, ARepeatArrivingWhileItsFirstCopyIsStoredIsNeverRefusedForGood) {
  // What a sending broker does after a lost connection: everything unanswered goes again, and
  // the repeat may reach the partner while the first copy is still in its unwritten batch.
  StartBroker("KH");
  std::unique_ptr<transport::Client> partner = ConnectAsThaiBroker();
  ASSERT_TRUE(partner);
  auto kh = Connect("KH.NGO.PP-CARE");
  ASSERT_TRUE(kh);
  int stored_while_pending = 0;
  for (int i = 0; i < 20; ++i) {
    wire::Sealed sealed = Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest,
                               "R" + std::to_string(i));
    // Back to back: most often both are read into one batch.
    ASSERT_TRUE(partner->Send({Frame("RELAY"), sealed.frame}).ok());
    ASSERT_TRUE(partner->Send({Frame("RELAY"), sealed.frame}).ok());
    std::vector<transport::Frames> answers = {Next(*partner, {"RELAY-REFUSED", "RELAYED"}),
                                              Next(*partner, {"RELAY-REFUSED", "RELAYED"})};
    Bytes leaf;
    for (const transport::Frames& a : answers) {
      ASSERT_FALSE(a.empty());
      if (FrameText(a[0]) == "RELAYED") {
        ASSERT_EQ(a.size(), 4u);
        if (!leaf.empty()) {
          EXPECT_EQ(a[2], leaf) << "the same receipt";
        }
        leaf = a[2];
      } else {
        // Only "come again": a final refusal would tell the sender it was not delivered.
        ASSERT_EQ(FrameText(a.at(2)), "unavailable") << Reason(a);
        ++stored_while_pending;
      }
    }
    ASSERT_FALSE(leaf.empty()) << "the first copy is receipted";
    // Sent again, it gets the first copy's receipt.
    ASSERT_TRUE(partner->Send({Frame("RELAY"), sealed.frame}).ok());
    transport::Frames again = Next(*partner, {"RELAY-REFUSED", "RELAYED"});
    ASSERT_EQ(FrameText(again.at(0)), "RELAYED") << Reason(again);
    EXPECT_EQ(again.at(2), leaf);
    EXPECT_EQ(Receive(*kh), sealed.frame);
  }
  EXPECT_TRUE(Receive(*kh, 500).empty()) << "each delivered once";
  std::cout << "[relay-repeat] " << stored_while_pending
            << " of 20 repeats arrived while their first copy was being stored\n";
}

TEST_F(FederationBrokerTest, APartnersLogKeyIsTheOneItsDirectoryPublishesForItsAnchorsBroker) {
  const int64_t now = SystemClock::Get().NowMillis();
  const tools::NationalSetup& th = fed_.countries.at("TH");
  const tools::NationalSetup& kh = fed_.countries.at("KH");
  Result<federation::Anchor> anchor = federation::LoadAnchor(kh.anchor, now);
  ASSERT_TRUE(anchor.ok()) << anchor.status().ToString();
  Result<identity::Directory> kh_dir =
      identity::Directory::Load(kh.directory, kh.authority.sign_public, now);
  Result<identity::Directory> th_dir =
      identity::Directory::Load(th.directory, th.authority.sign_public, now);
  ASSERT_TRUE(kh_dir.ok() && th_dir.ok());
  Result<audit::note::VerifierKey> key = broker::PartnerLogKey(*anchor, *kh_dir, kh.directory);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->name, "nrm.kh/audit/v1") << "the directory's log_vkey, not the default origin";
  EXPECT_EQ(key->public_key, kh.broker.sign_public);
  // A directory whose broker is not the anchor's has no say over the anchor broker's log.
  key = broker::PartnerLogKey(*anchor, *th_dir, th.directory);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), Code::kPermissionDenied);
  EXPECT_TRUE(Has(key.status().message(), "is not the broker of the anchor of KH"))
      << key.status().message();
}

TEST_F(FederationBrokerTest, AReceiptWithABadSignatureIsNotADelivery) {
  // A fake Cambodian broker that answers every relay with a receipt signed by the wrong key.
  const tools::NationalSetup& th_setup = fed_.countries.at("TH");
  const tools::NationalSetup& kh_setup = fed_.countries.at("KH");
  transport::ServerOptions so;
  so.endpoint = kh_setup.endpoint;
  so.curve_public = kh_setup.broker.curve_public;
  so.curve_secret = kh_setup.broker.curve_secret.Clone();
  so.authorize = [](ByteView, std::string_view) { return std::optional<std::string>("@TH"); };
  auto fake = transport::Server::Start(std::move(so));
  ASSERT_TRUE(fake.ok()) << fake.status().ToString();
  StartBroker("TH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  wire::Sealed sealed =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "X");
  ASSERT_EQ(FrameText(Send(*th, sealed.frame).at(0)), "ACCEPTED");
  int relays = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (relays < 2 && std::chrono::steady_clock::now() < deadline) {
    Result<std::optional<transport::Incoming>> in = (*fake)->Receive(100);
    if (!in.ok() || !in->has_value()) continue;
    if (FrameText((*in)->frames.at(0)) == "PEER-DIRECTORY") continue;  // asked every second
    ASSERT_EQ(FrameText((*in)->frames.at(0)), "RELAY");
    ++relays;
    // A checkpoint of the Cambodian log, under its key name and key ID, but signed with the
    // Thai broker's key.
    const audit::note::VerifierKey kh_log = LogKeyOf("KH");
    audit::note::Note forged;
    forged.text = audit::FormatCheckpoint({kh_log.name, 5, audit::Hash{}, {}});
    forged.signatures.push_back(
        audit::note::SignEd25519(forged.text, kh_log.name, th_setup.broker.sign_secret));
    forged.signatures.back().key_id = kh_log.key_id;
    const std::string note = audit::note::FormatNote(forged);
    ASSERT_TRUE((*fake)
                    ->Send((*in)->routing_id, {Frame("RELAYED"), sealed.message_id,
                                               Bytes{0, 0, 0, 0, 0, 0, 0, 1}, ToBytes(note)})
                    .ok());
  }
  EXPECT_EQ(relays, 2) << "not taken as delivered: relayed again after the timeout";
  StopBroker("TH");
  bool refused = false, receipted = false;
  for (const audit::AuditRecord& r : AuditOf("TH")) {
    if (r.message_id != sealed.message_id) continue;
    refused |= r.event == audit::AuditEvent::kRefused && Has(r.reason, "does not verify");
    receipted |= r.event == audit::AuditEvent::kDelivered;
  }
  EXPECT_TRUE(refused) << "the bad receipt is audited";
  EXPECT_FALSE(receipted);
}

}  // namespace
}  // namespace nrm::testing
