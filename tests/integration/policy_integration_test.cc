// The need-to-know policy enforced by a real broker: denied routes refused, audited and not
// stored; H2 onward sharing; a broken policy on reload leaves the old one in force.
#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "audit/audit_reader.h"
#include "broker/store/message_store.h"
#include "tests/testing/broker_fixture.h"

namespace nrm {
namespace {

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";
const std::string kShelter2 = "TH.SHELTER.BAN-PING";
const std::string kMmNgo = "MM.NGO.YANGON-CARE";
const std::string kVnShelter = "VN.SHELTER.HANOI-PEACE";
const std::string kPolice2 = "TH.POLICE.CMI-ATU";

class PolicyIntegrationTest : public testing::BrokerFixture {
 protected:
  std::vector<tools::ScenarioAgency> Agencies() const override {
    return {{kPolice, "police", "TH", "Chiang Rai", "Chiang Rai ATU"},
            {kShelter, "shelter", "TH", "Nonthaburi", "Kredtrakarn"},
            {kShelter2, "shelter", "TH", "Chiang Mai", "Baan Ping"},
            {kMmNgo, "ngo", "MM", "Yangon", "Yangon Care"},
            {kVnShelter, "shelter", "VN", "Ha Noi", "Peace House"},
            {kPolice2, "police", "TH", "Chiang Mai", "Chiang Mai ATU"}};
  }

  Result<agent::SendOutcome> SendKind(agent::Agent& from, const std::string& to, wire::Kind kind,
                                      const Bytes& case_ref,
                                      wire::Handling h = wire::Handling::H0) {
    return One(from.Send({to}, kind, case_ref, h, Payload("x"), 10000));
  }

  // The broker's store after it stopped: what is queued for `agency`.
  size_t QueuedFor(const std::string& agency) {
    EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
    broker_pid_ = -1;
    auto store = broker::MessageStore::Open(scenario_.broker_data + "/store",
                                            audit::AuditColumnFamilyNames());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? (*store)->PendingCount(agency) : 999;
  }
};

TEST_F(PolicyIntegrationTest, CounsellingNotesToPoliceAreRefusedAuditedAndNotStored) {
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  Result<agent::SendOutcome> s =
      SendKind(*shelter, kPolice, wire::Kind::CounsellingNotes, Bytes(16, 5));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->accepted);
  EXPECT_EQ(s->code, "permission_denied");
  EXPECT_NE(s->reason.find("no rule allows shelter -> police for counselling_notes"),
            std::string::npos)
      << s->reason;
  EXPECT_EQ(QueuedFor(kPolice), 0u);

  // The refusal is in the audit log, with its reason, and the log verifies.
  Result<audit::VerifyReport> report = audit::VerifyLog(scenario_.broker_data + "/store");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  Result<std::string> proof = audit::Prove(scenario_.broker_data + "/store", s->message_id);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_NE(proof->find("refused"), std::string::npos);
  EXPECT_NE(proof->find("counselling_notes"), std::string::npos);
}

TEST_F(PolicyIntegrationTest, NoAgreementBetweenMyanmarAndVietnam) {
  auto ngo = OpenAgent(kMmNgo);
  ASSERT_TRUE(ngo);
  Result<agent::SendOutcome> s =
      SendKind(*ngo, kVnShelter, wire::Kind::ReferralOffer, Bytes(16, 6));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->accepted);
  EXPECT_NE(s->reason.find("no agreement between MM and VN"), std::string::npos) << s->reason;
  EXPECT_EQ(QueuedFor(kVnShelter), 0u);
}

TEST_F(PolicyIntegrationTest, AllowedRouteCarriesItsRule) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> s =
      SendKind(*police, kShelter, wire::Kind::ReferralOffer, Bytes(16, 7));
  ASSERT_TRUE(s.ok() && s->accepted) << (s.ok() ? s->reason : s.status().ToString());
  EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;
  Result<std::string> proof = audit::Prove(scenario_.broker_data + "/store", s->message_id);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_NE(proof->find("dom-referral-offer (policy "), std::string::npos) << *proof;
}

TEST_F(PolicyIntegrationTest, H2CaseNeedsTheOriginatorsApprovalToReachANewParty) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(police && shelter);
  const Bytes case_ref(16, 0x22);
  ASSERT_TRUE(SendKind(*police, kShelter, wire::Kind::ReferralOffer, case_ref, wire::Handling::H2)
                  ->accepted);
  // The shelter passes the case on to another shelter: refused, whatever handling it claims.
  Result<agent::SendOutcome> onward =
      SendKind(*shelter, kShelter2, wire::Kind::ReferralOffer, case_ref, wire::Handling::H0);
  ASSERT_TRUE(onward.ok());
  EXPECT_FALSE(onward->accepted);
  EXPECT_NE(onward->reason.find("case is H2"), std::string::npos) << onward->reason;
  // Only the originator may approve.
  Result<agent::SendOutcome> self_approval =
      SendKind(*shelter, kShelter2, wire::Kind::H2Approval, case_ref);
  ASSERT_TRUE(self_approval.ok());
  EXPECT_FALSE(self_approval->accepted);
  // Parties already on the case talk freely.
  EXPECT_TRUE(SendKind(*shelter, kPolice, wire::Kind::StatusUpdate, case_ref)->accepted);
  // The police unit approves the second shelter; then the shelter may pass the case on.
  ASSERT_TRUE(SendKind(*police, kShelter2, wire::Kind::H2Approval, case_ref)->accepted);
  onward = SendKind(*shelter, kShelter2, wire::Kind::ReferralOffer, case_ref);
  ASSERT_TRUE(onward.ok());
  EXPECT_TRUE(onward->accepted) << onward->reason;
  // Another case is not affected.
  EXPECT_TRUE(SendKind(*shelter, kShelter2, wire::Kind::ReferralOffer, Bytes(16, 0x23))->accepted);
}

