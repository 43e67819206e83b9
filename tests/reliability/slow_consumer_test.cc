// A slow consumer (issue 8): a shelter that reads 10 messages a second while the police push
// 1,000 a second. Every message the broker ACCEPTED must reach the shelter exactly once, none may
// be refused for lack of capacity, and the broker's memory must stay flat: the queue waits on
// disk, and a recipient is handed at most `delivery_window` (256) unacknowledged messages.
//
// ZeroMQ cannot drop a delivery at its high-water mark: the broker's ROUTER is ROUTER_MANDATORY,
// so a full peer queue makes the send fail (EAGAIN) instead, and Broker::Pump stops without
// advancing past that message and resumes at the recipient's next acknowledgement (or next new
// message). With the default window the HWM (10,000 messages) is never reached; the control
// below raises the window so that the broker runs into it, and checks that nothing is lost
// there either.
//
// The default run pushes for 10 s (about 15 s in all); NRM_SOAK=1 pushes for 60 s. Figures are
// printed with the prefix [slow-consumer], for docs/BENCHMARKS.md.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/reliability/reliability_fixture.h"

namespace nrm {
namespace {

using Clock = std::chrono::steady_clock;
using testing::FrameText;
using testing::kPolice;
using testing::kShelter;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
long PerSecond(size_t n, double seconds) {
  return seconds > 0 ? std::lround(static_cast<double>(n) / seconds) : 0;
}

bool Soak() {
  const char* v = std::getenv("NRM_SOAK");
  return v != nullptr && std::string_view(v) != "0";
}

struct Load {
  int rate = 1000;   // messages a second from the sender
  int seconds = 10;  // of pushing at that rate
  size_t payload_bytes = 2048;
  int read_every_ms = 100;  // the slow recipient reads and acknowledges one message each
};

// How a delivery history differs from "every ACCEPTED message delivered exactly once".
struct DeliveryCheck {
  size_t lost = 0;      // accepted, never delivered
  size_t repeated = 0;  // delivered more than once
  size_t unknown = 0;   // delivered, never accepted
  bool ok() const { return lost == 0 && repeated == 0 && unknown == 0; }
};

// `delivered`: message id -> how many times the recipient was handed it.
DeliveryCheck CheckExactlyOnce(const std::set<Bytes>& accepted,
                               const std::map<Bytes, int>& delivered) {
  DeliveryCheck c;
  for (const Bytes& id : accepted) {
    if (!delivered.count(id)) ++c.lost;
  }
  for (const auto& [id, times] : delivered) {
    if (times > 1) ++c.repeated;
    if (!accepted.count(id)) ++c.unknown;
  }
  return c;
}

std::string Describe(const DeliveryCheck& c) {
  return std::to_string(c.lost) + " lost, " + std::to_string(c.repeated) +
         " delivered more than once, " + std::to_string(c.unknown) + " delivered unasked";
}

// What one run saw.
struct RunFigures {
  size_t pushed = 0;
  size_t send_failures = 0;  // SENDs the client could not even queue
  size_t unanswered = 0;     // SENDs the broker never answered
  std::set<Bytes> accepted;
  std::map<std::string, size_t> refused;  // code -> how many
  double push_s = 0;
  size_t read_slowly = 0;  // delivered while the push ran (the slow phase)
  size_t drained = 0;      // delivered after it (flat out)
  double drain_s = 0;
  std::map<Bytes, int> delivered;
  size_t bad_deliveries = 0;      // deliveries that failed the agent's checks
  long rss_start_kb = -1;         // before the push
  long rss_base_kb = -1;          // right after the first 100 accepted
  long rss_peak_kb = -1;          // of the samples, every 500 ms, push and drain
  long rss_end_kb = -1;           // after the drain
  long rss_push_end_kb = -1;      // when the last SEND was answered
  uintmax_t store_bytes = 0;      // the broker's RocksDB directory then
  double broker_cpu_s = 0;        // user + system, over the whole run
  size_t max_unacknowledged = 0;  // from the audit log: deliveries minus acknowledgements
  std::vector<audit::AuditRecord> audit;
  struct Sample {
    double t_s;
    long rss_kb;
    size_t queued;  // accepted, not yet delivered
  };
  std::vector<Sample> push_samples;  // every 500 ms while the push runs
};

class SlowConsumerTest : public testing::ReliabilityFixture {
 protected:
  static constexpr size_t kDefaultWindow = 256;  // broker/config.cc

