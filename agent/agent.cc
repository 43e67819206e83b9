#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "agent/key_file.h"
#include "agent/web/web_config_parse.h"
#include "audit/tree_head.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
#include "common/http/metrics.h"
#include "policy/policy_file.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {
using transport::Frame;
using transport::FrameText;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// retention_days_after_close: whole days (1 to kMaxRetentionDays) or "never"; missing, the
// default. Anything else is refused naming the file and line, with what to write instead.
Status ReadRetention(const toml::table& t, const std::string& path, AgentConfig& c) {
  const std::string kKey = "retention_days_after_close";
  const toml::node* n = t.get(kKey);
  if (n == nullptr) return Status::Ok();
  c.retention_in_file = true;
  const std::string where = config::Where(path, *n) + ": " + kKey;
  const std::string expected = " (whole days, 1 to " +
                               std::to_string(AgentConfig::kMaxRetentionDays) +
                               ", or \"never\" to keep closed cases until `erase`)";
  if (const auto* text = n->as_string()) {
    if (text->get() == "never") {
      c.retention_days_after_close = std::nullopt;
      return Status::Ok();
    }
    const std::string v = text->get();
    const bool digits =
        !v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 7;
    return InvalidArgument(where + " is \"" + v + "\"" +
                           (digits ? ": write the number without quotes, " + kKey + " = " + v
                                   : ": expected a number of days" + expected));
  }
  if (n->is_floating_point()) {
    return InvalidArgument(where + " must be whole days" + expected);
  }
  if (!n->is_integer()) return InvalidArgument(where + " must be a number of days" + expected);
  const int64_t days = n->as_integer()->get();
  if (days < 1) {
    return InvalidArgument(where + " is " + std::to_string(days) +
                           (days == 0 ? ", which would erase a case as soon as it is closed"
                                      : ", which is not a length of time") +
                           expected);
  }
  if (days > AgentConfig::kMaxRetentionDays) {
    return InvalidArgument(where + " is " + std::to_string(days) + " days, more than " +
                           std::to_string(AgentConfig::kMaxRetentionDays / 365) + " years" +
                           expected);
  }
  c.retention_days_after_close = days;
  return Status::Ok();
}
}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  const toml::table& t = doc.root;
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(t,
                                             {"agency",
                                              "key_file",
                                              "directory",
                                              "policy",
                                              "authority_key",
                                              "broker",
                                              "broker_endpoint_file",
                                              "data_dir",
                                              "passphrase_file",
                                              "confirm_after_s",
                                              "answer_timeout_s",
                                              "earlier_step_wait_s",
                                              "max_step_age_s",
                                              "max_step_ahead_s",
                                              "retention_days_after_close",
                                              "witnesses",
                                              "witnesses_required",
                                              "cosignature_delay_s",
                                              "checkpoint_max_age_s",
                                              "metrics_listen",
                                              "web",
                                              "partner_anchors"},
                                             path));
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (base / p).string();
  };
  AgentConfig c;
  NRM_ASSIGN_OR_RETURN(c.agency, config::GetString(t, "agency", path));
  NRM_ASSIGN_OR_RETURN(std::string key_file, config::GetString(t, "key_file", path));
  NRM_ASSIGN_OR_RETURN(std::string directory, config::GetString(t, "directory", path));
  NRM_ASSIGN_OR_RETURN(std::string policy, config::GetString(t, "policy", path));
  NRM_ASSIGN_OR_RETURN(std::string authority, config::GetString(t, "authority_key", path));
  NRM_ASSIGN_OR_RETURN(auto broker, config::GetOptionalString(t, "broker", path));
  NRM_ASSIGN_OR_RETURN(auto endpoint_file,
                       config::GetOptionalString(t, "broker_endpoint_file", path));
  c.key_file = resolve(key_file);
  c.directory = resolve(directory);
  c.policy = resolve(policy);
  c.broker = broker.value_or("");
  c.broker_endpoint_file = resolve(endpoint_file.value_or(""));
  NRM_ASSIGN_OR_RETURN(auto data_dir, config::GetOptionalString(t, "data_dir", path));
  if (c.broker.empty() == c.broker_endpoint_file.empty()) {
    return InvalidArgument(path +
                           ": give exactly one of 'broker' (an endpoint) or "
                           "'broker_endpoint_file'");
  }
  Result<Bytes> ak = FromHexExact(authority, crypto::kSignPublicBytes, "authority_key");
  if (!ak) return ak.status().WithContext(config::Where(path, *t.get("authority_key")));
  c.authority_key = std::move(*ak);
  if (Status s = identity::CheckAgencyId(c.agency); !s.ok()) {
    return s.WithContext(config::Where(path, *t.get("agency")));
  }
  // Under systemd, StateDirectory= names the one place the unit may write (possibly several,
  // separated by ':'; the agent's is the first).
  std::string state_dir;
  if (const char* s = std::getenv("STATE_DIRECTORY"); s != nullptr && *s != '\0') {
    state_dir = std::string(s).substr(0, std::string(s).find(':'));
  }
  c.data_dir = resolve(data_dir.value_or(state_dir.empty() ? c.agency + "-data" : state_dir));
  NRM_ASSIGN_OR_RETURN(auto passphrase_file, config::GetOptionalString(t, "passphrase_file", path));
  c.passphrase_file = resolve(passphrase_file.value_or(""));
  NRM_ASSIGN_OR_RETURN(auto metrics, config::GetOptionalString(t, "metrics_listen", path));
  if (metrics) {
    if (Result<std::pair<std::string, uint16_t>> m = ParseMetricsListen(*metrics); !m.ok()) {
      return InvalidArgument(config::Where(path, *t.get("metrics_listen")) + ": " +
                             m.status().message());
    }
    c.metrics_listen = std::move(*metrics);
  }
  // The delivery timers, in whole seconds (at least 1).
  const std::pair<const char*, int64_t*> timers[] = {
      {"confirm_after_s", &c.confirm_after_ms},
      {"answer_timeout_s", &c.answer_timeout_ms},
      {"earlier_step_wait_s", &c.earlier_step_wait_ms},
      {"max_step_age_s", &c.max_step_age_ms},
      {"max_step_ahead_s", &c.max_step_ahead_ms}};
  for (const auto& [key, ms] : timers) {
    NRM_ASSIGN_OR_RETURN(int64_t seconds, config::GetInt(t, key, path, *ms / 1000));
    if (seconds < 1) {
      return InvalidArgument(config::Where(path, *t.get(key)) + ": " + key +
                             " must be at least 1 (seconds)");
    }
    *ms = seconds * 1000;
  }
  // The broker's audit log: the witnesses this agency requires (k of n).
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> witnesses,
                       config::GetStringArray(t, "witnesses", path, /*required=*/false));
  for (const std::string& vkey : witnesses) {
    Result<audit::note::VerifierKey> k = audit::note::ParseVerifierKey(vkey);
    if (!k || k->type != audit::note::kTypeCosignatureV1) {
      return InvalidArgument(config::Where(path, *t.get("witnesses")) + ": \"" + vkey +
                             "\" is not a witness's vkey (type 0x04)");
    }
    c.log.witnesses.push_back(std::move(*k));
  }
  NRM_ASSIGN_OR_RETURN(int64_t required, config::GetInt(t, "witnesses_required", path,
                                                        static_cast<int64_t>(witnesses.size())));
  if (required < 0 || required > static_cast<int64_t>(witnesses.size())) {
    return InvalidArgument(config::Where(path, *t.get("witnesses_required")) +
                           ": witnesses_required must be between 0 and the number of witnesses");
  }
  c.log.witnesses_required = static_cast<size_t>(required);
  for (const auto& [key, ms] :
       {std::pair<const char*, int64_t*>{"cosignature_delay_s", &c.log.cosignature_delay_ms},
        {"checkpoint_max_age_s", &c.log.checkpoint_max_age_ms}}) {
    NRM_ASSIGN_OR_RETURN(int64_t seconds, config::GetInt(t, key, path, *ms / 1000));
    if (seconds < 1) {
      return InvalidArgument(config::Where(path, *t.get(key)) + ": " + key +
                             " must be at least 1 (seconds)");
    }
    *ms = seconds * 1000;
  }
  NRM_RETURN_IF_ERROR(ReadRetention(t, path, c));
  if (const toml::node* web = t.get("web")) {
    if (!web->is_table()) {
      return InvalidArgument(config::Where(path, *web) + ": 'web' must be a table ([web])");
    }
    NRM_ASSIGN_OR_RETURN(c.web, web::ParseWebConfig(*web->as_table(), path, resolve));
  }
  NRM_ASSIGN_OR_RETURN(c.partner_anchors,
                       config::GetStringArray(t, "partner_anchors", path, /*required=*/false));
  for (std::string& a : c.partner_anchors) a = resolve(a);
  return c;
}

