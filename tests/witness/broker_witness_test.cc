// A real broker with two real witnesses: it submits its checkpoints off the routing thread and
// gathers their cosignatures on one checkpoint, which agents fetch with CONSISTENCY; a witness
// that is down stops nothing and shows in `nrm audit status`; a log rewritten by the operator
// (who holds the broker's key) is refused by the witness and fails `nrm audit verify` against
// the witness's checkpoint.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "audit/audit_reader.h"
#include "audit/big_endian.h"
#include "audit/witness/witness.h"
#include "broker/store/message_store.h"
#include "common/json/json.h"
#include "tests/testing/audit_rewrite.h"
#include "tests/testing/broker_fixture.h"
#include "tests/testing/witness_process.h"

namespace nrm::testing {
namespace {

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";

using Clock = std::chrono::steady_clock;

// What CONSISTENCY answered.
struct ConsistencyAnswer {
  std::string note;
  std::vector<audit::Hash> proof;
  std::string reason;  // when the broker could not answer
};

class BrokerWitnessTest : public BrokerFixture {
 protected:
  void SetUp() override {
    Result<tools::Scenario> s = tools::CreateScenario(tmp_.path(), Agencies());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scenario_ = std::move(*s);
    log_key_ = *audit::LogVerifierKey(tools::kScenarioLogOrigin, scenario_.broker.sign_public);
    const std::vector<std::string> logs = {audit::note::FormatVerifierKey(log_key_)};
    w1_ = std::make_unique<WitnessProcess>(tmp_.path(), "w1.kh/witness", logs);
    w2_ = std::make_unique<WitnessProcess>(tmp_.path(), "w2.vn/witness", logs);
    ASSERT_TRUE(w1_->Start());
    ASSERT_TRUE(w2_->Start());
    witness_keys_ = {*audit::note::ParseVerifierKey(w1_->vkey()),
                     *audit::note::ParseVerifierKey(w2_->vkey())};
    std::string extra = "witness_timeout_ms = 1000\n";
    for (const WitnessProcess* w : {w1_.get(), w2_.get()}) {
      extra += "\n[[witness]]\nurl = \"" + w->url() + "\"\nvkey = \"" + w->vkey() + "\"\n";
    }
    std::string config = *ReadFile(scenario_.broker_config);
    ASSERT_TRUE(WriteFileAtomic(scenario_.broker_config, config + extra).ok());
    StartBroker();
  }

  // CONSISTENCY old_size size, as an agency's raw client.
  ConsistencyAnswer Consistency(uint64_t old_size, uint64_t size) {
    if (!client_) {
      Result<identity::KeySet> keys = identity::LoadSecretKeyFile(scenario_.KeyFile(kShelter));
      EXPECT_TRUE(keys.ok());
      Result<std::unique_ptr<transport::Client>> c = RawClient(*keys);
      EXPECT_TRUE(c.ok()) << c.status().ToString();
      if (!c.ok()) return {"", {}, "no connection"};
      client_ = std::move(*c);
    }
    EXPECT_TRUE(
        client_->Send({Frame("CONSISTENCY"), audit::Be64Key(old_size), audit::Be64Key(size)}).ok());
    while (true) {
      Result<std::optional<transport::Frames>> r = client_->Receive(5000);
      if (!r.ok() || !r->has_value()) return {"", {}, "no answer"};
      const transport::Frames& f = **r;
      if (FrameText(f[0]) != "CONSISTENCY") continue;  // a delivery, say
      EXPECT_EQ(f.size(), 4u);
      if (f[2].empty()) return {"", {}, std::string(FrameText(f[3]))};
      ConsistencyAnswer a{std::string(FrameText(f[2])), {}, ""};
      EXPECT_EQ(f[3].size() % 32, 0u);
      for (size_t i = 0; i + 32 <= f[3].size(); i += 32) {
        audit::Hash h;
        std::copy(f[3].begin() + static_cast<ptrdiff_t>(i),
                  f[3].begin() + static_cast<ptrdiff_t>(i + 32), h.begin());
        a.proof.push_back(h);
      }
      return a;
    }
  }

