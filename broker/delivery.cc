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
    return Refuse(in, {}, InvalidArgument("ACK needs a 16-byte message id"));
  }
  // Only what is in flight to the agency (on its current connection or a superseded one) can
  // be acknowledged; anything else is delivered again on the current one, and then acknowledged.
  const std::optional<uint64_t> seq = sessions_.Acknowledge(in.agency, id, clock_.NowMillis());
  if (!seq) {
    spdlog::debug("ignored acknowledgement from {}: not in flight to it", in.agency);
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

Frames Broker::DeliveryFrames(const std::string& agency, QueuedMessage m) const {
  switch (m.type) {
    case EntryType::kEnvelope:
      return {Frame("DELIVER"), std::move(m.data)};
    case EntryType::kExpiryNotice:
      // Signed (wire/notice.h): the sender believes no notice that is not.
      return {Frame("EXPIRED"), m.message_id, m.data,
              wire::SignExpiryNotice(keys_.sign_secret, m.message_id, agency, AsChars(m.data))};
    case EntryType::kRelayReceipt:
      break;
  }
  // The partner's receipt as it came: the sender checks it with the partner's log key.
  const ByteView data(m.data);
  if (data.size() < 10) return {Frame("RELAY-RECEIPT"), m.message_id, Bytes{}, Bytes{}, Bytes{}};
  return {Frame("RELAY-RECEIPT"), m.message_id, Bytes(data.begin(), data.begin() + 2),
          Bytes(data.begin() + 2, data.begin() + 10), Bytes(data.begin() + 10, data.end())};
}

Status Broker::Pump(const std::string& agency) {
  Session* found = sessions_.Find(agency);
  if (found == nullptr) return Status::Ok();
  Session& s = *found;
  const size_t window = static_cast<size_t>(config_.delivery_window);
  const uint64_t window_bytes = static_cast<uint64_t>(config_.delivery_window_bytes);
  // Reads the queue a chunk at a time (of at most 64 messages, and of what the window in bytes
  // has room for), so that a socket that fills up early wastes at most one chunk of reads.
  constexpr size_t kChunk = 64;
  while (s.unacknowledged.size() < window) {
    const uint64_t in_flight = sessions_.BytesInFlight(agency);
    // At least one message is always let through, whatever its size.
    if (in_flight > 0 && in_flight >= window_bytes) {
      spdlog::debug("{}'s window is full: {} bytes in flight", agency, in_flight);
      break;
    }
    Result<std::vector<QueuedMessage>> read =
        store_->Pending(agency, s.last_sent, std::min(kChunk, window - s.unacknowledged.size()),
                        static_cast<size_t>(window_bytes - in_flight));
    if (!read.ok()) {
      if (read.status().code() != Code::kResourceExhausted) return read.status();
      // A full descriptor table: the queue waits on disk, delivered at the next pump.
      spdlog::warn("delivery to {} deferred: {}", agency, read.status().ToString());
      return Status::Ok();
    }
    std::vector<QueuedMessage>& pending = *read;
    for (QueuedMessage& m : pending) {
      const uint64_t now_in_flight = sessions_.BytesInFlight(agency);
      if (now_in_flight > 0 && now_in_flight + m.data.size() > window_bytes) return Status::Ok();
      const Bytes id = m.message_id;
      const Delivery d{m.seq, m.data.size()};
      const EntryType type = m.type;
      Frames frames = DeliveryFrames(agency, std::move(m));
      Status sent = server_->Send(s.routing_id, frames);
      if (sent.code() == Code::kUnavailable) {  // gone: its queue waits on disk
        sessions_.Close(agency);
        return Status::Ok();
      }
      if (!sent.ok()) {  // its socket queue is full: go on when it reads
        spdlog::debug("delivery to {} held back: {}", agency, sent.ToString());
        return Status::Ok();
      }
      sessions_.Delivered(agency, id, d, clock_.NowMillis());
      s.last_sent = m.seq;
      ++stats_.delivered;
      uint64_t& upto = delivered_upto_[agency];
      if (m.seq <= upto) ++stats_.redelivered;
      upto = std::max(upto, m.seq);
      audit::AuditRecord r;
      r.event = audit::AuditEvent::kDelivered;
      r.message_id = id;
      r.recipients = {agency};
      r.reason = type == EntryType::kEnvelope       ? ""
                 : type == EntryType::kExpiryNotice ? "expiry notice"
                                                    : "relay receipt";
      Audit(std::move(r));
    }
    if (pending.size() < kChunk) break;  // the queue holds no more, or the window is full
  }
  return Status::Ok();
}

// Closes connections that hold deliveries and have acknowledged nothing for delivery_timeout:
// what was in flight on them is delivered again on the agency's next connection.
void Broker::CloseStalled() {
  if (config_.delivery_timeout_ms <= 0) return;
  for (const Stalled& st :
       sessions_.StalledSince(clock_.NowMillis(), config_.delivery_timeout_ms)) {
    spdlog::warn(
        "closing a connection of {} that acknowledged none of {} deliveries ({} bytes) for {} s",
        st.agency, st.messages, st.bytes, config_.delivery_timeout_ms / 1000);
    server_->Close(st.connection, transport::CloseReason::kStalled);
    sessions_.Gone(st.agency, st.connection);
    to_pump_.push_back(st.agency);  // a superseded one freed its share of the window
    memory_to_trim_ = true;
  }
}

}  // namespace nrm::broker
