// `nrm witness` as a real process over HTTP: the answers on the wire, and kill -9 at the worst
// moment (after the state is stored, before the answer) and at random moments under load, which
// must never make it cosign two inconsistent checkpoints of one log.
#include "tests/testing/witness_process.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "audit/witness/add_checkpoint.h"
#include "audit/witness/client.h"
#include "audit/witness/config.h"
#include "tests/testing/metrics_http.h"
#include "tests/witness/witness_test_util.h"

namespace nrm::audit::witness {
namespace {

using testing::SimLog;

class WitnessProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  PostResult Post(const std::string& body) {
    WitnessClient client({witness_.url()}, 5000);
    return client.PostAll({body})[0];
  }

  nrm::testing::TempDir dir_;
  SimLog log_{"nrm.th/audit/v1", 40};
  nrm::testing::WitnessProcess witness_{
      dir_.path(), "w1.example/witness", {note::FormatVerifierKey(log_.key())}};
};

TEST_F(WitnessProcessTest, AnswersAddCheckpointOverHttp) {
  ASSERT_TRUE(witness_.Start());
  PostResult r = Post(log_.Request(0, 5));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  const note::VerifierKey wkey = *note::ParseVerifierKey(witness_.vkey());
  Result<note::Note> n = note::ParseNote(log_.Note(5) + r.body);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(note::OpenNote(*n, std::vector<note::VerifierKey>{wkey}).ok());

  r = Post(log_.Request(0, 7));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, kTreeSizeContentType);
  EXPECT_EQ(r.body, "5\n");
  EXPECT_EQ(Post(log_.Fork(2).Request(5, 7)).status, 422);
  EXPECT_EQ(Post(SimLog("nrm.zz/audit/v1", 4).Request(0, 3)).status, 404);
  EXPECT_EQ(Post(SimLog("nrm.th/audit/v1", 4).Request(0, 3)).status, 403);
  EXPECT_EQ(Post("old 1\n\n" + log_.Note(0)).status, 400);
  EXPECT_EQ(Post(std::string(kMaxRequestBytes + 10, 'x')).status, 413);
  WitnessClient elsewhere({witness_.url() + "/elsewhere"}, 5000);
  EXPECT_EQ(elsewhere.PostAll({log_.Request(5, 7)})[0].status, 404);
  EXPECT_EQ(Post(log_.Request(5, 7)).status, 200);
  EXPECT_TRUE(witness_.Stop());  // SIGTERM: exit 0
  // A witness that is down: the client says why, and nothing else happens.
  r = Post(log_.Request(7, 9));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(WitnessProcessTest, ServesItsAnswersAsMetrics) {
  const uint16_t port = nrm::testing::FreePort();
  Result<std::string> config = ReadFile(witness_.config());
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(WriteFileAtomic(witness_.config(), *config + "metrics_listen = \"127.0.0.1:" +
                                                     std::to_string(port) + "\"\n")
                  .ok());
  ASSERT_TRUE(witness_.Start());
  ASSERT_EQ(Post(log_.Request(0, 5)).status, 200);
  ASSERT_EQ(Post(log_.Request(0, 7)).status, 409);
  ASSERT_EQ(Post(SimLog("nrm.zz/audit/v1", 4).Request(0, 3)).status, 404);
  const std::string m =
      nrm::testing::MetricsWhen(port, "nrm_witness_add_checkpoint_total{code=\"404\"}", 1);
  EXPECT_EQ(nrm::testing::MetricValue(m, "nrm_witness_add_checkpoint_total{code=\"200\"}"), 1) << m;
  EXPECT_EQ(nrm::testing::MetricValue(m, "nrm_witness_add_checkpoint_total{code=\"409\"}"), 1);
  EXPECT_EQ(nrm::testing::MetricValue(m, "nrm_witness_add_checkpoint_total{code=\"422\"}"), 0);
  EXPECT_EQ(nrm::testing::MetricValue(m, "nrm_witness_logs"), 1);
  EXPECT_NE(m.find("nrm_build_info{program=\"nrm-witness\""), std::string::npos);
  EXPECT_TRUE(nrm::testing::PrometheusAccepts(m, dir_.path()));
  // Metrics are served on a loopback address only: anything else is a config error.
  witness_.Stop();
  ASSERT_TRUE(WriteFileAtomic(witness_.config(), *config + "metrics_listen = \"0.0.0.0:9471\"\n").ok());
  Result<WitnessConfig> refused = LoadWitnessConfig(witness_.config());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("loopback"), std::string::npos)
      << refused.status().message();
}

