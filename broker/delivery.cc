// The broker's deliveries: Pump() sends a recipient's queue (envelopes and expiry notices) on
// its session while the delivery window has room, and HandleAck() takes the acknowledgement of
// what was delivered on that connection, which removes it from the queue.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/broker.h"
#include "schemas/wire/notice.h"

namespace nrm::broker {

using transport::Frame;
using transport::Frames;

void Broker::HandleAck(const transport::Incoming& in) {
  const Bytes& id = in.frames[1];
  if (id.size() != wire::kMessageIdBytes) {
    ++stats_.malformed;
    return Refuse(in.routing_id, {}, InvalidArgument("ACK needs a 16-byte message id"));
  }
  // Only what was delivered on this connection can be acknowledged on it; anything else is
  // delivered again on this one, and then acknowledged.
  const std::optional<uint64_t> seq = sessions_.Acknowledge(in.agency, id);
  if (!seq) {
    spdlog::debug("ignored acknowledgement from {}: not delivered on this connection", in.agency);
    return;
  }
  to_pump_.push_back(in.agency);
  if (Status s = store_->AddAcknowledged(batch_, in.agency, id, *seq); !s.ok()) {
    spdlog::debug("ignored acknowledgement from {}: {}", in.agency, s.ToString());
    return;
  }
  ++stats_.acknowledged;
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kAcknowledged;
  r.message_id = id;
  r.recipients = {in.agency};
  Audit(std::move(r));
}

Status Broker::Pump(const std::string& agency) {
  Session* found = sessions_.Find(agency);
  if (found == nullptr) return Status::Ok();
  Session& s = *found;
  const size_t window = static_cast<size_t>(config_.delivery_window);
  // Reads the queue a chunk at a time, so that a socket that fills up early (ZeroMQ's
  // high-water mark, under a large window) wastes at most one chunk of reads.
  constexpr size_t kChunk = 64;
  while (s.unacknowledged.size() < window) {
    NRM_ASSIGN_OR_RETURN(
        std::vector<QueuedMessage> pending,
        store_->Pending(agency, s.last_sent, std::min(kChunk, window - s.unacknowledged.size())));
    for (QueuedMessage& m : pending) {
      const auto delivered = s.unacknowledged.emplace(m.message_id, m.seq);
      // An expiry notice is signed (wire/notice.h): the sender believes none that is not.
      Frames frames = m.type == EntryType::kEnvelope
                          ? Frames{Frame("DELIVER"), std::move(m.data)}
                          : Frames{Frame("EXPIRED"), m.message_id, m.data,
                                   wire::SignExpiryNotice(keys_.sign_secret, m.message_id, agency,
                                                          AsChars(m.data))};
      Status sent = server_->Send(s.routing_id, frames);
      if (sent.code() == Code::kUnavailable) {  // gone: its queue waits on disk
        sessions_.Close(agency);
        return Status::Ok();
      }
      if (!sent.ok()) {  // its socket queue is full: go on when it acknowledges
        s.unacknowledged.erase(delivered);
        return Status::Ok();
      }
      s.last_sent = m.seq;
      ++stats_.delivered;
      audit::AuditRecord r;
      r.event = audit::AuditEvent::kDelivered;
      r.message_id = delivered->first;
      r.recipients = {agency};
      r.reason = m.type == EntryType::kEnvelope ? "" : "expiry notice";
      Audit(std::move(r));
    }
    if (pending.size() < kChunk) break;  // the queue holds no more
  }
  return Status::Ok();
}

}  // namespace nrm::broker