Result<std::unique_ptr<Agent>> Agent::Open(const AgentConfig& config, const Clock& clock,
                                           int connect_timeout_ms) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Load(config, clock));
  NRM_RETURN_IF_ERROR(agent->Connect(connect_timeout_ms));
  return agent;
}

Result<std::unique_ptr<Agent>> Agent::Load(const AgentConfig& config, const Clock& clock) {
  NRM_ASSIGN_OR_RETURN(identity::KeySet keys,
                       LoadAgencyKeys(config.key_file, config.key_passphrase));
  if (keys.id != config.agency) {
    return InvalidArgument(config.key_file + " holds the keys of " + keys.id + ", not " +
                           config.agency);
  }
  NRM_ASSIGN_OR_RETURN(
      identity::Directory dir,
      identity::Directory::Load(config.directory, config.authority_key, clock.NowMillis()));
  const identity::Agency* self = dir.Find(config.agency);
  if (self == nullptr) return NotFound(config.agency + " is not in the directory");
  if (self->revoked) return PermissionDenied(config.agency + " is revoked in the directory");
  if (self->sign_key != keys.sign_public || self->box_key != keys.box_public ||
      self->curve_key != keys.curve_public) {
    return InvalidArgument(config.key_file + ": these keys are not " + config.agency +
                           "'s keys in the directory");
  }
  std::string endpoint = config.broker;
  if (endpoint.empty()) {
    NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(config.broker_endpoint_file));
    endpoint = Trim(std::move(text));
  }
  transport::ClientOptions co;
  co.endpoint = endpoint;
  co.server_curve_public = dir.broker().curve_key;
  co.curve_public = keys.curve_public;
  co.curve_secret = keys.curve_secret.Clone();
  NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(config.policy));
  const std::string role = self->role;
  auto agent = std::unique_ptr<Agent>(
      new Agent(std::move(keys), std::move(dir), std::move(policy), role, clock));
  agent->client_options_ = std::move(co);
  agent->config_ = config;
  agent->config_.key_passphrase.clear();  // used above; not kept
  const identity::BrokerEntry& broker = agent->directory_.broker();
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::PublishedLogKey(broker.log_vkey, broker.id, broker.sign_key));
  NRM_ASSIGN_OR_RETURN(agent->log_watch_,
                       LogWatch::Open(config.data_dir, std::move(log_key), config.log, clock));
  NRM_RETURN_IF_ERROR(agent->LoadPartners());
  return agent;
}

