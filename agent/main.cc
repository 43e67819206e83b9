// nrm-agent --config FILE COMMAND: an agency's agent.
//   run: the long-running agent (agent/daemon.h) that owns the agency's store.
//   inbox, show, cases, timeline, offer, accept, ...: people's commands, passed to the running
//     agent over its control socket (agent/client_commands.h, docs/AGENT.md).
//   send, receive: one-shot, without the store (for scripts and the demo).
//   COMMAND --help: the command's usage (agent/command_table.h), without a config or an agent.
// Exit 0 on success, 1 when a step or the broker refused or nothing arrived in time, 2 on bad
// usage or configuration.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>

#include "agent/agent.h"
#include "agent/client_commands.h"
#include "agent/command_table.h"
#include "agent/daemon.h"
#include "agent/key_file.h"
#include "agent/log.h"
#include "agent/web/users.h"
#include "common/args.h"

namespace {

using nrm::Status;
using nrm::agent::Fail;
using nrm::agent::Overview;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
void OnSignal(int) { g_stop.store(true); }
void OnHangup(int) { g_reload.store(true); }  // reload the directory file

int RunDaemon(const nrm::agent::AgentConfig& config) {
  auto daemon = nrm::agent::Daemon::Open(config, config.key_passphrase);
  if (!daemon) return Fail(daemon.status().ToString(), 2);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = OnHangup;
  sigaction(SIGHUP, &hup, nullptr);
  nrm::agent::LogEvent(
      config.agency + " running; control socket " + nrm::agent::ControlPath(config) + "; broker " +
      (config.broker.empty() ? "from " + config.broker_endpoint_file : config.broker));
  if (const std::string url = (*daemon)->WebUrl(); !url.empty()) {
    nrm::agent::LogEvent("web inbox at " + url);
  }
  Status s = (*daemon)->Run(g_stop, g_reload);
  if (!s.ok()) return Fail(s.ToString(), 1);
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::vector<std::string> words(argv + 1, argv + argc);
  if (nrm::WantsHelp(words)) {
    std::cout << nrm::agent::HelpFor(words);
    return 0;
  }
  // --config FILE may come first; everything after a person's command goes to the running agent.
  size_t i = 0;
  while (i < words.size() && words[i] == "--config") i += 2;
  if (i < words.size() && nrm::agent::IsServed(words[i])) {
    const auto command = words.begin() + static_cast<long>(i);
    auto args = nrm::Args::Parse({words.begin(), command}, {"config"}, {});
    if (!args) return Fail(args.status().message() + "\n" + Overview(), 2);
    auto config_path = args->Require("config");
    if (!config_path) return Fail(Overview(), 2);
    auto config = nrm::agent::LoadAgentConfig(*config_path);
    if (!config) return Fail(config.status().message(), 2);
    std::vector<std::string> served(command, words.end());
    if (served[0] == "user") {  // the password is asked here and only its hash is passed on
      if (Status s = nrm::agent::web::PrepareUserCommand(served); !s.ok()) {
        return Fail(s.message(), 2);
      }
    }
    return nrm::agent::CallAgent(*config, std::move(served));
  }
  nrm::agent::OptionNames options = nrm::agent::LocalOptions();
  options.valued.insert("config");
  auto args = nrm::Args::Parse(words, options.valued, options.flags);
  if (!args) return Fail(args.status().message() + "\n" + Overview(), 2);
  auto config_path = args->Require("config");
  if (!config_path || args->positional().size() != 1) return Fail(Overview(), 2);
  const std::string command = args->positional()[0];
  if (command == "protect-key") return nrm::agent::ProtectKey(*args);
  if (command != "send" && command != "receive" && command != "run") {
    return Fail("unknown command '" + command + "'\n" + Overview(), 2);
  }
  if (!nrm::crypto::InitCrypto().ok()) return Fail("libsodium failed to start", 1);
  auto config = nrm::agent::LoadAgentConfig(*config_path);
  if (!config) return Fail(config.status().message(), 2);
  auto passphrase = nrm::agent::ReadPassphrase(*config);
  if (!passphrase) return Fail(passphrase.status().ToString(), 2);
  config->key_passphrase = std::move(*passphrase);
  if (command == "run") return RunDaemon(*config);
  auto agent = nrm::agent::Agent::Open(*config, nrm::SystemClock::Get());
  if (!agent) {
    const nrm::Code code = agent.status().code();
    return Fail(agent.status().ToString(),
                code == nrm::Code::kUnavailable || code == nrm::Code::kUnauthenticated ? 1 : 2);
  }
  return command == "send" ? nrm::agent::Send(**agent, *args) : nrm::agent::Receive(**agent, *args);
} catch (const std::exception& e) {
  return Fail(std::string("fatal: ") + e.what(), 1);
}
