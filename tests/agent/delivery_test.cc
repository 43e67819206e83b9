// No referral step lost or sent twice without someone knowing (issue 14), on real nrm-broker and
// nrm-agent processes: outages longer than the freshness window, one copy in flight, a broker
// that loses its whole data directory after ACCEPTED, negative receipts, receipts from agencies
// a step was not addressed to, `status` and the log with a wrong endpoint, and a directory that
// reaches running agents without a restart. The misbehaving broker cases are in
// misbehaving_broker_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "audit/audit_reader.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using testing::kShelterB;
using testing::kThImm;
using SteadyClock = std::chrono::steady_clock;

// Short timers, so that each test takes seconds (docs/AGENT.md names the defaults).
constexpr char kFastTimers[] =
    "answer_timeout_s = 2\nconfirm_after_s = 3\nearlier_step_wait_s = 2\n";

class DeliveryTest : public testing::DaemonFixture {
 protected:
  // The audit records of `event` about message `id` (hex).
  static size_t CountFor(const std::vector<audit::AuditRecord>& records, audit::AuditEvent event,
                         const std::string& id) {
    size_t n = 0;
    for (const audit::AuditRecord& r : records) {
      if (r.event == event && ToHex(r.message_id) == id) ++n;
    }
    return n;
  }

  // Offers a new case to `to` and returns the step's message id.
  std::string Offer(const std::string& from, const std::string& to, const std::string& name) {
    const std::string file = WriteJson(name + ".json", VictimFile(name, "\"shelter\""));
    Cli o = Run(from, {"offer", "--to", to, "--file", file, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return Field(o.out, "message_id");
  }

  // Replaces `from` with `to` in the agent's config file.
  void EditAgentConfig(const std::string& id, const std::string& from, const std::string& to) {
    Result<std::string> text = ReadFile(scenario_.AgentConfig(id));
    ASSERT_TRUE(text.ok());
    std::string s = *text;
    const size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << s;
    s.replace(at, from.size(), to);
    ASSERT_TRUE(WriteFileAtomic(scenario_.AgentConfig(id), s).ok());
  }
};

// The broker's freshness window is 2 s here, and it is down for longer while two agents queue
// 20 steps. Each submission is sealed anew, so none is stale when it finally goes.
class OutageTest : public DeliveryTest {
 protected:
  std::string ExtraBrokerConfig() const override { return "freshness_window_s = 2\n"; }
};

TEST_F(OutageTest, TwentyStepsQueuedThroughAnOutageLongerThanTheFreshnessWindowArriveOnce) {
  for (const std::string& id : {kPolice, kThImm, kShelterA}) {
    AddToAgentConfig(id, kFastTimers);
    StartAgent(id);
  }
  KillBroker();
  const auto down = SteadyClock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(Offer(kPolice, kShelterA, "CanaryPolice" + std::to_string(i)));
    ids.push_back(Offer(kThImm, kShelterA, "CanaryImm" + std::to_string(i)));
  }
  for (const std::string& id : {kPolice, kThImm}) {
    Cli out = Run(id, {"outbox", "--json"});
    EXPECT_EQ(Occurrences(out.out, "\"status\":\"waiting to send\""), 10u) << out.out;
  }
  // Down for at least twice the freshness window after the first step was taken.
  while (SteadyClock::now() - down < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  StartBroker();
  for (const std::string& id : {kPolice, kThImm}) {
    ASSERT_TRUE(PollUntil(
        [&] {
          return Occurrences(Run(id, {"outbox", "--json"}).out, "\"status\":\"delivered\"") == 10;
        },
        30000))
        << Run(id, {"outbox"}).out << Log(id);
  }
  // Each step reached the shelter's application once.
  Cli inbox = Run(kShelterA, {"inbox", "--all", "--json"});
  for (const std::string& id : ids) {
    EXPECT_EQ(Occurrences(inbox.out, "\"message_id\":\"" + id + "\""), 1u) << id << inbox.out;
  }
  for (const std::string& id : {kPolice, kThImm, kShelterA}) StopAgent(id);
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  size_t stale = 0;
  for (const audit::AuditRecord& r : records) {
    if (r.event == audit::AuditEvent::kRefused && r.reason.rfind("created_at", 0) == 0) ++stale;
  }
  for (const std::string& id : ids) {
    EXPECT_EQ(CountFor(records, audit::AuditEvent::kAccepted, id), 1u) << id;
    EXPECT_EQ(CountFor(records, audit::AuditEvent::kAcknowledged, id), 1u) << id;
  }
  EXPECT_EQ(stale, 0u) << "a step refused as stale";
  std::printf(
      "[ OUTAGE ] 20 steps queued during a %lld s outage (freshness window 2 s): "
      "20 accepted once, 20 delivered once, %zu refused as stale\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::seconds>(SteadyClock::now() - down).count()),
      stale);
}

// While the broker is away, the agent keeps trying (it greets every second; the old agent
// resent every step every 2 s, and ZeroMQ queued each copy). After the outage the broker must
// see each step once. The outage is 6 s: at the old pace that is 3 copies a step, enough to
// fail; the control below shows the measure catches the old behaviour.
TEST_F(DeliveryTest, AfterAnOutageTheBrokerReceivesEachStepOnce) {
  for (const std::string& id : {kPolice, kShelterA}) {
    AddToAgentConfig(id, kFastTimers);
    StartAgent(id);
  }
  KillBroker();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(Offer(kPolice, kShelterA, "CanaryOnce" + std::to_string(i)));
  std::this_thread::sleep_for(std::chrono::seconds(6));
  StartBroker();
  ASSERT_TRUE(PollUntil(
      [&] {
        return Occurrences(Run(kPolice, {"outbox", "--json"}).out, "\"status\":\"delivered\"") == 3;
      },
      30000))
      << Log(kPolice);
  for (const std::string& id : {kPolice, kShelterA}) StopAgent(id);
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  size_t refused = 0;
  for (const std::string& id : ids) {
    EXPECT_EQ(CountFor(records, audit::AuditEvent::kAccepted, id), 1u) << id;
    refused += CountFor(records, audit::AuditEvent::kRefused, id);
  }
  EXPECT_EQ(refused, 0u) << "the broker saw a step more than once";
  EXPECT_EQ(Occurrences(Log(kPolice), "submitted referral_offer"), 3u) << Log(kPolice);
  std::printf(
      "[ ONE-COPY ] 3 steps through a 6 s outage: the broker audited %zu accepted and "
      "%zu refused for them\n",
      CountFor(records, audit::AuditEvent::kAccepted, ids[0]) +
          CountFor(records, audit::AuditEvent::kAccepted, ids[1]) +
          CountFor(records, audit::AuditEvent::kAccepted, ids[2]),
      refused);
}

// Control: the old behaviour, a socket that queues while disconnected and a sender that resends
// every second, is caught by the same audit count.
TEST_F(DeliveryTest, ControlTheOldRetryBehaviourShowsInTheAuditCount) {
  Result<identity::KeySet> keys = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  ASSERT_TRUE(keys.ok());
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<std::vector<wire::Sealed>> sealed =
      police->Seal({kShelterA}, wire::Kind::ReferralOffer, Bytes(16, 7), wire::Handling::H1,
                   Payload("CanaryOld"));
  ASSERT_TRUE(sealed.ok() && sealed->size() == 1);
  Result<std::string> endpoint = ReadFile(scenario_.endpoint_file);
  ASSERT_TRUE(endpoint.ok());
  transport::ClientOptions o;
  o.endpoint = endpoint->substr(0, endpoint->size() - 1);
  o.server_curve_public = scenario_.broker.curve_public;
  o.curve_public = keys->curve_public;
  o.curve_secret = keys->curve_secret.Clone();
  o.immediate = false;  // the old socket: copies queue while the broker is away
  Result<std::unique_ptr<transport::Client>> old = transport::Client::Connect(std::move(o), 3000);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  KillBroker();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*old)->Send({transport::Frame("SEND"), sealed->front().frame}).ok());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  StartBroker();
  int answers = 0;
  for (int i = 0; i < 100 && answers < 5; ++i) {
    Result<std::optional<transport::Frames>> got = (*old)->Receive(100);
    if (got.ok() && got->has_value() && transport::FrameText((**got)[0]) != "WELCOME") ++answers;
  }
  old->reset();
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  const std::string id = ToHex(sealed->front().message_id);
  EXPECT_EQ(CountFor(records, audit::AuditEvent::kAccepted, id), 1u);
  EXPECT_GE(CountFor(records, audit::AuditEvent::kRefused, id), 2u)
      << "the control no longer shows the queued copies";
  std::printf(
      "[ ONE-COPY control ] the old socket and retry, 5 copies sent during the outage: "
      "%zu accepted, %zu refused as repeats\n",
      CountFor(records, audit::AuditEvent::kAccepted, id),
      CountFor(records, audit::AuditEvent::kRefused, id));
}