Status Agent::Connect(int timeout_ms) {
  client_.reset();
  early_.clear();
  transport::ClientOptions co;
  co.endpoint = client_options_.endpoint;
  co.server_curve_public = client_options_.server_curve_public;
  co.curve_public = client_options_.curve_public;
  co.curve_secret = client_options_.curve_secret.Clone();
  co.max_message_bytes = client_options_.max_message_bytes;
  co.send_timeout_ms = send_timeout_ms_;
  NRM_ASSIGN_OR_RETURN(client_, transport::Client::Connect(std::move(co), timeout_ms));
  NRM_RETURN_IF_ERROR(Greet());
  // A national broker's agency: the partner countries' directories, fresh from the broker. A
  // broker that does not answer in time leaves the ones held in force.
  if (!partner_anchors_.empty()) (void)FetchPartnerDirectories(2000);
  return Status::Ok();
}

void Agent::Disconnect() {
  client_.reset();
  early_.clear();
}

Status Agent::SendFrames(const transport::Frames& frames) {
  if (!client_) return Unavailable("not connected to the broker");
  return client_->Send(frames);
}

Status Agent::ReplaceDirectory(identity::Directory dir) {
  const identity::Agency* self = dir.Find(keys_.id);
  if (self == nullptr) return InvalidArgument(keys_.id + " is not in the new directory");
  if (self->revoked) return PermissionDenied(keys_.id + " is revoked in the new directory");
  if (self->sign_key != keys_.sign_public || self->box_key != keys_.box_public ||
      self->curve_key != keys_.curve_public) {
    return InvalidArgument("the new directory names other keys for " + keys_.id);
  }
  const identity::BrokerEntry& broker = dir.broker();
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::PublishedLogKey(broker.log_vkey, broker.id, broker.sign_key));
  log_watch_->UseLogKey(std::move(log_key));
  client_options_.server_curve_public = dir.broker().curve_key;
  role_ = self->role;
  own_directory_ = std::move(dir);
  MergePartners();
  return Status::Ok();
}

