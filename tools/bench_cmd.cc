// nrm bench: throughput, latency, CPU and memory of the whole system (issue 7), next to the
// limits of its building blocks measured on the same machine at the same moment.
//
// A real nrm-broker process (CURVE, ZAP, policy, RocksDB group commit with fsync before
// ACCEPTED, Merkle audit) and, in threads of this process, a real sender and real recipients,
// each with its own keys and its own CURVE socket. Recipients are nrm::agent::Agent (verify the
// signature, open, check the need-to-know sections, acknowledge after the application has the
// message). The sender seals and signs every message as the agent does (one envelope per
// recipient role, sections kept per role) and keeps a window of envelopes in flight, checking
// each distinct signed tree head of the broker's receipts.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "agent/agent.h"
#include "audit/json.h"
#include "audit/tree_head.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "policy/policy_file.h"
#include "schemas/wire/payload.h"
#include "tools/bench_limits.h"
#include "tools/commands.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm::tools {
namespace {

using SteadyClock = std::chrono::steady_clock;
using transport::Frame;
using transport::FrameText;

constexpr const char* kUsage =
    "usage: nrm bench [--json] [--quick] [--messages M] [--window W] [--workdir DIR]\n"
    "                 [--scale] [--agencies N] [--offline-messages N] [--rates R1,R2]\n"
    "                 [--only PHASES]\n"
    "Starts a real nrm-broker and real sender and recipient agents (threads with their own keys\n"
    "and CURVE sockets) on 127.0.0.1 and measures, per phase: messages per second end to end,\n"
    "latency from send to the recipient's application (p50, p99, max), broker CPU and resident\n"
    "memory, records per fsync, sender and recipient CPU per message. It first measures the\n"
    "limits of the building blocks (Ed25519 verify, synced RocksDB batches, CURVE forwarding),\n"
    "then warms the broker up with 2000 messages (500 with --quick) that are not counted.\n"
    "  --json           one JSON object on stdout (progress still goes to stderr)\n"
    "  --quick          fewer messages and shorter phases (well under a minute)\n"
    "  --messages M     messages per flat-out phase (default 20000; quick 4000)\n"
    "  --window W       envelopes the sender keeps in flight (default 256)\n"
    "  --rates R1,R2    fixed offered loads in messages/s (default 2000,5000)\n"
    "  --agencies N     idle agencies connected to the broker during every phase (default 0)\n"
    "  --scale          the scaling runs instead: 10, 100 and 1000 connected agencies, then a\n"
    "                   recipient offline while --offline-messages (default 100000) accumulate\n"
    "  --only PHASES    comma-separated subset of: limits,flat1,flat3,rate,queued\n"
    "  --workdir DIR    keep keys, configs, broker data and logs in DIR (default: a temp dir)\n";

constexpr size_t kTargetEnvelopeBytes = 2048;
const std::string kSender = "TH.POLICE.BENCH-SEND";
std::string RecipientId(int i) { return "TH.SHELTER.BENCH-RECV" + std::to_string(i + 1); }
std::string IdleId(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "TH.NGO.IDLE-%04d", i);
  return buf;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// CPU seconds (user + system) and resident memory of another process, from /proc.
struct ProcSample {
  double cpu_s = 0;
  double rss_mib = 0;
  double hwm_mib = 0;
};
ProcSample SampleProcess(pid_t pid) {
  ProcSample out;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = all.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream rest(all.substr(paren + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field && fields.size() < 13) fields.push_back(field);
    if (fields.size() >= 13) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      out.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&](const char* key) {
      return line.starts_with(key) ? std::stod(line.substr(std::strlen(key))) / 1024.0 : -1.0;
    };
    if (double v = kib("VmRSS:"); v >= 0) out.rss_mib = v;
    if (double v = kib("VmHWM:"); v >= 0) out.hwm_mib = v;
  }
  return out;
}

struct Percentiles {
  double p50_us = 0, p99_us = 0, max_us = 0;
  size_t count = 0;
};
Percentiles Summarize(std::vector<int64_t> ns) {
  Percentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    const size_t i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1));
    return static_cast<double>(ns[i]) / 1000.0;
  };
  p.p50_us = at(0.50);
  p.p99_us = at(0.99);
  p.max_us = static_cast<double>(ns.back()) / 1000.0;
  return p;
}

// Counters the progress line reads.
struct Progress {
  std::atomic<uint64_t> sent{0}, accepted{0}, delivered{0};
  std::atomic<uint64_t> target{0};
  std::string phase;
  std::mutex mu;
};

// What a phase does.
struct PhaseSpec {
  std::string name;
  int recipients = 1;
  size_t messages = 0;
  double rate = 0;        // offered messages/s; 0 = flat out within the window
  bool preseal = false;   // seal everything before the clock starts
  bool offline = false;   // recipients connect only after every message was accepted
  int idle_agencies = 0;  // extra agencies connected (idle) during the phase
};

