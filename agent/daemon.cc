#include "agent/daemon.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "agent/command_table.h"
#include "agent/delivery.h"
#include "agent/log.h"
#include "agent/retention.h"
#include "common/args.h"
#include "common/file_util.h"

namespace nrm::agent {
namespace {

using transport::FrameText;

// How often held steps are checked against earlier_step_wait.
constexpr int64_t kCheckHeldEveryMs = 1000;
// The broker is asked for its newer directory at most this often.
constexpr int64_t kAskDirectoryEveryMs = 10000;

int64_t Now() { return SystemClock::Get().NowMillis(); }

// OK for an error that concerns one message (logged; the daemon goes on), the error itself when
// the store failed (the daemon stops: nothing may be acknowledged that was not stored).
Status Survivable(const Status& s) {
  if (s.ok()) return s;
  if (s.code() == Code::kIOError || s.code() == Code::kCorruption ||
      s.code() == Code::kResourceExhausted) {
    return s;
  }
  LogEvent(s.ToString());
  return Status::Ok();
}

// data_dir/directory.toml: the newest directory this agent verified, for its next start.
std::string KeptDirectory(const AgentConfig& config) { return config.data_dir + "/directory.toml"; }

}  // namespace

Daemon::Daemon(const AgentConfig& config, std::unique_ptr<Agent> agent,
               std::unique_ptr<AgentStore> store, std::unique_ptr<transport::ControlServer> control)
    : config_(config),
      agent_(std::move(agent)),
      store_(std::move(store)),
      control_(std::move(control)),
      outbox_(*agent_, *store_),
      log_checks_(*agent_, outbox_),
      link_(*agent_, SystemClock::Get()) {
  config_.key_passphrase.clear();
  outbox_.set_serve([this](int ms) { return Serve(ms); });
}

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
  auto daemon = std::unique_ptr<Daemon>(
      new Daemon(config, std::move(agent), std::move(store), std::move(control)));
  if (std::filesystem::exists(KeptDirectory(config))) {
    Result<std::string> kept = ReadFile(KeptDirectory(config));
    if (kept.ok()) daemon->AdoptDirectory(*kept, KeptDirectory(config));
  }
  if (config.web) {
    NRM_ASSIGN_OR_RETURN(daemon->web_, web::WebServer::Start(*config.web, config.data_dir,
                                                             *daemon->agent_, *daemon->store_));
  }
  if (!config.metrics_listen.empty()) {
    Daemon* d = daemon.get();
    d->RenderMetrics();
    NRM_ASSIGN_OR_RETURN(d->metrics_server_, ServeMetrics(config.metrics_listen,
                                                          [d] { return d->metrics_page_.Text(); }));
    const std::string& listen = config.metrics_listen;
    LogEvent("metrics on http://" + listen.substr(0, listen.rfind(':')) + ":" +
             std::to_string(d->metrics_server_->port()) + "/metrics");
  }
  return daemon;
}

CommandOutput Daemon::Handle(const std::vector<std::string>& words) {
  CommandContext ctx{*agent_, *store_, outbox_, false, &link_};
  ctx.ask = [this](const transport::Frames& request, std::string_view verb, ByteView key,
                   int timeout_ms) { return Ask(request, verb, key, timeout_ms); };
  return RunCommand(words, std::move(ctx));
}

Status Daemon::Serve(int ms) {
  if (!agent_->connected()) return Status::Ok();
  // What has arrived, up to a bounded number per turn so that commands are answered meanwhile.
  for (int i = 0; i < 64; ++i) {
    Result<std::optional<transport::Frames>> got = agent_->ReceiveFrames(i == 0 ? ms : 0);
    if (!got.ok()) {
      LogEvent(got.status().ToString());
      return Status::Ok();
    }
    if (!*got) return Status::Ok();
    NRM_RETURN_IF_ERROR(Dispatch(**got));
  }
  return Status::Ok();
}

