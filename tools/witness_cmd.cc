// nrm witness: a C2SP tlog-witness v1.0.0 for the brokers' audit logs (audit/witness/).
//   nrm witness --config FILE                          serve add-checkpoint until SIGTERM
//   nrm witness keygen --name NAME --out FILE          a cosigning key; prints its vkey
//   nrm witness latest --config FILE --origin ORIGIN   the latest checkpoint it cosigned
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "audit/witness/add_checkpoint.h"
#include "audit/witness/config.h"
#include "common/http/metrics.h"
#include "common/http/server.h"
#include "audit/witness/witness.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

namespace w = audit::witness;

constexpr const char* kUsage =
    "usage: nrm witness --config FILE\n"
    "       nrm witness keygen --name NAME --out FILE\n"
    "       nrm witness latest --config FILE --origin ORIGIN\n"
    "A witness for brokers' audit logs (C2SP tlog-witness v1.0.0): it answers\n"
    "POST /add-checkpoint, keeps the latest checkpoint it cosigned for each log of its config\n"
    "(durably, checked and stored atomically), and cosigns (tlog-cosignature v1.0.1) only a\n"
    "checkpoint that a consistency proof shows extends it. See docs/AUDIT.md section 9.\n"
    "  --config FILE    key_file, listen, data_dir, logs (the vkeys of the logs it witnesses),\n"
    "                   endpoint_file and log_file (optional)\n"
    "  keygen           write a cosigning key (mode 0600) named NAME, e.g. mol.kh/witness,\n"
    "                   and print its vkey (type 0x04) for the brokers' and agents' configs\n"
    "  latest           print the latest checkpoint it cosigned for ORIGIN, with its\n"
    "                   cosignature (for `nrm audit verify --checkpoint`)\n"
    "SIGINT or SIGTERM stops it. Exit 0 when stopped, 1 on failure, 2 on a usage or\n"
    "configuration error.\n";

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

int Fail(std::ostream& err, int code, const std::string& what) {
  err << "nrm witness: " << what << "\n";
  return code;
}

int Keygen(const Args& a, std::ostream& out, std::ostream& err) {
  auto name = a.Require("name");
  auto path = a.Require("out");
  if (!name || !path) return Fail(err, 2, "keygen needs --name NAME and --out FILE");
  if (Status s = audit::note::CheckKeyName(*name); !s.ok()) return Fail(err, 2, s.message());
  const crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
  if (Status s = w::WriteWitnessKeyFile(*path, *name, kp.secret_key); !s.ok()) {
    return Fail(err, 1, s.ToString());
  }
  Result<audit::note::VerifierKey> vkey =
      audit::note::MakeVerifierKey(*name, audit::note::kTypeCosignatureV1, kp.public_key);
  out << audit::note::FormatVerifierKey(*vkey) << "\n";
  return 0;
}

int Latest(const Args& a, std::ostream& out, std::ostream& err) {
  auto path = a.Require("config");
  auto origin = a.Require("origin");
  if (!path || !origin) return Fail(err, 2, "latest needs --config FILE and --origin ORIGIN");
  Result<w::WitnessConfig> config = w::LoadWitnessConfig(*path);
  if (!config) return Fail(err, 2, config.status().message());
  Result<std::string> note = w::LatestCosigned(config->data_dir, *origin);
  if (!note) return Fail(err, 1, note.status().ToString());
  out << *note;
  return 0;
}

// Test seam: NRM_WITNESS_FAULT=kill-after-persist:N kills the process (SIGKILL) after the Nth
// state it stored and before it answers: the moment a crash matters most.
std::function<void()> FaultFromEnvironment() {
  const char* fault = std::getenv("NRM_WITNESS_FAULT");
  if (fault == nullptr) return {};
  const std::string spec = fault;
  const std::string prefix = "kill-after-persist:";
  if (!spec.starts_with(prefix)) return {};
  const long n = std::strtol(spec.c_str() + prefix.size(), nullptr, 10);
  auto count = std::make_shared<std::atomic<long>>(0);
  return [count, n] {
    if (++*count == n) std::raise(SIGKILL);
  };
}

// The witness's metrics (docs/OPERATIONS.md, "Metrics"): its answers by HTTP status.
std::string WitnessMetrics(const w::Witness& wit, size_t logs) {
  const w::WitnessCounts& c = wit.counts();
  MetricsText m;
  m.BuildInfo("nrm-witness");
  m.Gauge("nrm_witness_logs", "Logs this witness cosigns for (its config's logs).",
          static_cast<double>(logs));
  const std::pair<const char*, const std::atomic<uint64_t>*> answers[] = {
      {"200", &c.cosigned},  {"400", &c.bad_request}, {"403", &c.forbidden},
      {"404", &c.unknown_log}, {"409", &c.conflict}, {"422", &c.bad_proof}, {"500", &c.failed}};
  for (const auto& [code, n] : answers) {
    m.Counter("nrm_witness_add_checkpoint_total",
              "add-checkpoint requests answered, by HTTP status (200: cosigned; 409 and 422 may "
              "be evidence of a misbehaving log).",
              static_cast<double>(n->load()), {{"code", code}});
  }
  return m.Text();
}

