// Against a misbehaving broker (its operator holds its keys, so this is in the threat model), a
// real nrm-agent believes only proofs: a broker double (broker_double.h) drops a SEND and
// answers the resend already_exists, accepts and then loses a message, forges expiry notices,
// delivers a revoke before its offer, withholds a step and delivers the next, and delivers the
// same message twice to the one-shot `receive`. Each control runs the honest path.
#include <gtest/gtest.h>

#include <atomic>

#include "agent/agent.h"
#include "tests/agent/broker_double.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

using testing::BrokerDouble;
using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using transport::FrameText;

constexpr char kFastTimers[] =
    "answer_timeout_s = 1\nconfirm_after_s = 2\nearlier_step_wait_s = 2\n";

class MisbehavingBrokerTest : public testing::DaemonFixture {
 protected:
  // The scenario only: each test starts its double, or the real broker for a control.
  void SetUp() override {
    Result<tools::Scenario> s = tools::CreateScenario(tmp_.path(), Agencies(), ExtraBrokerConfig());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scenario_ = std::move(*s);
    for (const std::string& id : {kPolice, kShelterA}) AddToAgentConfig(id, kFastTimers);
  }
  void TearDown() override {
    testing::AgentDaemonTest::TearDown();  // the agents first, then the double they talk to
    double_.reset();
  }

  void StartDouble(BrokerDouble::Handler handler) {
    double_ = std::make_unique<BrokerDouble>(scenario_, std::move(handler));
  }

  std::string OfferFromPolice(const std::string& name) {
    const std::string file = WriteJson(name + ".json", VictimFile(name, "\"shelter\""));
    Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return Field(o.out, "message_id");
  }

  // Envelopes as the police agent seals them, with Header.previous as given.
  wire::Sealed SealAsPolice(wire::Kind kind, const Bytes& case_ref, const std::string& payload_json,
                            const Bytes& previous) {
    if (!police_) police_ = OpenAgentOffline(kPolice);
    Result<Bytes> payload = wire::PayloadFromJson(payload_json);
    EXPECT_TRUE(payload.ok());
    agent::Agent::StepFields f;
    f.ordered = true;
    if (!previous.empty()) f.previous[kShelterA] = previous;
    Result<std::vector<wire::Sealed>> s =
        police_->SealStep({kShelterA}, kind, case_ref, wire::Handling::H1, *payload, f);
    EXPECT_TRUE(s.ok() && s->size() == 1) << s.status().ToString();
    return s.ok() ? std::move(s->front()) : wire::Sealed{};
  }

