// What an agent keeps of its broker's audit log (agent/log_watch.h, issue 17): the largest
// checkpoint it verified, so that a log that shrank, forked or was rewritten, a stale or
// backdated checkpoint and overdue cosignatures raise the alarm, and a larger checkpoint counts
// only with a consistency proof. LogWatchTest checks the decisions on their own (a clock the
// test sets, checkpoints signed here); LogWatchDaemonTest runs a real nrm-agent against a broker
// double whose log forks or shrinks, and against the real broker, whose CONSISTENCY and PROVE
// answers the agent checks.
#include "agent/log_watch.h"

#include <gtest/gtest.h>

#include "audit/audit_reader.h"
#include "audit/big_endian.h"
#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "common/crypto/crypto.h"
#include "tests/agent/broker_double.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

using agent::LogWatch;
using testing::BrokerDouble;
using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using transport::FrameText;

constexpr char kOrigin[] = "test.example/audit/v1";

class LogWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    key_ = crypto::GenerateSignKeyPair();
    Result<audit::note::VerifierKey> k = audit::LogVerifierKey(kOrigin, key_.public_key);
    ASSERT_TRUE(k.ok());
    log_key_ = *k;
    for (int i = 0; i < 20; ++i) leaves_.push_back(audit::HashLeaf(Bytes(1, uint8_t(i))));
    forked_ = leaves_;
    forked_[3] = audit::HashLeaf(Bytes(1, 0xee));
  }

  std::unique_ptr<LogWatch> Open() {
    Result<std::unique_ptr<LogWatch>> w = LogWatch::Open(tmp_.path(), log_key_, config_, clock_);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }
  audit::Checkpoint Body(uint64_t size, const std::vector<audit::Hash>& leaves) const {
    return {kOrigin, size, audit::RootFromLeafHashes({leaves.data(), size}), {}};
  }
  // The log's checkpoint of the first `size` leaves, signed `ago_ms` before the clock's now.
  std::string Note(uint64_t size, const std::vector<audit::Hash>& leaves, int64_t ago_ms = 0) {
    return audit::SignCheckpoint(Body(size, leaves), key_.secret_key, clock_.NowMillis() - ago_ms);
  }
  std::vector<audit::Hash> Proof(uint64_t old_size, uint64_t size,
                                 const std::vector<audit::Hash>& leaves) const {
    Result<std::vector<audit::Hash>> p = audit::ConsistencyProof({leaves.data(), size}, old_size);
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : std::vector<audit::Hash>{};
  }
  // The log signs with a new key from now on (Note), and the directory publishes it (Open).
  void NewLogKey() {
    key_ = crypto::GenerateSignKeyPair();
    Result<audit::note::VerifierKey> k = audit::LogVerifierKey(kOrigin, key_.public_key);
    ASSERT_TRUE(k.ok());
    log_key_ = *k;
  }
  // Holds the checkpoint of size 5 of the honest log.
  std::unique_ptr<LogWatch> Holding5() {
    std::unique_ptr<LogWatch> w = Open();
    EXPECT_EQ(w->OnReceipt(Note(5, leaves_), true).verdict, LogWatch::Verdict::kAccept);
    return w;
  }

  testing::TempDir tmp_;
  FakeClock clock_{1'800'000'000'000};
  crypto::SignKeyPair key_;
  audit::note::VerifierKey log_key_;
  agent::LogWatchConfig config_;
  std::vector<audit::Hash> leaves_, forked_;
};

TEST_F(LogWatchTest, TheFirstCheckpointIsTheStartingPointAndIsKept) {
  { Holding5(); }
  std::unique_ptr<LogWatch> again = Open();
  EXPECT_EQ(again->state().size, 5u);
  EXPECT_EQ(again->state().root, audit::RootFromLeafHashes({leaves_.data(), 5}));
  EXPECT_FALSE(again->alarmed());
  // The note alone, for `nrm audit verify --checkpoint`.
  Result<std::string> kept = ReadFile(tmp_.path() + "/log.checkpoint");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(audit::VerifyCheckpointNote(*kept, log_key_).ok());
}