Status Agent::Greet() {
  if (!client_) return Unavailable("not connected to the broker");
  return client_->Send({Frame("HELLO")});
}

Result<std::vector<SendOutcome>> Agent::Send(const std::vector<std::string>& recipients,
                                             wire::Kind kind, ByteView case_ref,
                                             wire::Handling handling, ByteView payload,
                                             int timeout_ms) {
  NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                       Seal(recipients, kind, case_ref, handling, payload));
  std::vector<SendOutcome> outcomes;
  for (const wire::Sealed& s : sealed) {
    NRM_ASSIGN_OR_RETURN(SendOutcome out, Submit(s, timeout_ms));
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

Result<std::vector<wire::Sealed>> Agent::Seal(const std::vector<std::string>& recipients,
                                              wire::Kind kind, ByteView case_ref,
                                              wire::Handling handling, ByteView payload) {
  return SealStep(recipients, kind, case_ref, handling, payload, StepFields{});
}

Result<std::vector<wire::Sealed>> Agent::SealStep(const std::vector<std::string>& recipients,
                                                  wire::Kind kind, ByteView case_ref,
                                                  wire::Handling handling, ByteView payload,
                                                  const StepFields& step) {
  NRM_RETURN_IF_ERROR(wire::VerifyPayload(payload).status());
  // Need to know: one envelope per recipient role, holding only the sections that role may
  // receive. Roles in the order they first appear.
  std::vector<std::pair<std::string, std::vector<wire::Recipient>>> by_role;
  for (const std::string& id : recipients) {
    const identity::Agency* a = directory_.Find(id);
    if (a == nullptr) return NotFound("recipient " + id + " is not in the directory");
    if (a->revoked) return PermissionDenied("recipient " + id + " is revoked");
    auto group = std::find_if(by_role.begin(), by_role.end(),
                              [&](const auto& g) { return g.first == a->role; });
    if (group == by_role.end()) {
      by_role.push_back({a->role, {}});
      group = by_role.end() - 1;
    }
    group->second.push_back({a->id, a->box_key});
  }
  wire::HeaderFields f;
  f.sender = keys_.id;
  f.kind = kind;
  f.case_ref.assign(case_ref.begin(), case_ref.end());
  f.handling = handling;
  f.created_at_ms = clock_.NowMillis();
  f.in_reply_to = step.in_reply_to;
  f.consent_override = step.consent_override;
  if (!step.message_id.empty() && by_role.size() != 1) {
    return InvalidArgument("a step sealed again goes to recipients of one role");
  }
  f.message_id = step.message_id;
  std::vector<wire::Sealed> out;
  for (const auto& [role, to] : by_role) {
    f.previous.clear();
    if (step.ordered) {
      for (const wire::Recipient& r : to) {
        auto p = step.previous.find(r.id);
        const Bytes none(wire::kMessageIdBytes, 0);
        const Bytes& id = p == step.previous.end() ? none : p->second;
        if (id.size() != wire::kMessageIdBytes) return InvalidArgument("previous must be 16 bytes");
        f.previous.insert(f.previous.end(), id.begin(), id.end());
      }
    }
    NRM_ASSIGN_OR_RETURN(Bytes minimal, wire::KeepSections(payload, policy_.SectionsFor(role)));
    NRM_ASSIGN_OR_RETURN(wire::Sealed sealed,
                         wire::SealEnvelope(f, to, minimal, keys_.sign_secret, epoch_));
    out.push_back(std::move(sealed));
  }
  return out;
}

Result<SendOutcome> Agent::Submit(const wire::Sealed& sealed, int timeout_ms) {
  if (!client_) return Unavailable("not connected to the broker");
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto next_send = Clock::now();
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return Unavailable("the broker did not answer within " + std::to_string(timeout_ms) +
                         " ms; the message may or may not have been accepted");
    }
    if (now >= next_send) {
      // One copy in flight: sent again only when no answer came within 2 s. The socket queues
      // nothing while disconnected, so a copy that cannot go now is not sent later by ZeroMQ.
      (void)client_->Send({Frame("SEND"), sealed.frame});
      next_send = Clock::now() + std::chrono::seconds(2);
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(deadline, next_send) - now);
    NRM_ASSIGN_OR_RETURN(auto frames, client_->Receive(static_cast<int>(wait.count()) + 1));
    if (!frames || frames->empty()) continue;
    const std::string_view verb = FrameText((*frames)[0]);
    if ((verb == "ACCEPTED" || verb == "REFUSED") && frames->size() >= 2 &&
        (*frames)[1] == sealed.message_id) {
      NRM_ASSIGN_OR_RETURN(SendOutcome out, ReadAnswer(*frames));
      if (!out.accepted && out.code == "already_exists") {
        // A repeat of ours, or of an id the broker accepted from us before: only its receipt
        // proves it was accepted.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
        Result<QueryAnswer> q =
            QueryReceipt(sealed.message_id, std::max<int>(1000, static_cast<int>(left.count())));
        if (q.ok() && q->held && q->receipt_leaf) {
          const auto rest =
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
          NRM_RETURN_IF_ERROR(CheckLog(q->receipt_head, /*fresh=*/false,
                                       std::max<int>(1000, static_cast<int>(rest.count()))));
          return SendOutcome{sealed.message_id, true, "ok", "", q->receipt_leaf, q->receipt_head};
        }
        out.reason += q.ok() ? "; the broker gave no receipt for it"
                             : "; no receipt: " + q.status().message();
      }
      if (out.accepted) {
        // A receipt counts only when its checkpoint agrees with the log this agent holds.
        const auto rest =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        NRM_RETURN_IF_ERROR(CheckLog(out.receipt_head, /*fresh=*/true,
                                     std::max<int>(1000, static_cast<int>(rest.count()))));
      }
      return out;
    }
    if (verb == "REFUSED" && frames->size() >= 4 && (*frames)[1].empty()) {
      return Internal("the broker refused a request: " + std::string(FrameText((*frames)[3])));
    }
    if (IsDelivery(verb)) early_.push_back(std::move(*frames));  // for the next Receive
  }
}

