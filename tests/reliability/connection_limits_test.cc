// Nobody can take the broker down with connections (issue 20). A broker limited to 1,024 open
// descriptors (prlimit, as a unit without LimitNOFILE would leave it) faces:
//  - 1,030 plain TCP connections that never handshake, from 103 source addresses, reopened as
//    they are closed: the handshake timeout closes the idle ones, the limits on unauthenticated
//    connections evict the oldest, and an agency connecting every 250 ms gets its WELCOME
//    within 1 s throughout;
//  - 1,100 CURVE connections of one agency with its own key, reconnecting as they are closed:
//    the agency keeps at most its limit, the excess is audited, and another agency is welcomed
//    within 1 s and its messages accepted and delivered.
// Each has a control with the limits off (test-only settings), which shows the attack working:
// the descriptor table fills and the agency is not served (or the broker stops).
//
// The hold is 10 s with a handshake timeout of 2 s (five timeouts) rather than 60 s with the
// default 5 s: it proves the same (idle connections are closed after the timeout, and new ones
// keep coming) in a sixth of the time, and a 60-s hold on a loaded 2-core machine (other tests
// running beside it) let one WELCOME in 218 take 2.2 s. Figures are printed with the prefix
// [limits].
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "tests/reliability/reliability_fixture.h"

namespace nrm {
namespace {

using Steady = std::chrono::steady_clock;
using testing::Frame;
using testing::FrameText;
using testing::kPolice;
using testing::kShelter;
using testing::kShelter2;

// An agency must be welcomed within this. Under ASan the broker runs several times slower, so
// there the bound only catches a lock-out (the controls see no WELCOME at all within 3 s); the
// release build holds the 1 s of the issue.
#if defined(NRM_SANITIZED)
constexpr double kServedWithinMs = 2500;
#else
constexpr double kServedWithinMs = 1000;
#endif

double MsSince(Steady::time_point t) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t).count();
}

// The port of a "tcp://127.0.0.1:PORT" endpoint.
uint16_t PortOf(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// A plain TCP connection from 127.0.0.`host` that never sends a byte. -1 on failure.
int IdleConnection(int host, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000000u | static_cast<uint32_t>(host));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(0x7f000001u);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A raw DEALER with `keys`' CURVE key for the broker whose key is `server_key`, for what an
// agent never does (thousands of connections, a socket that stops reading).
zmq::socket_t& CurveDealer(zmq::context_t& ctx, std::vector<zmq::socket_t>& sockets,
                           const Bytes& server_key, const identity::KeySet& keys) {
  zmq::socket_t& d = sockets.emplace_back(ctx, zmq::socket_type::dealer);
  d.set(zmq::sockopt::linger, 0);
  d.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_key.data(), server_key.size()));
  d.set(zmq::sockopt::curve_publickey,
        zmq::const_buffer(keys.curve_public.data(), keys.curve_public.size()));
  d.set(zmq::sockopt::curve_secretkey,
        zmq::const_buffer(keys.curve_secret.data(), keys.curve_secret.size()));
  return d;
}

// What the agency that is not attacking saw.
struct Served {
  int attempts = 0;
  int late = 0;  // not welcomed within 1 s (or not at all)
  double worst_ms = 0;
  size_t max_descriptors = 0;  // the broker's, sampled every round
  std::vector<double> ms;
  double Percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> v = ms;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
  }
};

class ConnectionLimitsTest : public testing::ReliabilityFixture {
 protected:
  static constexpr int kDescriptors = 1024;

  std::string ExtraBrokerConfig() const override { return "handshake_timeout_s = 2\n"; }

  // As BrokerFixture::SetUp, with the broker under a 1,024-descriptor limit (soft and hard).
  void SetUp() override {
    Result<tools::Scenario> s = tools::CreateScenario(tmp_.path(), Agencies(), ExtraBrokerConfig());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scenario_ = std::move(*s);
    Result<pid_t> pid = tools::Spawn(
        {"/usr/bin/prlimit",
         "--nofile=" + std::to_string(kDescriptors) + ":" + std::to_string(kDescriptors),
         testing::BinDir() + "/nrm-broker", "--config", scenario_.broker_config},
        tmp_.path() + "/logs/broker.out");
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    broker_pid_ = *pid;
    ASSERT_TRUE(tools::WaitForFile(scenario_.endpoint_file, 10000).ok()) << BrokerLog();
    ASSERT_TRUE(scenario_.PinBrokerEndpoint().ok()) << BrokerLog();
    Result<std::string> endpoint = ReadFile(scenario_.endpoint_file);
    ASSERT_TRUE(endpoint.ok());
    endpoint_ = endpoint->substr(0, endpoint->size() - 1);
    baseline_ = OpenDescriptors();
  }