// The broker accepts, then loses its whole data directory before it delivers. The sender's
// agent hears from no recipient within confirm_after, asks the broker, learns it no longer
// holds the steps, and submits them again: each reaches the shelter once.
TEST_F(DeliveryTest, ABrokerThatLosesItsDataDirectoryLosesNoStep) {
  for (const std::string& id : {kPolice, kShelterA}) AddToAgentConfig(id, kFastTimers);
  StartAgent(kPolice);  // the shelter is offline: nothing is delivered yet
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(Offer(kPolice, kShelterA, "CanaryDisk" + std::to_string(i)));
  ASSERT_TRUE(PollUntil([&] {
    return Occurrences(Run(kPolice, {"outbox", "--json"}).out, "\"status\":\"at the broker\"") == 3;
  })) << Log(kPolice);
  KillBroker();
  std::filesystem::remove_all(scenario_.broker_data);
  StartBroker();  // the same keys and endpoint, an empty store
  const auto restarted = SteadyClock::now();
  StartAgent(kShelterA);
  ASSERT_TRUE(PollUntil(
      [&] {
        return Occurrences(Run(kPolice, {"outbox", "--json"}).out, "\"status\":\"delivered\"") == 3;
      },
      30000))
      << Run(kPolice, {"outbox"}).out << Log(kPolice);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - restarted);
  Cli inbox = Run(kShelterA, {"inbox", "--all", "--json"});
  for (const std::string& id : ids) {
    EXPECT_EQ(Occurrences(inbox.out, "\"message_id\":\"" + id + "\""), 1u) << id << inbox.out;
  }
  EXPECT_NE(Log(kPolice).find("the broker does not hold"), std::string::npos) << Log(kPolice);
  // Its audit log started again: to the police's agent, a log that shrank (issue 17). The steps
  // are delivered all the same, on their recipients' signed receipts.
  EXPECT_NE(Log(kPolice).find("ALARM: the broker's audit log"), std::string::npos) << Log(kPolice);
  std::printf(
      "[ LOST-DISK ] 3 steps accepted, the broker's data directory deleted: all 3 "
      "delivered once, %lld ms after the empty broker started (confirm_after 3 s)\n",
      static_cast<long long>(took.count()));
}