TEST_F(PolicyIntegrationTest, H2StateSurvivesARestart) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  const Bytes case_ref(16, 0x24);
  ASSERT_TRUE(SendKind(*police, kShelter, wire::Kind::ReferralOffer, case_ref, wire::Handling::H2)
                  ->accepted);
  KillBroker();
  StartBroker();
  auto shelter = OpenAgent(kShelter);
  Result<agent::SendOutcome> onward =
      SendKind(*shelter, kShelter2, wire::Kind::ReferralOffer, case_ref);
  ASSERT_TRUE(onward.ok());
  EXPECT_FALSE(onward->accepted) << "H2 was forgotten across a restart";
}

TEST_F(PolicyIntegrationTest, BrokenPolicyOnReloadKeepsTheOldOne) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);  // agents read the policy file too: open them first
  ASSERT_TRUE(police && shelter);
  ASSERT_TRUE(
      WriteFileAtomic(scenario_.policy, "[[rule]]\nid = \"allow-everything\"\nfrom = [\n").ok());
  ASSERT_EQ(::kill(broker_pid_, SIGHUP), 0);
  // Still the shipped policy: allowed routes pass, refused routes stay refused.
  EXPECT_TRUE(SendKind(*police, kShelter, wire::Kind::ReferralOffer, Bytes(16, 8))->accepted);
  EXPECT_FALSE(SendKind(*shelter, kPolice, wire::Kind::CounsellingNotes, Bytes(16, 8))->accepted);
  std::string log;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (log.find("policy reload refused") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    log = ReadFile(scenario_.broker_log).ok() ? *ReadFile(scenario_.broker_log) : "";
  }
  EXPECT_NE(log.find("policy reload refused"), std::string::npos) << log;
}

TEST_F(PolicyIntegrationTest, EachRoleReceivesOnlyItsSections) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  auto police2 = OpenAgent(kPolice2);
  ASSERT_TRUE(police && shelter && police2);
  Result<Bytes> full = wire::PayloadFromJson(
      R"({"case": {"status": "Active"}, "person": {"first_name": "Canary"},
          "investigation": {"evidence_refs": ["CRI-1"]}, "counselling": {"notes": "n"}})");
  ASSERT_TRUE(full.ok());
  // One update to a shelter and to another police unit: two envelopes, one per role.
  Result<std::vector<agent::SendOutcome>> sent =
      police->Send({kShelter, kPolice2}, wire::Kind::StatusUpdate, Bytes(16, 9), wire::Handling::H0,
                   *full, 10000);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_EQ(sent->size(), 2u);
  EXPECT_NE((*sent)[0].message_id, (*sent)[1].message_id);
  for (const agent::SendOutcome& o : *sent) EXPECT_TRUE(o.accepted) << o.reason;

  auto sections = [](agent::Agent& a) {
    Result<std::optional<agent::Received>> r = a.Receive(10000);
    EXPECT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) return std::vector<std::string>{};
    return wire::PresentSections(**wire::VerifyPayload((*r)->payload.view()));
  };
  // Shelters never receive investigation details; police never counselling notes.
  EXPECT_EQ(sections(*shelter), (std::vector<std::string>{"case", "person", "counselling"}));
  EXPECT_EQ(sections(*police2), (std::vector<std::string>{"case", "person", "investigation"}));
}

TEST_F(PolicyIntegrationTest, ReceiverRefusesASectionItsRoleMayNotHold) {
  // A police agent that does not minimise (written by hand here) sends investigation details
  // to a shelter; the route is allowed, so only the shelter's agent can refuse it.
  Result<identity::KeySet> police = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  ASSERT_TRUE(police.ok());
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  Result<Bytes> payload = wire::PayloadFromJson(R"({"investigation": {"evidence_refs": ["E"]}})");
  wire::HeaderFields f{kPolice,
                       wire::Kind::ReferralOffer,
                       Bytes(16, 10),
                       wire::Handling::H0,
                       SystemClock::Get().NowMillis(),
                       {},
                       false,
                       {},
                       {}};
  const identity::Agency* to = shelter->directory().Find(kShelter);
  std::vector<wire::Recipient> rs = {{kShelter, to->box_key}};
  wire::SenderEpoch epoch(SystemClock::Get());
  Result<wire::Sealed> sealed = wire::SealEnvelope(f, rs, *payload, police->sign_secret, epoch);
  ASSERT_TRUE(sealed.ok());
  auto raw = RawClient(*police);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(testing::FrameText(SendRaw(**raw, sealed->frame)[0]), "ACCEPTED");
  Result<std::optional<agent::Received>> r = shelter->Receive(10000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("investigation"), std::string::npos);
  // It was acknowledged, so it is not delivered again.
  Result<std::optional<agent::Received>> again = shelter->Receive(500);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST(PolicyStartupTest, BrokerNeverStartsWithABrokenPolicy) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir tmp;
  Result<tools::Scenario> s = tools::CreateScenario(tmp.path(), tools::GmsAgencies());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(WriteFileAtomic(s->policy, "roles = [\"police\"]\ncountries = 7\n").ok());
  Result<pid_t> pid = tools::Spawn(
      {testing::BinDir() + "/nrm-broker", "--config", s->broker_config}, tmp.path() + "/out");
  ASSERT_TRUE(pid.ok());
  Result<int> code = tools::WaitExit(*pid, 10000);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(ReadFile(tmp.path() + "/out")->find("policy.toml:"), std::string::npos);
}

}  // namespace
}  // namespace nrm
