// National brokers linked under signed agreements (docs/PROTOCOL.md section 12.3), as real
// processes: a cross-border envelope is accepted by the sender's broker, relayed, checked again
// and stored by the partner's, delivered there, and receipted back; routes without a valid
// agreement are refused at the sending broker and again at the receiving one; a malicious
// partner gets nothing past the recipient's broker.
#include <gtest/gtest.h>

#include "audit/tree_head.h"
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

class FederationBrokerTest : public FederationFixture {};

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
      EXPECT_TRUE(Has(r.reason, "KH.BROKER leaf ")) << r.reason;
      // The receipt's tree head verifies under the Cambodian broker's key.
      const std::string hex = r.reason.substr(r.reason.find("tree head ") + 10);
      Result<Bytes> head_bytes = FromHex(hex);
      ASSERT_TRUE(head_bytes.ok());
      Result<audit::SignedTreeHead> head = audit::DecodeTreeHead(*head_bytes);
      ASSERT_TRUE(head.ok());
      EXPECT_TRUE(audit::VerifyTreeHead(*head, fed_.countries.at("KH").broker.sign_public).ok());
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
  const tools::NationalSetup& th_setup = fed_.countries.at("TH");
  const tools::NationalSetup& kh_setup = fed_.countries.at("KH");
  transport::ClientOptions o;
  o.endpoint = kh_setup.endpoint;
  o.server_curve_public = kh_setup.broker.curve_public;
  o.curve_public = th_setup.broker.curve_public;
  o.curve_secret = th_setup.broker.curve_secret.Clone();
  auto rogue = transport::Client::Connect(std::move(o), 5000);
  ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
  for (const wire::Sealed* s : {&sealed, &h3}) {
    ASSERT_TRUE((*rogue)->Send({Frame("RELAY"), s->frame}).ok());
    transport::Frames refused = Next(**rogue, {"RELAY-REFUSED", "RELAYED"});
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
  const tools::NationalSetup& th_setup = fed_.countries.at("TH");
  const tools::NationalSetup& kh_setup = fed_.countries.at("KH");
  transport::ClientOptions o;
  o.endpoint = kh_setup.endpoint;
  o.server_curve_public = kh_setup.broker.curve_public;
  o.curve_public = th_setup.broker.curve_public;
  o.curve_secret = th_setup.broker.curve_secret.Clone();
  auto rogue = transport::Client::Connect(std::move(o), 5000);
  ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
  auto relay = [&](const Bytes& frame) {
    EXPECT_TRUE((*rogue)->Send({Frame("RELAY"), frame}).ok());
    return Next(**rogue, {"RELAY-REFUSED", "RELAYED"});
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
  transport::Frames again = relay(sealed.frame);
  ASSERT_EQ(FrameText(again.at(0)), "RELAYED");
  EXPECT_EQ(again.at(2), answer.at(2)) << "the same leaf";
  auto kh = Connect("KH.NGO.PP-CARE");
  EXPECT_EQ(Receive(*kh), sealed.frame);
  EXPECT_TRUE(Receive(*kh, 500).empty()) << "delivered once";
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
    audit::SignedTreeHead head =
        audit::SignTreeHead(5, audit::Hash{}, 1, th_setup.broker.sign_secret);
    ASSERT_TRUE(
        (*fake)
            ->Send((*in)->routing_id, {Frame("RELAYED"), sealed.message_id,
                                       Bytes{0, 0, 0, 0, 0, 0, 0, 1}, audit::EncodeTreeHead(head)})
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