// A shelter whose need-to-know policy forbids a section it received says so with a signed
// negative receipt; the sender's step ends "not delivered: action needed" with that reason.
TEST_F(DeliveryTest, AStepTheRecipientMayNotHoldEndsNotDeliveredWithItsReason) {
  // The police's own policy wrongly lets shelters hold the investigation file.
  Result<std::string> policy = ReadFile(scenario_.policy);
  ASSERT_TRUE(policy.ok());
  std::string lax = *policy;
  const std::string shelter_fields = "shelter = [\"case\",";
  ASSERT_NE(lax.find(shelter_fields), std::string::npos);
  lax.replace(lax.find(shelter_fields), shelter_fields.size(),
              "shelter = [\"case\", \"investigation\",");
  ASSERT_TRUE(WriteFileAtomic(scenario_.dir + "/lax-policy.toml", lax).ok());
  EditAgentConfig(kPolice, "policy = \"../policy.toml\"", "policy = \"../lax-policy.toml\"");
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);
  const std::string file = WriteJson("evidence.json", R"({
  "case": {"status": "Active", "reason_for_referral": "identified in a raid"},
  "person": {"first_name": "CanaryPerson-1"},
  "needs": {"immediate_needs": ["Medical"]},
  "investigation": {"evidence_refs": ["CanaryEvidence-1"]},
  "consent": {"share_sections": ["person", "needs", "investigation"], "share_with_roles": ["shelter"],
              "purpose": "protection", "date": "2026-11-29", "recorded_by": "ATU officer 12"}
})");
  const auto start = SteadyClock::now();
  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string id = Field(o.out, "message_id");
  Cli out = WaitFor(kPolice, {"outbox", "--json"}, "not delivered: action needed");
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  EXPECT_NE(out.out.find(kShelterA + " refused it: "), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("investigation section, which a shelter may not hold"), std::string::npos)
      << out.out;
  EXPECT_LT(took.count(), 10000);
  // The case is back where it was, and the inbox puts the step first.
  Cli inbox = Run(kPolice, {"inbox"});
  EXPECT_EQ(inbox.out.rfind("ACTION NEEDED", 0), 0u) << inbox.out;
  Cli cases = Run(kPolice, {"cases", "--json"});
  EXPECT_NE(cases.out.find("\"needs_action\":true"), std::string::npos) << cases.out;
  EXPECT_NE(cases.out.find("\"state\":\"new\""), std::string::npos) << cases.out;
  // The shelter kept nothing it may not hold.
  Cli shelter = Run(kShelterA, {"inbox", "--all", "--json"});
  EXPECT_NE(shelter.out.find("\"status\":\"refused\""), std::string::npos) << shelter.out;
  EXPECT_EQ(shelter.out.find("CanaryEvidence"), std::string::npos);
  std::printf("[ NEGATIVE-RECEIPT ] refused by the recipient, sender told in %lld ms\n",
              static_cast<long long>(took.count()));
  EXPECT_EQ(Field(out.out, "message_id"), id);
}

