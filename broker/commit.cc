// The broker's group commit: the store writes and audit records of one gathered batch go out
// in one WriteBatch, synced when someone will be told of it, under a signed tree head when due;
// only then are the replies sent (with their receipts) and the queues that gained something
// pumped. Audit() and RecordOf() add the batch's audit records. A failed write refuses the
// batch and stops the broker.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "broker/broker.h"
#include "broker/witness_submit.h"

namespace nrm::broker {

using transport::Frame;
using transport::FrameText;

Status Broker::CommitBatch(bool sign) {
  const int64_t now = clock_.NowMillis();
  const bool unsigned_records = audit_->size() > signed_size_;
  if (batch_.Count() > 0 || (sign && unsigned_records)) {
    // A signed tree head covers every record so far. A synced batch gets one (its senders'
    // receipts need it); a batch of only acknowledgements and deliveries waits for the next
    // head, which comes within kHeadEveryMs or when the broker is idle or stops.
    std::optional<audit::SignedCheckpoint> head;
    if (unsigned_records && (sign || batch_must_sync_ || now - signed_at_ms_ >= kHeadEveryMs)) {
      NRM_ASSIGN_OR_RETURN(head, audit_->SignHead(now, &batch_));
    }
    const uint32_t records = batch_.Count();
    // Only acknowledgements and deliveries in this batch: nobody is told it is durable, and
    // losing it to a power cut means a redelivery the recipient drops. It becomes durable with
    // the next synced write, so it costs no fsync of its own. But a checkpoint is always synced:
    // agents (a STATUS, CONSISTENCY) and witnesses may see it, and a checkpoint lost in a power
    // cut would make the log that grows again look forked to them (at most one a second).
    const bool sync = batch_must_sync_ || head.has_value();
    const auto write_start = std::chrono::steady_clock::now();
    Status s = store_->Commit(batch_, sync);
    if (sync && s.ok()) {
      stats_.commit_seconds.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());
      stats_.commit_records.Observe(records);
    }
    batch_must_sync_ = false;
    if (s.ok()) {
      stats_.records += records;
      audit_->MarkWritten();
      if (head) {
        signed_size_ = head->size;
        signed_at_ms_ = now;
        if (witnesses_) witnesses_->Offer(head->size);
        last_head_ = ToBytes(head->note);  // the checkpoint note: the head of every receipt
      }
    } else {
      audit_->DiscardPending();
    }
    // A full descriptor table or disk is not damage: refuse this batch ("resend later") and go
    // on; the store takes writes again once the resource returns.
    const bool transient = s.code() == Code::kResourceExhausted;
    if (!s.ok()) {
      // Nothing of this batch is durable: no sender may be told otherwise.
      spdlog::error("store write failed, refusing this batch{}: {}",
                    transient ? " (resources short; the broker goes on)" : "", s.ToString());
      size_t accepted = 0;  // ACCEPTED replies come in the order of batch_kinds_
      for (Reply& r : replies_) {
        if (!r.frames.empty() && FrameText(r.frames[0]) == "ACCEPTED") {
          r.frames = {Frame("REFUSED"), r.frames[1], Frame(CodeName(s.code())),
                      Frame("the broker could not store the message; resend later")};
          stats_.accepted--;
          stats_.refused++;
          if (accepted < batch_kinds_.size()) {
            const std::string kind(batch_kinds_[accepted++]);
            --stats_.accepted_by_kind[kind];
            ++stats_.refused_by[{kind, std::string(CodeName(s.code()))}];
          }
        }
      }
    }
    if (sync) ++stats_.commits;
    batch_ids_.clear();
    batch_kinds_.clear();
    if (!s.ok() && transient) {
      for (Reply& r : replies_) {
        if (!r.frames.empty() && FrameText(r.frames[0]) == "REFUSED" && r.frames.size() > 3) {
          r.frames[3] = Frame("the broker is short of resources (" +
                              std::string(CodeName(s.code())) + "); resend later");
        }
      }
      SendReplies();
      to_pump_.clear();  // what they would deliver is still queued, for later
      return Status::Ok();
    }
    if (!s.ok()) {
      // Tell the senders, then stop: RocksDB keeps a failed write as a background error (a full
      // disk, an I/O error, a damaged file), and writing on would be undefined. The agents
      // resend once an operator has made room and restarted the broker.
      SendReplies();
      return s.WithContext("the broker stops because its store cannot be written");
    }
  }
  // Receipts (ACCEPTED, and STATUS answers to QUERY): the leaf and the latest signed head, which
  // covers every leaf of a synced batch.
  for (Reply& r : replies_) {
    if (!r.receipt_leaf || last_head_.empty()) continue;
    Bytes leaf(8);
    for (int i = 0; i < 8; ++i) leaf[i] = static_cast<uint8_t>(*r.receipt_leaf >> (56 - 8 * i));
    r.frames.push_back(std::move(leaf));
    r.frames.push_back(last_head_);
  }
  SendReplies();
  std::sort(to_pump_.begin(), to_pump_.end());
  to_pump_.erase(std::unique(to_pump_.begin(), to_pump_.end()), to_pump_.end());
  for (const std::string& agency : to_pump_) NRM_RETURN_IF_ERROR(Pump(agency));
  to_pump_.clear();
  return Status::Ok();
}