  // Polls CONSISTENCY 0 0 until the latest cosigned checkpoint has `witnesses` cosignatures and
  // a size of at least `min_size`; that checkpoint, or nullopt at the deadline.
  std::optional<audit::VerifiedCheckpoint> WaitCosigned(size_t witnesses, uint64_t min_size,
                                                        int timeout_ms = 20000) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      const ConsistencyAnswer a = Consistency(0, 0);
      if (!a.note.empty()) {
        Result<audit::VerifiedCheckpoint> v =
            audit::VerifyCheckpointNote(a.note, log_key_, witness_keys_);
        EXPECT_TRUE(v.ok()) << v.status().ToString();
        if (v.ok() && v->cosigned_by.size() >= witnesses && v->checkpoint.size >= min_size) {
          return *v;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return std::nullopt;
  }

  void SendOffers(int n) {
    auto police = OpenAgent(kPolice);
    ASSERT_TRUE(police);
    for (int i = 0; i < n; ++i) {
      const auto start = Clock::now();
      Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("W" + std::to_string(i)));
      ASSERT_TRUE(s.ok() && s->accepted) << s.status().ToString();
      EXPECT_LT(Clock::now() - start, std::chrono::seconds(3)) << "a send waited for a witness";
    }
  }

  int Nrm(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv = {BinDir() + "/nrm"};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = tmp_.path() + "/logs/nrm.out";
    std::remove(log.c_str());
    Result<pid_t> pid = tools::Spawn(argv, log);
    if (!pid.ok()) return -1;
    Result<int> code = tools::WaitExit(*pid, 30000);
    *out = ReadFile(log).ok() ? *ReadFile(log) : "";
    return code.ok() ? *code : -1;
  }