// A receipt counts only from an agency the step was addressed to.
TEST_F(DeliveryTest, AReceiptFromAnAgencyTheStepWasNotAddressedToIsNotFiled) {
  AddToAgentConfig(kPolice, kFastTimers);
  StartAgent(kPolice);
  const std::string id = Offer(kPolice, kShelterA, "CanaryForeign");
  WaitFor(kPolice, {"outbox", "--json"}, "\"status\":\"at the broker\"");
  // Shelter B, not a recipient, confirms the step.
  auto other = OpenAgent(kShelterB);
  ASSERT_TRUE(other);
  Result<Bytes> receipt = wire::PayloadFromJson(R"({"decision": {"decision": "received"}})");
  ASSERT_TRUE(receipt.ok());
  agent::Agent::StepFields f;
  f.in_reply_to = *FromHex(id);
  Result<std::vector<wire::Sealed>> sealed = other->SealStep(
      {kPolice}, wire::Kind::Receipt, Bytes(16, 9), wire::Handling::H0, *receipt, f);
  ASSERT_TRUE(sealed.ok());
  Result<agent::SendOutcome> sent = other->Submit(sealed->front(), 5000);
  ASSERT_TRUE(sent.ok() && sent->accepted) << sent.status().ToString();
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("not addressed to it") != std::string::npos;
  })) << Log(kPolice);
  Cli out = Run(kPolice, {"outbox", "--json"});
  EXPECT_NE(out.out.find("\"status\":\"at the broker\""), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("\"confirmed_by\":[]"), std::string::npos) << out.out;
  // Control: the real recipient's receipt is filed, and the step is delivered.
  StartAgent(kShelterA);
  Cli done = WaitFor(kPolice, {"outbox", "--json"}, "\"status\":\"delivered\"");
  EXPECT_NE(done.out.find("\"confirmed_by\":[\"" + kShelterA + "\"]"), std::string::npos)
      << done.out;
}