struct PhaseResult {
  PhaseSpec spec;
  size_t accepted = 0, refused = 0, delivered = 0, delivery_errors = 0;
  double send_seconds = 0;    // first SEND to last ACCEPTED
  double e2e_seconds = 0;     // first SEND to last delivery to an application
  double accept_per_s = 0;    // messages the broker accepted per second
  double e2e_per_s = 0;       // messages delivered to every recipient per second
  double drain_per_s = 0;     // offline: deliveries per second after the recipient connected
  Percentiles latency;        // send (scheduled time at a fixed rate) -> recipient application
  double broker_cpu_us = 0;   // per message (accept + deliver + acknowledge)
  double broker_rss_mib = 0;  // at the end of the phase
  double broker_hwm_mib = 0;  // peak resident memory of the broker process
  double broker_rss_queued_mib = 0;  // offline: with everything queued, before the drain
  double broker_accept_cpu_us = 0;   // offline: per message, accepting only (before the drain)
  double records_per_fsync = 0;      // RocksDB records per synced write (group commit)
  double messages_per_fsync = 0;     // accepted messages per synced write
  uint64_t fsyncs = 0;
  double seal_cpu_us = 0;       // sender: seal + sign per message
  double sender_cpu_us = 0;     // sender thread: seal + sign + send + receipts, per message
  double recipient_cpu_us = 0;  // recipient thread: receive, verify, open, ack, per delivery
  double agents_cpu_us = 0;     // the whole bench process (agents + their ZeroMQ I/O threads)
  size_t envelope_bytes = 0;
  std::string error;
};

struct BrokerTotals {
  uint64_t accepted = 0, commits = 0, records = 0;
};

// The bench's scenario and its broker process.
class Bed {
 public:
  static Result<Bed> Create(const std::string& dir, int recipients, int idle) {
    Bed bed;
    bed.dir_ = dir;
    std::vector<ScenarioAgency> agencies = {
        {kSender, "police", "TH", "Chiang Rai", "Bench sender (police)"}};
    for (int i = 0; i < recipients; ++i) {
      agencies.push_back({RecipientId(i), "shelter", "TH", "Nonthaburi", "Bench shelter"});
    }
    for (int i = 0; i < idle; ++i) {
      agencies.push_back({IdleId(i), "ngo", "TH", "Bangkok", "Bench idle agency"});
    }
    NRM_ASSIGN_OR_RETURN(bed.scenario_, CreateScenario(dir, agencies));
    return bed;
  }

  Status StartBroker() {
    std::error_code ec;
    std::filesystem::remove_all(scenario_.broker_data, ec);
    std::filesystem::remove(scenario_.endpoint_file, ec);
    NRM_ASSIGN_OR_RETURN(
        pid_, Spawn({SelfDirectory() + "/nrm-broker", "--config", scenario_.broker_config},
                    dir_ + "/logs/broker.out"));
    return WaitForFile(scenario_.endpoint_file, 20000);
  }

  // Stops the broker (SIGTERM) and reads its totals from the last line it logs.
  Result<BrokerTotals> StopBroker() {
    if (pid_ < 0) return BrokerTotals{};
    NRM_ASSIGN_OR_RETURN(int code, Stop(pid_, 10000));
    pid_ = -1;
    if (code != 0) return Internal("nrm-broker exited with " + std::to_string(code));
    NRM_ASSIGN_OR_RETURN(std::string log, ReadFile(scenario_.broker_log));
    const size_t at = log.rfind("broker stopping:");
    BrokerTotals t;
    if (at == std::string::npos) return t;
    unsigned long long acc = 0, ref = 0, del = 0, ack = 0, commits = 0, records = 0;
    if (std::sscanf(log.c_str() + at,
                    "broker stopping: %llu accepted, %llu refused, %llu delivered, %llu "
                    "acknowledged, %llu synced writes of %llu records",
                    &acc, &ref, &del, &ack, &commits, &records) >= 4) {
      t = {acc, commits, records};
    }
    return t;
  }

  ~Bed() {
    if (pid_ >= 0) (void)Stop(pid_, 5000);
  }
  Bed() = default;
  Bed(Bed&& o) noexcept : dir_(std::move(o.dir_)), scenario_(std::move(o.scenario_)), pid_(o.pid_) {
    o.pid_ = -1;
  }
  Bed& operator=(Bed&&) = delete;