Result<QueryAnswer> Agent::QueryReceipt(ByteView message_id, int timeout_ms) {
  const Bytes id(message_id.begin(), message_id.end());
  NRM_RETURN_IF_ERROR(client_->Send({Frame("QUERY"), id}));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    NRM_ASSIGN_OR_RETURN(auto frames, client_->Receive(100));
    if (!frames || frames->empty()) continue;
    const std::string_view verb = FrameText((*frames)[0]);
    if (verb == "STATUS" && frames->size() >= 2 && (*frames)[1] == id) return ReadStatus(*frames);
    if (IsDelivery(verb)) early_.push_back(std::move(*frames));
  }
  return Unavailable("the broker did not answer the query");
}

transport::Frames Agent::ConsistencyRequest(uint64_t old_size, uint64_t size) {
  Bytes a(8), b(8);
  for (int i = 0; i < 8; ++i) {
    a[i] = static_cast<uint8_t>(old_size >> (56 - 8 * i));
    b[i] = static_cast<uint8_t>(size >> (56 - 8 * i));
  }
  return {Frame("CONSISTENCY"), std::move(a), std::move(b)};
}

Result<Agent::ConsistencyAnswer> Agent::ReadConsistency(const transport::Frames& frames) {
  if (frames.size() != 4 || FrameText(frames[0]) != "CONSISTENCY" || frames[1].size() != 8) {
    return InvalidArgument("not an answer to CONSISTENCY");
  }
  ConsistencyAnswer a;
  for (uint8_t b : frames[1]) a.old_size = a.old_size << 8 | b;
  if (frames[2].empty()) {
    a.reason = std::string(FrameText(frames[3]));
    return a;
  }
  a.note = std::string(FrameText(frames[2]));
  if (frames[3].size() % crypto::kHashBytes != 0 || frames[3].size() > 64 * crypto::kHashBytes) {
    return InvalidArgument("a consistency proof is whole 32-byte hashes, at most 64");
  }
  for (size_t i = 0; i < frames[3].size(); i += crypto::kHashBytes) {
    audit::Hash h;
    std::copy(frames[3].begin() + static_cast<ptrdiff_t>(i),
              frames[3].begin() + static_cast<ptrdiff_t>(i + crypto::kHashBytes), h.begin());
    a.proof.push_back(h);
  }
  return a;
}

