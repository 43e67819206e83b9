// The broker's admission of a SEND: the sender's signature (checked for a whole batch on the
// worker pool), freshness, recipients, replay memory, the need-to-know policy and the H2
// onward-sharing rule, the disk reserve; then the accepted envelope is queued for each
// recipient, its case recorded and its audit record written, all in the batch being gathered.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>

#include "broker/broker.h"
#include "broker/worker_pool.h"

namespace nrm::broker {
namespace {

using transport::Frame;
using transport::FrameText;

// Fewer SENDs than this in one gathered batch are checked on the routing thread alone: waking
// a worker costs more than it saves.
constexpr size_t kMinParallelChecks = 4;

// OK when `created_at_ms` is within `window_ms` of `now_ms` either way; else kInvalidArgument.
// created_at is the peer's number, any int64: compared against bounds computed from our own
// clock and window (both far from the limits), never subtracted from now, which overflows for
// created_at near INT64_MIN or INT64_MAX (now - (now - 2^63) would wrap and pass both tests).
Status CheckFreshness(int64_t now_ms, int64_t created_at_ms, int64_t window_ms) {
  const int64_t earliest = now_ms - window_ms;
  const int64_t latest = now_ms + window_ms;
  if (created_at_ms >= earliest && created_at_ms <= latest) return Status::Ok();
  // In 128 bits the difference cannot overflow; in seconds it fits in 64 again.
  const __int128 diff = static_cast<__int128>(created_at_ms) - now_ms;
  const int64_t seconds = static_cast<int64_t>((diff < 0 ? -diff : diff) / 1000);
  return InvalidArgument(
      "created_at is " + std::to_string(seconds) + " s " + (diff < 0 ? "before" : "after") +
      " the broker's clock; the freshness window is " + std::to_string(window_ms / 1000) + " s");
}

}  // namespace

void Broker::Precheck(const std::vector<transport::Incoming>& in, std::vector<Prechecked>& out) {
  out.assign(in.size(), Prechecked{});
  std::vector<size_t> sends;
  for (size_t i = 0; i < in.size(); ++i) {
    // A throttled agency's SENDs are refused unchecked: no signature is verified for them.
    if (in[i].frames.size() == 2 && FrameText(in[i].frames[0]) == "SEND" &&
        !Throttled(in[i].agency)) {
      sends.push_back(i);
    }
  }
  if (sends.size() < kMinParallelChecks) return;  // HandleSend checks them itself
  const auto dir = directory();
  pool_->Run(sends.size(), [&](size_t k) {
    const transport::Incoming& m = in[sends[k]];
    const identity::Agency* agency = dir->Find(m.agency);
    Result<wire::EnvelopeView> env = wire::DecodeEnvelope(m.frames[1]);
    // Only the case HandleSend would verify: a decodable envelope from the active agency
    // that the connection authenticated. Anything else HandleSend refuses by itself.
    if (agency == nullptr || agency->revoked || !env.ok() || env->sender() != agency->id) return;
    Prechecked& p = out[sends[k]];
    p.signature = wire::VerifySignature(*env, agency->sign_key);
    p.body_hash = crypto::Sha256(env->body);
    p.valid = true;
  });
}

void Broker::HandleSend(const transport::Incoming& in, const identity::Agency& sender,
                        const Prechecked* pre) {
  const Bytes& frame = in.frames[1];
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(frame);
  if (!env) {
    ++stats_.malformed;
    ++stats_.refused;
    Refuse(in, {}, env.status());
    return;
  }
  const ByteView id = env->message_id();
  auto refuse = [&](const Status& why) {
    ++stats_.refused;
    spdlog::debug("refused {} from {}: {}", ToHex(id), sender.id, why.ToString());
    Refuse(in, id, why, &*env);
  };
  const crypto::Hash* body_hash = pre != nullptr ? &pre->body_hash : nullptr;
  if (env->sender() != sender.id) {
    return refuse(PermissionDenied("envelope names sender " + std::string(env->sender()) +
                                   " but the connection is authenticated as " + sender.id));
  }
  // Checked on the worker pool when the batch had enough SENDs, against the same key.
  if (Status s = pre != nullptr ? pre->signature : wire::VerifySignature(*env, sender.sign_key);
      !s.ok()) {
    return refuse(s);
  }
  if (Status fresh =
          CheckFreshness(clock_.NowMillis(), env->created_at_ms(), config_.freshness_window_ms);
      !fresh.ok()) {
    return refuse(fresh);
  }
  auto dir = directory();
  std::vector<std::string> recipients;  // the queues that take it: agencies', partner brokers'
  for (std::string_view r : env->recipients()) {
    const identity::Agency* a = FindAgency(*dir, r);
    if (a == nullptr && !config_.country.empty() && r.substr(0, 2) != config_.country &&
        (federation() == nullptr || federation()->FindPartner(r.substr(0, 2)) == nullptr)) {
      const std::string other(r.substr(0, 2));
      return refuse(PermissionDenied("no signed agreement between " + config_.country + " and " +
                                     other + " is installed, so " + std::string(r) +
                                     " cannot be reached from here"));
    }
    if (a == nullptr)
      return refuse(NotFound("recipient " + std::string(r) + " is not in the directory"));
    if (a->revoked) return refuse(PermissionDenied("recipient " + std::string(r) + " is revoked"));
    std::string queue = QueueFor(*a);
    if (std::find(recipients.begin(), recipients.end(), queue) == recipients.end()) {
      recipients.push_back(std::move(queue));
    }
  }
  Bytes id_bytes(id.begin(), id.end());
  Result<bool> seen = store_->Seen(id);
  if (!seen) {
    LogStoreError(seen.status());
    return refuse(Unavailable("replay memory unreadable: " + seen.status().message()));
  }
  Result<std::optional<CaseParties>> known = NewMessageCase(id_bytes, *seen, env->case_ref());
  if (!known) return refuse(known.status());
  const CaseParties* parties = known->has_value() ? &**known : nullptr;
  Result<std::string> rules = Decide(*env, sender, *dir, parties);
  if (!rules.ok()) return refuse(rules.status());
  if (Status s = CheckDiskReserve(); !s.ok()) return refuse(s);
  disk_.accepted_since += frame.size() * recipients.size();
  RecordCase(*env, parties);
  audit::AuditRecord record = RecordOf(audit::AuditEvent::kAccepted, *env, body_hash);
  record.decision = "allow";
  record.rule = *rules;
  if (env->header->consent_override()) {
    record.reason = "personal data shared without consent: the sender gave an override reason";
  }
  const uint64_t leaf = Audit(std::move(record));
  // The replay memory keeps the leaf, so that the sender can ask for its receipt again (QUERY).
  store_->AddAccepted(batch_, id, env->created_at_ms(), sender.id, recipients, frame,
                      clock_.NowMillis() + config_.ttl_ms, leaf);
  batch_ids_.push_back(std::move(id_bytes));
  ++stats_.accepted;
  batch_kinds_.push_back(wire::KindName(env->kind()));
  CountSend(batch_kinds_.back(), {});
  replies_.push_back({in.routing_id, {Frame("ACCEPTED"), Bytes(id.begin(), id.end())}, leaf});
  if (env->kind() == wire::Kind::ErasureRequest) DropErasedCase(*env, recipients);
  for (std::string& r : recipients) to_pump_.push_back(std::move(r));
}

Result<std::optional<CaseParties>> Broker::NewMessageCase(const Bytes& id, bool seen,
                                                         ByteView case_ref) {
  if (seen || std::find(batch_ids_.begin(), batch_ids_.end(), id) != batch_ids_.end()) {
    return AlreadyExists("message id " + ToHex(id) + " was seen before (replay)");
  }
  // Fail closed: without the case's parties an H2 case's restriction cannot be checked.
  Result<std::optional<CaseParties>> known = store_->FindCase(case_ref);
  if (!known) {
    LogStoreError(known.status());
    return Unavailable("case registry unreadable: " + known.status().message());
  }
  return known;
}

void Broker::LogStoreError(const Status& s) {
  const int64_t now = clock_.NowMillis();
  if (store_error_logged_ms_ != 0 && now - store_error_logged_ms_ < 10000) return;
  store_error_logged_ms_ = now;
  spdlog::error(
      "the broker store cannot be read; messages are refused until it is restored from a "
      "backup (OPERATIONS.md): {}",
      s.ToString());
}

Status Broker::CheckDiskReserve() {
  const uint64_t reserve = config_.min_free_disk_bytes;
  if (reserve == 0) return Status::Ok();
  const int64_t now = clock_.NowMillis();
  if (disk_.checked_ms == 0 || now - disk_.checked_ms >= 100 || disk_.accepted_since >= 1 << 20) {
    struct statvfs v {};
    // Unknown free space counts as none: refuse rather than risk the store.
    disk_.free_bytes = ::statvfs(config_.data_dir.c_str(), &v) == 0
                           ? static_cast<uint64_t>(v.f_bavail) * v.f_frsize
                           : 0;
    disk_.checked_ms = now;
    disk_.accepted_since = 0;
  }
  // Each accepted byte is written twice before long: to the WAL, then to a table file.
  const uint64_t used = 2 * disk_.accepted_since;
  const uint64_t free = disk_.free_bytes > used ? disk_.free_bytes - used : 0;
  const bool low = free < reserve;
  if (low != disk_.low) {
    disk_.low = low;
    if (low) {
      spdlog::warn(
          "{} MiB free on the data directory's disk, under the {} MiB reserve: new "
          "messages are refused until space returns",
          free >> 20, reserve >> 20);
    } else {
      spdlog::info("{} MiB free on the data directory's disk: accepting messages again",
                   free >> 20);
    }
  }
  if (!low) return Status::Ok();
  return ResourceExhausted("the broker's disk is nearly full (" + std::to_string(free >> 20) +
                           " MiB free, " + std::to_string(reserve >> 20) +
                           " MiB kept in reserve); resend later");
}

Result<std::string> Broker::Decide(const wire::EnvelopeView& env, const identity::Agency& sender,
                                   const identity::Directory& dir, const CaseParties* known,
                                   std::string_view only_country) {
  const std::string kind(wire::KindName(env.kind()));
  const std::string date = FormatTimeUtc(env.created_at_ms()).substr(0, 10);
  const auto fed = federation();
  auto judged = [&](std::string_view r) {
    return only_country.empty() || std::string_view(r).substr(0, 2) == only_country;
  };
  std::string rules;
  for (std::string_view r : env.recipients()) {
    if (!judged(r)) continue;
    const identity::Agency* to = FindAgency(dir, r);
    if (to == nullptr) return NotFound("recipient " + std::string(r) + " is not in the directory");
    policy::Decision d = policy_->Route(
        {{sender.id, sender.role, sender.country}, {to->id, to->role, to->country}, kind, date});
    if (!d.allowed) {
      return PermissionDenied("policy " + d.policy_hash.substr(0, 12) + " refuses " + sender.id +
                              " -> " + to->id + ": " + d.reason);
    }
    std::string rule = d.agreement_id.empty() ? d.rule_id : d.rule_id + "@" + d.agreement_id;
    if (fed != nullptr && to->country != sender.country) {
      // A national broker: the border also needs an agreement both authorities signed.
      Result<std::string> signed_by_both =
          fed->CheckRoute(sender, *to, env.kind(), env.handling(), clock_.NowMillis());
      if (!signed_by_both.ok()) {
        return PermissionDenied("no signed agreement lets " + sender.id + " send to " + to->id +
                                ": " + signed_by_both.status().message());
      }
      rule += " under " + *signed_by_both;
    }
    if (rules.find(rule) == std::string::npos) rules += (rules.empty() ? "" : ",") + rule;
  }
  // H2: not to be passed on without the provider's permission. Only envelope metadata is
  // needed: who opened the case, who is on it, whom the originator approved.
  const CaseParties* c = known;
  if (c != nullptr && env.kind() == wire::Kind::H2Approval && sender.id != c->originator) {
    return PermissionDenied("only " + c->originator +
                            ", which opened this case, may approve "
                            "onward sharing");
  }
  if (c != nullptr && c->h2 && sender.id != c->originator) {
    for (std::string_view r : env.recipients()) {
      if (!judged(r)) continue;
      const std::string id(r);
      if (!c->parties.count(id) && !c->approved.count(id)) {
        return PermissionDenied("case is H2: " + id + " is not on it, and " + c->originator +
                                " (which opened it) has not approved passing it on");
      }
    }
  }
  return rules + " (policy " + policy_->hash().substr(0, 12) + ")";
}

void Broker::RecordCase(const wire::EnvelopeView& env, const CaseParties* known) {
  CaseParties c = known ? *known : CaseParties{std::string(env.sender()), false, {}, {}};
  c.h2 = c.h2 || env.handling() == wire::Handling::H2;
  c.parties.insert(std::string(env.sender()));
  for (std::string_view r : env.recipients()) {
    (env.kind() == wire::Kind::H2Approval ? c.approved : c.parties).insert(std::string(r));
  }
  if (known == nullptr || c != *known) store_->AddCase(batch_, env.case_ref(), std::move(c));
}

}  // namespace nrm::broker