  const Scenario& scenario() const { return scenario_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  Scenario scenario_;
  pid_t pid_ = -1;
};

// The sender: seals as the agent does and keeps `window` envelopes in flight.
class Sender {
 public:
  static Result<std::unique_ptr<Sender>> Open(const Scenario& s) {
    auto out = std::unique_ptr<Sender>(new Sender());
    NRM_ASSIGN_OR_RETURN(out->keys_, identity::LoadSecretKeyFile(s.KeyFile(kSender)));
    NRM_ASSIGN_OR_RETURN(
        out->dir_, identity::Directory::Load(s.dir + "/directory.toml", s.authority.sign_public,
                                             SystemClock::Get().NowMillis()));
    NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(s.policy));
    out->sections_ = policy.SectionsFor("shelter");
    NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(s.endpoint_file));
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    transport::ClientOptions co;
    co.endpoint = endpoint;
    co.server_curve_public = out->dir_.broker().curve_key;
    co.curve_public = out->keys_.curve_public;
    co.curve_secret = out->keys_.curve_secret.Clone();
    NRM_ASSIGN_OR_RETURN(out->client_, transport::Client::Connect(std::move(co), 10000));
    // About 2 KB of sealed envelope: the payload's free text fills the rest.
    NRM_ASSIGN_OR_RETURN(
        out->payload_,
        wire::PayloadFromJson(R"({"case": {"status": "Active", )"
                              R"("reason_for_referral": ")" +
                              std::string(kTargetEnvelopeBytes - 616, 'x') + R"("}})"));
    return out;
  }

  // Seals as Agent::Seal does: the payload checked, only the recipients' role's sections
  // kept, sealed to every recipient and signed. The payload itself is the application's and is
  // built once (its JSON parsing is not the agent's cost).
  Result<wire::Sealed> Seal(const std::vector<std::string>& to, uint64_t i) {
    NRM_RETURN_IF_ERROR(wire::VerifyPayload(payload_).status());
    std::vector<wire::Recipient> recipients;
    for (const std::string& id : to) {
      const identity::Agency* a = dir_.Find(id);
      if (a == nullptr) return NotFound(id);
      recipients.push_back({a->id, a->box_key});
    }
    wire::HeaderFields f;
    f.sender = keys_.id;
    f.kind = wire::Kind::ReferralOffer;
    f.case_ref = Bytes(16, static_cast<uint8_t>(i % 64));  // 64 open cases
    f.handling = wire::Handling::H1;
    f.created_at_ms = SystemClock::Get().NowMillis();
    NRM_ASSIGN_OR_RETURN(Bytes minimal, wire::KeepSections(payload_, sections_));
    return wire::SealEnvelope(f, recipients, minimal, keys_.sign_secret, epoch_);
  }

  // Sends `n` messages to `to`; at `rate` per second (scheduled) or flat out. Records the send
  // time of each message id (the scheduled time at a fixed rate, so that a late send counts).
  Status Run(const std::vector<std::string>& to, size_t n, double rate, size_t window, bool preseal,
             int64_t deadline_ns, Progress& progress, PhaseResult& r) {
    std::vector<wire::Sealed> presealed;
    if (preseal) {
      const double c0 = ThreadCpuSeconds();
      for (size_t i = 0; i < n; ++i) {
        NRM_ASSIGN_OR_RETURN(wire::Sealed s, Seal(to, i));
        presealed.push_back(std::move(s));
      }
      r.seal_cpu_us = (ThreadCpuSeconds() - c0) * 1e6 / static_cast<double>(std::max<size_t>(n, 1));
    }
    const double c0 = ThreadCpuSeconds();
    double seal_cpu = 0;
    size_t next = 0, outstanding = 0;
    const int64_t t0 = NowNs();
    first_send_ns = t0;
    while (r.accepted + r.refused < n && NowNs() < deadline_ns) {
      while (next < n && outstanding < window) {
        const int64_t due =
            rate > 0 ? t0 + static_cast<int64_t>(static_cast<double>(next) * 1e9 / rate) : 0;
        if (rate > 0 && NowNs() < due) break;
        wire::Sealed sealed;
        if (preseal) {
          sealed = std::move(presealed[next]);
        } else {
          const double s0 = ThreadCpuSeconds();
          NRM_ASSIGN_OR_RETURN(sealed, Seal(to, next));
          seal_cpu += ThreadCpuSeconds() - s0;
        }
        r.envelope_bytes = sealed.frame.size();
        sent.emplace_back(sealed.message_id, rate > 0 ? due : NowNs());
        NRM_RETURN_IF_ERROR(client_->Send({Frame("SEND"), sealed.frame}));
        ++next;
        ++outstanding;
        progress.sent++;
      }
      NRM_ASSIGN_OR_RETURN(auto got, client_->Receive(0));
      if (!got) {
        const bool can_send = next < n && outstanding < window;
        if (can_send && rate > 0) {
          const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(next) * 1e9 / rate);
          const int64_t wait = std::clamp<int64_t>(due - NowNs(), 0, 200'000);
          std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
          continue;
        }
        if (can_send) continue;
        NRM_ASSIGN_OR_RETURN(got, client_->Receive(1));
        if (!got) continue;
      }
      if (got->empty()) continue;
      const std::string_view verb = FrameText((*got)[0]);
      if (verb == "ACCEPTED" && got->size() == 4) {
        NRM_RETURN_IF_ERROR(CheckReceipt(*got));
        ++r.accepted;
        progress.accepted++;
        --outstanding;
        last_accept_ns = NowNs();
      } else if (verb == "REFUSED") {
        ++r.refused;
        --outstanding;
        if (r.error.empty() && got->size() >= 4) {
          r.error = "refused: " + std::string(FrameText((*got)[2])) + ": " +
                    std::string(FrameText((*got)[3]));
        }
      }
    }
    const double total = ThreadCpuSeconds() - c0;
    const double per = 1e6 / static_cast<double>(std::max<size_t>(next, 1));
    if (!preseal) r.seal_cpu_us = seal_cpu * per;
    r.sender_cpu_us = total * per + (preseal ? r.seal_cpu_us : 0);
    if (r.accepted + r.refused < n) {
      return Unavailable("the sender ran out of time: " + std::to_string(r.accepted) + " of " +
                         std::to_string(n) + " accepted");
    }
    return Status::Ok();
  }

  std::vector<std::pair<Bytes, int64_t>> sent;
  int64_t first_send_ns = 0, last_accept_ns = 0;

 private:
  Sender() = default;

  // The broker's receipt: a leaf and a signed tree head holding it. A head is verified once;
  // every reply of one group commit carries the same head.
  Status CheckReceipt(const transport::Frames& f) {
    if (f[2].size() != 8) return Unauthenticated("receipt without a leaf");
    uint64_t leaf = 0;
    for (uint8_t b : f[2]) leaf = leaf << 8 | b;
    if (f[3] != last_head_) {
      NRM_ASSIGN_OR_RETURN(head_, audit::DecodeTreeHead(f[3]));
      NRM_RETURN_IF_ERROR(audit::VerifyTreeHead(head_, dir_.broker().sign_key));
      last_head_ = f[3];
    }
    if (leaf >= head_.size) return Unauthenticated("receipt names a leaf past its tree");
    return Status::Ok();
  }

  identity::KeySet keys_;
  wire::SenderEpoch epoch_{SystemClock::Get()};  // as the agent's: one per sender, hourly
  identity::Directory dir_;
  std::vector<std::string> sections_;
  std::unique_ptr<transport::Client> client_;
  Bytes payload_;
  Bytes last_head_;
  audit::SignedTreeHead head_;
};

