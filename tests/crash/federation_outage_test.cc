// The partner broker down for NRM_OUTAGE_S seconds (default 20, so that CI stays fast; issue 16
// asks for ten minutes: NRM_OUTAGE_S=600 runs that, outside ctest's time limit). Cross-border
// messages sent during the outage wait at the Thai broker, whose link status shows them queued
// with the oldest one's time; domestic messages are sent and received all through the outage;
// when the Cambodian broker returns, each cross-border message arrives once, in order, and its
// sender gets the relay receipt. The brokers run with the shipped defaults (relay_timeout 10 s),
// as an operator's would.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <iostream>
#include <mutex>
#include <set>

#include "tests/crash/federation_agents.h"

namespace nrm::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr char kThNgo[] = "TH.NGO.RETURN-CRI";
constexpr char kKhNgo[] = "KH.NGO.PP-CARE";
constexpr char kThPolice[] = "TH.POLICE.CRI-ATU";
constexpr char kThShelter[] = "TH.SHELTER.KREDTRAKARN";

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

class PartnerOutageTest : public FederationAgentsFixture {
 protected:
  std::string ExtraBrokerConfig() const override { return ""; }

  // One message of `kind` from `a` to `to`, on a case of its kind (cross-border or domestic).
  static wire::Sealed Seal(agent::Agent& a, const std::string& to, wire::Kind kind,
                           const std::string& name) {
    const uint8_t case_ref = kind == wire::Kind::ReferralOffer ? 4 : 3;
    Result<std::vector<wire::Sealed>> s =
        a.Seal({to}, kind, Bytes(16, case_ref), wire::Handling::H1, Payload(name));
    EXPECT_TRUE(s.ok() && s->size() == 1) << s.status().ToString();
    return s.ok() && s->size() == 1 ? s->front() : wire::Sealed{};
  }
};

// What one agent's application was given, in order, each message once (by id).
struct Inbox {
  std::mutex mu;
  std::vector<Bytes> first_seen;  // in delivery order
  std::set<Bytes> seen;
  int repeats = 0;

  bool Holds(const Bytes& id) {
    std::lock_guard<std::mutex> lock(mu);
    return seen.count(id) > 0;
  }
};

// Receives for `a` until `stop`, acknowledging each message after recording it.
void ReceiveInto(agent::Agent& a, Inbox& inbox, const std::atomic<bool>& stop) {
  while (!stop) {
    Result<std::optional<agent::Received>> r = a.Receive(200);
    if (!r.ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its broker is down
      continue;
    }
    if (!r->has_value()) continue;
    {
      std::lock_guard<std::mutex> lock(inbox.mu);
      if (inbox.seen.insert((*r)->message_id).second) {
        inbox.first_seen.push_back((*r)->message_id);
      } else {
        ++inbox.repeats;
      }
    }
    (void)a.Acknowledge((*r)->message_id);
  }
}