TEST_F(LogWatchTest, ALargerCheckpointCountsOnlyWithAConsistencyProof) {
  std::unique_ptr<LogWatch> w = Holding5();
  const std::string seven = Note(7, leaves_);
  const LogWatch::Check c = w->OnReceipt(seven, true);
  ASSERT_EQ(c.verdict, LogWatch::Verdict::kNeedProof);
  EXPECT_EQ(c.proof_to, 7u);
  EXPECT_EQ(w->state().size, 5u) << "nothing moves before the proof";
  ASSERT_TRUE(w->OnConsistency(5, seven, Proof(5, 7, leaves_)).ok());
  EXPECT_EQ(w->state().size, 7u);
  EXPECT_EQ(w->OnReceipt(seven, true).verdict, LogWatch::Verdict::kAccept);
  // An older checkpoint of the same log still counts: it is a prefix of what is held, which the
  // broker proves the same way (a STATUS may carry one).
  EXPECT_EQ(w->OnReceipt(Note(7, leaves_), false).verdict, LogWatch::Verdict::kAccept);
}

TEST_F(LogWatchTest, TheSameSizeWithAnotherRootIsAForkAndTheAlarmStays) {
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_EQ(w->OnReceipt(Note(5, forked_), true).verdict, LogWatch::Verdict::kAlarm);
  ASSERT_TRUE(w->alarmed());
  EXPECT_NE(w->state().alarm.find("forked"), std::string::npos) << w->state().alarm;
  // From now on nothing counts, not even the honest checkpoint...
  EXPECT_EQ(w->OnReceipt(Note(5, leaves_), true).verdict, LogWatch::Verdict::kAlarm);
  w.reset();
  // ...also after a restart, until an operator clears it.
  w = Open();
  ASSERT_TRUE(w->alarmed());
  EXPECT_EQ(w->state().size, 5u);
  ASSERT_TRUE(w->ClearAlarm(/*forget=*/false).ok());
  EXPECT_EQ(w->OnReceipt(Note(5, leaves_), true).verdict, LogWatch::Verdict::kAccept);
  EXPECT_EQ(w->OnReceipt(Note(5, forked_), true).verdict, LogWatch::Verdict::kAlarm)
      << "the checkpoint held stays: the fork is seen again";
  ASSERT_TRUE(w->ClearAlarm(/*forget=*/true).ok());
  EXPECT_EQ(w->OnReceipt(Note(5, forked_), true).verdict, LogWatch::Verdict::kAccept)
      << "forgotten: the next checkpoint is the new starting point";
}

// A newer directory publishes another log key: the checkpoint held stays the starting point, so
// the first checkpoint under the new key counts once proved consistent with it (a legitimate
// change), and the state moves to the new key, also across a restart.
TEST_F(LogWatchTest, ANewLogKeyCountsOnceItsCheckpointExtendsTheOneHeld) {
  std::unique_ptr<LogWatch> w = Holding5();
  const audit::note::VerifierKey old_key = log_key_;
  NewLogKey();
  w->UseLogKey(log_key_);
  ASSERT_TRUE(w->held_key().has_value());
  const std::string seven = Note(7, leaves_);
  ASSERT_EQ(w->OnReceipt(seven, true).verdict, LogWatch::Verdict::kNeedProof);
  ASSERT_TRUE(w->OnConsistency(5, seven, Proof(5, 7, leaves_)).ok());
  EXPECT_EQ(w->state().size, 7u);
  EXPECT_FALSE(w->held_key().has_value());
  w.reset();
  w = Open();
  EXPECT_FALSE(w->alarmed()) << w->state().alarm;
  EXPECT_EQ(w->state().size, 7u);
  Result<std::string> kept = ReadFile(tmp_.path() + "/log.checkpoint");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(audit::VerifyCheckpointNote(*kept, log_key_).ok());
  EXPECT_FALSE(audit::VerifyCheckpointNote(*kept, old_key).ok());
}