  // The broker's user + system CPU time in seconds, from /proc/PID/stat; 0 if unreadable.
  double BrokerCpuSeconds() {
    std::ifstream in("/proc/" + std::to_string(broker_pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t comm_end = text.rfind(')');
    if (comm_end == std::string::npos) return 0;
    std::istringstream rest(text.substr(comm_end + 1));  // the fields after "pid (comm)"
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i >= 14) ticks += std::atof(field.c_str());  // utime, stime
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  uintmax_t StoreBytes() {
    std::error_code ec;
    uintmax_t total = 0;
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(scenario_.broker_data + "/store", ec)) {
      if (e.is_regular_file(ec)) total += e.file_size(ec);
    }
    return total;
  }

  // Pushes `load` from the police to the shelter through one pipelined connection (sealed by
  // the real agent code, answers read as they come), while the shelter's agent reads slowly;
  // then drains the rest flat out, stops the broker and reads its audit log.
  RunFigures Run(const Load& load) {
    RunFigures f;
    auto police = OpenAgent(kPolice);
    auto raw = Raw(kPolice);
    auto shelter = OpenAgent(kShelter);
    if (!police || !raw || !shelter) return f;
    Result<Bytes> payload = wire::PayloadFromJson(R"({"case": {"reason_for_referral": ")" +
                                                  std::string(load.payload_bytes, 'r') + R"("}})");
    EXPECT_TRUE(payload.ok());
    if (!payload.ok()) return f;
    const size_t total = static_cast<size_t>(load.rate) * static_cast<size_t>(load.seconds);

    std::mutex mu;  // guards f.accepted and f.refused while the sender runs
    std::atomic<size_t> accepted_n{0};
    std::atomic<bool> push_done{false};  // every SEND answered (or given up on)
    std::atomic<bool> recipient_done{false};
    std::atomic<size_t> delivered_n{0};

    std::thread sender([&] {
      size_t answered = 0;
      // Reads the broker's answers for up to `timeout_ms`, then whatever else already arrived.
      auto answers = [&](int timeout_ms) {
        for (int wait = timeout_ms;; wait = 0) {
          Result<std::optional<transport::Frames>> r = raw->Receive(wait);
          if (!r.ok() || !r->has_value()) return;
          const transport::Frames& a = **r;
          if (a.size() < 2) continue;
          std::lock_guard<std::mutex> lock(mu);
          if (FrameText(a[0]) == "ACCEPTED") {
            ++answered;
            if (f.accepted.insert(a[1]).second) ++accepted_n;
          } else if (FrameText(a[0]) == "REFUSED") {
            ++answered;
            ++f.refused[a.size() >= 3 ? std::string(FrameText(a[2])) : "?"];
          }
        }
      };
      const auto start = Clock::now();
      size_t sent = 0;
      while (sent < total) {
        // Paced: by now, elapsed * rate messages are due (in bursts of a few milliseconds).
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        const size_t due = std::min(
            total,
            static_cast<size_t>(elapsed.count()) * static_cast<size_t>(load.rate) / 1000 + 1);
        for (; sent < due; ++sent) {
          Result<std::vector<wire::Sealed>> s = police->Seal(
              {kShelter}, wire::Kind::ReferralOffer, Bytes(16, 1), wire::Handling::H1, *payload);
          EXPECT_TRUE(s.ok() && s->size() == 1) << s.status().ToString();
          if (!s.ok() || s->size() != 1 ||
              !raw->Send({testing::Frame("SEND"), s->front().frame}).ok()) {
            ++f.send_failures;
          }
        }
        answers(2);
      }
      f.pushed = sent;
      f.push_s = Seconds(Clock::now() - start);
      const auto deadline = Clock::now() + std::chrono::seconds(30);
      while (answered + f.send_failures < sent && Clock::now() < deadline) answers(100);
      f.unanswered = sent - answered - f.send_failures;
      push_done = true;
    });

