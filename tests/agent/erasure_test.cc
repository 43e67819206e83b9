// Erasure by destroying keys (agent/erasure.h) on real agents and a real broker: after `erase`
// and its confirmations, no file of any involved agent holds the case (its canary, its old
// records), no key left in a store opens a record of it, the broker dropped what it queued of
// the case and its audit log still verifies with an earlier proof; a kill -9 during the erasure
// leaves the case whole or erased, never half.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "audit/audit_reader.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "common/json/json.h"
#include "tests/testing/erasure_fixture.h"

namespace nrm {
namespace {

using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using testing::kShelterB;

class ErasureTest : public testing::ErasureFixture {
 protected:
  // `erase yankee` on a police agent that dies during it (NRM_AGENT_CRASH_AT).
  void EraseAndDie() {
    Result<pid_t> cli =
        tools::Spawn({testing::BinDir() + "/nrm-agent", "--config", scenario_.AgentConfig(kPolice),
                      "erase", "yankee", "--reason", "r"},
                     tmp_.path() + "/logs/erase.out");
    ASSERT_TRUE(cli.ok());
    Result<int> died = tools::WaitExit(agents_[kPolice], 10000);
    EXPECT_TRUE(died.ok()) << "the agent did not die at the crash point";
    agents_[kPolice] = -1;
    (void)tools::Stop(*cli, 1000);  // it waits for an answer that will not come
  }
};

TEST_F(ErasureTest, EraseDestroysTheKeyEverywhereAndIsConfirmed) {
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);
  const std::string canary = "CanaryWhiskey7731";
  const std::string o = Offer(kShelterA, canary, "whiskey");
  const std::string ref = Field(o, "case"), offer = Field(o, "message_id");
  WaitFor(kShelterA, {"inbox", "--json"}, offer);
  ASSERT_EQ(Run(kShelterA, {"accept", offer}).code, 0);
  WaitFor(kPolice, {"outbox", "--json"}, "\"receipts\":[\"");
  // A second case, for a shelter that is offline: the broker queues it.
  const std::string queued = Field(Offer(kShelterB, "CanaryOther2290", "other"), "message_id");

  // What each store holds of the case, and a proof made before the erasure.
  for (const std::string& id : {kPolice, kShelterA}) StopAgent(id);
  const std::vector<std::string> police_old = Records(kPolice, ref);
  const std::vector<std::string> shelter_old = Records(kShelterA, ref);
  TearDownBrokerForProof();
  const std::string proof = tmp_.path() + "/proof.json";
  ASSERT_EQ(RunTool({"audit", "prove", scenario_.broker_data, "--message-id", offer}, proof), 0);
  StartBroker();
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);

  Cli erase = Run(kPolice, {"erase", "whiskey", "--reason", "the person asked (PDPA s.33)"});
  ASSERT_EQ(erase.code, 0) << erase.out;
  EXPECT_NE(erase.out.find("ERASED"), std::string::npos) << erase.out;
  EXPECT_EQ(Run(kPolice, {"cases"}).out.find(ref), std::string::npos) << "gone from cases";
  // The shelter erases and confirms; the police's timeline says so.
  Cli tl = WaitFor(kPolice, {"timeline", ref}, kShelterA + ": erased, signed receipt");
  EXPECT_NE(tl.out.find("the person asked"), std::string::npos) << tl.out;
  WaitFor(kShelterA, {"timeline", ref}, "ERASED");
  EXPECT_EQ(Run(kShelterA, {"show", offer}).code, 1) << "the offer is gone at the shelter";

  for (const std::string& id : {kPolice, kShelterA}) StopAgent(id);
  ExpectNothingLeft(kPolice, ref, canary, police_old);
  ExpectNothingLeft(kShelterA, ref, canary, shelter_old);

  // The broker's audit log still verifies, with the proof made before, and records the erasure.
  TearDownBrokerForProof();
  EXPECT_EQ(RunTool({"audit", "verify", scenario_.broker_data, "--broker-key",
                     ToHex(scenario_.broker.sign_public)}),
            0);
  Result<audit::note::VerifierKey> log_key =
      audit::LogVerifierKey(tools::kScenarioLogOrigin, scenario_.broker.sign_public);
  ASSERT_TRUE(log_key.ok());
  EXPECT_EQ(
      RunTool({"audit", "check-proof", proof, "--vkey", audit::note::FormatVerifierKey(*log_key)}),
      0);
  int erased = 0;
  ASSERT_TRUE(audit::ReadVerifiedRecords(scenario_.broker_data + "/store",
                                         [&](uint64_t, const audit::AuditRecord& r) {
                                           if (r.event == audit::AuditEvent::kCaseErased) ++erased;
                                         })
                  .ok());
  EXPECT_EQ(erased, 1);
  (void)queued;
  StartBroker();
}