// The agent restarted with the new directory before the broker showed a checkpoint under the
// new key: the one held was verified under the old key, kept with it; the same size and root
// under the new key replaces it.
TEST_F(LogWatchTest, ACheckpointHeldUnderTheOldKeyStaysTheStartAfterARestart) {
  { Holding5(); }
  NewLogKey();
  std::unique_ptr<LogWatch> w = Open();
  EXPECT_FALSE(w->alarmed()) << w->state().alarm;
  EXPECT_EQ(w->state().size, 5u);
  ASSERT_TRUE(w->held_key().has_value());
  EXPECT_EQ(w->OnReceipt(Note(5, leaves_), true).verdict, LogWatch::Verdict::kAccept);
  EXPECT_FALSE(w->held_key().has_value());
  Result<std::string> kept = ReadFile(tmp_.path() + "/log.checkpoint");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(audit::VerifyCheckpointNote(*kept, log_key_).ok());
}

// A broker that changes keys to shed its history: under the new key, a rewritten log, a fork of
// the size held and a smaller log all raise the alarm, as they would under the old key; and
// the old key no longer counts.
TEST_F(LogWatchTest, ANewLogKeyDoesNotLetABrokerEscapeTheConsistencyCheck) {
  const crypto::SignKeyPair old_pair{key_.public_key, key_.secret_key.Clone()};
  const audit::note::VerifierKey old_key = log_key_;
  {
    std::unique_ptr<LogWatch> w = Holding5();
    NewLogKey();
    w->UseLogKey(log_key_);
    const std::string seven = Note(7, forked_);
    ASSERT_EQ(w->OnReceipt(seven, true).verdict, LogWatch::Verdict::kNeedProof);
    EXPECT_FALSE(w->OnConsistency(5, seven, Proof(5, 7, forked_)).ok());
    EXPECT_NE(w->state().alarm.find("not consistent"), std::string::npos) << w->state().alarm;
    ASSERT_TRUE(w->ClearAlarm(/*forget=*/false).ok());
    EXPECT_EQ(w->OnReceipt(Note(5, forked_), true).verdict, LogWatch::Verdict::kAlarm);
    EXPECT_NE(w->state().alarm.find("forked"), std::string::npos) << w->state().alarm;
    ASSERT_TRUE(w->ClearAlarm(/*forget=*/false).ok());
    EXPECT_EQ(w->OnReceipt(Note(4, leaves_), true).verdict, LogWatch::Verdict::kAlarm);
    EXPECT_NE(w->state().alarm.find("shrank"), std::string::npos) << w->state().alarm;
    ASSERT_TRUE(w->ClearAlarm(/*forget=*/false).ok());
    const std::string under_old =
        audit::SignCheckpoint(Body(5, leaves_), old_pair.secret_key, clock_.NowMillis());
    EXPECT_EQ(w->OnReceipt(under_old, true).verdict, LogWatch::Verdict::kAlarm);
    EXPECT_NE(w->state().alarm.find("does not verify"), std::string::npos) << w->state().alarm;
  }
  // Going back to the old key is a change like any other: still held to the same start.
  std::unique_ptr<LogWatch> w = Open();
  ASSERT_TRUE(w->ClearAlarm(/*forget=*/false).ok());
  w->UseLogKey(old_key);
  EXPECT_FALSE(w->held_key().has_value()) << "the checkpoint held was verified under it";
  EXPECT_EQ(w->state().size, 5u);
}

