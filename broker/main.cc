// nrm-broker --config FILE: the referral broker. Exit 2 on a configuration error, 1 when the
// broker stops because it cannot go on safely, 0 on SIGINT/SIGTERM.
#include <malloc.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <iostream>

#include "broker/broker.h"
#include "common/args.h"
#include "common/crypto/crypto.h"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void OnSignal(int) { g_stop.store(true); }
void OnHangup(int) { g_reload.store(true); }

int Usage(std::ostream& out, int code) {
  out << "usage: nrm-broker --config FILE\n"
         "Runs the referral broker described by FILE (TOML; see docs/OPERATIONS.md).\n";
  return code;
}

int Help() {
  Usage(std::cout, 0);
  std::cout << "SIGHUP reloads the directory and the policy; SIGINT or SIGTERM stops the broker.\n"
               "Exits 0 when stopped by a signal, 1 when it cannot go on safely (e.g. its store\n"
               "cannot be written), 2 on a configuration error.\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) try {
  if (nrm::WantsHelp(std::vector<std::string>(argv + 1, argv + argc))) return Help();
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else {
      std::cerr << "nrm-broker: unexpected argument '" << argv[i] << "'\n";
      return Usage(std::cerr, 2);
    }
  }
  if (config_path.empty()) return Usage(std::cerr, 2);
  if (!nrm::crypto::InitCrypto().ok()) return 1;
  // Frames of a quarter MiB and more (envelopes near max_message_bytes, the copies libzmq makes
  // of them) are mapped on their own and unmapped when freed, rather than left in glibc's heap
  // once the connection that held them is gone (its default threshold grows with what it saw).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  auto config = nrm::broker::LoadBrokerConfig(config_path);
  if (!config) {
    std::cerr << "nrm-broker: " << config.status().message() << "\n";
    return 2;
  }
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<spdlog::sinks::stderr_sink_mt>()};
  if (!config->log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(config->log_file));
  }
  auto logger = std::make_shared<spdlog::logger>("nrm-broker", sinks.begin(), sinks.end());
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("NRM_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnHangup);
  auto broker = nrm::broker::Broker::Start(*config, nrm::SystemClock::Get());
  if (!broker) {
    spdlog::error("cannot start: {}", broker.status().ToString());
    return 2;
  }
  nrm::Status s = (*broker)->Run(g_stop, g_reload);
  if (!s.ok()) {
    spdlog::critical("broker stopped: {}", s.ToString());
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "nrm-broker: fatal: " << e.what() << "\n";
  return 1;
}
