// The federation phase of `nrm bench` (see bench_federation.h).
#include "tools/bench_federation.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/bench_load.h"
#include "tools/bench_measure.h"
#include "tools/bench_report.h"
#include "tools/federation_scenario.h"
#include "tools/process.h"

namespace nrm::tools::bench {
namespace {

// The brokers of the phase, one per country; those still running are stopped however the
// phase ends.
class Brokers {
 public:
  Brokers() = default;
  Brokers(const Brokers&) = delete;
  Brokers& operator=(const Brokers&) = delete;
  ~Brokers() {
    for (auto& [country, pid] : pids_) {
      if (pid > 0) (void)Stop(pid, 5000);
    }
  }

  Status Start(const NationalSetup& n) {
    std::error_code ec;
    std::filesystem::remove(n.endpoint_file, ec);
    NRM_ASSIGN_OR_RETURN(pid_t pid,
                         Spawn({SelfDirectory() + "/nrm-broker", "--config", n.broker_config},
                               n.dir + "/logs/broker.out"));
    pids_[n.country] = pid;
    return WaitForFile(n.endpoint_file, 20000)
        .WithContext("the broker of " + n.country + " did not start (see " + n.dir + "/logs)");
  }
  pid_t pid(const std::string& country) const { return pids_.at(country); }
  // Stops each (SIGTERM); an error naming the first that did not exit cleanly.
  Status StopAll() {
    Status out = Status::Ok();
    for (auto& [country, pid] : pids_) {
      Result<int> code = Stop(pid, 10000);
      pid = -1;
      if (out.ok() && (!code.ok() || *code != 0)) {
        out = Internal("the broker of " + country + " did not stop cleanly" +
                       (code.ok() ? " (exit " + std::to_string(*code) + ")" : ""));
      }
    }
    return out;
  }