// A kept checkpoint that does not verify under the key kept with it (the file was changed) is
// an alarm, not a starting point.
TEST_F(LogWatchTest, AKeptCheckpointThatNoLongerVerifiesIsAnAlarmNotAStart) {
  { Holding5(); }
  const std::string path = tmp_.path() + "/log_watch.json";
  Result<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  const std::string vkey = audit::note::FormatVerifierKey(log_key_);
  NewLogKey();
  std::string changed = *text;
  changed.replace(changed.find(vkey), vkey.size(), audit::note::FormatVerifierKey(log_key_));
  ASSERT_TRUE(WriteFileAtomic(path, changed).ok());
  std::unique_ptr<LogWatch> w = Open();
  ASSERT_TRUE(w->alarmed());
  EXPECT_NE(w->state().alarm.find("does not verify"), std::string::npos) << w->state().alarm;
  EXPECT_TRUE(w->state().checkpoint.empty());
}

TEST_F(LogWatchTest, ASmallerCheckpointIsALogThatShrank) {
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_EQ(w->OnReceipt(Note(4, leaves_), true).verdict, LogWatch::Verdict::kAlarm);
  EXPECT_NE(w->state().alarm.find("shrank"), std::string::npos) << w->state().alarm;
}

TEST_F(LogWatchTest, AProofOfARewrittenLogRaisesTheAlarm) {
  std::unique_ptr<LogWatch> w = Holding5();
  const std::string seven = Note(7, forked_);
  ASSERT_EQ(w->OnReceipt(seven, true).verdict, LogWatch::Verdict::kNeedProof);
  const Status s = w->OnConsistency(5, seven, Proof(5, 7, forked_));
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  ASSERT_TRUE(w->alarmed());
  EXPECT_NE(w->state().alarm.find("not consistent"), std::string::npos) << w->state().alarm;
  EXPECT_EQ(w->state().size, 5u);
}

TEST_F(LogWatchTest, ABrokerThatCannotProveItsLogRaisesTheAlarm) {
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_FALSE(w->OnConsistency(5, "", {}, "no checkpoint of size 5").ok());
  ASSERT_TRUE(w->alarmed());
  EXPECT_NE(w->state().alarm.find("no checkpoint of size 5"), std::string::npos);
}

TEST_F(LogWatchTest, AnAnswerForASizeNoLongerHeldIsIgnored) {
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_EQ(w->OnConsistency(3, Note(7, leaves_), Proof(3, 7, leaves_)).code(), Code::kUnavailable);
  EXPECT_FALSE(w->alarmed());
  EXPECT_EQ(w->state().size, 5u);
}

TEST_F(LogWatchTest, AStaleAcceptedCheckpointRaisesTheAlarmAStaleStatusDoesNot) {
  std::unique_ptr<LogWatch> w = Open();
  const int64_t hour = 3600 * 1000;
  // An idle broker's latest checkpoint, given again with a STATUS, may be old.
  EXPECT_EQ(w->OnReceipt(Note(5, leaves_, hour), false).verdict, LogWatch::Verdict::kAccept);
  // An ACCEPTED's was signed for it: an hour off this agency's clock is not this broker's now.
  EXPECT_EQ(w->OnReceipt(Note(5, leaves_, hour), true).verdict, LogWatch::Verdict::kAlarm);
  EXPECT_NE(w->state().alarm.find("from this agency's clock"), std::string::npos);
}

TEST_F(LogWatchTest, ACheckpointSignedBeforeTheOneHeldRaisesTheAlarm) {
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_EQ(w->OnReceipt(Note(7, leaves_, 60 * 1000), true).verdict, LogWatch::Verdict::kAlarm);
  EXPECT_NE(w->state().alarm.find("before the one of size 5"), std::string::npos)
      << w->state().alarm;
}