TEST_F(DeliveryTest, AWrongBrokerEndpointShowsInStatusAndInTheLog) {
  EditAgentConfig(kPolice, "broker_endpoint_file = \"../broker.endpoint\"",
                  "broker = \"tcp://127.0.0.1:1\"");
  const auto start = SteadyClock::now();
  StartAgent(kPolice);
  ASSERT_TRUE(
      PollUntil([&] { return Log(kPolice).find("never connected") != std::string::npos; }, 10000))
      << Log(kPolice);
  const auto logged =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  Cli status;
  ASSERT_TRUE(PollUntil([&] {
    status = Run(kPolice, {"status", "--max-offline", "1"});
    return status.code == 1;
  })) << status.out;
  EXPECT_NE(status.out.find("never connected"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("tcp://127.0.0.1:1"), std::string::npos) << status.out;
  Cli json = Run(kPolice, {"status", "--json"});
  EXPECT_NE(json.out.find("\"never_connected\":true"), std::string::npos) << json.out;
  std::printf("[ WRONG-ENDPOINT ] the log said \"never connected\" %lld ms after start\n",
              static_cast<long long>(logged.count()));
  // Control: an agent that reaches its broker says so, and exits 0.
  StartAgent(kShelterA);
  Cli ok = WaitFor(kShelterA, {"status"}, "broker          connected since");
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(ok.out.find("GMS.BROKER"), std::string::npos) << ok.out;
  EXPECT_NE(Log(kShelterA).find("connected to the broker GMS.BROKER"), std::string::npos);
}

// A new agency added to the directory and the broker reloaded: a running agent learns it from
// the broker's WELCOME (DIRECTORY) and can send to it at once. SIGHUP reloads the file; a
// wrongly signed one is refused and the one in force stays.
TEST_F(DeliveryTest, ANewAgencyReachesARunningAgentWithoutARestart) {
  StartAgent(kPolice);
  const std::string fresh = "TH.SHELTER.BAN-NEW";
  identity::KeySet keys = identity::GenerateKeySet(fresh);
  ASSERT_TRUE(identity::WriteSecretKeyFile(scenario_.KeyFile(fresh), keys).ok());
  Result<std::string> config = ReadFile(scenario_.AgentConfig(kShelterA));
  ASSERT_TRUE(config.ok());
  std::string c = *config;
  for (size_t at; (at = c.find(kShelterA)) != std::string::npos;)
    c.replace(at, kShelterA.size(), fresh);
  ASSERT_TRUE(WriteFileAtomic(scenario_.AgentConfig(fresh), c).ok());
  const std::string file = WriteJson("new.json", VictimFile("CanaryNew", "\"shelter\""));
  Cli before = Run(kPolice, {"offer", "--to", fresh, "--file", file});
  EXPECT_EQ(before.code, 1);
  EXPECT_NE(before.out.find("is not in the directory"), std::string::npos) << before.out;

  ReloadDirectory([&](std::string& body) {
    body.replace(body.find("serial = 1\n"), 11, "serial = 2\n");
    body += "\n[[agency]]\nid = \"" + fresh +
            "\"\nname = \"A new shelter\"\nrole = \"shelter\"\ncountry = \"TH\"\n"
            "province = \"Chiang Mai\"\nsign_key = \"" +
            ToHex(keys.sign_public) + "\"\nbox_key = \"" + ToHex(keys.box_public) +
            "\"\ncurve_key = \"" + ToHex(keys.curve_public) + "\"\n";
  });
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("directory serial 2 in force (from the broker)") != std::string::npos;
  })) << Log(kPolice);
  Cli after = Run(kPolice, {"offer", "--to", fresh, "--file", file, "--json"});
  ASSERT_EQ(after.code, 0) << after.out;
  StartAgent(fresh);
  Cli delivered = WaitFor(kPolice, {"outbox", "--json"}, "\"status\":\"delivered\"");
  EXPECT_NE(delivered.out.find(fresh), std::string::npos) << delivered.out;

  // SIGHUP: a directory whose signature does not verify is refused; serial 2 stays.
  const std::string path = scenario_.dir + "/directory.toml";
  Result<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  std::string forged = *text;
  forged.replace(forged.find("serial = 2\n"), 11, "serial = 3\n");
  ASSERT_TRUE(WriteFileAtomic(path, forged).ok());
  ASSERT_EQ(::kill(agents_[kPolice], SIGHUP), 0);
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("directory.toml: directory signature does not verify") !=
           std::string::npos;
  })) << Log(kPolice);
  Cli status = Run(kPolice, {"status", "--json"});
  EXPECT_NE(status.out.find("\"directory_serial\":2"), std::string::npos) << status.out;
  // A correctly signed serial 3 is put in force.
  ASSERT_TRUE(WriteFileAtomic(path, *text).ok());
  ReloadDirectory(
      [](std::string& body) { body.replace(body.find("serial = 2\n"), 11, "serial = 3\n"); });
  ASSERT_EQ(::kill(agents_[kPolice], SIGHUP), 0);
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("directory serial 3 in force") != std::string::npos;
  })) << Log(kPolice);
}

}  // namespace
}  // namespace nrm
