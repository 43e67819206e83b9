// The broker's expiry: messages whose time-to-live ran out before their recipient acknowledged
// them become expiry notices in their senders' queues (MessageStore::AddExpired), are audited,
// and free their place in the recipient's delivery window.
#include <spdlog/spdlog.h>

#include "broker/broker.h"

namespace nrm::broker {

Status Broker::ExpireDue() {
  Result<std::vector<ExpiredMessage>> due =
      store_->AddExpired(batch_, clock_.NowMillis(), kMaxBatch);
  if (!due.ok()) {
    if (due.status().code() != Code::kResourceExhausted) return due.status();
    spdlog::warn("expiry scan deferred: {}", due.status().ToString());  // the next one retries
    return Status::Ok();
  }
  std::vector<ExpiredMessage>& expired = *due;
  for (const ExpiredMessage& e : expired) {
    spdlog::info("message {} expired unacknowledged by {}; {} is told", ToHex(e.message_id),
                 e.recipient, e.sender);
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kExpired;
    r.message_id = e.message_id;
    r.sender = e.sender;
    r.recipients = {e.recipient};
    r.reason = "time-to-live ran out before the recipient acknowledged";
    Audit(std::move(r));
    to_pump_.push_back(e.sender);
    // Delivered and never acknowledged: it no longer holds a place in the recipient's window.
    if (sessions_.Expire(e.recipient, e.message_id, e.seq)) to_pump_.push_back(e.recipient);
  }
  stats_.expired += expired.size();
  return CommitBatch();
}

}  // namespace nrm::broker