  // The witness status file shows `name` failing.
  bool WitnessFailing(const std::string& name, int timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      Result<std::string> text = ReadFile(scenario_.broker_data + "/" + audit::kWitnessStatusFile);
      Result<json::Json> doc = text.ok() ? json::Parse(*text) : Result<json::Json>(text.status());
      if (doc.ok()) {
        for (const json::Json& w : (*doc)["witnesses"]) {
          if (w["name"] == name && !w["last_error"].get<std::string>().empty()) return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  audit::note::VerifierKey log_key_;
  std::vector<audit::note::VerifierKey> witness_keys_;
  std::unique_ptr<WitnessProcess> w1_, w2_;
  std::unique_ptr<transport::Client> client_;
};

TEST_F(BrokerWitnessTest, CosignaturesOfBothWitnessesGatherOnOneCheckpoint) {
  SendOffers(3);
  std::optional<audit::VerifiedCheckpoint> cp = WaitCosigned(2, 5);
  ASSERT_TRUE(cp) << "no checkpoint cosigned by both witnesses";
  // Its proof from an earlier size checks out.
  const ConsistencyAnswer a = Consistency(2, 0);
  ASSERT_TRUE(a.reason.empty()) << a.reason;
  Result<audit::VerifiedCheckpoint> v = audit::VerifyCheckpointNote(a.note, log_key_);
  ASSERT_TRUE(v.ok());
  const ConsistencyAnswer none = Consistency(0, 1000000);
  EXPECT_NE(none.reason.find("no checkpoint of size 1000000"), std::string::npos) << none.reason;

  // The tree grows: the witnesses cosign the larger one too.
  SendOffers(3);
  std::optional<audit::VerifiedCheckpoint> later = WaitCosigned(2, cp->checkpoint.size + 1);
  ASSERT_TRUE(later);
  const ConsistencyAnswer proof = Consistency(cp->checkpoint.size, later->checkpoint.size);
  ASSERT_TRUE(proof.reason.empty()) << proof.reason;
  EXPECT_TRUE(audit::VerifyConsistency(cp->checkpoint.size, later->checkpoint.size,
                                       cp->checkpoint.root, later->checkpoint.root, proof.proof)
                  .ok());

  std::string out;
  EXPECT_EQ(Nrm({"audit", "status", scenario_.broker_data}, &out), 0) << out;
  EXPECT_NE(out.find("cosigned by w1.kh/witness"), std::string::npos) << out;
  EXPECT_NE(out.find("cosigned by w2.vn/witness"), std::string::npos) << out;
  // An auditor holding both witnesses' keys checks every stored cosignature.
  EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;
  EXPECT_EQ(Nrm({"audit", "verify", scenario_.broker_data, "--witness", w1_->vkey(), "--witness",
                 w2_->vkey()},
                &out),
            0)
      << out;
  EXPECT_EQ(out.find("(0 witness cosignatures)"), std::string::npos) << out;
}

// A witness that is down stops nothing: sends are answered at once, the failure is counted and
// shown, and the witness cosigns again once it is back.
TEST_F(BrokerWitnessTest, AWitnessDownStopsNothing) {
  ASSERT_TRUE(WaitCosigned(2, 1));
  w2_->Kill();
  SendOffers(10);
  ASSERT_TRUE(WitnessFailing("w2.vn/witness", 10000));
  std::string out;
  EXPECT_EQ(Nrm({"audit", "status", scenario_.broker_data}, &out), 1) << out;
  EXPECT_NE(out.find("FAILING since"), std::string::npos) << out;
  EXPECT_NE(out.find("no answer"), std::string::npos) << out;
  // w1 alone keeps cosigning.
  std::optional<audit::VerifiedCheckpoint> one = WaitCosigned(1, 20);
  ASSERT_TRUE(one);
  ASSERT_TRUE(w2_->Start());
  SendOffers(1);
  EXPECT_TRUE(WaitCosigned(2, one->checkpoint.size + 1, 30000))
      << "the witness did not cosign again after it came back";
}

// The operator stops the broker, deletes one message's records, writes the log anew and signs
// every checkpoint again with the broker's key. The broker starts on it: the witness refuses its
// next checkpoint (it cannot be proved consistent with what it cosigned), and `nrm audit verify`
// with the witness's checkpoint names the size where the log differs.
TEST_F(BrokerWitnessTest, ALogRewrittenWithTheBrokersKeyIsCaught) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> victim = Offer(*police, kShelter, Payload("erased later"));
  ASSERT_TRUE(victim.ok() && victim->accepted);
  SendOffers(2);
  std::optional<audit::VerifiedCheckpoint> cp = WaitCosigned(2, *victim->receipt_leaf + 1);
  ASSERT_TRUE(cp);
  police.reset();
  client_.reset();
  ASSERT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;
  std::string out;
  ASSERT_EQ(
      Nrm({"witness", "latest", "--config", w1_->config(), "--origin", tools::kScenarioLogOrigin},
          &out),
      0)
      << out;
  const std::string kept = tmp_.path() + "/w1-latest.checkpoint";
  ASSERT_TRUE(WriteFileAtomic(kept, out).ok());
  EXPECT_EQ(Nrm({"audit", "verify", scenario_.broker_data, "--checkpoint", kept}, &out), 0) << out;

  {
    Result<std::unique_ptr<broker::MessageStore>> store = broker::MessageStore::Open(
        scenario_.broker_data + "/store", audit::AuditColumnFamilyNames());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const auto cfs = audit::AuditColumnFamilies::From(
        [&](const std::string& name) { return (*store)->Handle(name); });
    Result<uint64_t> dropped = RewriteAuditLog(
        (*store)->db(), cfs, scenario_.broker.sign_secret, tools::kScenarioLogOrigin,
        SystemClock::Get().NowMillis(),
        [&](uint64_t, const audit::AuditRecord& r) { return r.message_id == victim->message_id; });
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    EXPECT_GE(*dropped, 1u);
  }
  // Self-consistent: the operator's rewrite passes a verify that has nothing to compare with.
  EXPECT_EQ(Nrm({"audit", "verify", scenario_.broker_data}, &out), 0) << out;
  EXPECT_EQ(Nrm({"audit", "verify", scenario_.broker_data, "--checkpoint", kept}, &out), 1) << out;
  EXPECT_NE(out.find("log differs from checkpoint: size " + std::to_string(cp->checkpoint.size)),
            std::string::npos)
      << out;

  StartBroker();
  ASSERT_TRUE(WitnessFailing("w1.kh/witness", 10000));
  Result<std::string> status = ReadFile(scenario_.broker_data + "/" + audit::kWitnessStatusFile);
  ASSERT_TRUE(status.ok());
  // Its next checkpoint is larger (and then the proof is refused), of the same size (another
  // root), or smaller (the witness holds more than the log): a refusal, never a cosignature.
  const json::Json doc = *json::Parse(*status);
  EXPECT_GE(doc["witnesses"][0]["refusals"].get<int64_t>(), 1) << *status;
  EXPECT_EQ(doc["witnesses"][0]["cosignatures"].get<int64_t>(), 0) << *status;
  const std::string error = doc["witnesses"][0]["last_error"];
  EXPECT_TRUE(error.find("not consistent with what it cosigned") != std::string::npos ||
              error.find("the log forked") != std::string::npos ||
              error.find("rolled back or rewritten") != std::string::npos)
      << error;
  EXPECT_EQ(Nrm({"audit", "status", scenario_.broker_data}, &out), 1) << out;
  EXPECT_NE(out.find("refusals"), std::string::npos);
}

}  // namespace
}  // namespace nrm::testing
