// Erasure by destroying keys (agent/erasure.h) on real agents and a real broker: after `erase`
// and its confirmations, no file of any involved agent holds the case (its canary, its old
// records), no key left in a store opens a record of it, the broker dropped what it queued of
// the case and its audit log still verifies with an earlier proof; a kill -9 during the erasure
// leaves the case whole or erased, never half.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include "agent/store.h"
#include "audit/audit_reader.h"
#include "common/crypto/crypto.h"
#include "common/json/json.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

using testing::AgentDaemonTest;
using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using testing::kShelterB;

// Every key and value of an agent's store (the agent must be stopped).
std::vector<std::pair<std::string, std::string>> Dump(const std::string& data_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::Options(), data_dir + "/store", &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().ToString(), it->value().ToString());
  }
  return out;
}

class ErasureTest : public AgentDaemonTest {
 protected:
  // Stops the broker cleanly, so that its audit log can be read.
  void TearDownBrokerForProof() {
    Result<int> code = tools::Stop(broker_pid_, 5000);
    EXPECT_TRUE(code.ok() && *code == 0);
    broker_pid_ = -1;
  }

  // `nrm ARGS...`, its output in `out`; the exit code.
  int RunTool(std::vector<std::string> args, const std::string& out = "") {
    args.insert(args.begin(), testing::BinDir() + "/nrm");
    Result<pid_t> pid = tools::Spawn(args, out.empty() ? tmp_.path() + "/logs/nrm.out" : out);
    if (!pid.ok()) return -1;
    Result<int> code = tools::WaitExit(*pid, 30000);
    return code.ok() ? *code : -1;
  }

  std::string Offer(const std::string& to, const std::string& name, const std::string& label) {
    Cli o = Run(kPolice, {"offer", "--to", to, "--file",
                          WriteJson(name + ".json", VictimFile(name, "\"shelter\"")), "--label",
                          label, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return o.out;
  }

  // Everything that must be gone from `id`'s data directory: the canary in the clear and in
  // hex (records hold payloads in hex), and pieces of the case's old sealed records.
  void ExpectNothingLeft(const std::string& id, const std::string& ref, const std::string& canary,
                         const std::vector<std::string>& old_records) {
    std::vector<std::string> needles = {canary, ToHex(AsBytes(canary))};
    for (const std::string& r : old_records) needles.push_back(r.substr(r.size() / 2, 32));
    for (const std::string& n : needles) {
      std::vector<std::string> hits = FilesHolding(DataDir(id), n);
      EXPECT_TRUE(hits.empty()) << id << ": a trace of the erased case in " << hits.front();
    }
    // No key left in the store opens anything of the case: try every key on every value.
    Result<crypto::SecretBytes> local = agent::LoadOrCreateLocalKey(DataDir(id), "");
    ASSERT_TRUE(local.ok());
    std::vector<crypto::SecretBytes> keys;
    keys.push_back(local->Clone());
    const auto all = Dump(DataDir(id));
    for (const auto& [k, v] : all) {
      EXPECT_NE(k, "c/" + ref) << id;
      EXPECT_NE(k, "k/" + ref) << id;
      if (k.starts_with("k/")) {
        Result<crypto::SecretBytes> ck = crypto::SecretBoxOpen(*local, AsBytes(v));
        ASSERT_TRUE(ck.ok());
        keys.push_back(std::move(*ck));
      }
    }
    for (const auto& [k, v] : all) {
      for (size_t skip : {size_t{0}, size_t{1}, size_t{34}}) {
        if (v.size() <= skip) continue;
        for (const crypto::SecretBytes& key : keys) {
          Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(key, AsBytes(v).subspan(skip));
          if (!plain.ok()) continue;
          const std::string text(AsChars(plain->view()));
          EXPECT_EQ(text.find(canary), std::string::npos) << id << " " << k;
          EXPECT_EQ(text.find(ToHex(AsBytes(canary))), std::string::npos) << id << " " << k;
        }
      }
    }
  }

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

  // The sealed records of case `ref` in `id`'s store now (the agent must be stopped).
  std::vector<std::string> Records(const std::string& id, const std::string& ref) {
    std::vector<std::string> out;
    for (const auto& [k, v] : Dump(DataDir(id))) {
      if (k == "c/" + ref || k == "k/" + ref || v.starts_with("C" + ref)) out.push_back(v);
    }
    EXPECT_GE(out.size(), 3u) << id << ": the case, its key and a message at least";
    return out;
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
  EXPECT_EQ(
      RunTool({"audit", "check-proof", proof, "--broker-key", ToHex(scenario_.broker.sign_public)}),
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
