// The broker as a partner country's broker sees it (docs/PROTOCOL.md section 12.3): loading the
// [[partner]] tables, finding foreign agencies, and taking what a partner broker relays. A
// relayed envelope is checked again here as if its sender had sent it to this broker: the
// sender is an active agency of the partner's directory and signed it, its recipients are this
// country's (a relay carries nothing for a third country), this broker's own policy and the
// agreement both signed allow it; then it is stored with fsync and audited, and only then is the
// partner given a receipt (this broker's audit leaf and a signed tree head).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "audit/big_endian.h"
#include "broker/broker.h"

namespace nrm::broker {
namespace {

using transport::Frame;
using transport::FrameText;

}  // namespace

std::shared_ptr<const Federation> Broker::federation() const {
  std::lock_guard<std::mutex> lock(federation_mu_);
  return federation_;
}

const identity::Agency* Broker::FindAgency(const identity::Directory& dir,
                                           std::string_view id) const {
  if (const identity::Agency* a = dir.Find(id)) return a;
  const auto fed = federation();
  return fed == nullptr ? nullptr : fed->FindForeign(id);
}

std::string Broker::QueueFor(const identity::Agency& a) const {
  if (config_.country.empty() || a.country == config_.country) return a.id;
  return PartnerName(a.country);
}

Status Broker::LoadFederation(bool reload) {
  if (config_.country.empty()) return Status::Ok();
  Result<std::shared_ptr<const Federation>> loaded =
      Federation::Load(config_.country, config_.authority_key, config_.partners, config_.data_dir,
                       clock_.NowMillis());
  if (!loaded.ok()) {
    if (!reload) return loaded.status();
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kPolicyLoaded;
    r.decision = "deny";
    r.rule = "partners";
    r.reason = loaded.status().message();
    Audit(std::move(r));
    NRM_RETURN_IF_ERROR(CommitBatch());
    return loaded.status();
  }
  const Federation& fed = **loaded;
  // What is in force, for auditors: each partner's directory and each governing agreement.
  for (const auto& [country, p] : fed.partners()) {
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kDirectoryLoaded;
    r.decision = "allow";
    r.rule = "partner " + country + " serial " + std::to_string(p.directory->serial());
    r.reason = "anchor " + federation::AnchorFingerprint(p.anchor) + ", broker " +
               p.anchor.broker.id + " at " + p.endpoint;
    Audit(std::move(r));
  }
  for (const federation::Agreement* a : fed.book().Governing()) {
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kPolicyLoaded;
    const Status signatures = a->CheckSignatures(fed.book().authority_keys());
    r.decision = signatures.ok() ? "allow" : "deny";
    r.rule = "agreement " + a->terms().id + " v" + std::to_string(a->terms().version);
    r.reason = signatures.ok() ? a->Name() + " signed by both, until " +
                                     FormatTimeUtcSeconds(a->terms().valid_until_ms)
                               : signatures.message();
    Audit(std::move(r));
  }
  {
    std::lock_guard<std::mutex> lock(federation_mu_);
    federation_ = *loaded;
  }
  for (const auto& [country, p] : fed.partners()) {
    Link& link = links_[country];
    link.country = country;
    link.name = PartnerName(country);
    link.verified_note.clear();  // verified again, under the log key now in force
    link.verified_head.reset();
    if (link.endpoint != p.endpoint || link.server_key != p.anchor.broker.curve_key) {
      link.client.reset();  // PumpLinks connects to where the partner now is
      link.in_flight.clear();
      link.last_sent = 0;
    }
  }
  spdlog::info("{} partner countries in force, {} agreements", fed.partners().size(),
               fed.book().Governing().size());
  return reload ? CommitBatch() : Status::Ok();
}

void Broker::HandleFromPartner(const transport::Incoming& in) {
  const std::string country = in.agency.substr(1);
  const auto fed = federation();
  const std::string_view verb = in.frames.empty() ? "" : FrameText(in.frames[0]);
  // ZAP admitted the partner under an agreement in force; it may have ended since.
  if (fed == nullptr || fed->FindPartner(country) == nullptr ||
      !fed->book().AnyInForce(config_.country, country, clock_.NowMillis())) {
    ++stats_.refused;
    return RefuseRelay(in, {},
                       PermissionDenied("no agreement between " + config_.country + " and " +
                                        country + " is in force"),
                       nullptr);
  }
  if (verb == "RELAY" && in.frames.size() == 2) return HandleRelay(in, country);
  if (verb == "RELAY-EXPIRED" && in.frames.size() == 3) return HandleRelayExpired(in, country);
  if (verb == "PEER-DIRECTORY") return ServeDirectory(in, config_.country, "PEER-DIRECTORY");
  ++stats_.malformed;
  RefuseRelay(in, {},
              InvalidArgument("unknown request from a partner broker (expected RELAY, "
                              "RELAY-EXPIRED or PEER-DIRECTORY)"),
              nullptr);
}

void Broker::RefuseRelay(const transport::Incoming& in, ByteView message_id, const Status& why,
                         const wire::EnvelopeView* env) {
  audit::AuditRecord r;
  if (env != nullptr) {
    r = RecordOf(audit::AuditEvent::kRefused, *env);
  } else {
    r.event = audit::AuditEvent::kRefused;
    r.message_id.assign(message_id.begin(), message_id.end());
    if (r.message_id.size() != wire::kMessageIdBytes) r.message_id.clear();
  }
  r.decision = "deny";
  r.rule = std::string(CodeName(why.code()));
  r.reason = "relay from " + in.agency + ": " + why.message();
  Audit(std::move(r));
  replies_.push_back({in.routing_id,
                      {Frame("RELAY-REFUSED"), Bytes(message_id.begin(), message_id.end()),
                       Frame(CodeName(why.code())), Frame(why.message())},
                      std::nullopt});
}

void Broker::HandleRelay(const transport::Incoming& in, const std::string& country) {
  const Bytes& frame = in.frames[1];
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(frame);
  if (!env) {
    ++stats_.malformed;
    ++stats_.refused;
    return RefuseRelay(in, {}, env.status(), nullptr);
  }
  const ByteView id = env->message_id();
  auto refuse = [&](const Status& why) {
    ++stats_.refused;
    spdlog::debug("refused relay {} from {}: {}", ToHex(id), in.agency, why.ToString());
    RefuseRelay(in, id, why, &*env);
  };
  const auto fed = federation();
  const Partner& partner = *fed->FindPartner(country);
  // The sender: an active agency of the partner's directory, which signed the envelope.
  const identity::Agency* sender = partner.directory->Find(env->sender());
  if (sender == nullptr || sender->country != country) {
    return refuse(PermissionDenied("sender " + std::string(env->sender()) +
                                   " is not an agency of " + country + "'s directory"));
  }
  if (sender->revoked) {
    return refuse(PermissionDenied("sender " + sender->id + " is revoked by " + country));
  }
  if (Status s = wire::VerifySignature(*env, sender->sign_key); !s.ok()) return refuse(s);
  // The recipients: this country's agencies (delivered here) and the sender's own (its broker
  // delivers those); an agency of any third country makes the whole relay wrong.
  auto dir = directory();
  std::vector<std::string> local;
  for (std::string_view r : env->recipients()) {
    if (r.substr(0, 2) == country) continue;
    if (r.substr(0, 2) != config_.country) {
      return refuse(PermissionDenied("recipient " + std::string(r) + " is of neither " + country +
                                     " nor " + config_.country + ": a relay carries messages for " +
                                     config_.country + " only"));
    }
    const identity::Agency* a = dir->Find(r);
    if (a == nullptr)
      return refuse(NotFound("recipient " + std::string(r) + " is not in the directory"));
    if (a->revoked) return refuse(PermissionDenied("recipient " + std::string(r) + " is revoked"));
    local.emplace_back(r);
  }
  if (local.empty()) {
    return refuse(InvalidArgument("the envelope names no recipient of " + config_.country));
  }
  Bytes id_bytes(id.begin(), id.end());
  Result<std::optional<AcceptedMessage>> seen = store_->Accepted(id);
  if (!seen) {
    LogStoreError(seen.status());
    return refuse(Unavailable("replay memory unreadable: " + seen.status().message()));
  }
  if (seen->has_value() && (*seen)->sender == in.agency && (*seen)->leaf) {
    // A repeat (the partner got no receipt in time, or lost it): the receipt again.
    audit::AuditRecord r = RecordOf(audit::AuditEvent::kRefused, *env);
    r.decision = "deny";
    r.rule = "already_exists";
    r.reason = "relay from " + in.agency + " repeated: accepted before, its receipt sent again";
    Audit(std::move(r));
    replies_.push_back(
        {in.routing_id, {Frame("RELAYED"), Bytes(id.begin(), id.end())}, *(*seen)->leaf});
    return;
  }
  if (std::find(batch_ids_.begin(), batch_ids_.end(), id_bytes) != batch_ids_.end()) {
    // A repeat of a relay this batch accepted, not yet written: the partner sent everything
    // again on a new connection while the first copy waited here. Its receipt goes to the old
    // connection, so the repeat is told to come again; then it gets the receipt above. (A final
    // refusal would tell the sender a delivered message was not.)
    return refuse(Unavailable("relay " + ToHex(id) + " is being stored from an earlier copy"));
  }
  Result<std::optional<CaseParties>> known =
      NewMessageCase(id_bytes, seen->has_value(), env->case_ref());
  if (!known) return refuse(known.status());
  const CaseParties* parties = known->has_value() ? &**known : nullptr;
  // This broker's own policy and the agreement, for this country's recipients.
  Result<std::string> rules = Decide(*env, *sender, *dir, parties, config_.country);
  if (!rules.ok()) return refuse(rules.status());
  if (Status s = CheckDiskReserve(); !s.ok()) return refuse(s);
  disk_.accepted_since += frame.size() * local.size();
  RecordCase(*env, parties);
  audit::AuditRecord record = RecordOf(audit::AuditEvent::kAccepted, *env);
  record.decision = "allow";
  record.rule = "relay from " + in.agency + ": " + *rules;
  const uint64_t leaf = Audit(std::move(record));
  // The replay memory names the partner as the sender: a repeat is known by it, and expiry
  // notices for the real sender go back to its broker through this partner's queue.
  store_->AddAccepted(batch_, id, env->created_at_ms(), in.agency, local, frame,
                      clock_.NowMillis() + config_.ttl_ms, leaf);
  batch_ids_.push_back(std::move(id_bytes));
  ++stats_.accepted;
  replies_.push_back({in.routing_id, {Frame("RELAYED"), Bytes(id.begin(), id.end())}, leaf});
  for (std::string& r : local) to_pump_.push_back(std::move(r));
}

void Broker::HandleRelayExpired(const transport::Incoming& in, const std::string& country) {
  const Bytes& id = in.frames[1];
  const std::string recipient(FrameText(in.frames[2]));
  if (id.size() != wire::kMessageIdBytes || recipient.substr(0, 2) != country) {
    ++stats_.malformed;
    return RefuseRelay(in, {},
                       InvalidArgument("RELAY-EXPIRED needs a message id and an agency "
                                       "of " +
                                       country),
                       nullptr);
  }
  // The replay memory knows who sent it from here.
  Result<std::optional<AcceptedMessage>> accepted = store_->Accepted(id);
  const std::string sender =
      accepted.ok() && accepted->has_value() ? (*accepted)->sender : std::string();
  const bool known = !sender.empty() && !sender.starts_with('@');
  if (known) {
    store_->AddExpiryNotice(batch_, sender, id, recipient);
    to_pump_.push_back(sender);
  }
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kExpired;
  r.message_id = id;
  r.sender = known ? sender : "";
  r.recipients = {recipient};
  r.reason = "reported by " + in.agency +
             (known ? "; the sender is told" : "; no sender known for it here");
  Audit(std::move(r));
  replies_.push_back({in.routing_id, {Frame("NOTED"), id}, std::nullopt});
}

}  // namespace nrm::broker