TEST_F(LogWatchTest, CosignaturesOverdueRaiseTheAlarm) {
  crypto::SignKeyPair witness = crypto::GenerateSignKeyPair();
  Result<audit::note::VerifierKey> wk = audit::note::MakeVerifierKey(
      "witness.example", audit::note::kTypeCosignatureV1, witness.public_key);
  ASSERT_TRUE(wk.ok());
  config_.witnesses = {*wk};
  config_.witnesses_required = 1;
  config_.cosignature_delay_ms = 60 * 1000;
  auto cosigned = [&](uint64_t size) {
    const std::string text = audit::FormatCheckpoint(Body(size, leaves_));
    const audit::note::Signature sig =
        audit::note::Cosign(text, "witness.example", witness.secret_key,
                            static_cast<uint64_t>(clock_.NowMillis() / 1000));
    Result<std::string> note = audit::AddSignatures(Note(size, leaves_), {&sig, 1});
    EXPECT_TRUE(note.ok());
    return *note;
  };
  std::unique_ptr<LogWatch> w = Holding5();
  EXPECT_EQ(w->state().uncovered_size, 5u);
  clock_.Advance(30 * 1000);
  w->CheckCosignatures();
  EXPECT_FALSE(w->alarmed()) << "within the delay";
  // The latest cosigned checkpoint (CONSISTENCY size 0) covers what is held.
  ASSERT_TRUE(w->OnConsistency(5, cosigned(5), {}).ok());
  EXPECT_EQ(w->state().cosigned_size, 5u);
  EXPECT_EQ(w->state().uncovered_since_ms, 0);
  const std::string seven = Note(7, leaves_);
  ASSERT_EQ(w->OnReceipt(seven, true).verdict, LogWatch::Verdict::kNeedProof);
  ASSERT_TRUE(w->OnConsistency(5, seven, Proof(5, 7, leaves_)).ok());
  clock_.Advance(61 * 1000);
  w->CheckCosignatures();
  ASSERT_TRUE(w->alarmed());
  EXPECT_NE(w->state().alarm.find("covers size 7"), std::string::npos) << w->state().alarm;
}

// ---- A real nrm-agent against a broker double whose log misbehaves, and the real broker. ----

constexpr char kFastTimers[] =
    "answer_timeout_s = 1\nconfirm_after_s = 2\nearlier_step_wait_s = 2\n";

class LogWatchDaemonTest : public testing::DaemonFixture {
 protected:
  // The scenario only: each test starts its double, or the real broker.
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

  // A double that accepts every SEND with a receipt of its own log.
  void StartAcceptingDouble() {
    double_ = std::make_unique<BrokerDouble>(
        scenario_, [](BrokerDouble& d, const transport::Incoming& in) {
          if (FrameText(in.frames[0]) == "SEND" && in.frames.size() == 2) {
            d.Reply(in.routing_id, d.Accepted(BrokerDouble::MessageIdOf(in.frames[1])));
          }
        });
  }

  std::string Offer(const std::string& name) {
    const std::string file = WriteJson(name + ".json", VictimFile(name, "\"shelter\""));
    Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--json"});
    EXPECT_EQ(o.code, 0) << o.out;
    return Field(o.out, "message_id");
  }
  // The state of step `id` in the police's outbox.
  std::string StateOf(const std::string& id) {
    const Cli show = Run(kPolice, {"show", id, "--json"});
    return Field(show.out, "status");
  }
  bool AtTheBroker(const std::string& id) {
    return PollUntil([&] {
      const std::string s = StateOf(id);
      return s == "at the broker" || s == "delivered";
    });
  }
  // Runs `action` on the double's thread and waits until it ran.
  void OnDouble(std::function<void(BrokerDouble&)> action) {
    std::atomic<bool> done{false};
    double_->Post([&](BrokerDouble& d) {
      action(d);
      done = true;
    });
    ASSERT_TRUE(PollUntil([&] { return done.load(); }));
  }

  std::unique_ptr<BrokerDouble> double_;
};