// A recipient agent: receives, verifies, opens, checks sections, then acknowledges.
struct RecipientRun {
  std::vector<std::pair<Bytes, int64_t>> got;  // message id, when the application had it
  size_t errors = 0;
  double cpu_s = 0;
  int64_t connected_ns = 0;
  Status status;
};

void RunRecipient(const Scenario& s, const std::string& id, size_t expect, int64_t deadline_ns,
                  std::atomic<int>& ready, Progress& progress, RecipientRun& out) {
  Result<agent::AgentConfig> config = agent::LoadAgentConfig(s.AgentConfig(id));
  if (!config.ok()) {
    out.status = config.status();
    ready++;
    return;
  }
  Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*config, SystemClock::Get(), 10000);
  out.connected_ns = NowNs();
  ready++;
  if (!a.ok()) {
    out.status = a.status();
    return;
  }
  const double c0 = ThreadCpuSeconds();
  out.got.reserve(expect);
  while (out.got.size() < expect && NowNs() < deadline_ns) {
    Result<std::optional<agent::Received>> r = (*a)->Receive(200);
    if (!r.ok()) {
      ++out.errors;  // a delivery that failed its checks (already acknowledged by the agent)
      if (out.status.ok()) out.status = r.status();
      continue;
    }
    if (!r->has_value() || (*r)->type != agent::Received::Type::kMessage) continue;
    out.got.emplace_back((*r)->message_id, NowNs());
    progress.delivered++;
    if (Status st = (*a)->Acknowledge((*r)->message_id); !st.ok() && out.status.ok()) {
      out.status = st;
    }
  }
  out.cpu_s = ThreadCpuSeconds() - c0;
  // Let the last acknowledgements leave before the socket closes.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Connects `n` idle agencies (each its own CURVE connection, HELLO sent).
Result<std::vector<std::unique_ptr<transport::Client>>> ConnectIdle(const Scenario& s, int n) {
  std::vector<std::unique_ptr<transport::Client>> out;
  if (n == 0) return out;
  NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(s.endpoint_file));
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  for (int i = 0; i < n; ++i) {
    NRM_ASSIGN_OR_RETURN(identity::KeySet k, identity::LoadSecretKeyFile(s.KeyFile(IdleId(i))));
    transport::ClientOptions co;
    co.endpoint = endpoint;
    co.server_curve_public = s.broker.curve_public;
    co.curve_public = k.curve_public;
    co.curve_secret = k.curve_secret.Clone();
    NRM_ASSIGN_OR_RETURN(auto c, transport::Client::Connect(std::move(co), 10000));
    NRM_RETURN_IF_ERROR(c->Send({Frame("HELLO")}));
    out.push_back(std::move(c));
  }
  return out;
}