 private:
  std::map<std::string, pid_t> pids_;
};

// Waits until `n`'s broker reports (data_dir/federation.json) its link to `partner` connected.
Status WaitForLink(const NationalSetup& n, const std::string& partner, int timeout_ms) {
  const int64_t deadline = NowNs() + int64_t{timeout_ms} * 1'000'000;
  while (NowNs() < deadline) {
    Result<std::string> text = ReadFile(n.broker_data + "/federation.json");
    Result<json::Json> doc = text.ok() ? json::Parse(*text) : Result<json::Json>(text.status());
    if (doc.ok() && doc->is_object() && doc->contains("links")) {
      for (const json::Json& l : (*doc)["links"]) {
        if (l.is_object() && l.contains("country") && l["country"] == partner &&
            l.contains("connected") && l["connected"] == true) {
          return Status::Ok();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Unavailable("the link of " + n.country + "'s broker to " + partner +
                     " did not connect (see " + n.dir + "/logs)");
}

// An agent config for `agency` of `f` with its own data directory and the anchors of the other
// countries installed, as an agency of a federated country runs its agent.
Result<std::string> FederatedAgentConfig(const FederationSetup& f, const std::string& agency) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(f.AgentConfig(agency)));
  std::string anchors;
  for (const auto& [country, n] : f.countries) {
    if (country == agency.substr(0, 2)) continue;
    anchors += (anchors.empty() ? "\"" : ", \"") + n.anchor + "\"";
  }
  const std::string path = f.AgentConfig(agency) + ".bench.toml";
  NRM_RETURN_IF_ERROR(WriteFileAtomic(path, text + "data_dir = \"" + agency + "-data\"\n" +
                                                "partner_anchors = [" + anchors + "]\n"));
  return path;
}

struct FederationBed {
  FederationSetup f;
  Brokers brokers;
  std::map<std::string, std::string> agent_configs;  // recipient -> its agent's config
};

// One run: `n` messages from the Thai sender to the Cambodian shelter (`cross_border`) or to the
// Thai one, flat out within `window` or at `rate` per second.
Result<FederationRun> RunOne(FederationBed& bed, const std::string& name, bool cross_border,
                             size_t n, double rate, size_t window, Progress& progress) {
  FederationRun out;
  out.cross_border = cross_border;
  PhaseResult& r = out.phase;
  r.spec.name = name;
  r.spec.messages = n;
  r.spec.rate = rate;
  {
    std::lock_guard<std::mutex> lock(progress.mu);
    progress.phase = name;
  }
  progress.sent = progress.accepted = progress.delivered = 0;
  progress.target = n;
  const std::string to = cross_border ? kForeignRecipient : kDomesticRecipient;
  const double expected_s =
      rate > 0 ? static_cast<double>(n) / rate : static_cast<double>(n) / 1000.0;
  const int64_t deadline = NowNs() + static_cast<int64_t>((expected_s * 3 + 30) * 1e9);

  NRM_ASSIGN_OR_RETURN(std::unique_ptr<Sender> sender,
                       Sender::OpenFederated(bed.f, kFederationSender));
  RecipientRun run;
  std::atomic<int> ready{0};
  std::thread recipient(RunRecipient, bed.agent_configs.at(to), n, deadline, std::ref(ready),
                        std::ref(progress), std::ref(run));
  while (ready.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(2));

  const pid_t th = bed.brokers.pid("TH"), kh = bed.brokers.pid("KH");
  const ProcSample th0 = SampleProcess(th), kh0 = SampleProcess(kh);
  const double self0 = SelfCpuSeconds();
  Status sent = sender->Run({to}, n, rate, window, false, deadline, progress, r);
  if (!sent.ok() && r.error.empty()) r.error = sent.ToString();
  r.send_seconds = static_cast<double>(sender->last_accept_ns - sender->first_send_ns) * 1e-9;
  r.accept_per_s = r.send_seconds > 0 ? static_cast<double>(r.accepted) / r.send_seconds : 0;
  recipient.join();
  if (cross_border) {
    // Each relay's receipt from the Cambodian broker, passed on by the Thai one.
    if (Status s = sender->AwaitRelayReceipts(r.accepted, deadline); !s.ok() && r.error.empty()) {
      r.error = s.ToString();
    }
    out.relay_receipts = sender->relay_receipts;
    // Let the last acknowledgements leave before the socket closes.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const ProcSample th1 = SampleProcess(th), kh1 = SampleProcess(kh);
  const double self1 = SelfCpuSeconds();

  std::unordered_map<std::string, int64_t> sent_at;
  sent_at.reserve(sender->sent.size());
  for (const auto& [id, t] : sender->sent) sent_at[std::string(AsChars(id))] = t;
  std::vector<int64_t> latencies;
  int64_t last_delivery = 0;
  for (const auto& [id, t] : run.got) {
    last_delivery = std::max(last_delivery, t);
    auto it = sent_at.find(std::string(AsChars(id)));
    if (it != sent_at.end()) latencies.push_back(t - it->second);
  }
  r.delivered = run.got.size();
  r.delivery_errors = run.errors;
  if (!run.status.ok() && r.error.empty()) r.error = run.status.ToString();
  r.latency = Summarize(std::move(latencies));
  const double per_msg = 1e6 / static_cast<double>(std::max<size_t>(r.accepted, 1));
  r.recipient_cpu_us = run.cpu_s * 1e6 / static_cast<double>(std::max<size_t>(r.delivered, 1));
  r.agents_cpu_us = (self1 - self0) * per_msg;
  r.broker_cpu_us = (th1.cpu_s - th0.cpu_s) * per_msg;
  r.broker_rss_mib = th1.rss_mib;
  r.broker_hwm_mib = th1.hwm_mib;
  out.partner_broker_cpu_us = (kh1.cpu_s - kh0.cpu_s) * per_msg;
  if (last_delivery > 0) {
    r.e2e_seconds = static_cast<double>(last_delivery - sender->first_send_ns) * 1e-9;
    r.e2e_per_s = static_cast<double>(r.delivered) / r.e2e_seconds;
  }
  if (r.delivered < r.accepted && r.error.empty()) {
    r.error = "only " + std::to_string(r.delivered) + " of " + std::to_string(r.accepted) +
              " deliveries arrived in time";
  }
  return out;
}

}  // namespace

Result<FederationResult> RunFederation(const std::string& dir, const FederationSpec& spec,
                                       Progress& progress) {
  const int64_t started = NowNs();
  FederationResult result;
  result.rate = spec.rate;
  {
    std::lock_guard<std::mutex> lock(progress.mu);
    progress.phase = "federation: starting the Thai and Cambodian brokers";
  }
  progress.sent = progress.accepted = progress.delivered = progress.target = 0;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::vector<AgreementSpec> agreements;
  for (AgreementSpec& a : GmsAgreements(SystemClock::Get().NowMillis())) {
    if (a.id == "th-kh-2003") agreements.push_back(std::move(a));
  }
  FederationBed bed;
  NRM_ASSIGN_OR_RETURN(
      bed.f, CreateFederation(
                 dir,
                 {{kFederationSender, "ngo", "TH", "Chiang Rai", "Bench sender (NGO)"},
                  {kDomesticRecipient, "shelter", "TH", "Nonthaburi", "Bench shelter"},
                  {kForeignRecipient, "shelter", "KH", "Phnom Penh", "Bench shelter (Cambodia)"}},
                 agreements));
  for (const std::string& id : {kDomesticRecipient, kForeignRecipient}) {
    NRM_ASSIGN_OR_RETURN(bed.agent_configs[id], FederatedAgentConfig(bed.f, id));
  }
  for (const char* country : {"TH", "KH"}) {
    NRM_RETURN_IF_ERROR(bed.brokers.Start(bed.f.countries.at(country)));
  }
  NRM_RETURN_IF_ERROR(WaitForLink(bed.f.countries.at("TH"), "KH", 20000));

  auto run = [&](const std::string& name, bool cross_border, size_t n, double rate, bool counted) {
    Result<FederationRun> r = RunOne(bed, name, cross_border, n, rate, spec.window, progress);
    if (!r.ok()) {
      FederationRun failed;
      failed.cross_border = cross_border;
      failed.phase.spec.name = name;
      failed.phase.error = r.status().ToString();
      r = std::move(failed);
    }
    if (!r->phase.error.empty() && result.error.empty()) {
      result.error = name + ": " + r->phase.error;
    }
    if (counted) result.runs.push_back(std::move(*r));
  };
  // Both brokers warmed up (a new WAL, empty caches) by a run each way, not counted.
  if (const size_t warmup = std::min(spec.warmup, spec.messages); warmup > 0) {
    run("federation warm-up across the border (not counted)", true, warmup, 0, false);
    run("federation warm-up at home (not counted)", false, warmup, 0, false);
  }
  const size_t at_rate = static_cast<size_t>(spec.rate * spec.rate_seconds);
  const std::string rate = Num(spec.rate) + "/s";
  run("domestic TH -> TH, fixed " + rate, false, at_rate, spec.rate, true);
  run("cross-border TH -> KH, fixed " + rate, true, at_rate, spec.rate, true);
  run("cross-border TH -> KH, flat out", true, spec.messages, 0, true);
  const FederationRun& domestic = result.runs[0];
  const FederationRun& cross = result.runs[1];
  const FederationRun& flat = result.runs[2];
  result.flat_out_per_s = flat.phase.e2e_per_s;
  result.domestic_p99_us = domestic.phase.latency.p99_us;
  result.cross_border_p99_us = cross.phase.latency.p99_us;
  if (result.domestic_p99_us > 0 && result.cross_border_p99_us > 0) {
    result.p99_ratio = result.cross_border_p99_us / result.domestic_p99_us;
  }
  if (Status s = bed.brokers.StopAll(); !s.ok() && result.error.empty()) {
    result.error = s.ToString() + " (see " + dir + "/TH/logs and " + dir + "/KH/logs)";
  }
  result.elapsed_s = static_cast<double>(NowNs() - started) * 1e-9;
  return result;
}

}  // namespace nrm::tools::bench