TEST_F(LogWatchDaemonTest, ControlAGrowingLogIsProvedAndEveryReceiptCounts) {
  StartAcceptingDouble();
  StartAgent(kPolice);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Offer("CanaryGrow" + std::to_string(i)));
    ASSERT_TRUE(AtTheBroker(ids.back())) << StateOf(ids.back()) << Log(kPolice);
  }
  EXPECT_GE(double_->Count("CONSISTENCY"), 2u) << "each larger checkpoint is proved";
  const Cli status = Run(kPolice, {"status"});
  EXPECT_EQ(status.code, 0) << status.out;
  // Ten leaves of the double's own, then one per accepted SEND (a resend counts again).
  EXPECT_TRUE(std::regex_search(status.out, std::regex("size 1[3-9] verified"))) << status.out;
  EXPECT_EQ(status.out.find("ALARM"), std::string::npos) << status.out;
  EXPECT_TRUE(std::filesystem::exists(DataDir(kPolice) + "/log.checkpoint"));
}

TEST_F(LogWatchDaemonTest, AForkedLogRaisesTheAlarmAndItsReceiptsDoNotCount) {
  StartAcceptingDouble();
  StartAgent(kPolice);
  const std::string first = Offer("CanaryFork1");
  ASSERT_TRUE(AtTheBroker(first)) << Log(kPolice);
  // The operator rewrites an old record, keeps signing: the next receipt's checkpoint is not
  // an extension of the one the police's agent holds.
  OnDouble([](BrokerDouble& d) { d.RewriteLeaf(3); });
  const std::string second = Offer("CanaryFork2");
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("ALARM: the broker's audit log") != std::string::npos;
  })) << Log(kPolice);
  EXPECT_NE(Log(kPolice).find("not consistent"), std::string::npos) << Log(kPolice);
  EXPECT_EQ(StateOf(second), "waiting to send") << "its receipt does not count";
  Cli status = Run(kPolice, {"status"});
  EXPECT_EQ(status.code, 1) << status.out;
  EXPECT_NE(status.out.find("ALARM: the broker's audit log"), std::string::npos) << status.out;
  // Kept across a restart.
  StopAgent(kPolice);
  StartAgent(kPolice);
  status = Run(kPolice, {"status", "--json"});
  EXPECT_EQ(status.code, 1) << status.out;
  EXPECT_NE(status.out.find("not consistent"), std::string::npos) << status.out;
  // An operator who knows why lets the broker's receipts count again, from a new start.
  const Cli cleared = Run(kPolice, {"clear-alarm", "--forget"});
  EXPECT_EQ(cleared.code, 0) << cleared.out;
  const std::string third = Offer("CanaryFork3");
  EXPECT_TRUE(AtTheBroker(third)) << StateOf(third) << Log(kPolice);
  EXPECT_EQ(Run(kPolice, {"status"}).code, 0);
}

TEST_F(LogWatchDaemonTest, ALogThatShrankRaisesTheAlarm) {
  StartAcceptingDouble();
  StartAgent(kPolice);
  for (int i = 0; i < 2; ++i) {
    const std::string id = Offer("CanaryShrink" + std::to_string(i));
    ASSERT_TRUE(AtTheBroker(id)) << Log(kPolice);
  }
  OnDouble([](BrokerDouble& d) { d.Truncate(10); });  // the police held size 12
  const std::string third = Offer("CanaryShrink2");
  ASSERT_TRUE(PollUntil([&] { return Log(kPolice).find("shrank") != std::string::npos; }))
      << Log(kPolice);
  EXPECT_EQ(StateOf(third), "waiting to send");
  EXPECT_EQ(Run(kPolice, {"status"}).code, 1);
}