// The witness stores checkpoint A (size 5) and is killed before it answers. The log that
// equivocates then offers fork B, from zero or as growth: the witness, restarted, remembers A
// and refuses B whatever the log claims; A's continuation is cosigned.
TEST_F(WitnessProcessTest, KillNineBetweenCheckAndAnswerNeverCosignsAFork) {
  ASSERT_TRUE(witness_.Start("kill-after-persist:1"));
  const PostResult lost = Post(log_.Request(0, 5));
  EXPECT_EQ(lost.status, 0) << "the witness answered: " << lost.body;
  Result<int> code = witness_.WaitExit(5000);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 128 + SIGKILL);

  ASSERT_TRUE(witness_.Start());
  const SimLog fork = log_.Fork(3);
  PostResult r = Post(fork.Request(0, 5));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "5\n");                         // it kept A, whose cosignature nobody got
  EXPECT_EQ(Post(fork.Request(5, 5)).status, 409);  // same size, another root
  EXPECT_EQ(Post(fork.Request(5, 9)).status, 422);  // growth from B's 5, not A's
  EXPECT_EQ(Post(log_.Request(5, 9)).status, 200);  // A's continuation
  EXPECT_TRUE(witness_.Stop());
  Result<std::string> latest = LatestCosigned(witness_.dir() + "/data", log_.origin());
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->starts_with(log_.origin() + "\n9\n" + ToBase64(log_.Root(9))));
}

// Two clients of one equivocating log push forks A and B (common up to leaf 10) as fast as they
// can while the witness is killed (-9) and restarted again and again. Whatever survives, the
// witness never cosigned a checkpoint of A past the fork and one of B past the fork.
TEST_F(WitnessProcessTest, RandomKillsUnderLoadNeverCosignTwoForks) {
  constexpr uint64_t kFork = 10;
  const SimLog fork_b = log_.Fork(kFork);
  ASSERT_TRUE(witness_.Start());
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<char, uint64_t>> cosigned;  // (fork, size)
  std::atomic<uint64_t> answers{0};
  auto push = [&](const SimLog& log, char name, unsigned seed) {
    WitnessClient client({witness_.url()}, 2000);
    std::mt19937 rng(seed);
    uint64_t old = 0;
    while (!stop.load()) {
      const uint64_t size = std::min<uint64_t>(40, old + 1 + rng() % 3);
      const PostResult r = client.PostAll({log.Request(old, size)})[0];
      if (r.status != 0) ++answers;
      if (r.status == 200) {
        std::lock_guard<std::mutex> lock(mu);
        cosigned.push_back({name, size});
        old = size == 40 ? 0 : size;  // start over: the witness answers 409 with its size
      } else if (r.status == 409 && r.content_type == kTreeSizeContentType) {
        const Result<uint64_t> held = ParseConflictSize(r.body);
        old = held.ok() && *held <= 40 ? *held : 0;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(r.status == 0 ? 20 : 2));
      }
    }
  };
  std::thread a(push, std::cref(log_), 'A', 1);
  std::thread b(push, std::cref(fork_b), 'B', 2);
  std::mt19937 rng(3);
  for (int round = 0; round < 8; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 150));
    witness_.Kill();
    ASSERT_TRUE(witness_.Start());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  a.join();
  b.join();
  EXPECT_TRUE(witness_.Stop());
  bool a_past_fork = false, b_past_fork = false;
  for (const auto& [name, size] : cosigned) {
    if (size > kFork) (name == 'A' ? a_past_fork : b_past_fork) = true;
  }
  EXPECT_FALSE(a_past_fork && b_past_fork) << "the witness cosigned both forks";
  EXPECT_GT(cosigned.size(), 0u);
  EXPECT_GT(answers.load(), 20u);
}

}  // namespace
}  // namespace nrm::audit::witness
