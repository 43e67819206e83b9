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
//
// This file: the command line, the order of the phases and the progress line. The bed (broker
// and scenario), the load, the phases, the measurements and the report are in bench_*.h.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "common/args.h"
#include "tools/bench_bed.h"
#include "tools/bench_federation.h"
#include "tools/bench_limits.h"
#include "tools/bench_phase.h"
#include "tools/bench_report.h"
#include "tools/bench_witness.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

using SteadyClock = std::chrono::steady_clock;
using bench::Bed;
using bench::BenchReport;
using bench::Num;
using bench::PhaseResult;
using bench::PhaseSpec;
using bench::Progress;
using bench::RunPhase;

constexpr const char* kUsage =
    "usage: nrm bench [--json] [--quick] [--messages M] [--window W] [--workdir DIR]\n"
    "                 [--scale] [--agencies N] [--offline-messages N] [--rates R1,R2]\n"
    "                 [--only PHASES] [--witness-requests N] [--federation-rate R]\n"
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
    "  --only PHASES    comma-separated subset of:\n"
    "                   limits,flat1,flat3,rate,queued,witnesses,federation\n"
    "                   (witnesses: the broker alone without witnesses and with two, alternating,\n"
    "                   twice each (once with --quick), then one witness's add-checkpoint rate;\n"
    "                   federation: a Thai and a Cambodian broker linked under a signed\n"
    "                   agreement, a Thai sender and a Thai and a Cambodian recipient agent: at\n"
    "                   the federation rate for 10 s (quick 2) each, domestic then cross-border,\n"
    "                   their p99s compared, then M messages flat out across the border)\n"
    "  --witness-requests N  add-checkpoint requests sent to the witness (default 5000; quick "
    "1000)\n"
    "  --federation-rate R  the federation's fixed offered load in messages/s (default 500)\n"
    "  --workdir DIR    keep keys, configs, broker data and logs in DIR (default: a temp dir)\n"
    "\n"
    "usage: nrm bench --web [--cases N] [--erased E] [--requests R] [--json] [--workdir DIR]\n"
    "A shelter's store with N cases (default 10000) and E erased cases (default 10000) and a\n"
    "real nrm-agent serving its web inbox: the time to serve the inbox, a page deep in it, case\n"
    "pages and the erased cases' list and a page deep in it (p50, p99, max over R requests\n"
    "each, default 300), the agent's start (index build) and memory.\n";

}  // namespace