Result<transport::Frames> Daemon::Ask(const transport::Frames& request, std::string_view verb,
                                      ByteView key, int timeout_ms) {
  if (!agent_->connected()) return Unavailable("not connected to the broker");
  awaited_verb_ = std::string(verb);
  awaited_key_.assign(key.begin(), key.end());
  awaited_.reset();
  NRM_RETURN_IF_ERROR(agent_->SendFrames(request));
  const int64_t deadline = Now() + timeout_ms;
  while (!awaited_ && Now() < deadline) NRM_RETURN_IF_ERROR(Serve(50));
  awaited_verb_.clear();
  if (!awaited_) {
    return Unavailable("the broker did not answer " + std::string(FrameText(request[0])) +
                       " within " + std::to_string(timeout_ms / 1000) + " s");
  }
  transport::Frames answer = std::move(*awaited_);
  awaited_.reset();
  return answer;
}

Status Daemon::Dispatch(const transport::Frames& frames) {
  const std::string_view verb = frames.empty() ? "" : FrameText(frames[0]);
  if (!awaited_verb_.empty() && verb == awaited_verb_ && frames.size() >= 2 &&
      frames[1] == awaited_key_) {
    awaited_ = frames;  // a command waits for it (Ask)
    return Status::Ok();
  }
  if (verb == "WELCOME") {
    if (Now() - partners_asked_ms_ >= kAskDirectoryEveryMs) {
      partners_asked_ms_ = Now();
      (void)agent_->AskPartnerDirectories();  // a partner's revocation, within ~10 s
    }
    if (link_.OnWelcome(frames) && Now() - directory_asked_ms_ >= kAskDirectoryEveryMs) {
      directory_asked_ms_ = Now();
      LogEvent("the broker has directory serial " + std::to_string(link_.broker_serial()) +
               ", newer than ours (" + std::to_string(agent_->directory().serial()) +
               "): asking for it");
      (void)agent_->SendFrames({transport::Frame("DIRECTORY")});
    }
    return Status::Ok();
  }
  if (verb == "ACCEPTED" || verb == "REFUSED") {
    if (frames.size() < 2 || frames[1].empty()) {
      LogEvent("the broker refused a request: " +
               std::string(frames.size() >= 4 ? FrameText(frames[3]) : "(no reason)"));
      return Status::Ok();
    }
    Result<SendOutcome> answer = agent_->ReadAnswer(frames);
    return Survivable(answer.ok() ? log_checks_.OnAnswer(std::move(*answer))
                                  : outbox_.OnBadAnswer(frames[1], answer.status()));
  }
  if (verb == "STATUS") {
    Result<QueryAnswer> answer = agent_->ReadStatus(frames);
    if (!answer.ok()) {
      LogEvent("SUSPICIOUS: an answer to a query that does not verify: " +
               answer.status().message());
      return Status::Ok();
    }
    return Survivable(log_checks_.OnStatus(std::move(*answer)));
  }
  if (verb == "CONSISTENCY") return Survivable(log_checks_.OnConsistency(frames));
  if (verb == "DIRECTORY") {
    if (frames.size() == 3) AdoptDirectory(FrameText(frames[2]), "the broker");
    return Status::Ok();
  }
  if (verb == "PARTNER-DIRECTORY") {
    if (Status s = agent_->AdoptPartnerDirectory(frames); !s.ok()) {
      LogEvent("refused a partner country's directory: " + s.message());
    }
    return Status::Ok();
  }
  if (IsDelivery(verb)) {
    ++(verb == "DELIVER"   ? delivered_.envelopes
       : verb == "EXPIRED" ? delivered_.expiry_notices
                           : delivered_.relay_receipts);
    Result<Received> r = agent_->OpenDelivery(frames);
    if (!r.ok()) {
      // Nothing in it came from a verified sender (or it is an unsigned expiry notice, or a
      // relay receipt that does not verify): logged, acknowledged so that it is not delivered
      // again, never believed.
      LogEvent("ignored a delivery: " + r.status().message());
      (void)agent_->AcknowledgeDropped(frames);
      return Status::Ok();
    }
    return Survivable(OnDelivery(*agent_, *store_, outbox_, std::move(*r)));
  }
  return Status::Ok();
}

void Daemon::RenderMetrics() {
  metrics_at_ms_ = Now();
  Result<std::string> text = AgentMetrics(*agent_, *store_, link_, delivered_, metrics_at_ms_);
  if (text.ok()) {
    metrics_page_.Publish(std::move(*text));
  } else {
    LogEvent("cannot render the metrics: " + text.status().message());
  }
}