void Broker::SendReplies() {
  for (Reply& r : replies_) {
    if (Status s = server_->Send(r.routing_id, r.frames); !s.ok()) {
      spdlog::debug("reply not sent: {}", s.ToString());
    }
  }
  replies_.clear();
}

uint64_t Broker::Audit(audit::AuditRecord record) {
  record.time_ms = clock_.NowMillis();
  if (record.event != audit::AuditEvent::kDelivered &&
      record.event != audit::AuditEvent::kAcknowledged) {
    batch_must_sync_ = true;  // someone is (or will be) told this happened
  }
  // Text in a record may come from a peer (ids, reasons that quote them): keep it printable
  // ASCII and short, so that it always encodes and never forges a line in a log.
  auto printable = [](std::string& s, size_t max) {
    if (s.size() > max) s.resize(max);
    for (char& c : s) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
  };
  printable(record.sender, 64);
  printable(record.kind, 64);
  printable(record.rule, 200);
  // A relay receipt's checkpoint note takes about 350 base64 characters, at most a field.
  printable(record.reason, record.rule == "relay-receipt" ? audit::kMaxFieldBytes : 400);
  for (std::string& r : record.recipients) printable(r, 64);
  uint64_t index = 0;
  Status s = audit_->Append(record, &batch_, &index);
  if (!s.ok()) {
    // Still record that something happened, rather than stop the broker on a peer's input.
    spdlog::error("audit record does not encode ({}); recording the event alone", s.ToString());
    audit::AuditRecord minimal;
    minimal.event = record.event;
    minimal.time_ms = record.time_ms;
    minimal.reason = "record did not encode";
    s = audit_->Append(minimal, &batch_, &index);
    NRM_CHECK(s.ok());  // an event and a time always encode
  }
  return index;
}

audit::AuditRecord Broker::RecordOf(audit::AuditEvent event, const wire::EnvelopeView& env,
                                    const crypto::Hash* body_hash) const {
  audit::AuditRecord r;
  r.event = event;
  r.message_id.assign(env.message_id().begin(), env.message_id().end());
  const crypto::Hash h = body_hash != nullptr ? *body_hash : crypto::Sha256(env.body);
  r.envelope_hash.assign(h.begin(), h.end());
  r.sender = env.sender();
  for (std::string_view id : env.recipients()) r.recipients.emplace_back(id);
  r.kind = wire::KindName(env.kind());
  r.case_ref.assign(env.case_ref().begin(), env.case_ref().end());
  return r;
}

}  // namespace nrm::broker