TEST_F(ErasureTest, TheBrokerDropsWhatItQueuedOfTheCase) {
  StartAgent(kPolice);
  const std::string canary = "CanaryXray5521";
  const std::string o = Offer(kShelterB, canary, "xray");  // the shelter is offline
  const std::string ref = Field(o, "case"), offer = Field(o, "message_id");
  Cli erase = Run(kPolice, {"erase", "xray", "--reason", "entered by mistake"});
  ASSERT_EQ(erase.code, 0) << erase.out;
  StartAgent(kShelterB);
  // It hears of the erasure, not of the offer, and confirms.
  WaitFor(kPolice, {"timeline", ref}, kShelterB + ": erased, signed receipt");
  EXPECT_EQ(Run(kShelterB, {"inbox", "--all", "--json"}).out.find(offer), std::string::npos);
  StopAgent(kShelterB);
  EXPECT_TRUE(FilesHolding(DataDir(kShelterB), canary).empty());
}

// The erasure request is a step of the outbox like any other (agent/step_state.h): submitted
// once, at the broker, then delivered by the shelter's erasure receipt; never submitted again
// after confirm_after. The shelter's erasure receipt goes through its outbox too.
TEST_F(ErasureTest, TheRequestIsAStepOfTheOutboxDeliveredByTheErasureReceipt) {
  AddToAgentConfig(kPolice, "answer_timeout_s = 1\nconfirm_after_s = 1\n");
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);
  const std::string o = Offer(kShelterA, "CanaryZulu4410", "zulu");
  const std::string ref = Field(o, "case"), offer = Field(o, "message_id");
  WaitFor(kShelterA, {"inbox", "--json"}, offer);
  ASSERT_EQ(Run(kPolice, {"erase", "zulu", "--reason", "entered by mistake"}).code, 0);
  WaitFor(kPolice, {"timeline", ref}, kShelterA + ": erased, signed receipt");
  // The outbox's erasure_request: delivered, confirmed by the shelter, submitted once.
  auto request = [&]() -> json::Json {
    Result<json::Json> all = json::Parse(Run(kPolice, {"outbox", "--json"}).out);
    if (!all.ok() || !all->is_array()) return json::Json();
    for (const json::Json& m : *all) {
      if (m.value("kind", "") == "erasure_request") return m;
    }
    return json::Json();
  };
  json::Json r;
  ASSERT_TRUE(PollUntil(
      [&] {
        r = request();
        return r.is_object() && r.value("status", "") == "delivered";
      },
      15000))
      << r.dump();
  EXPECT_EQ(r["case"], ref);
  EXPECT_EQ(r["confirmed_by"], json::Json::array({kShelterA})) << r.dump();
  EXPECT_EQ(r["attempts"], 1) << r.dump();
  // Well past confirm_after: nothing asked again, nothing submitted again.
  ::usleep(3500 * 1000);
  r = request();
  EXPECT_EQ(r.value("status", ""), "delivered") << r.dump();
  EXPECT_EQ(r["attempts"], 1) << r.dump();
  // The shelter's erasure receipt went through its outbox and is done once at the broker.
  Cli receipts = Run(kShelterA, {"outbox", "--all", "--json"});
  EXPECT_NE(receipts.out.find("\"status\":\"at the broker\""), std::string::npos) << receipts.out;
  EXPECT_NE(receipts.out.find("\"note\":\"erased here: signed receipt for erasure_request"),
            std::string::npos)
      << receipts.out;
}

TEST_F(ErasureTest, Kill9DuringErasureLeavesTheCaseWholeOrErased) {
  StartAgent(kShelterA);
  StartAgent(kPolice);
  const std::string o = Offer(kShelterA, "CanaryYankee", "yankee");
  const std::string ref = Field(o, "case");
  WaitFor(kShelterA, {"cases", "--json"}, ref);
  // Killed before the synced batch: the case is whole.
  StopAgent(kPolice);
  ::setenv("NRM_AGENT_CRASH_AT", "erase:before-write", 1);
  StartAgent(kPolice);
  ::unsetenv("NRM_AGENT_CRASH_AT");
  EraseAndDie();
  StartAgent(kPolice);
  Cli whole = Run(kPolice, {"timeline", "yankee"});
  EXPECT_EQ(whole.code, 0) << whole.out;
  EXPECT_NE(whole.out.find("referral_offer"), std::string::npos) << whole.out;
  // Killed after it, before the compaction: erased; the restart compacts and the request goes.
  StopAgent(kPolice);
  ::setenv("NRM_AGENT_CRASH_AT", "erase:after-write", 1);
  StartAgent(kPolice);
  ::unsetenv("NRM_AGENT_CRASH_AT");
  EraseAndDie();
  StartAgent(kPolice);
  EXPECT_EQ(Run(kPolice, {"timeline", "yankee"}).code, 1) << "the label went with the case";
  Cli tl = WaitFor(kPolice, {"timeline", ref}, kShelterA + ": erased, signed receipt");
  EXPECT_NE(tl.out.find("(store compacted)"), std::string::npos) << tl.out;
  StopAgent(kPolice);
  EXPECT_TRUE(FilesHolding(DataDir(kPolice), "CanaryYankee").empty());
  EXPECT_TRUE(FilesHolding(DataDir(kPolice), ToHex(AsBytes("CanaryYankee"))).empty());
}

}  // namespace
}  // namespace nrm
