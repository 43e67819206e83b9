// The broker's reloads (SIGHUP): the policy and the directory are loaded again and audited
// either way; a broken or older file is refused and the one in force stays. Agencies a new
// directory revokes lose their queues and every connection is closed so that each passes ZAP
// again.
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "policy/policy_file.h"

namespace nrm::broker {

Status Broker::ReloadPolicy() {
  Result<policy::Policy> fresh = policy::LoadPolicyFile(config_.policy);
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kPolicyLoaded;
  if (fresh.ok()) {
    r.decision = "allow";
    r.rule = "sha256 " + fresh->hash();
    policy_ = std::make_unique<policy::Policy>(std::move(*fresh));
    spdlog::info("policy {} in force", policy_->hash().substr(0, 16));
  } else {
    r.decision = "deny";
    r.rule = "invalid_argument";
    r.reason = fresh.status().message();
  }
  Audit(std::move(r));
  NRM_RETURN_IF_ERROR(CommitBatch());
  return fresh.status();
}

Status Broker::ReloadDirectory() {
  auto old = directory();
  auto refuse = [&](const Status& why) {
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kDirectoryLoaded;
    r.decision = "deny";
    r.rule = std::string(CodeName(why.code()));
    r.reason = why.message();
    Audit(std::move(r));
    Status committed = CommitBatch();
    return committed.ok() ? why : committed;
  };
  Result<std::pair<identity::Directory, std::string>> loaded = ReadDirectory();
  if (!loaded.ok()) return refuse(loaded.status());
  identity::Directory& fresh = loaded->first;
  if (fresh.serial() < old->serial()) {
    return refuse(PermissionDenied("serial " + std::to_string(fresh.serial()) + " is older than " +
                                   std::to_string(old->serial()) + " in force (a rollback?)"));
  }
  if (fresh.broker().sign_key != keys_.sign_public ||
      fresh.broker().curve_key != keys_.curve_public) {
    return refuse(InvalidArgument("the new directory names other keys for the broker"));
  }
  std::vector<std::string> revoked;
  for (const identity::Agency& a : old->agencies()) {
    const identity::Agency* now = fresh.Find(a.id);
    if (!a.revoked && (now == nullptr || now->revoked)) revoked.push_back(a.id);
  }
  {
    std::lock_guard<std::mutex> lock(directory_mu_);
    directory_ = std::make_shared<const identity::Directory>(std::move(fresh));
  }
  directory_text_ = std::move(loaded->second);
  audit::AuditRecord loaded_record;
  loaded_record.event = audit::AuditEvent::kDirectoryLoaded;
  loaded_record.decision = "allow";
  loaded_record.rule = "serial " + std::to_string(directory()->serial());
  Audit(std::move(loaded_record));
  size_t dropped = 0;
  for (const std::string& id : revoked) {
    NRM_ASSIGN_OR_RETURN(size_t n, store_->AddDropQueue(batch_, id));
    dropped += n;
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kRevoked;
    r.sender = id;
    r.reason = std::to_string(n) + " queued messages removed";
    Audit(std::move(r));
  }
  NRM_RETURN_IF_ERROR(CommitBatch());
  spdlog::info(
      "directory serial {} in force: {} agencies, {} newly revoked, {} queued messages "
      "dropped for them",
      directory()->serial(), directory()->agencies().size(), revoked.size(), dropped);
  if (!revoked.empty()) {
    // ZAP ran only at the handshake: close every connection so each client passes it again.
    sessions_.Clear();
    NRM_RETURN_IF_ERROR(server_->Rebind());
    spdlog::info("closed all connections so that revoked agencies lose their sessions");
  }
  return Status::Ok();
}

}  // namespace nrm::broker