Result<PhaseResult> RunPhase(Bed& bed, const PhaseSpec& spec, size_t window, Progress& progress) {
  PhaseResult r;
  r.spec = spec;
  {
    std::lock_guard<std::mutex> lock(progress.mu);
    progress.phase = spec.name;
  }
  progress.sent = progress.accepted = progress.delivered = 0;
  progress.target = spec.messages;
  NRM_RETURN_IF_ERROR(bed.StartBroker());
  const Scenario& s = bed.scenario();
  NRM_ASSIGN_OR_RETURN(auto idle, ConnectIdle(s, spec.idle_agencies));
  // Generous but bounded: a phase that cannot finish reports what it did.
  const double expected_s = spec.rate > 0 ? static_cast<double>(spec.messages) / spec.rate
                                          : static_cast<double>(spec.messages) / 1000.0;
  const int64_t deadline = NowNs() + static_cast<int64_t>((expected_s * 3 + 30) * 1e9);

  std::vector<std::string> to;
  for (int i = 0; i < spec.recipients; ++i) to.push_back(RecipientId(i));
  std::vector<RecipientRun> runs(static_cast<size_t>(spec.recipients));
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  auto start_recipients = [&] {
    for (int i = 0; i < spec.recipients; ++i) {
      threads.emplace_back(RunRecipient, std::cref(s), to[static_cast<size_t>(i)], spec.messages,
                           deadline, std::ref(ready), std::ref(progress),
                           std::ref(runs[static_cast<size_t>(i)]));
    }
    while (ready.load() < spec.recipients)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  };
  if (!spec.offline) start_recipients();

  NRM_ASSIGN_OR_RETURN(std::unique_ptr<Sender> sender, Sender::Open(s));
  const ProcSample b0 = SampleProcess(bed.pid());
  const double self0 = SelfCpuSeconds();
  Status sent =
      sender->Run(to, spec.messages, spec.rate, window, spec.preseal, deadline, progress, r);
  if (!sent.ok() && r.error.empty()) r.error = sent.ToString();
  r.send_seconds = static_cast<double>(sender->last_accept_ns - sender->first_send_ns) * 1e-9;
  r.accept_per_s = r.send_seconds > 0 ? static_cast<double>(r.accepted) / r.send_seconds : 0;
  int64_t drain_start = 0;
  if (spec.offline) {
    // Everything waits on the broker's disk now: its memory with the whole queue.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const ProcSample queued = SampleProcess(bed.pid());
    r.broker_rss_queued_mib = queued.rss_mib;
    r.broker_accept_cpu_us =
        (queued.cpu_s - b0.cpu_s) * 1e6 / static_cast<double>(std::max<size_t>(r.accepted, 1));
    drain_start = NowNs();
    start_recipients();
  }
  for (std::thread& t : threads) t.join();
  const ProcSample b1 = SampleProcess(bed.pid());
  const double self1 = SelfCpuSeconds();

  std::unordered_map<std::string, int64_t> sent_at;
  sent_at.reserve(sender->sent.size());
  for (const auto& [id, t] : sender->sent) sent_at[std::string(AsChars(id))] = t;
  std::vector<int64_t> latencies;
  int64_t last_delivery = 0;
  double recipient_cpu = 0;
  for (RecipientRun& run : runs) {
    r.delivered += run.got.size();
    r.delivery_errors += run.errors;
    recipient_cpu += run.cpu_s;
    if (!run.status.ok() && r.error.empty()) r.error = run.status.ToString();
    for (const auto& [id, t] : run.got) {
      last_delivery = std::max(last_delivery, t);
      auto it = sent_at.find(std::string(AsChars(id)));
      if (it != sent_at.end() && !spec.offline) latencies.push_back(t - it->second);
    }
  }
  r.latency = Summarize(std::move(latencies));
  const double per_msg = 1e6 / static_cast<double>(std::max<size_t>(r.accepted, 1));
  r.recipient_cpu_us = recipient_cpu * 1e6 / static_cast<double>(std::max<size_t>(r.delivered, 1));
  r.agents_cpu_us = (self1 - self0) * per_msg;
  r.broker_cpu_us = (b1.cpu_s - b0.cpu_s) * per_msg;
  r.broker_rss_mib = b1.rss_mib;
  r.broker_hwm_mib = b1.hwm_mib;
  if (last_delivery > 0) {
    r.e2e_seconds = static_cast<double>(last_delivery - sender->first_send_ns) * 1e-9;
    r.e2e_per_s =
        static_cast<double>(r.delivered) / static_cast<double>(spec.recipients) / r.e2e_seconds;
    if (spec.offline) {
      r.drain_per_s = static_cast<double>(r.delivered) /
                      (static_cast<double>(last_delivery - drain_start) * 1e-9);
    }
  }
  idle.clear();
  NRM_ASSIGN_OR_RETURN(BrokerTotals totals, bed.StopBroker());
  r.fsyncs = totals.commits;
  if (totals.commits > 0) {
    r.records_per_fsync = static_cast<double>(totals.records) / static_cast<double>(totals.commits);
    r.messages_per_fsync =
        static_cast<double>(totals.accepted) / static_cast<double>(totals.commits);
  }
  if (r.delivered < r.accepted * static_cast<size_t>(spec.recipients) && r.error.empty()) {
    r.error = "only " + std::to_string(r.delivered) + " of " +
              std::to_string(r.accepted * static_cast<size_t>(spec.recipients)) +
              " deliveries arrived in time";
  }
  return r;
}