  std::string BrokerLog() { return testing::ReadOrEmpty(tmp_.path() + "/logs/broker.out"); }

  // Connects as `id` and waits for the WELCOME; returns how long it took, or -1.
  double Welcome(const std::string& id, int timeout_ms) {
    const Steady::time_point start = Steady::now();
    transport::ClientOptions o;
    o.endpoint = endpoint_;
    o.server_curve_public = scenario_.broker.curve_public;
    const identity::KeySet keys = Keys(id);
    o.curve_public = keys.curve_public;
    o.curve_secret = keys.curve_secret.Clone();
    Result<std::unique_ptr<transport::Client>> c =
        transport::Client::Connect(std::move(o), timeout_ms);
    if (!c.ok() || !(*c)->Send({Frame("HELLO")}).ok()) return -1;
    const int left = timeout_ms - static_cast<int>(MsSince(start));
    Result<std::optional<transport::Frames>> r = (*c)->Receive(std::max(left, 1));
    if (!r.ok() || !r->has_value() || FrameText((**r)[0]) != "WELCOME") return -1;
    return MsSince(start);
  }

  // An agency connecting every 250 ms while `busy` holds; each must be welcomed within 1 s.
  Served ServeWhile(const std::function<bool()>& busy) {
    Served s;
    while (busy()) {
      const Steady::time_point round = Steady::now();
      const double ms = Welcome(kShelter, 3000);
      ++s.attempts;
      if (ms < 0 || ms > kServedWithinMs) ++s.late;
      s.worst_ms = std::max(s.worst_ms, ms < 0 ? 3000.0 : ms);
      if (ms >= 0) s.ms.push_back(ms);
      s.max_descriptors = std::max(s.max_descriptors, OpenDescriptors());
      std::this_thread::sleep_for(std::chrono::milliseconds(250) - (Steady::now() - round));
    }
    return s;
  }

  // Police -> shelter: accepted, then delivered.
  bool SendAndDeliver() {
    auto police = OpenAgent(kPolice);
    auto shelter = OpenAgent(kShelter);
    if (!police || !shelter) return false;
    Result<agent::SendOutcome> sent = Offer(*police, kShelter, Payload("Through The Flood"));
    if (!sent.ok() || !sent->accepted) return false;
    std::vector<agent::Received> got = Drain(*shelter, 2000);
    return got.size() == 1 && got[0].message_id == sent->message_id;
  }

  // Stops the broker without expecting a clean exit (a control may have killed it).
  int StopBroker() {
    if (broker_pid_ <= 0) return -1;
    Result<int> code = tools::Stop(broker_pid_, 5000);
    broker_pid_ = -1;
    return code.ok() ? *code : -1;
  }

