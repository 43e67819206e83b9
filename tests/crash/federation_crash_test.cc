// kill -9 of either national broker (the Thai one or the Cambodian one, chosen at random each
// time) at random moments while two Thai agencies send cross-border messages to a Cambodian
// one; restart it; repeat (issue 16). Every message accepted to a sender must reach the
// recipient's application once, in its sender's order; both brokers' audit logs must verify;
// every relay must have its relay receipt in the Thai broker's log (pointing at the Cambodian
// broker's record of that message), and the Cambodian broker must have accepted each relay once.
// NRM_CRASH_MESSAGES and NRM_CRASH_ROUNDS scale it up on demand. Timings are printed, never
// asserted: speed is for the benchmarks.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "tests/crash/federation_agents.h"

namespace nrm::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

const std::vector<std::string> kSenders = {"TH.NGO.RETURN-CRI", "TH.SHELTER.KREDTRAKARN"};
constexpr char kRecipient[] = "KH.NGO.PP-CARE";

int64_t MillisSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

// The leaf N of a relay-receipt record's reason "KH.BROKER leaf N checkpoint ...", or -1.
int64_t ReceiptLeaf(const std::string& reason) {
  const std::string prefix = "KH.BROKER leaf ";
  if (reason.rfind(prefix, 0) != 0) return -1;
  return std::atoll(reason.c_str() + prefix.size());
}

class FederationCrashTest : public FederationAgentsFixture {};

