// kill -9 of the broker at random moments while four senders push messages to one recipient;
// restart; repeat. Every message acknowledged to a sender must reach the recipient, none twice
// to its application, per-sender order must hold, and the audit log must verify afterwards.
// NRM_CRASH_MESSAGES and NRM_CRASH_ROUNDS scale it up on demand.
//
// It also measures recovery after each kill (issue 8), printed as [crash-recovery] lines: the
// time from spawning the broker until it answers a HELLO on a new connection (it has replayed
// its store, counted its queues, reopened the audit log and is routing), with what the
// store held at that moment; and, end to end, until the first ACCEPTED and the first delivery,
// which also wait for the agents' own retry (a resend every 2 s, a greeting every 1 s). Timings
// are reported, never asserted: speed is for the benchmarks.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "audit/audit_log.h"
#include "common/file_util.h"
#include "common/transport/transport.h"
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
    // Only greets the broker, to time its recovery: an agency of its own, so that its
    // connection takes no sender's or recipient's session.
    {"TH.MONITOR.NRM-OVERSIGHT", "monitor", "TH", "Bangkok", "NRM Oversight Committee"},
};
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";
const std::string kProbe = "TH.MONITOR.NRM-OVERSIGHT";

using SteadyClock = std::chrono::steady_clock;

int64_t Millis(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// What a stopped broker's store holds, as its next start will find it.
struct StoreContents {
  size_t queued = 0;  // entries in the "queue" column family
  uint64_t audit_records = 0;
  uintmax_t wal_bytes = 0;  // the write-ahead log the next start replays
};

// Opens the store at `path` read-only (which replays its WAL in memory, as a start does, and
// writes nothing) and counts. kIOError / kCorruption when RocksDB cannot open it.
Result<StoreContents> ReadStore(const std::string& path) {
  StoreContents out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    if (e.path().extension() == ".log") out.wal_bytes += e.file_size(ec);
  }
  rocksdb::Options options;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path, &names);
  if (!s.ok()) return IOError("cannot list the column families of " + path + ": " + s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names) cfs.push_back({n, rocksdb::ColumnFamilyOptions()});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(options, path, cfs, &handles, &raw);
  if (!s.ok()) return IOError("cannot open " + path + " read-only: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  Status status;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    if (h->GetName() == "queue") {
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++out.queued;
    } else if (h->GetName() == audit::kRecordsColumnFamily) {
      // Keys are be64 indexes from 0: the last one + 1 is the record count.
      it->SeekToLast();
      if (it->Valid() && it->key().size() == 8) {
        for (char c : it->key().ToStringView()) {
          out.audit_records = out.audit_records << 8 | static_cast<uint8_t>(c);
        }
        ++out.audit_records;
      }
    }
    if (!it->status().ok()) {
      status = Corruption("cannot read " + path + ": " + it->status().ToString());
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) (void)db->DestroyColumnFamilyHandle(h);
  if (!status.ok()) return status;
  return out;
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

  // Connects as kProbe and waits for the broker's WELCOME to a HELLO, up to `timeout_ms`.
  Status ProbeWelcome(int timeout_ms) {
    NRM_ASSIGN_OR_RETURN(identity::KeySet keys,
                         identity::LoadSecretKeyFile(scenario_.KeyFile(kProbe)));
    NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(scenario_.endpoint_file));
    transport::ClientOptions o;
    o.endpoint = endpoint.substr(0, endpoint.find('\n'));
    o.server_curve_public = scenario_.broker.curve_public;
    o.curve_public = keys.curve_public;
    o.curve_secret = keys.curve_secret.Clone();
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
    NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::Client> client,
                         transport::Client::Connect(std::move(o), timeout_ms));
    NRM_RETURN_IF_ERROR(client->Send({transport::Frame("HELLO")}));
    while (SteadyClock::now() < deadline) {
      NRM_ASSIGN_OR_RETURN(
          auto reply, client->Receive(static_cast<int>(Millis(deadline - SteadyClock::now()))));
      if (reply && !reply->empty() && transport::FrameText(reply->front()) == "WELCOME") {
        return Status::Ok();
      }
    }
    return Unavailable("no WELCOME within " + std::to_string(timeout_ms) + " ms");
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
  std::vector<SteadyClock::time_point> accepted_at, delivered_at;  // in order, for recovery
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
      while (true) {
        Result<agent::SendOutcome> out = a->Submit(sealed->front(), 3000);
        if (out.ok() && out->accepted) break;
        if (out.ok() && !out->accepted) {
          ADD_FAILURE() << "refused: " << out->code << " " << out->reason;
          return void(failed = true);
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      accepted[sealed->front().message_id] = {index, i};
      accepted_at.push_back(SteadyClock::now());
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
        delivered_at.push_back(SteadyClock::now());
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
  struct Restart {
    SteadyClock::time_point spawned;
    int64_t ready_ms = -1;  // spawn -> WELCOME on a new connection
    StoreContents store;    // what it started from
  };
  std::vector<Restart> restarts;
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
    Restart r;
    Result<StoreContents> store = ReadStore(scenario_.broker_data + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    r.store = *store;
    r.spawned = SteadyClock::now();
    StartBroker();
    Status greeted = ProbeWelcome(10000);
    ASSERT_TRUE(greeted.ok()) << "the broker did not come back after kill " << kills << ": "
                              << greeted.ToString();
    r.ready_ms = Millis(SteadyClock::now() - r.spawned);
    restarts.push_back(r);
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

  // Recovery, per restart. End to end: the first ACCEPTED / delivery after the spawn, if it
  // came before the next kill (kills can follow one another before any traffic resumed).
  auto first_after = [](const std::vector<SteadyClock::time_point>& times,
                        SteadyClock::time_point from,
                        std::optional<SteadyClock::time_point> until) {
    auto it = std::lower_bound(times.begin(), times.end(), from);
    if (it == times.end() || (until && *it >= *until)) {
      return std::string("none before the next kill");
    }
    return std::to_string(Millis(*it - from)) + " ms";
  };
  std::ostringstream o;
  std::vector<int64_t> ready;
  for (size_t i = 0; i < restarts.size(); ++i) {
    const Restart& r = restarts[i];
    std::optional<SteadyClock::time_point> next;
    if (i + 1 < restarts.size()) next = restarts[i + 1].spawned;
    ready.push_back(r.ready_ms);
    o << "[crash-recovery] restart " << i + 1 << "/" << restarts.size() << ": serving "
      << r.ready_ms << " ms after spawn (WELCOME on a new connection); started from "
      << r.store.queued << " queued messages, " << r.store.audit_records << " audit records, "
      << r.store.wal_bytes / 1024 << " KiB of WAL; first ACCEPTED "
      << first_after(accepted_at, r.spawned, next) << ", first delivery "
      << first_after(delivered_at, r.spawned, next) << "\n";
  }
  std::sort(ready.begin(), ready.end());
  if (!ready.empty()) {
    o << "[crash-recovery] " << ready.size() << " restarts, " << accepted.size()
      << " messages: serving again after " << ready.front() << " / " << ready[ready.size() / 2]
      << " / " << ready.back() << " ms (min / median / max)\n";
  }
  std::cout << o.str() << std::flush;

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