  std::unique_ptr<agent::Agent> OpenAgentOffline(const std::string& id) {
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(scenario_.AgentConfig(id));
    EXPECT_TRUE(c.ok());
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Load(*c, SystemClock::Get());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  // Answers every SEND with ACCEPTED (a valid receipt) and ignores the rest: for a recipient
  // whose receipts must go somewhere.
  static void AcceptAll(BrokerDouble& d, const transport::Incoming& in) {
    if (FrameText(in.frames[0]) == "SEND" && in.frames.size() == 2) {
      d.Reply(in.routing_id, d.Accepted(BrokerDouble::MessageIdOf(in.frames[1])));
    }
  }

  // The honest path: the real broker, and both agents.
  void StartRealBrokerAndAgents() {
    StartBroker();
    StartAgent(kPolice);
    StartAgent(kShelterA);
  }

  // The shelter's agent behind a double that accepts what it sends; a new case, and the
  // police's offer on it (not delivered yet).
  wire::Sealed ShelterBehindADouble(Bytes& ref) {
    StartDouble(AcceptAll);
    StartAgent(kShelterA);
    EXPECT_TRUE(PollUntil([&] { return double_->Count("HELLO") > 0; }));
    ref = crypto::RandomBytes(16);
    return SealAsPolice(wire::Kind::ReferralOffer, ref, R"({"case": {"status": "Active"}})", {});
  }

  void DeliverToShelter(const wire::Sealed& s) {
    const Bytes frame = s.frame;
    double_->Post([frame](BrokerDouble& d) {
      d.SendTo(kShelterA, {transport::Frame("DELIVER"), frame});
    });
  }

  std::unique_ptr<BrokerDouble> double_;
  std::unique_ptr<agent::Agent> police_;
};

TEST_F(MisbehavingBrokerTest, AlreadyExistsWithoutAReceiptIsNotAcceptance) {
  std::atomic<int> sends{0};
  StartDouble([&](BrokerDouble& d, const transport::Incoming& in) {
    if (FrameText(in.frames[0]) != "SEND") return;  // a QUERY is never answered
    if (++sends == 1) return;                       // the first SEND is dropped
    d.Reply(in.routing_id, BrokerDouble::Refused(BrokerDouble::MessageIdOf(in.frames[1]),
                                                 "already_exists", "message id was seen before"));
  });
  StartAgent(kPolice);
  const std::string id = OfferFromPolice("CanaryExists");
  ASSERT_TRUE(PollUntil([&] { return double_->Count("QUERY") >= 2; })) << Log(kPolice);
  Cli out = Run(kPolice, {"outbox", "--json"});
  EXPECT_NE(out.out.find("\"status\":\"waiting to send\""), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("already holds this step; waiting for its receipt"), std::string::npos)
      << out.out;
  EXPECT_EQ(double_->Count("SEND"), 2u) << "one copy in flight: asked, not resent";
  EXPECT_NE(Log(kPolice).find("already_exists: asking for its receipt"), std::string::npos);
}

TEST_F(MisbehavingBrokerTest, AcceptedThenDroppedIsNeverDeliveredAndIsSentAgain) {
  StartDouble([&](BrokerDouble& d, const transport::Incoming& in) {
    const std::string_view verb = FrameText(in.frames[0]);
    if (verb == "SEND") AcceptAll(d, in);  // accepted, signed receipt, then dropped
    if (verb == "QUERY") {
      d.Reply(in.routing_id,
              {transport::Frame("STATUS"), in.frames[1], transport::Frame("unknown")});
    }
  });
  StartAgent(kPolice);
  const std::string id = OfferFromPolice("CanaryDropped");
  ASSERT_TRUE(PollUntil([&] { return double_->Count("SEND") >= 2; }, 20000)) << Log(kPolice);
  Cli out = Run(kPolice, {"show", id, "--json"});
  EXPECT_EQ(out.out.find("\"status\":\"delivered\""), std::string::npos) << out.out;
  EXPECT_NE(Log(kPolice).find("no signed receipt from every recipient within 2 s"),
            std::string::npos)
      << Log(kPolice);
  EXPECT_NE(Log(kPolice).find("the broker does not hold referral_offer " + id), std::string::npos);
}

TEST_F(MisbehavingBrokerTest, AForgedExpiryNoticeIsIgnoredAndASignedOneIsBelieved) {
  StartDouble(AcceptAll);
  StartAgent(kPolice);
  const std::string id = OfferFromPolice("CanaryExpired");
  WaitFor(kPolice, {"outbox", "--json"}, "\"status\":\"at the broker\"");
  const Bytes mid = *FromHex(id);
  double_->Post([&](BrokerDouble& d) {
    d.SendTo(kPolice, d.Expired(mid, kPolice, kShelterA, /*sign=*/false));
    transport::Frames wrong = d.Expired(mid, kPolice, kShelterA, true);
    wrong[3][0] ^= 1;  // a signature that does not verify
    d.SendTo(kPolice, wrong);
  });
  ASSERT_TRUE(PollUntil([&] { return Occurrences(Log(kPolice), "ignored a delivery: ") >= 2; }))
      << Log(kPolice);
  Cli still = Run(kPolice, {"outbox", "--json"});
  EXPECT_NE(still.out.find("\"status\":\"at the broker\""), std::string::npos) << still.out;
  EXPECT_NE(Log(kPolice).find("without the broker's signature was ignored"), std::string::npos);
  EXPECT_NE(Log(kPolice).find("whose signature does not verify was ignored"), std::string::npos);
  // Control: a notice the broker signed ends the step, with what to do.
  double_->Post(
      [&](BrokerDouble& d) { d.SendTo(kPolice, d.Expired(mid, kPolice, kShelterA, true)); });
  Cli ended = WaitFor(kPolice, {"outbox", "--json"}, "not delivered: action needed");
  EXPECT_NE(ended.out.find("expired at the broker"), std::string::npos) << ended.out;
}

// Control of the three above: the honest broker path ends delivered.
TEST_F(MisbehavingBrokerTest, ControlTheRealBrokerDelivers) {
  StartRealBrokerAndAgents();
  const std::string id = OfferFromPolice("CanaryHonest");
  Cli out = WaitFor(kPolice, {"outbox", "--json"}, "\"status\":\"delivered\"");
  EXPECT_NE(out.out.find(id), std::string::npos) << out.out;
}

TEST_F(MisbehavingBrokerTest, ARevokeDeliveredBeforeItsOfferIsAppliedAfterIt) {
  Bytes ref;
  wire::Sealed offer = ShelterBehindADouble(ref);
  wire::Sealed revoke =
      SealAsPolice(wire::Kind::ReferralRevoke, ref,
                   R"({"decision": {"decision": "revoked", "reason": "r"}})", offer.message_id);
  DeliverToShelter(revoke);
  ASSERT_TRUE(PollUntil([&] {
    return Log(kShelterA).find("holding referral_revoke") != std::string::npos;
  })) << Log(kShelterA);
  DeliverToShelter(offer);
  Cli cases = WaitFor(kShelterA, {"cases", "--json"}, "\"state\":\"revoked\"");
  EXPECT_NE(cases.out.find("\"needs_action\":false"), std::string::npos) << cases.out;
  Cli tl = Run(kShelterA, {"timeline", ToHex(ref)});
  const size_t offered =
      tl.out.find("referral_offer  " + kPolice + " -> " + kShelterA + "  => offered");
  const size_t revoked =
      tl.out.find("referral_revoke  " + kPolice + " -> " + kShelterA + "  => revoked");
  EXPECT_NE(offered, std::string::npos) << tl.out;
  EXPECT_NE(revoked, std::string::npos) << tl.out;
  EXPECT_LT(offered, revoked) << tl.out;
}

TEST_F(MisbehavingBrokerTest, AWithheldStepFlagsTheCaseOfTheNextOne) {
  Bytes ref;
  wire::Sealed offer = ShelterBehindADouble(ref);
  wire::Sealed update = SealAsPolice(wire::Kind::StatusUpdate, ref,
                                     R"({"decision": {"note": "second step"}})", offer.message_id);
  // The offer is withheld; the step after it is delivered.
  DeliverToShelter(update);
  Cli cases = WaitFor(kShelterA, {"cases", "--json"}, "waiting for an earlier step");
  EXPECT_NE(cases.out.find("\"needs_action\":true"), std::string::npos) << cases.out;
  Cli inbox = Run(kShelterA, {"inbox"});
  EXPECT_EQ(inbox.out.rfind("WAITING", 0), 0u) << inbox.out;
  EXPECT_NE(Log(kShelterA).find("flagged"), std::string::npos) << Log(kShelterA);
  // Once the withheld step arrives, both are applied and the flag goes.
  DeliverToShelter(offer);
  Cli after = WaitFor(kShelterA, {"cases", "--json"}, "\"needs_action\":false");
  EXPECT_NE(after.out.find("\"state\":\"offered\""), std::string::npos) << after.out;
}

// Control of the two above: the honest broker delivers in order, and nothing is flagged.
TEST_F(MisbehavingBrokerTest, ControlTheRealBrokerRaisesNoFlag) {
  StartRealBrokerAndAgents();
  const std::string id = OfferFromPolice("CanaryInOrder");
  Cli rv = Run(kPolice, {"revoke", id, "--reason", "found family"});
  ASSERT_EQ(rv.code, 0) << rv.out;
  Cli cases = WaitFor(kShelterA, {"cases", "--json"}, "\"state\":\"revoked\"");
  EXPECT_NE(cases.out.find("\"needs_action\":false"), std::string::npos) << cases.out;
  EXPECT_EQ(Log(kShelterA).find("holding"), std::string::npos) << Log(kShelterA);
}

TEST_F(MisbehavingBrokerTest, TheOneShotReceiveShowsADuplicateDeliveryOnce) {
  wire::Sealed a, b;
  StartDouble([&](BrokerDouble& d, const transport::Incoming& in) {
    if (FrameText(in.frames[0]) != "HELLO" || d.Count("HELLO") != 1) return;
    for (const wire::Sealed* s : {&a, &a, &b}) {
      d.Reply(in.routing_id, {transport::Frame("DELIVER"), s->frame});
    }
  });
  const Bytes ref = crypto::RandomBytes(16);
  a = SealAsPolice(wire::Kind::ReferralOffer, ref, R"({"case": {"status": "A"}})", {});
  b = SealAsPolice(wire::Kind::StatusUpdate, ref, R"({"case": {"status": "B"}})", {});
  Cli got = Run(kShelterA, {"receive", "--count", "2", "--timeout", "10", "--json"});
  EXPECT_EQ(got.code, 0) << got.out;
  EXPECT_EQ(Occurrences(got.out, ToHex(a.message_id)), 1u) << got.out;
  EXPECT_EQ(Occurrences(got.out, ToHex(b.message_id)), 1u) << got.out;
}

}  // namespace
}  // namespace nrm