void Daemon::AdoptDirectory(std::string_view text, const std::string& source) {
  const int64_t current = agent_->directory().serial();
  Result<identity::Directory> dir =
      identity::Directory::Parse(text, source, config_.authority_key, Now());
  if (!dir.ok()) {
    LogEvent("refused the directory from " + source + ": " + dir.status().message() + "; serial " +
             std::to_string(current) + " stays in force");
    return;
  }
  if (dir->serial() <= current) {
    if (dir->serial() < current || source != KeptDirectory(config_)) {
      LogEvent("the directory from " + source + " has serial " + std::to_string(dir->serial()) +
               (dir->serial() == current
                    ? ", the one in force"
                    : ", older than " + std::to_string(current) + " in force: refused"));
    }
    return;
  }
  const Bytes broker_key = agent_->directory().broker().curve_key;
  const int64_t serial = dir->serial();
  const size_t agencies = dir->agencies().size();
  const int64_t expires = dir->expires_ms();
  if (Status s = agent_->ReplaceDirectory(std::move(*dir)); !s.ok()) {
    LogEvent("refused the directory serial " + std::to_string(serial) + " from " + source + ": " +
             s.message() + "; serial " + std::to_string(current) + " stays in force");
    return;
  }
  LogEvent("directory serial " + std::to_string(serial) + " in force (from " + source +
           "): " + std::to_string(agencies) + " agencies, expires " + FormatTimeUtc(expires));
  if (source != KeptDirectory(config_)) {
    if (Status s = WriteFileAtomic(KeptDirectory(config_), std::string(text), 0600); !s.ok()) {
      LogEvent("cannot keep the directory for the next start: " + s.message());
    }
  }
  if (agent_->directory().broker().curve_key != broker_key) link_.Reset();
}

Status Daemon::Run(const std::atomic<bool>& stop, std::atomic<bool>& reload) {
  int64_t next_check_held = 0;
  int64_t next_retention = 0;  // when the agent starts, then every hour
  LogEvent("retention: " + DescribeRetention(config_) + "; checked now and every hour");
  while (!stop.load()) {
    // Connected or not: an idle agent must not keep an epoch key past its hour.
    agent_->WipeExpiredEpochKey();
    // The retention rule: first thing when the agent starts (before any command is answered),
    // then every hour.
    if (Now() >= next_retention) {
      NRM_RETURN_IF_ERROR(
          Survivable(ApplyRetention(*agent_, *store_, outbox_, RetentionClock().NowMillis())));
      next_retention = Now() + kRetentionCheckEveryMs;
    }
    if (reload.exchange(false)) {
      Result<std::string> text = ReadFile(config_.directory);
      if (text.ok()) {
        AdoptDirectory(*text, config_.directory);
      } else {
        LogEvent("cannot reload the directory: " + text.status().message());
      }
    }
    link_.Tick();
    NRM_ASSIGN_OR_RETURN(std::optional<transport::Frames> request,
                         control_->Receive(agent_->connected() ? 5 : 50));
    if (request) {
      std::vector<std::string> words;
      for (const Bytes& f : *request) words.emplace_back(AsChars(f));
      CommandOutput o = Handle(words);
      NRM_RETURN_IF_ERROR(control_->Reply({transport::Frame(std::to_string(o.code)),
                                           transport::Frame(o.out), transport::Frame(o.err)}));
    }
    if (web_) web_->RunPending(outbox_, link_);  // the steps people took in the browser
    NRM_RETURN_IF_ERROR(Serve(15));
    NRM_RETURN_IF_ERROR(Survivable(outbox_.Tick(link_.live())));
    NRM_RETURN_IF_ERROR(Survivable(log_checks_.Tick(link_.live())));
    if (Now() >= next_check_held) {
      NRM_RETURN_IF_ERROR(Survivable(CheckHeld(*agent_, *store_)));
      next_check_held = Now() + kCheckHeldEveryMs;
    }
    if (metrics_server_ && Now() - metrics_at_ms_ >= kMetricsEveryMs) RenderMetrics();
  }
  if (web_) web_->Stop();
  return store_->Close();
}

}  // namespace nrm::agent