  // 1,030 idle TCP connections from 127.0.0.2 .. 127.0.0.104 (ten each), reopened as the broker
  // closes them, for `hold`. Returns the longest an idle connection stayed open and how many
  // were closed after at least half the handshake timeout (the others were evicted at once).
  struct Flood {
    double longest_ms = 0;
    size_t closed = 0, closed_by_timeout = 0, opened = 0;
    double drain_ms = 0;   // from the end of the flood until the broker had closed them all
    size_t left_open = 0;  // still open here when the broker was back to its baseline
    size_t broker_descriptors_after = 0;
  };
  Flood IdleFlood(std::chrono::seconds hold, std::atomic<bool>& done) {
    constexpr int kConnections = 1030;
    const uint16_t port = PortOf(endpoint_);
    struct Idle {
      int fd = -1;
      int host = 0;
      bool established = false;  // connect() completed: the broker holds a descriptor for it
      Steady::time_point since;
    };
    std::vector<Idle> idle(kConnections);
    Flood f;
    auto open = [&](Idle& c) {
      c.fd = IdleConnection(c.host, port);
      c.established = false;
      c.since = Steady::now();
    };
    // In waves of 64, so that the listen backlog takes them rather than dropping SYNs.
    for (int i = 0; i < kConnections; ++i) {
      idle[i].host = 2 + i / 10;
      open(idle[i]);
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::vector<pollfd> fds(kConnections);
    // One round: notes what connected and what the broker closed; reopens the closed ones
    // while `reopen`. Returns how many are still open.
    auto round = [&](bool reopen) {
      size_t open_now = 0;
      for (int i = 0; i < kConnections; ++i) {
        fds[i] = {idle[i].fd, static_cast<short>(idle[i].established ? POLLIN : POLLOUT), 0};
      }
      ::poll(fds.data(), fds.size(), 50);
      for (int i = 0; i < kConnections; ++i) {
        Idle& c = idle[i];
        if (c.fd >= 0 && !c.established && (fds[i].revents & POLLOUT) &&
            !(fds[i].revents & (POLLERR | POLLHUP))) {
          c.established = true;
          c.since = Steady::now();
          ++f.opened;
        } else if (c.fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
          char b;
          if (::recv(c.fd, &b, 1, MSG_DONTWAIT) <= 0) {  // never > 0: the broker waits
            if (c.established) {
              const double lived = MsSince(c.since);
              f.longest_ms = std::max(f.longest_ms, lived);
              ++f.closed;
              if (lived >= 1000) ++f.closed_by_timeout;
            }
            ::close(c.fd);
            c.fd = -1;
          }
        }
        if (c.fd < 0 && reopen) open(c);
        if (c.fd >= 0) ++open_now;
      }
      return open_now;
    };
    const Steady::time_point end = Steady::now() + hold;
    while (Steady::now() < end) round(true);
    done = true;
    // No more: whatever the broker still holds is closed by the handshake timeout (connections
    // still in the listen backlog are accepted first, then time out). Connections the kernel
    // never handed to the broker (their last ACK dropped on a full backlog) look open here but
    // hold nothing there: the broker's descriptors are what counts.
    const Steady::time_point stopped = Steady::now();
    while (MsSince(stopped) < 10000 && round(false) > 0 && OpenDescriptors() > baseline_ + 8) {
    }
    f.drain_ms = MsSince(stopped);
    f.broker_descriptors_after = OpenDescriptors();
    for (Idle& c : idle) {
      if (c.fd >= 0) {
        ++f.left_open;
        ::close(c.fd);
      }
    }
    return f;
  }

  // The broker's open descriptors now.
  size_t OpenDescriptors() {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(
             "/proc/" + std::to_string(broker_pid_) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  }

  std::string endpoint_;
  size_t baseline_ = 0;  // the broker's descriptors once it listens
};

TEST_F(ConnectionLimitsTest, ThousandIdleTcpConnectionsNeitherStopTheBrokerNorLockOutAgencies) {
  std::atomic<bool> done{false};
  Flood flood;
  std::thread attacker([&] { flood = IdleFlood(std::chrono::seconds(10), done); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the first wave is in
  Served served = ServeWhile([&] { return !done.load(); });
  attacker.join();
  ASSERT_TRUE(BrokerAlive()) << BrokerLog();
  EXPECT_TRUE(SendAndDeliver());
  std::printf(
      "[limits] idle TCP flood: %zu opened, %zu closed by the broker (%zu after >= 1 s: the 2 s "
      "handshake timeout), longest open %.0f ms; broker back to %zu descriptors (%zu at start) "
      "%.0f "
      "ms after the flood; agency welcomed %d/%d within 1 s, p50 %.1f ms, "
      "p99 %.1f ms, worst %.1f ms\n",
      flood.opened, flood.closed, flood.closed_by_timeout, flood.longest_ms,
      flood.broker_descriptors_after, baseline_, flood.drain_ms, served.attempts - served.late,
      served.attempts, served.Percentile(0.5), served.Percentile(0.99), served.worst_ms);
  EXPECT_EQ(served.late, 0) << "worst " << served.worst_ms << " ms";
  EXPECT_GE(served.attempts, 30);
  EXPECT_GE(flood.opened, 1030u);
  // Idle connections are closed after the 2 s handshake timeout (with a second of slack for the
  // broker's rounds and ours), some by the timeout itself and the rest evicted earlier.
  EXPECT_LE(flood.broker_descriptors_after, baseline_ + 8);
  EXPECT_LT(flood.drain_ms, 2000 + 2500);
  EXPECT_GT(flood.closed_by_timeout, 0u);
  EXPECT_EQ(StopBroker(), 0) << BrokerLog();
}

// 1,100 CURVE connections of one agency (the second shelter, with its own key), each saying
// HELLO and reconnecting when closed, from 127.0.0.2, for `hold`. Returns how many connections
// the broker welcomed.
size_t AgencyFlood(const std::string& endpoint, const Bytes& server_key,
                   const identity::KeySet& keys, std::chrono::seconds hold,
                   std::atomic<bool>& done) {
  constexpr int kConnections = 1100;
  zmq::context_t ctx;
  ctx.set(zmq::ctxopt::max_sockets, 2 * kConnections);  // the default is 1,023
  std::vector<zmq::socket_t> sockets;
  const std::string from = "tcp://127.0.0.2:0;" + endpoint.substr(std::string("tcp://").size());
  for (int i = 0; i < kConnections; ++i) {
    zmq::socket_t& d = CurveDealer(ctx, sockets, server_key, keys);
    d.connect(from);
    (void)d.send(zmq::str_buffer("HELLO"), zmq::send_flags::dontwait);
  }
  size_t welcomed = 0;
  const Steady::time_point end = Steady::now() + hold;
  while (Steady::now() < end) {
    for (zmq::socket_t& d : sockets) {
      zmq::message_t m;
      while (d.recv(m, zmq::recv_flags::dontwait)) {
        if (m.to_string_view() == "WELCOME") ++welcomed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  done = true;
  return welcomed;
}

// The agency's connections beyond its limit are closed (the oldest first) and audited; another
// agency is welcomed within 1 s throughout, and its messages are accepted and delivered.
TEST_F(ConnectionLimitsTest, ElevenHundredConnectionsOfOneAgencyNeitherStopTheBrokerNorOthers) {
  std::atomic<bool> done{false};
  size_t welcomed = 0;
  const identity::KeySet keys = Keys(kShelter2);
  std::thread attacker([&] {
    welcomed =
        AgencyFlood(endpoint_, scenario_.broker.curve_public, keys, std::chrono::seconds(8), done);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Served served = ServeWhile([&] { return !done.load(); });
  attacker.join();
  ASSERT_TRUE(BrokerAlive()) << BrokerLog();
  EXPECT_TRUE(SendAndDeliver());
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  size_t over_agency = 0, closed = 0, records_of_closing = 0;
  for (const audit::AuditRecord& r : records) {
    if (r.event != audit::AuditEvent::kConnectionRefused) continue;
    ++records_of_closing;
    closed += r.count;
    if (r.sender == kShelter2 && r.rule == "too_many_of_agency") over_agency += r.count;
  }
  std::printf(
      "[limits] 1,100 connections of one agency: %zu welcomed, %zu closed under the limits (%zu "
      "over the agency's 4) in %zu audit records; broker descriptors at most %zu; other agency "
      "welcomed %d/%d within 1 s, p50 %.1f ms, p99 %.1f ms, worst %.1f ms\n",
      welcomed, closed, over_agency, records_of_closing, served.max_descriptors,
      served.attempts - served.late, served.attempts, served.Percentile(0.5),
      served.Percentile(0.99), served.worst_ms);
  EXPECT_EQ(served.late, 0) << "worst " << served.worst_ms << " ms";
  EXPECT_GE(served.attempts, 20);
  EXPECT_GT(over_agency, 0u) << "the agency's excess connections were not audited";
  EXPECT_GE(closed, 1100u - 4u);
  EXPECT_LT(served.max_descriptors, static_cast<size_t>(kDescriptors));
}

// Stalled readers: a connection of the shelter that says HELLO and then reads nothing (its
// ZeroMQ receive queue holds one message, so its socket stops reading and the broker's sends
// back up: on the wire, a client stopped after HELLO).
class StalledReaderTest : public ConnectionLimitsTest {
 protected:
  std::string ExtraBrokerConfig() const override { return "delivery_timeout_s = 3\n"; }
  virtual bool ClosesStalled() const { return true; }

  // The control needs fewer to show the bloat (each stalled connection holds its own copy).
  virtual int Messages() const { return 256; }
  static constexpr size_t kPayloadChars = 900000;  // about 900 KB sealed

  struct Figures {
    long rss_start_kb = 0, rss_peak_kb = 0, rss_end_kb = 0;
    double stalled_closed_ms = -1;  // when the broker had closed every stalled connection
    size_t delivered = 0, distinct = 0;
    std::set<Bytes> sent;
  };

  // Police queue 256 referrals of about 900 KB for the shelter; four stalled connections of the
  // shelter come one after the other; then a reading shelter drains its queue; then the
  // stalled clients go.
  Figures Run() {
    Figures f;
    auto police = OpenAgent(kPolice);
    if (!police) return f;
    for (int i = 0; i < Messages(); ++i) {
      Result<agent::SendOutcome> s =
          Offer(*police, kShelter, Payload(ToHex(crypto::RandomBytes(kPayloadChars / 2))));
      EXPECT_TRUE(s.ok() && s->accepted) << i;
      if (s.ok()) f.sent.insert(s->message_id);
    }
    f.rss_start_kb = f.rss_peak_kb = BrokerRssKb();
    const identity::KeySet keys = Keys(kShelter);
    zmq::context_t ctx;
    std::vector<zmq::socket_t> stalled;
    const Steady::time_point start = Steady::now();
    for (int i = 0; i < 4; ++i) {
      zmq::socket_t& d = CurveDealer(ctx, stalled, scenario_.broker.curve_public, keys);
      d.set(zmq::sockopt::rcvhwm, 1);
      d.set(zmq::sockopt::rcvbuf, 64 * 1024);
      d.set(zmq::sockopt::reconnect_ivl, -1);  // a stopped client does not come back
      d.connect(endpoint_);
      (void)d.send(zmq::str_buffer("HELLO"), zmq::send_flags::none);
      for (int k = 0; k < 5; ++k) {  // half a second each, watching the broker's memory
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        f.rss_peak_kb = std::max(f.rss_peak_kb, BrokerRssKb());
      }
    }
    // The broker closes each stalled connection that holds deliveries once it acknowledged
    // nothing for 3 s; the ones that were never sent anything hold nothing.
    while (MsSince(start) < 20000) {
      f.rss_peak_kb = std::max(f.rss_peak_kb, BrokerRssKb());
      if (MsSince(start) > 4000 && (StalledClosed() >= 1 || !ClosesStalled())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    f.stalled_closed_ms = MsSince(start);
    // A reading client: everything, each once.
    auto shelter = OpenAgent(kShelter);
    if (shelter) {
      // Quiet for longer than the 3 s delivery timeout plus the 1 s between the broker's scans
      // (and a margin for a loaded machine): a window held by a stalled connection is freed
      // within it.
      std::vector<agent::Received> got = Drain(*shelter, 8000);
      f.delivered = got.size();
      std::set<Bytes> ids;
      for (const agent::Received& r : got) ids.insert(r.message_id);
      f.distinct = ids.size();
      EXPECT_EQ(ids, f.sent);
    }
    f.rss_peak_kb = std::max(f.rss_peak_kb, BrokerRssKb());
    stalled.clear();                                               // the stalled clients go
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // gone, and trimmed
    f.rss_end_kb = BrokerRssKb();
    return f;
  }

  // How many stalled connections the broker's log says it closed.
  size_t StalledClosed() {
    const std::string log = BrokerLog();
    size_t n = 0;
    for (size_t at = log.find("acknowledged none of"); at != std::string::npos;
         at = log.find("acknowledged none of", at + 1)) {
      ++n;
    }
    return n;
  }
};

TEST_F(StalledReaderTest, StalledConnectionsHoldOneWindowAndMemoryReturns) {
#if defined(NRM_SANITIZED)
  GTEST_SKIP() << "under ASan the RSS bounds only catch gross growth (kRssSlackKb)";
#endif
  const Figures f = Run();
  ASSERT_TRUE(BrokerAlive()) << BrokerLog();
  std::printf(
      "[limits] 4 stalled readers, %d x %zu KB queued: broker RSS %ld -> peak %ld (+%ld KiB) -> "
      "%ld KiB after they went (%+ld KiB); %zu stalled connection(s) closed; reader got %zu "
      "deliveries, %zu distinct of %zu\n",
      Messages(), kPayloadChars / 1000, f.rss_start_kb, f.rss_peak_kb,
      f.rss_peak_kb - f.rss_start_kb, f.rss_end_kb, f.rss_end_kb - f.rss_start_kb, StalledClosed(),
      f.delivered, f.distinct, f.sent.size());
  EXPECT_EQ(f.sent.size(), static_cast<size_t>(Messages()));
  EXPECT_EQ(f.delivered, f.sent.size()) << "delivered more or less than once";
  EXPECT_GE(StalledClosed(), 1u) << BrokerLog();
  EXPECT_LT(f.rss_peak_kb - f.rss_start_kb, 64 * 1024);
  EXPECT_LT(f.rss_end_kb - f.rss_start_kb, 32 * 1024);
  EXPECT_EQ(StopBroker(), 0);
}

// The control: without the window in bytes and the delivery timeout, each stalled connection
// holds its own copy of up to the whole queue in the broker's memory.
class StalledReaderUnlimitedTest : public StalledReaderTest {
 protected:
  std::string ExtraBrokerConfig() const override {
    return "delivery_timeout_s = 0\ndelivery_window_mib = 4096\n";
  }
  bool ClosesStalled() const override { return false; }
  int Messages() const override { return 64; }
};

TEST_F(StalledReaderUnlimitedTest, ControlWithoutTheByteWindowStalledConnectionsBloatTheBroker) {
#if defined(NRM_SANITIZED)
  GTEST_SKIP() << "under ASan the RSS bounds only catch gross growth (kRssSlackKb)";
#endif
  const Figures f = Run();
  std::printf(
      "[limits] control, no byte window, %d queued: broker RSS %ld -> peak %ld (+%ld KiB)\n",
      Messages(), f.rss_start_kb, f.rss_peak_kb, f.rss_peak_kb - f.rss_start_kb);
  EXPECT_GE(f.rss_peak_kb - f.rss_start_kb, 64 * 1024) << "the bound proves nothing";
  StopBroker();
}

// 20,000 malformed SENDs (8 bytes each) from one agency on one connection, pipelined, while
// the police send referrals one after the other: every malformed frame is refused, the audit
// log grows by a few counted records (at most two codes a second: invalid_argument, then
// resource_exhausted once the agency is throttled), and the police are served throughout.
TEST_F(ConnectionLimitsTest, FloodOfMalformedSendsCostsFewAuditRecordsAndOthersAreServed) {
  constexpr int kFlood = 20000;
  auto raw = Raw(kShelter2);
  ASSERT_TRUE(raw);
  std::atomic<bool> done{false};
  std::vector<double> latency_ms;
  size_t accepted = 0;
  std::thread police_thread([&] {
    auto police = OpenAgent(kPolice);
    if (!police) return;
    while (!done.load()) {
      const Steady::time_point t = Steady::now();
      Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("Served"));
      latency_ms.push_back(MsSince(t));
      if (s.ok() && s->accepted) ++accepted;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const Steady::time_point start = Steady::now();
  size_t answered = 0, refused = 0;
  auto read_replies = [&](int timeout_ms) {
    while (true) {
      Result<std::optional<transport::Frames>> r = raw->Receive(timeout_ms);
      if (!r.ok() || !r->has_value()) return;
      ++answered;
      if (!(*r)->empty() && FrameText((**r)[0]) == "REFUSED") ++refused;
    }
  };
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(raw->Send({Frame("SEND"), Bytes(8, static_cast<uint8_t>(i))}).ok()) << i;
    if (i % 500 == 499) read_replies(50);  // 40 rounds: a flood of about 2 s
  }
  const double flood_s = MsSince(start) / 1000;
  const size_t during = latency_ms.size();  // referrals sent while the flood ran
  read_replies(2000);
  done = true;
  police_thread.join();
  ASSERT_TRUE(BrokerAlive()) << BrokerLog();
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  const size_t delivered = Drain(*shelter, 2000).size();
  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  size_t refusal_records = 0;
  for (const audit::AuditRecord& r : records) {
    if (r.event == audit::AuditEvent::kRefused) ++refusal_records;
  }
  const size_t refusals = Count(records, audit::AuditEvent::kRefused);
  Served served, during_flood;
  served.ms = latency_ms;
  during_flood.ms.assign(latency_ms.begin(), latency_ms.begin() + static_cast<long>(during));
  std::printf(
      "[limits] 20,000 malformed SENDs in %.1f s: %zu answered (%zu refused); audit: %zu "
      "refusals in %zu records; police sent %zu referrals meanwhile, all accepted: %s, delivered "
      "%zu; round trip during the flood (%zu) p50 %.1f ms, p99 %.1f ms, max %.1f ms; over the "
      "whole test p99 %.1f ms\n",
      flood_s, answered, refused, refusals, refusal_records, latency_ms.size(),
      accepted == latency_ms.size() ? "yes" : "no", delivered, during, during_flood.Percentile(0.5),
      during_flood.Percentile(0.99), during_flood.Percentile(1.0), served.Percentile(0.99));
  EXPECT_EQ(refusals, static_cast<size_t>(kFlood)) << "every refusal is counted in the audit log";
  // One record per code and second of flood (and of the drain after it), at most.
  EXPECT_LE(refusal_records, 2 * (static_cast<size_t>(flood_s) + 4));
  EXPECT_EQ(accepted, latency_ms.size());
  EXPECT_EQ(delivered, accepted);
  EXPECT_GE(during, 10u);
  EXPECT_LT(served.Percentile(0.99), kServedWithinMs);
}

class ConnectionLimitsOffTest : public ConnectionLimitsTest {
 protected:
  std::string ExtraBrokerConfig() const override {
    return "handshake_timeout_s = 0\nmax_connections = 0\nmax_unauthenticated = 0\n"
           "max_unauthenticated_per_address = 0\nfirst_message_timeout_s = 0\n"
           "max_connections_per_agency = 0\n";
  }
};

// The control: without the limits the same flood fills the broker's descriptor table and the
// agency is not welcomed within 1 s (or the broker stops).
TEST_F(ConnectionLimitsOffTest, ControlIdleTcpConnectionsLockOutAgenciesWithoutTheLimits) {
  std::atomic<bool> done{false};
  Flood flood;
  std::thread attacker([&] { flood = IdleFlood(std::chrono::seconds(5), done); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Served served = ServeWhile([&] { return !done.load(); });
  attacker.join();
  const bool alive = BrokerAlive();
  std::printf("[limits] control: %zu connections established, broker descriptors at most %zu\n",
              flood.opened, served.max_descriptors);
  std::printf("[limits] control, limits off: agency late %d/%d, worst %.0f ms, broker %s\n",
              served.late, served.attempts, served.worst_ms, alive ? "up" : "stopped");
  EXPECT_TRUE(served.late > 0 || !alive) << "the flood did no harm without the limits";
  StopBroker();
}

// The control: without the limits one agency's 1,100 connections fill the descriptor table:
// another agency is not welcomed within 1 s, or the broker stops.
TEST_F(ConnectionLimitsOffTest, ControlOneAgencysConnectionsLockOutOthersWithoutTheLimits) {
  std::atomic<bool> done{false};
  const identity::KeySet keys = Keys(kShelter2);
  std::thread attacker([&] {
    AgencyFlood(endpoint_, scenario_.broker.curve_public, keys, std::chrono::seconds(5), done);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Served served = ServeWhile([&] { return !done.load(); });
  attacker.join();
  const bool alive = BrokerAlive();
  std::printf(
      "[limits] control, limits off, one agency's 1,100 connections: other agency late %d/%d, "
      "broker descriptors at most %zu, broker %s\n",
      served.late, served.attempts, served.max_descriptors, alive ? "up" : "stopped");
  EXPECT_TRUE(served.late > 0 || !alive) << "the flood did no harm without the limits";
  StopBroker();
}

}  // namespace
}  // namespace nrm