TEST_F(LogWatchDaemonTest, TheRealBrokerProvesItsLogAndASendersRecord) {
  StartBroker();
  StartAgent(kPolice);
  StartAgent(kShelterA);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Offer("CanaryProve" + std::to_string(i)));
    ASSERT_TRUE(AtTheBroker(ids.back())) << Log(kPolice);
  }
  Cli status = Run(kPolice, {"status"});
  EXPECT_EQ(status.code, 0) << status.out << Log(kPolice);
  EXPECT_NE(status.out.find("verified (signed"), std::string::npos) << status.out;
  // The inclusion proof of the police's first step, checked as anyone with the log's vkey
  // would (nrm audit check-proof).
  const Cli proof = Run(kPolice, {"prove", ids.front()});
  ASSERT_EQ(proof.code, 0) << proof.out << Log(kPolice);
  Result<audit::note::VerifierKey> log_key =
      audit::LogVerifierKey(tools::kScenarioLogOrigin, scenario_.broker.sign_public);
  ASSERT_TRUE(log_key.ok());
  Result<audit::CheckedProof> checked = audit::CheckProof(proof.out, *log_key);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString() << "\n" << proof.out;
  EXPECT_NE(proof.out.find(ids.front()), std::string::npos);
  // Not a message the shelter sent: nothing to prove.
  const Cli other = Run(kShelterA, {"prove", ids.front()});
  EXPECT_NE(other.code, 0) << other.out;
}

// A running agent takes the log key of a newer directory (SIGHUP here; the broker's DIRECTORY
// goes the same way): the broker that signs with its new key and proves its log consistent
// with the checkpoint the agent holds keeps its receipts counting; one whose log under the new
// key is not an extension of that checkpoint raises the alarm.
class LogKeyChangeTest : public LogWatchDaemonTest {
 protected:
  // Signs directory serial 2 naming `sign` as the broker's key (and its log vkey), and has the
  // police's agent reload it.
  void PublishNewBrokerKey(const crypto::SignKeyPair& sign) {
    const std::string path = scenario_.dir + "/directory.toml";
    Result<std::string> text = ReadFile(path);
    ASSERT_TRUE(text.ok());
    std::string body(identity::SplitSignedDirectory(*text)->first);
    auto replace = [&](const std::string& from, const std::string& to) {
      const size_t at = body.find(from);
      ASSERT_NE(at, std::string::npos) << from;
      body.replace(at, from.size(), to);
    };
    auto vkey = [](ByteView key) {
      return audit::note::FormatVerifierKey(*audit::LogVerifierKey(tools::kScenarioLogOrigin, key));
    };
    replace(vkey(scenario_.broker.sign_public), vkey(sign.public_key));
    replace(ToHex(scenario_.broker.sign_public), ToHex(sign.public_key));
    replace("serial = 1\n", "serial = 2\n");
    Result<std::string> signed_text =
        identity::SignDirectory(body, path, scenario_.authority, SystemClock::Get().NowMillis());
    ASSERT_TRUE(signed_text.ok()) << signed_text.status().ToString();
    ASSERT_TRUE(WriteFileAtomic(path, *signed_text).ok());
    ASSERT_EQ(::kill(agents_[kPolice], SIGHUP), 0);
    ASSERT_TRUE(PollUntil([&] {
      return Log(kPolice).find("new log key for the broker") != std::string::npos;
    })) << Log(kPolice);
  }
};

TEST_F(LogKeyChangeTest, ABrokerWithANewKeyThatExtendsTheLogKeepsItsReceiptsCounting) {
  StartAcceptingDouble();
  StartAgent(kPolice);
  ASSERT_TRUE(AtTheBroker(Offer("CanaryKey1"))) << Log(kPolice);
  const crypto::SignKeyPair next = crypto::GenerateSignKeyPair();
  PublishNewBrokerKey(next);
  OnDouble([&](BrokerDouble& d) { d.Rekey(next); });
  const std::string second = Offer("CanaryKey2");
  ASSERT_TRUE(AtTheBroker(second)) << StateOf(second) << Log(kPolice);
  EXPECT_EQ(Log(kPolice).find("ALARM"), std::string::npos) << Log(kPolice);
  // Kept under the new key: a restart finds it verified.
  StopAgent(kPolice);
  StartAgent(kPolice);
  const Cli status = Run(kPolice, {"status"});
  EXPECT_EQ(status.code, 0) << status.out << Log(kPolice);
  Result<std::string> kept = ReadFile(DataDir(kPolice) + "/log.checkpoint");
  ASSERT_TRUE(kept.ok());
  Result<audit::note::VerifierKey> key =
      audit::LogVerifierKey(tools::kScenarioLogOrigin, next.public_key);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(audit::VerifyCheckpointNote(*kept, *key).ok());
}