std::string Num(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string PhaseJson(const PhaseResult& r) {
  std::ostringstream o;
  o << "{\"name\":" << audit::json::Quote(r.spec.name) << ",\"recipients\":" << r.spec.recipients
    << ",\"messages\":" << r.spec.messages << ",\"offered_per_s\":" << Num(r.spec.rate)
    << ",\"idle_agencies\":" << r.spec.idle_agencies
    << ",\"presealed\":" << (r.spec.preseal ? "true" : "false")
    << ",\"recipients_offline\":" << (r.spec.offline ? "true" : "false")
    << ",\"envelope_bytes\":" << r.envelope_bytes << ",\"accepted\":" << r.accepted
    << ",\"refused\":" << r.refused << ",\"delivered\":" << r.delivered
    << ",\"delivery_errors\":" << r.delivery_errors << ",\"accepted_per_s\":" << Num(r.accept_per_s)
    << ",\"end_to_end_per_s\":" << Num(r.e2e_per_s) << ",\"drain_per_s\":" << Num(r.drain_per_s)
    << ",\"latency_us\":{\"p50\":" << Num(r.latency.p50_us) << ",\"p99\":" << Num(r.latency.p99_us)
    << ",\"max\":" << Num(r.latency.max_us) << ",\"samples\":" << r.latency.count << "}"
    << ",\"broker_cpu_us_per_msg\":" << Num(r.broker_cpu_us, 1)
    << ",\"broker_rss_mib\":" << Num(r.broker_rss_mib, 1)
    << ",\"broker_peak_rss_mib\":" << Num(r.broker_hwm_mib, 1)
    << ",\"broker_rss_queued_mib\":" << Num(r.broker_rss_queued_mib, 1)
    << ",\"broker_accept_only_cpu_us_per_msg\":" << Num(r.broker_accept_cpu_us, 1)
    << ",\"broker_rss_kib_per_msg\":"
    << Num(r.broker_hwm_mib * 1024 / static_cast<double>(std::max<size_t>(r.accepted, 1)), 3)
    << ",\"fsyncs\":" << r.fsyncs << ",\"records_per_fsync\":" << Num(r.records_per_fsync, 1)
    << ",\"messages_per_fsync\":" << Num(r.messages_per_fsync, 1)
    << ",\"sender_seal_cpu_us_per_msg\":" << Num(r.seal_cpu_us, 1)
    << ",\"sender_cpu_us_per_msg\":" << Num(r.sender_cpu_us, 1)
    << ",\"recipient_cpu_us_per_delivery\":" << Num(r.recipient_cpu_us, 1)
    << ",\"bench_process_cpu_us_per_msg\":" << Num(r.agents_cpu_us, 1)
    << ",\"error\":" << audit::json::Quote(r.error) << "}";
  return o.str();
}

void PrintPhase(std::ostream& out, const PhaseResult& r) {
  out << "  " << r.spec.name << ": " << r.accepted << " accepted";
  if (r.refused) out << ", " << r.refused << " refused";
  out << ", " << r.delivered << " delivered to " << r.spec.recipients << " recipient(s)"
      << (r.spec.idle_agencies ? ", " + std::to_string(r.spec.idle_agencies) + " idle agencies"
                               : "")
      << ", envelope " << r.envelope_bytes << " B\n";
  if (r.spec.offline) {
    out << "    accepted " << Num(r.accept_per_s)
        << " msg/s with the recipient offline; broker RSS " << Num(r.broker_rss_queued_mib, 1)
        << " MiB with all queued, " << Num(r.broker_accept_cpu_us, 1)
        << " us CPU/msg to accept; drain on reconnect " << Num(r.drain_per_s) << " deliveries/s\n";
  } else {
    out << "    " << Num(r.e2e_per_s) << " msg/s end to end (offered "
        << (r.spec.rate > 0 ? Num(r.spec.rate) + "/s" : std::string("flat out")) << "), accepted "
        << Num(r.accept_per_s) << "/s; latency p50 " << Num(r.latency.p50_us / 1000, 2)
        << " ms, p99 " << Num(r.latency.p99_us / 1000, 2) << " ms, max "
        << Num(r.latency.max_us / 1000, 2) << " ms\n";
  }
  out << "    broker " << Num(r.broker_cpu_us, 1) << " us CPU/msg, RSS " << Num(r.broker_rss_mib, 1)
      << " MiB (peak " << Num(r.broker_hwm_mib, 1) << "), " << Num(r.records_per_fsync, 1)
      << " records (" << Num(r.messages_per_fsync, 1) << " messages) per fsync\n"
      << "    sender " << Num(r.sender_cpu_us, 1) << " us CPU/msg (seal+sign "
      << Num(r.seal_cpu_us, 1) << "), recipient " << Num(r.recipient_cpu_us, 1)
      << " us CPU/delivery, whole bench process " << Num(r.agents_cpu_us, 1) << " us/msg\n";
  if (!r.error.empty()) out << "    ERROR: " << r.error << "\n";
}

// The limit the building blocks imply for the broker, and which block sets it.
struct Implied {
  double per_s = 0;
  std::string by;
};
Implied ImpliedLimit(const Limits& l, const PhaseResult& flat) {
  // Per message the broker verifies one signature (spread over every core), writes the
  // envelope once per recipient in synced batches, and moves it twice through CURVE
  // (SEND in, DELIVER out) — what one forwarded frame costs.
  Implied out{l.verify_all_cores, "Ed25519 verification on all cores"};
  const double per_records = l.synced_records_per_s / std::max(1, flat.spec.recipients);
  if (per_records < out.per_s) out = {per_records, "synced RocksDB batches"};
  if (l.curve_forward_per_s / flat.spec.recipients < out.per_s) {
    out = {l.curve_forward_per_s / flat.spec.recipients, "CURVE forwarding through one ROUTER"};
  }
  return out;
}

// End to end on this machine, with the sender, the broker and the recipient sharing its cores:
// every message costs one Ed25519 signature and two verifications (broker, recipient). The rate
// those alone allow, whatever else a message costs.
double EndToEndSignatureLimit(const Limits& l) {
  if (l.sign_per_core <= 0 || l.verify_per_core <= 0) return 0;
  return l.cores / (1 / l.sign_per_core + 2 / l.verify_per_core);
}

}  // namespace