Result<Agent::ConsistencyAnswer> Agent::AskConsistency(uint64_t old_size, uint64_t size,
                                                       int timeout_ms) {
  if (!client_) return Unavailable("not connected to the broker");
  NRM_RETURN_IF_ERROR(client_->Send(ConsistencyRequest(old_size, size)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // The question is asked again every second: a connection the broker closed meanwhile (e.g.
  // every session after a directory reload) loses it, and asking twice changes nothing.
  auto again = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::chrono::steady_clock::now() >= again) {
      (void)client_->Send(ConsistencyRequest(old_size, size));  // a failure: asked again later
      again = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    NRM_ASSIGN_OR_RETURN(auto frames, client_->Receive(100));
    if (!frames || frames->empty()) continue;
    const std::string_view verb = FrameText((*frames)[0]);
    if (verb == "CONSISTENCY") {
      NRM_ASSIGN_OR_RETURN(ConsistencyAnswer a, ReadConsistency(*frames));
      if (a.old_size == old_size) return a;
    }
    if (verb == "REFUSED" && frames->size() >= 4 && (*frames)[1].empty()) {
      return Unavailable("the broker refused CONSISTENCY: " + std::string(FrameText((*frames)[3])));
    }
    if (IsDelivery(verb)) early_.push_back(std::move(*frames));
  }
  return Unavailable("the broker did not answer CONSISTENCY within " + std::to_string(timeout_ms) +
                     " ms");
}

Status Agent::CheckLog(ByteView note, bool fresh, int timeout_ms) {
  const LogWatch::Check check = log_watch_->OnReceipt(AsChars(note), fresh);
  if (check.verdict == LogWatch::Verdict::kAccept) return Status::Ok();
  if (check.verdict == LogWatch::Verdict::kAlarm) {
    return Unauthenticated("the broker's receipt does not count: " + log_watch_->state().alarm);
  }
  const uint64_t held = log_watch_->state().size;
  NRM_ASSIGN_OR_RETURN(ConsistencyAnswer a, AskConsistency(held, check.proof_to, timeout_ms));
  NRM_RETURN_IF_ERROR(log_watch_->OnConsistency(a.old_size, a.note, a.proof, a.reason));
  // The proof was of the stored checkpoint of that size: the receipt's must be the same tree.
  if (log_watch_->OnReceipt(AsChars(note), fresh).verdict != LogWatch::Verdict::kAccept) {
    return Unauthenticated("the broker's receipt does not count: " + log_watch_->state().alarm);
  }
  return Status::Ok();
}

}  // namespace nrm::agent