// Stops and joins the receiving threads however the test ends (an ASSERT returns early).
struct ThreadsStopper {
  std::atomic<bool>& stop;
  std::vector<std::thread>& threads;
  ~ThreadsStopper() { StopAll(); }
  void StopAll() {
    stop = true;
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

bool WaitUntil(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  while (SteadyClock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

TEST_F(PartnerOutageTest, CrossBorderMessagesWaitOutAnOutageWhileDomesticOnesFlow) {
  const int outage_s = EnvInt("NRM_OUTAGE_S", 20);
  const int cross_border = 20;  // sent at even intervals through the outage
  StartBroker("TH");
  StartBroker("KH");
  auto th = OpenAgent(kThNgo, "KH");
  auto kh = OpenAgent(kKhNgo, "TH");
  auto police = OpenAgent(kThPolice, "KH");
  auto shelter = OpenAgent(kThShelter, "KH");
  ASSERT_TRUE(th && kh && police && shelter);
  std::atomic<bool> stop{false};
  Inbox kh_inbox, shelter_inbox;
  SteadyClock::time_point outage_started;
  std::mutex rounds_mu;
  std::vector<double> rounds_done_at;  // seconds since the outage began
  double slowest_round_s = 0;
  std::atomic<bool> domestic_failed{false};
  std::vector<std::thread> threads;
  ThreadsStopper stopper{stop, threads};
  threads.emplace_back(ReceiveInto, std::ref(*kh), std::ref(kh_inbox), std::cref(stop));
  threads.emplace_back(ReceiveInto, std::ref(*shelter), std::ref(shelter_inbox), std::cref(stop));

  // The link works: one message crosses before the outage.
  wire::Sealed before = Seal(*th, kKhNgo, wire::Kind::RepatriationRequest, "Before");
  ASSERT_TRUE(SubmitUntilAccepted(*th, before));
  ASSERT_TRUE(WaitUntil([&] { return kh_inbox.Holds(before.message_id); }, 15000));

  // Domestic traffic all through the outage and after it: the police refer to the shelter
  // again and again, and each referral must reach it. Rounds are timed against the outage.
  outage_started = SteadyClock::now();
  threads.emplace_back([&] {
    for (int i = 0; !stop && !domestic_failed; ++i) {
      const auto sent_at = SteadyClock::now();
      wire::Sealed s =
          Seal(*police, kThShelter, wire::Kind::ReferralOffer, "D" + std::to_string(i));
      if (!SubmitUntilAccepted(*police, s)) return void(domestic_failed = true);
      if (!WaitUntil([&] { return shelter_inbox.Holds(s.message_id); }, 30000)) {
        ADD_FAILURE() << "domestic referral " << i << " did not arrive within 30 s, "
                      << SecondsSince(outage_started) << " s into the outage";
        return void(domestic_failed = true);
      }
      {
        std::lock_guard<std::mutex> lock(rounds_mu);
        rounds_done_at.push_back(SecondsSince(outage_started));
        slowest_round_s = std::max(slowest_round_s, SecondsSince(sent_at));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  KillBroker("KH");
  // Cross-border messages through the outage: each accepted by the Thai broker at once and
  // queued there for Cambodia, the oldest one's time shown until the partner returns.
  std::vector<wire::Sealed> waiting;
  std::string oldest;
  for (int i = 0; i < cross_border; ++i) {
    const auto due =
        outage_started + std::chrono::milliseconds(int64_t(outage_s) * 1000 * i / cross_border);
    std::this_thread::sleep_until(due);
    waiting.push_back(Seal(*th, kKhNgo, wire::Kind::RepatriationRequest, "W" + std::to_string(i)));
    ASSERT_TRUE(SubmitUntilAccepted(*th, waiting.back()));
    const size_t n = waiting.size();
    ASSERT_TRUE(WaitForLink("TH", "KH", [&](const json::Json& l) {
      return l["queued"] == n && l["connected"] == false && l["oldest_queued"].is_string();
    })) << LinkStatus("TH", "KH").dump();
    const std::string now_oldest = LinkStatus("TH", "KH")["oldest_queued"].get<std::string>();
    if (oldest.empty()) oldest = now_oldest;
    EXPECT_EQ(now_oldest, oldest) << "the oldest queued message is still the first";
  }
  std::this_thread::sleep_until(outage_started + std::chrono::seconds(outage_s));
  {
    std::lock_guard<std::mutex> lock(kh_inbox.mu);
    EXPECT_EQ(kh_inbox.first_seen.size(), 1u) << "something crossed while Cambodia was down";
  }
  const double outage_seconds = SecondsSince(outage_started);

  // Cambodia's broker returns: each waiting message arrives once, in the order sent.
  StartBroker("KH");
  const auto returned = SteadyClock::now();
  const bool all_arrived = WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(kh_inbox.mu);
        return kh_inbox.first_seen.size() == waiting.size() + 1;
      },
      60000);
  const double arrival_s = SecondsSince(returned);
  EXPECT_TRUE(all_arrived) << kh_inbox.first_seen.size() - 1 << " of " << waiting.size()
                           << " arrived";
  // The sender gets the relay receipt of each, which its agent verifies.
  std::set<Bytes> receipts;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (receipts.size() < waiting.size() + 1 && SteadyClock::now() < deadline) {
    Result<std::optional<agent::Received>> r = th->Receive(200);
    if (!r.ok() || !r->has_value()) continue;
    EXPECT_EQ((*r)->type, agent::Received::Type::kRelayReceipt) << (*r)->refusal.ToString();
    receipts.insert((*r)->message_id);
    (void)th->Acknowledge((*r)->message_id);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));  // time for a repeat to show
  stopper.StopAll();
  ASSERT_FALSE(domestic_failed);

  ASSERT_EQ(kh_inbox.first_seen.size(), waiting.size() + 1);
  EXPECT_EQ(kh_inbox.first_seen[0], before.message_id);
  for (size_t i = 0; i < waiting.size(); ++i) {
    EXPECT_EQ(kh_inbox.first_seen[i + 1], waiting[i].message_id) << "out of order at " << i;
  }
  // Nothing was lost in a crash here: a repeat could only be the one sent before the kill,
  // whose acknowledgement the kill may have lost.
  EXPECT_LE(kh_inbox.repeats, 1);
  EXPECT_EQ(receipts.size(), waiting.size() + 1) << "relay receipts the sender verified";
  EXPECT_TRUE(WaitForLink("TH", "KH", [&](const json::Json& l) {
    return l["queued"] == 0 && l["connected"] == true && l["oldest_queued"].is_null() &&
           l["relayed"] == waiting.size() + 1;
  })) << LinkStatus("TH", "KH").dump();
  // Domestic referrals kept arriving in every fifth of the outage.
  for (int fifth = 0; fifth < 5; ++fifth) {
    const double from = outage_seconds * fifth / 5, to = outage_seconds * (fifth + 1) / 5;
    EXPECT_TRUE(std::any_of(rounds_done_at.begin(), rounds_done_at.end(),
                            [&](double t) { return t >= from && t < to; }))
        << "no domestic referral arrived between " << from << " s and " << to
        << " s into the outage";
  }
  std::cout << "[fed-outage] Cambodia down " << outage_seconds << " s: " << waiting.size()
            << " cross-border messages waited, all arrived " << arrival_s
            << " s after it returned; "
            << std::count_if(rounds_done_at.begin(), rounds_done_at.end(),
                             [&](double t) { return t < outage_seconds; })
            << " domestic referrals sent and received during the outage, " << rounds_done_at.size()
            << " in all (slowest " << slowest_round_s << " s)\n"
            << std::flush;

  StopBroker("TH");
  StopBroker("KH");
  ExpectAuditVerifies("TH");
  ExpectAuditVerifies("KH");
  std::map<Bytes, int> kh_accepted;
  for (const audit::AuditRecord& r : AuditOf("KH")) {
    if (r.event == audit::AuditEvent::kAccepted) ++kh_accepted[r.message_id];
  }
  for (const wire::Sealed& s : waiting) EXPECT_EQ(kh_accepted[s.message_id], 1);
}

}  // namespace
}  // namespace nrm::testing
