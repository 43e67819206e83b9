#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "agent/key_file.h"
#include "agent/web/web_config_parse.h"
#include "audit/tree_head.h"
#include "common/config/toml_util.h"
#include "common/file_util.h"
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
}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  const toml::table& t = doc.root;
  NRM_RETURN_IF_ERROR(
      config::CheckKnownKeys(t,
                             {"agency", "key_file", "directory", "policy", "authority_key",
                              "broker", "broker_endpoint_file", "data_dir", "web"},
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
  c.data_dir = resolve(data_dir.value_or(c.agency + "-data"));
  if (const toml::node* web = t.get("web")) {
    if (!web->is_table()) {
      return InvalidArgument(config::Where(path, *web) + ": 'web' must be a table ([web])");
    }
    NRM_ASSIGN_OR_RETURN(c.web, web::ParseWebConfig(*web->as_table(), path, resolve));
  }
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
  NRM_ASSIGN_OR_RETURN(client_, transport::Client::Connect(std::move(co), timeout_ms));
  return Greet();
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
    NRM_ASSIGN_OR_RETURN(SendOutcome out, Submit(s, timeout_ms, /*sent_before=*/false));
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
  std::vector<wire::Sealed> out;
  for (const auto& [role, to] : by_role) {
    NRM_ASSIGN_OR_RETURN(Bytes minimal, wire::KeepSections(payload, policy_.SectionsFor(role)));
    NRM_ASSIGN_OR_RETURN(wire::Sealed sealed,
                         wire::SealEnvelope(f, to, minimal, keys_.sign_secret, epoch_));
    out.push_back(std::move(sealed));
  }
  return out;
}

Result<SendOutcome> Agent::Submit(const wire::Sealed& sealed, int timeout_ms, bool sent_before) {
  if (!client_) return Unavailable("not connected to the broker");
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto next_send = Clock::now();
  int attempts = sent_before ? 1 : 0;
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) {
      return Unavailable("the broker did not answer within " + std::to_string(timeout_ms) +
                         " ms; the message may or may not have been accepted");
    }
    if (now >= next_send) {
      // No connection right now (the broker restarts, say): try again at the next turn.
      if (client_->Send({Frame("SEND"), sealed.frame}).ok()) ++attempts;
      next_send = now + std::chrono::seconds(2);
    }
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::min(deadline, next_send) - now);
    NRM_ASSIGN_OR_RETURN(auto frames, client_->Receive(static_cast<int>(wait.count()) + 1));
    if (!frames || frames->empty()) continue;
    const std::string_view verb = FrameText((*frames)[0]);
    if (verb == "DELIVER" || verb == "EXPIRED") {
      early_.push_back(std::move(*frames));
      continue;
    }
    if ((verb == "ACCEPTED" || verb == "REFUSED") && frames->size() >= 2 &&
        (*frames)[1] == sealed.message_id) {
      SendOutcome out{sealed.message_id, verb == "ACCEPTED", "ok", "", std::nullopt, {}};
      if (out.accepted) {
        NRM_RETURN_IF_ERROR(CheckReceipt(*frames, out));
      } else if (frames->size() >= 4) {
        out.code = FrameText((*frames)[2]);
        out.reason = FrameText((*frames)[3]);
        // Our own repeat of an envelope the broker already accepted.
        if (attempts > 1 && out.code == "already_exists") {
          out = {sealed.message_id, true, "ok", "", std::nullopt, {}};
        }
      }
      return out;
    }
    if (verb == "REFUSED" && frames->size() >= 4 && (*frames)[1].empty()) {
      return Internal("the broker refused a request: " + std::string(FrameText((*frames)[3])));
    }
  }
}

