// One phase of `nrm bench` (see bench_phase.h).
#include "tools/bench_phase.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/checkpoint.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/bench_load.h"
#include "tools/demo_witnesses.h"
#include "tools/process.h"

namespace nrm::tools::bench {
namespace {

// What the stopped broker wrote of its witnesses (its data directory's witnesses.json).
Status ReadWitnessCounts(const Scenario& s, PhaseResult& r) {
  const std::string path = s.broker_data + "/" + audit::kWitnessStatusFile;
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  NRM_ASSIGN_OR_RETURN(json::Json doc, json::Parse(text));
  if (!doc.is_object() || !doc.contains("witnesses") || !doc["witnesses"].is_array()) {
    return InvalidArgument(path + ": no \"witnesses\" list");
  }
  for (const json::Json& w : doc["witnesses"]) {
    auto number = [&](const char* key) {
      return w.is_object() && w.contains(key) && w[key].is_number_unsigned()
                 ? w[key].get<uint64_t>()
                 : uint64_t{0};
    };
    r.witness_submissions += number("submissions");
    r.witness_cosignatures += number("cosignatures");
    r.witness_failures += number("failures");
  }
  return Status::Ok();
}

}  // namespace

Result<PhaseResult> RunPhase(Bed& bed, const PhaseSpec& spec, size_t window, Progress& progress) {
  PhaseResult r;
  r.spec = spec;
  {
    std::lock_guard<std::mutex> lock(progress.mu);
    progress.phase = spec.name;
  }
  progress.sent = progress.accepted = progress.delivered = 0;
  progress.target = spec.messages;
  const Scenario& s = bed.scenario();
  DemoWitnesses witnesses;  // stopped when the phase ends
  std::string config;
  if (spec.witnesses) {
    // A fresh log meets fresh witnesses; they are named in a copy of the broker's config.
    std::error_code ec;
    std::filesystem::remove_all(s.dir + "/witnesses", ec);
    NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                         audit::LogVerifierKey(kScenarioLogOrigin, s.broker.sign_public));
    NRM_ASSIGN_OR_RETURN(std::string base, ReadFile(s.broker_config));
    config = s.dir + "/broker-witnessed.toml";
    NRM_RETURN_IF_ERROR(WriteFileAtomic(config, base));
    NRM_RETURN_IF_ERROR(witnesses.Start(s.dir + "/witnesses",
                                        {audit::note::FormatVerifierKey(log_key)}, {config}, {},
                                        SelfDirectory(), s.dir + "/logs"));
  }
  NRM_RETURN_IF_ERROR(bed.StartBroker(config));
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
      threads.emplace_back(RunRecipient, s.AgentConfig(to[static_cast<size_t>(i)]), spec.messages,
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
  if (spec.witnesses) {
    if (Status w = ReadWitnessCounts(s, r); !w.ok() && r.error.empty()) r.error = w.ToString();
    if (r.witness_cosignatures == 0 && r.error.empty()) {
      r.error = "no witness cosigned a checkpoint (see " + s.dir + "/logs)";
    }
  }
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

}  // namespace nrm::tools::bench
