#include "agent/daemon.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "agent/command_table.h"
#include "agent/delivery.h"
#include "common/args.h"

namespace nrm::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kResendEvery = std::chrono::seconds(2);

// OK for an error that concerns one message (logged; the daemon goes on), the error itself when
// the store failed (the daemon stops: nothing may be acknowledged that was not stored).
Status Survivable(const Status& s) {
  if (s.ok()) return s;
  if (s.code() == Code::kIOError || s.code() == Code::kCorruption ||
      s.code() == Code::kResourceExhausted) {
    return s;
  }
  std::fprintf(stderr, "nrm-agent: %s\n", s.ToString().c_str());
  return Status::Ok();
}

}  // namespace

Daemon::~Daemon() {
  web_.reset();  // its threads read the store
  if (store_) (void)store_->Close();
}

Result<std::unique_ptr<Daemon>> Daemon::Open(const AgentConfig& config,
                                             const std::string& passphrase) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Agent::Load(config, SystemClock::Get()));
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes key, LoadOrCreateLocalKey(config.data_dir, passphrase));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<AgentStore> store,
                       AgentStore::Open(config.data_dir, std::move(key)));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::ControlServer> control,
                       transport::ControlServer::Bind(ControlPath(config)));
  auto daemon =
      std::unique_ptr<Daemon>(new Daemon(std::move(agent), std::move(store), std::move(control)));
  if (config.web) {
    NRM_ASSIGN_OR_RETURN(daemon->web_, web::WebServer::Start(*config.web, config.data_dir,
                                                             *daemon->agent_, *daemon->store_));
  }
  return daemon;
}

CommandOutput Daemon::Handle(const std::vector<std::string>& words) {
  return Dispatch(words, CommandContext{*agent_, *store_, outbox_, false});
}

Status Daemon::Run(const std::atomic<bool>& stop) {
  auto next_connect = SteadyClock::now();
  auto next_greet = SteadyClock::now();
  auto next_resend = SteadyClock::now();
  while (!stop.load()) {
    // Connected or not: an idle agent must not keep an epoch key past its hour.
    agent_->WipeExpiredEpochKey();
    const auto now = SteadyClock::now();
    if (!agent_->connected() && now >= next_connect) {
      if (agent_->Connect(1000).ok()) next_resend = now;
      next_connect = SteadyClock::now() + std::chrono::seconds(1);
    }
    NRM_ASSIGN_OR_RETURN(std::optional<transport::Frames> request,
                         control_->Receive(agent_->connected() ? 10 : 100));
    if (request) {
      std::vector<std::string> words;
      for (const Bytes& f : *request) words.emplace_back(AsChars(f));
      CommandOutput o = Handle(words);
      NRM_RETURN_IF_ERROR(control_->Reply({transport::Frame(std::to_string(o.code)),
                                           transport::Frame(o.out), transport::Frame(o.err)}));
    }
    if (web_) web_->RunPending(outbox_);  // the steps people took in the browser
    if (!agent_->connected()) continue;
    Result<std::optional<Received>> got = agent_->ReceiveQuietly(20);
    if (got.ok() && *got) {
      NRM_RETURN_IF_ERROR(Survivable(OnDelivery(*agent_, *store_, outbox_, std::move(**got))));
    } else if (!got.ok()) {
      std::fprintf(stderr, "nrm-agent: %s\n", got.status().ToString().c_str());
    }
    if (SteadyClock::now() >= next_greet) {
      (void)agent_->Greet();  // restores a session the broker closed (restart, revocation)
      next_greet = SteadyClock::now() + std::chrono::seconds(1);
    }
    if (SteadyClock::now() >= next_resend) {
      NRM_RETURN_IF_ERROR(Survivable(outbox_.Retry()));
      next_resend = SteadyClock::now() + kResendEvery;
    }
  }
  if (web_) web_->Stop();
  return store_->Close();
}

}  // namespace nrm::agent