Status Agent::CheckReceipt(const transport::Frames& frames, SendOutcome& out) const {
  if (frames.size() != 4 || frames[2].size() != 8) {
    return Unauthenticated("the broker accepted the message without a receipt");
  }
  uint64_t leaf = 0;
  for (uint8_t b : frames[2]) leaf = leaf << 8 | b;
  NRM_ASSIGN_OR_RETURN(audit::SignedTreeHead head, audit::DecodeTreeHead(frames[3]));
  if (Status s = audit::VerifyTreeHead(head, directory_.broker().sign_key); !s.ok()) {
    return s.WithContext("the broker's receipt does not verify");
  }
  if (leaf >= head.size) return Unauthenticated("the broker's receipt names a leaf past its tree");
  out.receipt_leaf = leaf;
  out.receipt_head = frames[3];
  return Status::Ok();
}

Result<std::optional<Received>> Agent::Receive(int timeout_ms) {
  return ReceiveImpl(timeout_ms, /*greet=*/true);
}

Result<std::optional<Received>> Agent::ReceiveQuietly(int timeout_ms) {
  return ReceiveImpl(timeout_ms, /*greet=*/false);
}

Result<std::optional<Received>> Agent::ReceiveImpl(int timeout_ms, bool greet) {
  if (!client_) return Unavailable("not connected to the broker");
  transport::Frames frames;
  if (!early_.empty()) {
    frames = std::move(early_.front());
    early_.erase(early_.begin());
  } else {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::optional<Received>();
      NRM_ASSIGN_OR_RETURN(
          auto got, client_->Receive(static_cast<int>(std::min<int64_t>(left.count(), 1000))));
      if (!got) {
        if (greet) NRM_RETURN_IF_ERROR(Greet());  // idle: keep the session alive
        continue;
      }
      const std::string_view verb = got->empty() ? "" : FrameText((*got)[0]);
      if ((verb == "DELIVER" && got->size() == 2) || (verb == "EXPIRED" && got->size() == 3)) {
        frames = std::move(*got);
        break;
      }
    }
  }
  if (FrameText(frames[0]) == "EXPIRED") {
    Received notice;
    notice.type = Received::Type::kExpiryNotice;
    notice.message_id = frames[1];
    notice.sender = keys_.id;
    notice.recipients = {std::string(FrameText(frames[2]))};
    return std::optional<Received>(std::move(notice));
  }
  const Bytes& frame = frames[1];
  NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(frame));
  auto reject = [&](const Status& why) -> Status {
    NRM_RETURN_IF_ERROR(Acknowledge(env.message_id()));  // never deliver it again
    return why.WithContext("refused delivery " + ToHex(env.message_id()));
  };
  const identity::Agency* sender = directory_.Find(env.sender());
  if (sender == nullptr || sender->revoked) {
    return reject(Unauthenticated("sender " + std::string(env.sender()) + " is not active"));
  }
  Result<crypto::SecretBytes> payload = wire::OpenEnvelope(env, sender->sign_key, reader_);
  if (!payload) return reject(payload.status());
  Result<const payload::Payload*> verified = wire::VerifyPayload(payload->view());
  if (!verified) return reject(verified.status());
  for (const std::string& section : wire::PresentSections(**verified)) {
    if (!policy_.MayReceive(role_, section)) {
      return reject(PermissionDenied("payload holds the " + section + " section, which a " + role_ +
                                     " may not hold (need-to-know policy)"));
    }
  }
  Received r;
  r.message_id.assign(env.message_id().begin(), env.message_id().end());
  r.sender = env.sender();
  for (std::string_view id : env.recipients()) r.recipients.emplace_back(id);
  r.kind = env.kind();
  r.case_ref.assign(env.case_ref().begin(), env.case_ref().end());
  r.handling = env.handling();
  r.created_at_ms = env.created_at_ms();
  r.in_reply_to.assign(env.in_reply_to().begin(), env.in_reply_to().end());
  r.consent_override = env.header->consent_override();
  r.frame = frame;
  r.payload = std::move(*payload);
  return std::optional<Received>(std::move(r));
}

Status Agent::Acknowledge(ByteView message_id) {
  if (!client_) return Unavailable("not connected to the broker");
  return client_->Send({Frame("ACK"), Bytes(message_id.begin(), message_id.end())});
}

}  // namespace nrm::agent