int BenchCommand(const Words& args, std::ostream& out, std::ostream& err) {
  Result<Args> parsed = Args::Parse(
      args, {"messages", "window", "workdir", "agencies", "offline-messages", "rates", "only"},
      {"json", "quick", "scale", "help"});
  if (!parsed.ok()) {
    err << "nrm bench: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  const Args& a = *parsed;
  if (a.Has("help")) {
    out << kUsage;
    return 0;
  }
  const bool json = a.Has("json");
  const bool quick = a.Has("quick");
  const bool scale = a.Has("scale");
  auto number = [&](const char* name, long fallback) -> long {
    auto v = a.Get(name);
    return v ? std::stol(*v) : fallback;
  };
  size_t messages = static_cast<size_t>(number("messages", quick ? 4000 : 20000));
  const size_t window = static_cast<size_t>(number("window", 256));
  const int agencies = static_cast<int>(number("agencies", 0));
  const size_t offline_messages =
      static_cast<size_t>(number("offline-messages", scale ? 100000 : (quick ? 4000 : 20000)));
  std::vector<double> rates;
  {
    std::string list = a.Get("rates").value_or("2000,5000");
    std::istringstream in(list);
    for (std::string r; std::getline(in, r, ',');) rates.push_back(std::stod(r));
  }
  const std::string only = a.Get("only").value_or(scale ? "" : "limits,flat1,flat3,rate,queued");
  auto wants = [&](const std::string& p) {
    return ("," + only + ",").find("," + p + ",") != std::string::npos;
  };

  // Many connections: each idle agency is a socket here and one in the broker.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  signal(SIGPIPE, SIG_IGN);

  std::string workdir = a.Get("workdir").value_or("");
  bool temporary = false;
  if (workdir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nrm-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      err << "nrm bench: cannot create a temporary directory\n";
      return 1;
    }
    workdir = tmpl;
    temporary = true;
  }
  const int max_idle = scale ? 1000 : agencies;
  Result<Bed> bed = Bed::Create(workdir, 3, max_idle);
  if (!bed.ok()) {
    err << "nrm bench: " << bed.status().ToString() << "\n";
    return 1;
  }

  Progress progress;
  std::atomic<bool> done{false};
  const auto started = SteadyClock::now();
  std::thread progress_thread([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      std::string phase;
      {
        std::lock_guard<std::mutex> lock(progress.mu);
        phase = progress.phase;
      }
      if (phase.empty()) continue;
      const double t = std::chrono::duration<double>(SteadyClock::now() - started).count();
      err << "\r[" << Num(t, 0) << " s] " << phase << ": sent " << progress.sent.load() << "/"
          << progress.target.load() << ", accepted " << progress.accepted.load() << ", delivered "
          << progress.delivered.load() << "          " << std::flush;
    }
  });

  int exit_code = 0;
  Limits limits;
  bool have_limits = false;
  std::vector<PhaseResult> results;
  auto run = [&](const PhaseSpec& spec) {
    Result<PhaseResult> r = RunPhase(*bed, spec, window, progress);
    if (!r.ok()) {
      PhaseResult failed;
      failed.spec = spec;
      failed.error = r.status().ToString();
      results.push_back(std::move(failed));
      exit_code = 1;
      return;
    }
    if (!r->error.empty()) exit_code = 1;
    results.push_back(std::move(*r));
  };
  if (wants("limits")) {
    {
      std::lock_guard<std::mutex> lock(progress.mu);
      progress.phase = "limits";
    }
    Result<Limits> l = MeasureLimits(workdir + "/limits-rocksdb", kTargetEnvelopeBytes, quick);
    if (l.ok()) {
      limits = *l;
      have_limits = true;
    } else {
      err << "\nnrm bench: limits: " << l.status().ToString() << "\n";
      exit_code = 1;
    }
  }
  // A broker just started answers its first hundred or so messages in 1-3 ms instead of about
  // 0.7 (a new WAL, empty caches, first-touch page faults): a warm-up, not counted, so that
  // every phase measures a running broker whichever phases --only selects.
  size_t warmup = 0;
  if (scale || wants("flat1") || wants("flat3") || wants("rate") || wants("queued")) {
    warmup = quick ? 500 : 2000;
    Result<PhaseResult> w =
        RunPhase(*bed, {"warm-up (not counted)", 1, warmup, 0, false, false, 0}, window, progress);
    if (!w.ok() || !w->error.empty() || w->delivered != warmup) {
      err << "\nnrm bench: the warm-up failed: " << (w.ok() ? w->error : w.status().ToString())
          << "\n";
      exit_code = 1;
    }
  }
  const double rate_seconds = quick ? 2 : 5;
  if (!scale) {
    if (wants("flat1")) run({"flat-out, 1 recipient", 1, messages, 0, false, false, agencies});
    if (wants("flat3")) run({"flat-out, 3 recipients", 3, messages / 2, 0, false, false, agencies});
    if (wants("rate")) {
      for (double rate : rates) {
        run({"fixed " + Num(rate) + "/s, 1 recipient", 1, static_cast<size_t>(rate * rate_seconds),
             rate, false, false, agencies});
      }
    }
    if (wants("queued")) {
      run({"broker alone: presealed, recipient offline, then drain", 1, offline_messages, 0, true,
           true, agencies});
    }
  } else {
    for (int n : {10, 100, 1000}) {
      run({"flat-out, 1 recipient, " + std::to_string(n) + " agencies connected", 1, messages, 0,
           false, false, n});
    }
    run({"1000 agencies, recipient offline: " + std::to_string(offline_messages) +
             " queued, then drain",
         1, offline_messages, 0, true, true, 1000});
  }
  done = true;
  progress_thread.join();
  err << "\n";

  const PhaseResult* flat = nullptr;
  const PhaseResult* alone = nullptr;
  for (const PhaseResult& r : results) {
    if (r.spec.rate == 0 && !r.spec.offline && r.spec.recipients == 1 && !flat) flat = &r;
    if (r.spec.offline && !alone) alone = &r;
  }
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  if (json) {
    std::ostringstream o;
    o << "{\"machine\":{\"cores\":" << std::thread::hardware_concurrency()
      << ",\"host\":" << audit::json::Quote(host) << "},\"window\":" << window
      << ",\"warmup_messages\":" << warmup << ",\"phases\":[";
    for (size_t i = 0; i < results.size(); ++i) o << (i ? "," : "") << PhaseJson(results[i]);
    o << "]";
    if (have_limits) {
      o << ",\"limits\":{\"ed25519_verify_per_s_per_core\":" << Num(limits.verify_per_core)
        << ",\"ed25519_verify_per_s_all_cores\":" << Num(limits.verify_all_cores)
        << ",\"rocksdb_synced_batches_per_s\":" << Num(limits.synced_batches_per_s)
        << ",\"rocksdb_synced_batch_records\":" << limits.batch_records
        << ",\"rocksdb_synced_records_per_s\":" << Num(limits.synced_records_per_s)
        << ",\"rocksdb_synced_single_writes_per_s\":" << Num(limits.synced_single_per_s)
        << ",\"curve_router_forward_per_s\":" << Num(limits.curve_forward_per_s)
        << ",\"ed25519_sign_per_s_per_core\":" << Num(limits.sign_per_core) << "}"
        << ",\"end_to_end_signature_limit_per_s\":" << Num(EndToEndSignatureLimit(limits));
      if (flat) {
        const Implied lim = ImpliedLimit(limits, *flat);
        o << ",\"implied_broker_limit_per_s\":" << Num(lim.per_s)
          << ",\"implied_limit_set_by\":" << audit::json::Quote(lim.by)
          << ",\"end_to_end_fraction_of_limit\":" << Num(flat->e2e_per_s / lim.per_s, 3);
        if (alone) {
          o << ",\"broker_alone_fraction_of_limit\":" << Num(alone->accept_per_s / lim.per_s, 3);
        }
        o << ",\"end_to_end_fraction_of_signature_limit\":"
          << Num(flat->e2e_per_s / EndToEndSignatureLimit(limits), 3);
      }
    }
    o << ",\"elapsed_s\":"
      << Num(std::chrono::duration<double>(SteadyClock::now() - started).count(), 1) << "}";
    out << o.str() << "\n";
  } else {
    out << "nrm bench on " << host << " (" << std::thread::hardware_concurrency()
        << " cores), sender window " << window << ", workdir " << workdir << "\n";
    if (have_limits) {
      out << "limits measured now:\n"
          << "  Ed25519 verify (2 KB): " << Num(limits.verify_per_core) << "/s per core, "
          << Num(limits.verify_all_cores) << "/s on " << limits.cores
          << " cores; sign (2 KB): " << Num(limits.sign_per_core) << "/s per core\n"
          << "  RocksDB synced batches of " << limits.batch_records
          << " x 2 KB: " << Num(limits.synced_batches_per_s)
          << " batches/s = " << Num(limits.synced_records_per_s)
          << " records/s; single synced writes " << Num(limits.synced_single_per_s) << "/s\n"
          << "  CURVE forwarding through one ROUTER (2 KB): " << Num(limits.curve_forward_per_s)
          << " msg/s\n";
    }
    out << "phases"
        << (warmup ? " (after a warm-up of " + std::to_string(warmup) + " messages)" : "") << ":\n";
    for (const PhaseResult& r : results) PrintPhase(out, r);
    if (have_limits && flat) {
      const Implied lim = ImpliedLimit(limits, *flat);
      out << "implied broker limit: " << Num(lim.per_s) << " msg/s (set by " << lim.by << ")\n"
          << "  end to end, flat out: " << Num(flat->e2e_per_s)
          << " msg/s = " << Num(100 * flat->e2e_per_s / lim.per_s, 1) << "% of it\n";
      if (alone) {
        out << "  broker alone (presealed, recipient offline): " << Num(alone->accept_per_s)
            << " msg/s = " << Num(100 * alone->accept_per_s / lim.per_s, 1) << "% of it\n";
      }
      const double sig = EndToEndSignatureLimit(limits);
      out << "end to end with sender, broker and recipient on these " << limits.cores
          << " cores, Ed25519 alone (1 signature + 2 verifications per message) allows " << Num(sig)
          << " msg/s\n"
          << "  end to end, flat out: " << Num(flat->e2e_per_s)
          << " msg/s = " << Num(100 * flat->e2e_per_s / sig, 1) << "% of it\n";
    }
  }
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(workdir, ec);
  }
  return exit_code;
}

}  // namespace nrm::tools