TEST_F(LogKeyChangeTest, ABrokerThatRewritesItsLogUnderANewKeyRaisesTheAlarm) {
  StartAcceptingDouble();
  StartAgent(kPolice);
  ASSERT_TRUE(AtTheBroker(Offer("CanaryKeyFork1"))) << Log(kPolice);
  const crypto::SignKeyPair next = crypto::GenerateSignKeyPair();
  PublishNewBrokerKey(next);
  OnDouble([&](BrokerDouble& d) {
    d.Rekey(next);
    d.RewriteLeaf(3);
  });
  const std::string second = Offer("CanaryKeyFork2");
  ASSERT_TRUE(PollUntil([&] {
    return Log(kPolice).find("ALARM: the broker's audit log") != std::string::npos;
  })) << Log(kPolice);
  EXPECT_NE(Log(kPolice).find("not consistent"), std::string::npos) << Log(kPolice);
  EXPECT_EQ(StateOf(second), "waiting to send") << "its receipt does not count";
  EXPECT_EQ(Run(kPolice, {"status"}).code, 1);
}

// CONSISTENCY and PROVE from a raw client: malformed requests are refused through the counted
// refusal path (REFUSED with an empty message id, audited), what cannot be proved is answered
// with the reason, never with a REFUSED naming the message.
TEST_F(LogWatchDaemonTest, TheBrokerRefusesMalformedLogRequestsAndAnswersTheRest) {
  StartBroker();
  Result<identity::KeySet> keys = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  ASSERT_TRUE(keys.ok());
  Result<std::unique_ptr<transport::Client>> c = RawClient(*keys);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto ask = [&](const transport::Frames& request) {
    EXPECT_TRUE((*c)->Send(request).ok());
    Result<std::optional<transport::Frames>> r = (*c)->Receive(5000);
    EXPECT_TRUE(r.ok() && r->has_value()) << "no answer";
    return r.ok() && r->has_value() ? **r : transport::Frames{};
  };
  using transport::Frame;
  for (const transport::Frames& bad :
       {transport::Frames{Frame("CONSISTENCY"), Bytes(7, 0), Bytes(8, 0)},
        transport::Frames{Frame("PROVE"), Bytes(15, 1), Bytes(8, 0)}}) {
    const transport::Frames r = ask(bad);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(FrameText(r[0]), "REFUSED");
    EXPECT_TRUE(r[1].empty());
    EXPECT_EQ(FrameText(r[2]), "invalid_argument") << FrameText(r[3]);
  }
  const transport::Frames far = ask({Frame("CONSISTENCY"), Bytes(8, 0), audit::Be64Key(1000000)});
  ASSERT_EQ(far.size(), 4u);
  EXPECT_EQ(FrameText(far[0]), "CONSISTENCY");
  EXPECT_TRUE(far[2].empty());
  EXPECT_NE(FrameText(far[3]).find("no checkpoint of size 1000000"), std::string::npos)
      << FrameText(far[3]);
  const Bytes unknown(16, 0x42);
  const transport::Frames proof = ask({Frame("PROVE"), unknown, Bytes(8, 0)});
  ASSERT_EQ(proof.size(), 4u);
  EXPECT_EQ(FrameText(proof[0]), "PROOF");
  EXPECT_EQ(proof[1], unknown);
  EXPECT_TRUE(proof[2].empty());
  EXPECT_NE(FrameText(proof[3]).find("no accepted message of yours"), std::string::npos);
  c->reset();
  uint64_t refused = 0;
  for (const audit::AuditRecord& r : StopAndReadAudit()) {
    if (r.event == audit::AuditEvent::kRefused && r.rule == "invalid_argument") refused += r.count;
  }
  EXPECT_EQ(refused, 2u) << "both malformed requests audited";
}

}  // namespace
}  // namespace nrm