int Serve(const std::string& path, std::ostream& err) {
  Result<w::WitnessConfig> config = w::LoadWitnessConfig(path);
  if (!config) return Fail(err, 2, config.status().message());
  Result<w::WitnessKey> key = w::LoadWitnessKeyFile(config->key_file);
  if (!key) return Fail(err, 2, key.status().message());

  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  if (!config->log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(config->log_file));
  }
  auto logger = std::make_shared<spdlog::logger>("nrm-witness", sinks.begin(), sinks.end());
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);

  w::WitnessOptions options;
  options.name = key->name;
  options.secret = std::move(key->secret);
  options.logs = config->logs;
  options.data_dir = config->data_dir;
  options.after_persist = FaultFromEnvironment();
  Result<std::unique_ptr<w::Witness>> witness =
      w::Witness::Open(std::move(options), SystemClock::Get());
  if (!witness) return Fail(err, 2, witness.status().ToString());
  w::Witness& wit = **witness;

  http::HttpServerOptions http;
  http.host = config->host;
  http.port = config->port;
  http.max_body_bytes = w::kMaxRequestBytes;
  const std::string add_checkpoint(w::kAddCheckpointPath);
  Result<std::unique_ptr<http::HttpServer>> server =
      http::HttpServer::Start(http, [&](const http::HttpRequest& req) -> http::HttpResponse {
        if (req.path != add_checkpoint) return {404, "text/plain; charset=utf-8", "not found\n"};
        if (req.method != "POST") return {405, "text/plain; charset=utf-8", "POST only\n"};
        if (req.body_too_large) {
          return {413, "text/plain; charset=utf-8", "the request is too large\n"};
        }
        w::Answer a = wit.AddCheckpoint(req.body);
        if (a.status == 409 || a.status == 422) {
          // Possible evidence of a misbehaving log: say so (the body, never the request).
          spdlog::warn("add-checkpoint refused ({}): {}", a.status, a.body.substr(0, 200));
        }
        return {a.status, std::move(a.content_type), std::move(a.body)};
      });
  if (!server) return Fail(err, 1, server.status().ToString());
  std::unique_ptr<http::HttpServer> metrics;
  if (!config->metrics_listen.empty()) {
    const size_t logs = config->logs.size();
    Result<std::unique_ptr<http::HttpServer>> m =
        ServeMetrics(config->metrics_listen, [&wit, logs] { return WitnessMetrics(wit, logs); });
    if (!m) return Fail(err, 1, "metrics: " + m.status().ToString());
    metrics = std::move(*m);
  }
  const std::string url = "http://" + config->host + ":" + std::to_string((*server)->port());
  if (!config->endpoint_file.empty()) {
    if (Status s = WriteFileAtomic(config->endpoint_file, url + "\n"); !s.ok()) {
      return Fail(err, 1, s.ToString());
    }
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::string logs;
  for (const audit::note::VerifierKey& k : config->logs) logs += " " + k.name;
  spdlog::info("witness {} listening on {} for{}", audit::note::FormatVerifierKey(wit.key()), url,
               logs);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  metrics.reset();
  server->reset();
  const w::WitnessCounts& c = wit.counts();
  spdlog::info(
      "witness stopping: {} cosigned, refused {} (400) {} (403) {} (404) {} (409) {} (422), "
      "{} failed",
      c.cosigned.load(), c.bad_request.load(), c.forbidden.load(), c.unknown_log.load(),
      c.conflict.load(), c.bad_proof.load(), c.failed.load());
  return 0;
}

}  // namespace

int WitnessCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kUsage;
    return 0;
  }
  const bool sub = !words.empty() && (words[0] == "keygen" || words[0] == "latest");
  const Words rest = sub ? Words(words.begin() + 1, words.end()) : words;
  auto a = Args::Parse(rest, {"config", "name", "out", "origin"}, {});
  if (!a || !a->positional().empty()) {
    return Fail(
        err, 2,
        (a ? "unexpected argument " + a->positional()[0] : a.status().message()) + "\n" + kUsage);
  }
  if (sub && words[0] == "keygen") return Keygen(*a, out, err);
  if (sub && words[0] == "latest") return Latest(*a, out, err);
  auto config = a->Require("config");
  if (!config) return Fail(err, 2, std::string("--config FILE is required\n") + kUsage);
  return Serve(*config, err);
}

}  // namespace nrm::tools