    std::thread recipient([&] {
      auto take = [&](int timeout_ms) -> bool {
        Result<std::optional<agent::Received>> r = shelter->Receive(timeout_ms);
        if (!r.ok()) {
          ++f.bad_deliveries;  // acknowledged by the agent; nothing corrupt may arrive
          ADD_FAILURE() << "a delivery failed its checks: " << r.status().ToString();
          return true;
        }
        if (!r->has_value()) return false;
        EXPECT_TRUE(shelter->Acknowledge((*r)->message_id).ok());
        ++f.delivered[(*r)->message_id];
        ++delivered_n;
        return true;
      };
      // The slow phase: one message every read_every_ms while the push runs. The pause is the
      // recipient's pace, not a wait for something to happen.
      const auto period = std::chrono::milliseconds(load.read_every_ms);
      for (auto next = Clock::now() + period; !push_done; next += period) {
        if (take(load.read_every_ms / 2)) ++f.read_slowly;
        std::this_thread::sleep_until(next);
      }
      // Flat out, until every accepted message is in and then a quiet second (to see any
      // duplicate), or until nothing at all came for 5 s.
      const auto start = Clock::now();
      auto last = start;
      while (take(f.delivered.size() < accepted_n ? 5000 : 1000)) {
        ++f.drained;
        last = Clock::now();
      }
      f.drain_s = Seconds(last - start);
      recipient_done = true;
    });