TEST_F(FederationCrashTest, NothingAcceptedIsLostNorDeliveredTwiceWhenEitherBrokerDies) {
  const int total = EnvInt("NRM_CRASH_MESSAGES", 2000);
  const int kills_wanted = EnvInt("NRM_CRASH_ROUNDS", 5);
  const int per_sender = total / static_cast<int>(kSenders.size());
  const int expected = per_sender * static_cast<int>(kSenders.size());
  StartBroker("TH");
  StartBroker("KH");
  const auto started = SteadyClock::now();

  std::mutex mu;
  // Each message as sealed, before it is first submitted (so before any delivery of it):
  // id -> (sender index, sequence number).
  std::map<Bytes, std::pair<int, int>> sealed_ids;
  std::set<Bytes> accepted;
  std::vector<std::set<Bytes>> receipts(kSenders.size());  // relay receipts each sender verified
  std::atomic<int> senders_done{0};
  std::atomic<bool> failed{false};

  // A relay receipt the sender's broker passed on, verified by the agent and acknowledged.
  auto take_receipts = [&](agent::Agent& a, int index, int timeout_ms) {
    Result<std::optional<agent::Received>> r = a.ReceiveQuietly(timeout_ms);
    if (!r.ok() || !r->has_value()) return;
    EXPECT_EQ((*r)->type, agent::Received::Type::kRelayReceipt) << (*r)->refusal.ToString();
    EXPECT_EQ((*r)->recipients, std::vector<std::string>{"@KH"});
    (void)a.Acknowledge((*r)->message_id);
    std::lock_guard<std::mutex> lock(mu);
    receipts[static_cast<size_t>(index)].insert((*r)->message_id);
  };
  auto sender = [&](int index) {
    const std::string& id = kSenders[static_cast<size_t>(index)];
    auto a = OpenAgent(id, "KH");
    if (!a) return void(failed = true);
    for (int i = 0; i < per_sender && !failed; ++i) {
      Result<std::vector<wire::Sealed>> sealed =
          a->Seal({kRecipient}, wire::Kind::RepatriationRequest, Bytes(16, uint8_t(index + 1)),
                  wire::Handling::H1, Payload(id + " #" + std::to_string(i)));
      if (!sealed.ok() || sealed->size() != 1) {
        ADD_FAILURE() << "cannot seal: " << sealed.status().ToString();
        return void(failed = true);
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        sealed_ids[sealed->front().message_id] = {index, i};
      }
      if (!SubmitUntilAccepted(*a, sealed->front())) return void(failed = true);
      {
        std::lock_guard<std::mutex> lock(mu);
        accepted.insert(sealed->front().message_id);
      }
      take_receipts(*a, index, 0);  // those that came while Submit waited
    }
    senders_done++;
    // Every relay receipt, passed on by the Thai broker (durably queued for the sender).
    const auto deadline = SteadyClock::now() + std::chrono::seconds(120);
    while (!failed && SteadyClock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (receipts[static_cast<size_t>(index)].size() == static_cast<size_t>(per_sender)) break;
      }
      take_receipts(*a, index, 500);
    }
  };

  std::set<Bytes> seen;  // what the application was given, once each
  std::vector<int> last_seq(kSenders.size(), -1);
  int redeliveries = 0;
  auto recipient = [&] {
    auto a = OpenAgent(kRecipient, "TH");
    if (!a) return void(failed = true);
    std::optional<SteadyClock::time_point> give_up;
    while (!failed) {
      Result<std::optional<agent::Received>> r = a->Receive(500);
      if (!r.ok() || !r->has_value()) {
        if (!r.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::lock_guard<std::mutex> lock(mu);
        if (seen.size() == static_cast<size_t>(expected)) return;
        if (senders_done == static_cast<int>(kSenders.size())) {
          if (!give_up) give_up = SteadyClock::now() + std::chrono::seconds(120);
          if (SteadyClock::now() > *give_up) return;  // the assertions below name what is lost
        }
        continue;
      }
      const Bytes id = (*r)->message_id;
      EXPECT_EQ((*r)->type, agent::Received::Type::kMessage) << (*r)->refusal.ToString();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!seen.insert(id).second) {
          ++redeliveries;  // the acknowledgement was lost in a crash: dropped by message id
        } else {
          auto it = sealed_ids.find(id);
          if (it == sealed_ids.end()) {
            ADD_FAILURE() << "delivered a message no sender sealed";
          } else {
            // In order and none skipped: every message is eventually accepted, so the next one
            // of a sender is always the one after the last.
            auto [s, seq] = it->second;
            EXPECT_EQ((*r)->sender, kSenders[static_cast<size_t>(s)]);
            EXPECT_EQ(seq, last_seq[static_cast<size_t>(s)] + 1)
                << "out of order from " << kSenders[static_cast<size_t>(s)];
            last_seq[static_cast<size_t>(s)] = std::max(last_seq[static_cast<size_t>(s)], seq);
          }
        }
      }
      (void)a->Acknowledge(id);  // lost if the broker dies now: then it is delivered again
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < static_cast<int>(kSenders.size()); ++i) threads.emplace_back(sender, i);
  threads.emplace_back(recipient);

  // Kill when the run crosses random points of its progress, so that the kills fall at random
  // moments of a run that still finishes in bounded time; which broker dies is random too.
  std::mt19937 rng(std::random_device{}());
  std::vector<size_t> kill_at;
  for (int i = 0; i < kills_wanted; ++i) kill_at.push_back(rng() % static_cast<size_t>(total));
  std::sort(kill_at.begin(), kill_at.end());
  std::ostringstream timeline;
  int kills = 0;
  while (kills < kills_wanted && !failed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 20));
    size_t now_accepted, now_delivered;
    {
      std::lock_guard<std::mutex> lock(mu);
      now_accepted = accepted.size();
      now_delivered = seen.size();
      const bool sending = senders_done < static_cast<int>(kSenders.size());
      if (now_accepted < kill_at[static_cast<size_t>(kills)] && sending) continue;
    }
    const std::string victim = rng() % 2 == 0 ? "TH" : "KH";
    KillBroker(victim);
    ++kills;
    const auto spawned = SteadyClock::now();
    StartBroker(victim);
    timeline << "[fed-crash] kill " << kills << ": " << victim << " broker at " << now_accepted
             << " accepted / " << now_delivered << " delivered; listening again after "
             << MillisSince(spawned) << " ms\n";
  }
  for (std::thread& t : threads) t.join();
  const int64_t run_ms = MillisSince(started);
  ASSERT_FALSE(failed);

  EXPECT_EQ(accepted.size(), static_cast<size_t>(expected));
  for (const Bytes& id : accepted) {
    const auto [s, seq] = sealed_ids.at(id);
    EXPECT_TRUE(seen.count(id)) << "accepted message #" << seq << " of " << kSenders[size_t(s)]
                                << " was lost";
  }
  EXPECT_EQ(seen.size(), accepted.size()) << "delivered something never accepted";
  for (size_t s = 0; s < kSenders.size(); ++s) {
    EXPECT_EQ(receipts[s].size(), static_cast<size_t>(per_sender))
        << kSenders[s] << " did not get every relay receipt";
  }
  std::cout << timeline.str() << "[fed-crash] " << kills << " kills, " << accepted.size()
            << " messages in " << run_ms << " ms, " << redeliveries
            << " redeliveries dropped by id\n"
            << std::flush;

  StopBroker("TH");
  StopBroker("KH");
  ExpectAuditVerifies("TH");
  ExpectAuditVerifies("KH");
  // The Cambodian broker accepted each relay once (a repeat is answered with its first
  // receipt), and the Thai broker audited a relay receipt for each, naming that record.
  std::map<Bytes, std::vector<uint64_t>> kh_accepted;  // id -> leaves of its accepted records
  const std::vector<audit::AuditRecord> kh_log = AuditOf("KH");  // a record's leaf: its index
  for (uint64_t i = 0; i < kh_log.size(); ++i) {
    const audit::AuditRecord& r = kh_log[i];
    if (r.event == audit::AuditEvent::kAccepted && accepted.count(r.message_id)) {
      kh_accepted[r.message_id].push_back(i);
    }
  }
  std::map<Bytes, std::vector<int64_t>> relay_receipts;  // id -> leaves the receipts name
  std::map<Bytes, int> th_accepted;
  for (const audit::AuditRecord& r : AuditOf("TH")) {
    if (!accepted.count(r.message_id)) continue;
    if (r.event == audit::AuditEvent::kAccepted) ++th_accepted[r.message_id];
    if (r.event == audit::AuditEvent::kDelivered && r.rule == "relay-receipt") {
      EXPECT_EQ(r.recipients, std::vector<std::string>{"@KH"});
      relay_receipts[r.message_id].push_back(ReceiptLeaf(r.reason));
    }
  }
  size_t repeated_receipts = 0;
  for (const Bytes& id : accepted) {
    EXPECT_EQ(th_accepted[id], 1) << "the Thai broker's accepted records of " << ToHex(id);
    ASSERT_EQ(kh_accepted[id].size(), 1u)
        << "the Cambodian broker's accepted records of " << ToHex(id);
    const std::vector<int64_t>& leaves = relay_receipts[id];
    ASSERT_FALSE(leaves.empty()) << "relayed without a relay receipt: " << ToHex(id);
    for (int64_t leaf : leaves) {
      EXPECT_EQ(leaf, static_cast<int64_t>(kh_accepted[id].front()))
          << "the receipt names another record of the Cambodian log";
    }
    repeated_receipts += leaves.size() - 1;
  }
  std::cout << "[fed-crash] " << relay_receipts.size() << " relay receipts audited, "
            << repeated_receipts << " of them twice\n"
            << std::flush;
}

}  // namespace
}  // namespace nrm::testing
