// kill -9 of the broker at random moments while four senders push messages to one recipient;
// restart; repeat. Every message acknowledged to a sender must reach the recipient, none twice
// to its application, per-sender order must hold, and the audit log must verify afterwards.
// NRM_CRASH_MESSAGES and NRM_CRASH_ROUNDS scale it up on demand.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "agent/agent.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm {
namespace {

const std::vector<tools::ScenarioAgency> kAgencies = {
    {"TH.POLICE.CRI-ATU", "police", "TH", "Chiang Rai", "Chiang Rai ATU"},
    {"TH.POLICE.CMI-ATU", "police", "TH", "Chiang Mai", "Chiang Mai ATU"},
    {"TH.POLICE.TAK-ATU", "police", "TH", "Tak", "Tak ATU"},
    {"TH.POLICE.SKA-ATU", "police", "TH", "Songkhla", "Songkhla ATU"},
    {"TH.SHELTER.KREDTRAKARN", "shelter", "TH", "Nonthaburi", "Kredtrakarn"},
};
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

class BrokerCrashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  void SetUp() override {
    Result<tools::Scenario> s = tools::CreateScenario(tmp_.path(), kAgencies);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scenario_ = std::move(*s);
    StartBroker();
  }

  void StartBroker() {
    std::remove(scenario_.endpoint_file.c_str());
    Result<pid_t> pid =
        tools::Spawn({testing::BinDir() + "/nrm-broker", "--config", scenario_.broker_config},
                     tmp_.path() + "/logs/broker.out");
    ASSERT_TRUE(pid.ok());
    broker_pid_ = *pid;
    ASSERT_TRUE(tools::WaitForFile(scenario_.endpoint_file, 10000).ok())
        << ReadFile(tmp_.path() + "/logs/broker.out").status().ToString();
    ASSERT_TRUE(scenario_.PinBrokerEndpoint().ok());
  }

  std::unique_ptr<agent::Agent> OpenAgent(const std::string& id) {
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(scenario_.AgentConfig(id));
    EXPECT_TRUE(c.ok());
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*c, SystemClock::Get(), 10000);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  testing::TempDir tmp_;
  tools::Scenario scenario_;
  pid_t broker_pid_ = -1;
};

TEST_F(BrokerCrashTest, NothingAcknowledgedIsLostNorDeliveredTwice) {
  const int total = EnvInt("NRM_CRASH_MESSAGES", 10000);
  const int min_kills = EnvInt("NRM_CRASH_ROUNDS", 5);
  const int per_sender = total / 4;

  std::mutex mu;
  std::map<Bytes, std::pair<int, int>> accepted;  // id -> (sender index, sequence number)
  std::atomic<int> senders_done{0};
  std::atomic<bool> failed{false};

  auto sender = [&](int index) {
    auto a = OpenAgent(kAgencies[index].id);
    if (!a) return void(failed = true);
    for (int i = 0; i < per_sender && !failed; ++i) {
      Result<Bytes> payload = wire::PayloadFromJson(R"({"case": {"reason_for_referral": ")" +
                                                    std::to_string(i) + R"("}})");
      // The outbox's contract: seal once, submit the same envelope until it is accepted.
      Result<std::vector<wire::Sealed>> sealed = a->Seal(
          {kShelter}, wire::Kind::ReferralOffer, Bytes(16, 1), wire::Handling::H1, *payload);
      if (!sealed.ok() || sealed->size() != 1) return void(failed = true);
      for (bool sent_before = false;; sent_before = true) {
        Result<agent::SendOutcome> out = a->Submit(sealed->front(), 3000, sent_before);
        if (out.ok() && out->accepted) break;
        if (out.ok() && !out->accepted) {
          ADD_FAILURE() << "refused: " << out->code << " " << out->reason;
          return void(failed = true);
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      accepted[sealed->front().message_id] = {index, i};
    }
    senders_done++;
  };

  std::set<Bytes> seen;              // what the application was given, once each
  std::vector<int> last_seq(4, -1);  // per sender, the last sequence the application saw
  int transport_duplicates = 0;
  auto recipient = [&] {
    auto a = OpenAgent(kShelter);
    if (!a) return void(failed = true);
    while (!failed) {
      Result<std::optional<agent::Received>> r = a->Receive(500);
      if (!r.ok() || !r->has_value()) {
        std::lock_guard<std::mutex> lock(mu);
        if (senders_done == 4 && seen.size() == accepted.size()) return;
        continue;
      }
      const Bytes id = (*r)->message_id;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!seen.insert(id).second) {
          ++transport_duplicates;  // redelivered after a crash: dropped by message id
        } else {
          // Order: a message is given to the application only after every earlier one of its
          // sender. Its sequence number is known once the sender saw it accepted; a message
          // delivered before the sender heard back is checked when the sender records it.
          auto it = accepted.find(id);
          if (it != accepted.end()) {
            auto [s, seq] = it->second;
            EXPECT_GT(seq, last_seq[s]) << "out of order from sender " << s;
            last_seq[s] = std::max(last_seq[s], seq);
          }
        }
      }
      (void)a->Acknowledge(id);  // lost if the broker dies now: then it is delivered again
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(sender, i);
  threads.emplace_back(recipient);

  // Kill when the run crosses random points of its progress, so the kills fall at random
  // moments of a run that still finishes in bounded time.
  std::mt19937 rng(std::random_device{}());
  std::vector<size_t> kill_at;
  for (int i = 0; i < min_kills; ++i) kill_at.push_back(rng() % static_cast<size_t>(total));
  std::sort(kill_at.begin(), kill_at.end());
  int kills = 0;
  while (kills < min_kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 20));
    if (failed) break;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (accepted.size() < kill_at[static_cast<size_t>(kills)] && senders_done < 4) continue;
    }
    ASSERT_EQ(::kill(broker_pid_, SIGKILL), 0);
    ASSERT_TRUE(tools::WaitExit(broker_pid_, 5000).ok());
    ++kills;
    StartBroker();
  }
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(failed);

  EXPECT_EQ(accepted.size(), static_cast<size_t>(per_sender * 4));
  for (const auto& [id, where] : accepted) {
    EXPECT_TRUE(seen.count(id)) << "acknowledged message from sender " << where.first << " #"
                                << where.second << " was lost";
  }
  EXPECT_EQ(seen.size(), accepted.size()) << "delivered something never accepted";
  std::cout << "[ crash    ] " << kills << " kills, " << accepted.size() << " messages, "
            << transport_duplicates << " redeliveries dropped by id\n";

  Result<int> stopped = tools::Stop(broker_pid_, 5000);
  ASSERT_TRUE(stopped.ok() && *stopped == 0);
  broker_pid_ = -1;
  Result<pid_t> verify =
      tools::Spawn({testing::BinDir() + "/nrm", "audit", "verify", scenario_.broker_data},
                   tmp_.path() + "/logs/audit.out");
  ASSERT_TRUE(verify.ok());
  Result<int> verified = tools::WaitExit(*verify, 60000);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(*verified, 0) << *ReadFile(tmp_.path() + "/logs/audit.out");
}

}  // namespace
}  // namespace nrm
