// The broker's expiry: messages whose time-to-live ran out before their recipient acknowledged
// them become expiry notices in their senders' queues (MessageStore::AddExpired), are audited,
// and free their place in the recipient's delivery window.
#include <spdlog/spdlog.h>

#include "broker/broker.h"

namespace nrm::broker {

Status Broker::ExpireDue() {
  NRM_ASSIGN_OR_RETURN(std::vector<ExpiredMessage> expired,
                       store_->AddExpired(batch_, clock_.NowMillis(), kMaxBatch));
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
    if (auto s = sessions_.find(e.recipient); s != sessions_.end()) {
      auto [first, last] = s->second.unacknowledged.equal_range(e.message_id);
      for (auto it = first; it != last; ++it) {
        if (it->second == e.seq) {
          s->second.unacknowledged.erase(it);
          to_pump_.push_back(e.recipient);
          break;
        }
      }
    }
  }
  stats_.expired += expired.size();
  return CommitBatch();
}

}  // namespace nrm::broker