    // The broker's VmRSS: at the start, right after the first 100 accepted, then every 500 ms
    // until the drain is over (the peak covers both phases).
    f.rss_start_kb = BrokerRssKb();
    const auto run_start = Clock::now();
    auto next_sample = run_start;
    while (!recipient_done) {
      if (f.rss_base_kb < 0 && accepted_n >= 100) f.rss_base_kb = BrokerRssKb();
      if (push_done && f.rss_push_end_kb < 0) {
        f.rss_push_end_kb = BrokerRssKb();
        f.store_bytes = StoreBytes();
      }
      if (Clock::now() >= next_sample) {
        const long kb = BrokerRssKb();
        f.rss_peak_kb = std::max(f.rss_peak_kb, kb);
        if (!push_done) {
          const size_t queued = accepted_n - std::min<size_t>(accepted_n, delivered_n);
          f.push_samples.push_back({Seconds(Clock::now() - run_start), kb, queued});
        }
        next_sample += std::chrono::milliseconds(500);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    sender.join();
    recipient.join();
    f.rss_end_kb = BrokerRssKb();
    f.rss_peak_kb = std::max(f.rss_peak_kb, f.rss_end_kb);
    f.broker_cpu_s = BrokerCpuSeconds();

    f.audit = StopAndReadAudit();
    // The broker's own books: deliveries it handed out and not yet had acknowledged, at most.
    size_t open = 0;
    for (const audit::AuditRecord& r : f.audit) {
      if (r.event == audit::AuditEvent::kDelivered) {
        f.max_unacknowledged = std::max(f.max_unacknowledged, ++open);
      }
      if (r.event == audit::AuditEvent::kAcknowledged && open > 0) --open;
    }
    return f;
  }

  // Prints the figures, one [slow-consumer] line each, and records them as test properties.
  void Report(const std::string& label, const Load& load, const RunFigures& f) {
    size_t refused = 0;
    for (const auto& [code, count] : f.refused) refused += count;
    // RSS growth over the second half of the push, per message queued meanwhile: what grows with
    // the queue. In a short run it still includes RocksDB's memtables filling to their budget.
    long half_kb = 0;
    size_t half_queued = 0;
    if (f.push_samples.size() >= 4) {
      const RunFigures::Sample& mid = f.push_samples[f.push_samples.size() / 2];
      const RunFigures::Sample& last = f.push_samples.back();
      half_kb = last.rss_kb - mid.rss_kb;
      half_queued = last.queued - std::min(last.queued, mid.queued);
    }
    const std::string p = "[slow-consumer] " + label + ": ";
    std::ostringstream o;
    o << p << "pushed " << f.pushed << " x " << load.payload_bytes << " B in " << f.push_s << " s ("
      << PerSecond(f.pushed, f.push_s) << "/s, target " << load.rate << "/s); accepted "
      << f.accepted.size() << ", refused " << refused << ", unanswered " << f.unanswered << "\n"
      << p << "read slowly " << f.read_slowly << " (1 per " << load.read_every_ms
      << " ms), then drained " << f.drained << " in " << f.drain_s << " s ("
      << PerSecond(f.drained, f.drain_s) << "/s); "
      << Describe(CheckExactlyOnce(f.accepted, f.delivered)) << "; at most " << f.max_unacknowledged
      << " deliveries unacknowledged at once\n"
      << p << "broker VmRSS KiB: " << f.rss_start_kb << " at start, " << f.rss_base_kb
      << " after the first 100 accepted, " << f.rss_push_end_kb << " when the push ended, peak "
      << f.rss_peak_kb << " (+" << f.rss_peak_kb - f.rss_base_kb << ", bound " << kRssSlackKb
      << "), " << f.rss_end_kb << " at end; second half of the push: +" << half_kb << " KiB for "
      << half_queued << " more queued ("
      << (half_queued > 0 ? half_kb * 1024 / static_cast<long>(half_queued) : 0) << " B each)\n"
      << p << "store " << f.store_bytes / 1024 << " KiB on disk when the push ended; broker CPU "
      << f.broker_cpu_s << " s\n";
    std::cout << o.str() << std::flush;
    RecordProperty("pushed", std::to_string(f.pushed));
    RecordProperty("push_s", std::to_string(f.push_s));
    RecordProperty("drained", std::to_string(f.drained));
    RecordProperty("drain_s", std::to_string(f.drain_s));
    RecordProperty("rss_start_kb", std::to_string(f.rss_start_kb));
    RecordProperty("rss_base_kb", std::to_string(f.rss_base_kb));
    RecordProperty("rss_peak_kb", std::to_string(f.rss_peak_kb));
    RecordProperty("rss_end_kb", std::to_string(f.rss_end_kb));
    RecordProperty("max_unacknowledged", std::to_string(f.max_unacknowledged));
  }
};

TEST_F(SlowConsumerTest, NothingLostNothingTwiceMemoryFlat) {
  Load load;
  if (Soak()) load.seconds = 60;
  const RunFigures f = Run(load);
  Report("default window", load, f);

  EXPECT_EQ(f.pushed, static_cast<size_t>(load.rate) * static_cast<size_t>(load.seconds));
  EXPECT_EQ(f.send_failures, 0u);
  EXPECT_EQ(f.unanswered, 0u) << "SENDs the broker never answered";
  EXPECT_EQ(f.refused.count("resource_exhausted"), 0u) << "refused for lack of capacity";
  EXPECT_TRUE(f.refused.empty()) << "refused: " << f.refused.begin()->first;
  EXPECT_EQ(f.accepted.size(), f.pushed);
  const DeliveryCheck c = CheckExactlyOnce(f.accepted, f.delivered);
  EXPECT_TRUE(c.ok()) << Describe(c);
  EXPECT_EQ(f.bad_deliveries, 0u);
  EXPECT_GT(f.read_slowly, 0u) << "the slow phase read nothing: the test proves nothing";
  EXPECT_GT(f.drained, f.accepted.size() / 2) << "the queue never built up";

  // Memory: the queue is on disk, and a recipient holds at most a window of it. What grows is
  // RocksDB's, to its fixed budgets (16 MiB of memtables, an 8 MiB block cache).
  ASSERT_GT(f.rss_base_kb, 0);
#if !defined(NRM_SANITIZED)  // ASan's quarantine and shadow grow with every allocation
  EXPECT_LT(f.rss_peak_kb - f.rss_base_kb, kRssSlackKb)
      << "the broker's memory grew with its queue";
#endif
  EXPECT_LE(f.max_unacknowledged, kDefaultWindow);

  // The broker's audit log tells the same story.
  EXPECT_EQ(Count(f.audit, audit::AuditEvent::kAccepted), f.accepted.size());
  EXPECT_EQ(Count(f.audit, audit::AuditEvent::kRefused), 0u);
  EXPECT_EQ(Count(f.audit, audit::AuditEvent::kDelivered), f.accepted.size())
      << "the broker delivered something twice, or not at all";
  EXPECT_EQ(Count(f.audit, audit::AuditEvent::kAcknowledged), f.accepted.size());

  // Control: the checker above fails a history with one delivery dropped or doubled.
  ASSERT_FALSE(f.delivered.empty());
  std::map<Bytes, int> dropped = f.delivered;
  dropped.erase(dropped.begin());
  EXPECT_EQ(CheckExactlyOnce(f.accepted, dropped).lost, 1u);
  std::map<Bytes, int> doubled = f.delivered;
  doubled.rbegin()->second++;
  EXPECT_EQ(CheckExactlyOnce(f.accepted, doubled).repeated, 1u);
}

// Control: a broker that hands a recipient (nearly) its whole queue at once. The deliveries
// wait in ZeroMQ's queue in the broker's memory, up to the ROUTER's high-water mark; past it the
// broker is refused the send (EAGAIN) and must hold the rest back on disk. The RSS bound must
// catch the growth, or it proves nothing; and nothing may be lost at the HWM.
class UnsafeWindowTest : public SlowConsumerTest {
 protected:
  // The window in bytes (8 MiB by default) would hold it back too: lifted out of the way.
  std::string ExtraBrokerConfig() const override {
    return "delivery_window = 100000\ndelivery_window_mib = 4096\n";
  }
};

TEST_F(UnsafeWindowTest, ControlTheRssBoundCatchesABrokerThatBuffersInMemory) {
#if defined(NRM_SANITIZED)
  GTEST_SKIP() << "under ASan the RSS bound only catches gross growth (kRssSlackKb)";
#endif
  // 20,000 messages: more than the HWM (10,000) plus what the kernel's socket buffers and the
  // recipient's own socket hold, so that the broker does run into the HWM; pushed at 2,000 a
  // second to stay within the same 10 s.
  Load load;
  load.rate = 2000;
  const RunFigures f = Run(load);
  Report("delivery_window 100000 (control)", load, f);

  EXPECT_GE(f.rss_peak_kb - f.rss_base_kb, kRssSlackKb)
      << "a broker holding its queue in memory stayed under the bound: the bound proves nothing";
  EXPECT_GT(f.max_unacknowledged, kDefaultWindow) << "the unsafe window was not in force";
  EXPECT_LT(f.max_unacknowledged, f.accepted.size() - f.read_slowly)
      << "the broker never ran into ZeroMQ's high-water mark: its EAGAIN path went untested";
  EXPECT_TRUE(f.refused.empty());
  EXPECT_EQ(f.accepted.size(), f.pushed);
  const DeliveryCheck c = CheckExactlyOnce(f.accepted, f.delivered);
  EXPECT_TRUE(c.ok()) << Describe(c) << " past ZeroMQ's high-water mark";
}

}  // namespace
}  // namespace nrm