int BenchCommand(const Words& args, std::ostream& out, std::ostream& err) {
  if (WantsHelp(args)) {
    out << kUsage;
    return 0;
  }
  if (std::find(args.begin(), args.end(), "--web") != args.end()) {
    return BenchWebCommand(args, out, err);
  }
  Result<Args> parsed =
      Args::Parse(args,
                  {"messages", "window", "workdir", "agencies", "offline-messages", "rates", "only",
                   "witness-requests", "federation-rate"},
                  {"json", "quick", "scale"});
  if (!parsed.ok()) {
    err << "nrm bench: " << parsed.status().message() << "\n" << kUsage;
    return 2;
  }
  const Args& a = *parsed;
  const bool json = a.Has("json");
  const bool quick = a.Has("quick");
  const bool scale = a.Has("scale");
  // Numbers on the command line: the first that is not one, or out of range, is named.
  std::string bad;
  auto check = [&](const std::string& flag, const std::string& text, bool ok, const char* what) {
    if (!ok && bad.empty()) bad = "--" + flag + " takes " + what + ", not '" + text + "'";
  };
  auto number = [&](const char* name, long fallback, long min = 1) -> long {
    std::optional<std::string> v = a.Get(name);
    if (!v) return fallback;
    char* end = nullptr;
    const long n = std::strtol(v->c_str(), &end, 10);
    check(name, *v, !v->empty() && *end == '\0' && n >= min,
          min > 0 ? "a whole number of at least 1" : "a whole number of 0 or more");
    return n >= min ? n : fallback;
  };
  auto per_second = [&](const char* name, const std::string& text) -> double {
    char* end = nullptr;
    const double r = std::strtod(text.c_str(), &end);
    check(name, text, !text.empty() && *end == '\0' && r > 0 && r <= 1e7,
          "messages per second, above 0 and at most 10000000");
    return r;
  };
  size_t messages = static_cast<size_t>(number("messages", quick ? 4000 : 20000));
  const size_t window = static_cast<size_t>(number("window", 256));
  const int agencies = static_cast<int>(number("agencies", 0, 0));
  const size_t offline_messages =
      static_cast<size_t>(number("offline-messages", scale ? 100000 : (quick ? 4000 : 20000)));
  std::vector<double> rates;
  {
    std::string list = a.Get("rates").value_or("2000,5000");
    std::istringstream in(list);
    for (std::string r; std::getline(in, r, ',');) rates.push_back(per_second("rates", r));
  }
  const size_t witness_requests =
      static_cast<size_t>(number("witness-requests", quick ? 1000 : 5000));
  const std::string only =
      a.Get("only").value_or(scale ? "" : "limits,flat1,flat3,rate,queued,witnesses,federation");
  const double federation_rate =
      per_second("federation-rate", a.Get("federation-rate").value_or("500"));
  if (!bad.empty()) {
    err << "nrm bench: " << bad << "\n";
    return 2;
  }
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
  BenchReport report;
  std::vector<PhaseResult>& results = report.phases;
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
    Result<Limits> l =
        MeasureLimits(workdir + "/limits-rocksdb", bench::kTargetEnvelopeBytes, quick);
    if (l.ok()) {
      report.limits = *l;
    } else {
      err << "\nnrm bench: limits: " << l.status().ToString() << "\n";
      exit_code = 1;
    }
  }
  // A broker just started answers its first hundred or so messages in 1-3 ms instead of about
  // 0.7 (a new WAL, empty caches, first-touch page faults): a warm-up, not counted, so that
  // every phase measures a running broker whichever phases --only selects.
  size_t warmup = 0;
  if (scale || wants("flat1") || wants("flat3") || wants("rate") || wants("queued") ||
      wants("witnesses")) {
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
    if (wants("witnesses")) {
      // Alternating, so that a drift of the machine (another build, the disk) weighs on both.
      for (int pair = 1; pair <= (quick ? 1 : 2); ++pair) {
        for (bool with : {false, true}) {
          PhaseSpec spec{std::string("broker alone, ") + (with ? "two witnesses" : "no witnesses") +
                             " (" + std::to_string(pair) + ")",
                         1,
                         offline_messages,
                         0,
                         true,
                         true,
                         agencies};
          spec.witnesses = with;
          spec.witness_comparison = true;
          run(spec);
        }
      }
      {
        std::lock_guard<std::mutex> lock(progress.mu);
        progress.phase = "one witness's add-checkpoint rate";
      }
      progress.sent = progress.accepted = progress.delivered = progress.target = 0;
      auto rate = [&](const std::string& dir, const std::string& what) {
        Result<bench::WitnessRate> w = bench::MeasureWitnessRate(dir, witness_requests);
        if (!w.ok()) {
          err << "\nnrm bench: " << what << ": " << w.status().ToString() << "\n";
          exit_code = 1;
          return std::optional<bench::WitnessRate>();
        }
        if (!w->error.empty()) exit_code = 1;
        return std::optional<bench::WitnessRate>(*w);
      };
      report.witness_rate = rate(workdir + "/witness-rate", "witness rate");
      std::error_code ec;
      if (std::filesystem::is_directory("/dev/shm", ec)) {
        const std::string shm = "/dev/shm/nrm-bench-witness-" + std::to_string(getpid());
        report.witness_rate_tmpfs = rate(shm, "witness rate on tmpfs");
        std::filesystem::remove_all(shm, ec);
      }
    }
    if (wants("federation")) {
      // Two brokers of their own, with their own warm-up.
      bench::FederationSpec spec;
      spec.messages = messages;
      spec.rate = federation_rate;
      spec.rate_seconds = quick ? 2 : 10;
      spec.warmup = quick ? 500 : 2000;
      spec.window = window;
      Result<bench::FederationResult> f =
          bench::RunFederation(workdir + "/federation", spec, progress);
      if (f.ok()) {
        if (!f->error.empty()) exit_code = 1;
        report.federation = std::move(*f);
      } else {
        err << "\nnrm bench: federation: " << f.status().ToString() << "\n";
        exit_code = 1;
      }
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

  char host[256] = "";
  gethostname(host, sizeof host - 1);
  report.host = host;
  report.cores = std::thread::hardware_concurrency();
  report.window = window;
  report.warmup_messages = warmup;
  report.workdir = workdir;
  report.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - started).count();
  if (json) {
    out << bench::ReportJson(report);
  } else {
    bench::PrintReport(out, report);
  }
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(workdir, ec);
  }
  return exit_code;
}

}  // namespace nrm::tools
