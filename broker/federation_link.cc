// The broker's links to partner brokers (docs/PROTOCOL.md section 12.3): what was accepted for a
// partner country waits in that partner's queue ("@KH") and is relayed in queue order over a
// CURVE connection to the partner's broker, at most relay_window at a time. Each relay stays
// queued until the partner answers: RELAYED with a receipt that verifies under the partner
// broker's key from its anchor (then it is audited here with the receipt, and removed), or
// RELAY-REFUSED (then its sender is told with an expiry notice, unless the refusal says "resend
// later"). No answer within relay_timeout, or the connection lost: everything in flight is sent
// again, in order, and the partner answers a repeat with the receipt it gave the first time.
#include <spdlog/spdlog.h>

#include "audit/big_endian.h"
#include "audit/checkpoint.h"
#include "broker/broker.h"

namespace nrm::broker {
namespace {

using transport::Frame;
using transport::FrameText;

// Entries read from a partner's queue at a time.
constexpr size_t kRelayChunk = 64;
// After a send that found no connection: try again after this long.
constexpr int64_t kRetryMs = 200;

// Whether the link's connection was lost since it last looked; then everything unanswered is
// sent again from the oldest. What was in flight on a lost connection may be lost with it, and
// ZeroMQ reconnects by itself: were newer relays sent first on the new connection, the partner
// would take them before the older ones (out of order), and the older ones would wait for
// relay_timeout, which each newer receipt pushes back.
bool StartOverIfConnectionLost(Link& link) {
  const uint64_t lost = link.client->ConnectionsLost();
  if (lost == link.connections_lost) return false;
  link.connections_lost = lost;
  if (!link.in_flight.empty()) {
    spdlog::info("link to {}: connection lost, sending {} relays again", link.country,
                 link.in_flight.size());
  }
  link.in_flight.clear();
  link.last_sent = 0;
  link.connected = false;
  return true;
}

}  // namespace

bool Broker::LinksBusy() const {
  for (const auto& [country, link] : links_) {
    if (!link.in_flight.empty()) return true;
  }
  return false;
}

Status Broker::PumpLinks() {
  const auto fed = federation();
  if (fed == nullptr) return Status::Ok();
  const int64_t now = clock_.NowMillis();
  for (auto& [country, link] : links_) {
    const Partner* partner = fed->FindPartner(country);
    // No agreement in force: what is queued waits (an agreement may be renewed) or expires.
    if (partner == nullptr || !fed->book().AnyInForce(config_.country, country, now)) continue;
    const bool ask_directory = now - link.directory_asked_ms >= kDirectoryPollMs;
    if (!ask_directory && link.in_flight.empty() && store_->PendingCount(link.name) == 0) continue;
    if (!link.in_flight.empty() && now - link.last_progress_ms > config_.relay_timeout_ms) {
      // No answer in time: the partner or the connection was lost. Start over on a new
      // connection; the partner answers repeats with the receipts it gave before.
      spdlog::warn("link to {}: no answer for {} ms, sending {} relays again", country,
                   now - link.last_progress_ms, link.in_flight.size());
      link.last_error =
          "no answer within " + std::to_string(config_.relay_timeout_ms / 1000) + " s";
      link.in_flight.clear();
      link.last_sent = 0;
      link.client.reset();
      link.connected = false;
    }
    if (now < link.retry_at_ms) continue;
    if (link.client == nullptr) {
      transport::ClientOptions o;
      o.endpoint = partner->endpoint;
      o.server_curve_public = partner->anchor.broker.curve_key;
      o.curve_public = keys_.curve_public;
      o.curve_secret = keys_.curve_secret.Clone();
      o.max_message_bytes = static_cast<size_t>(config_.max_message_bytes) + 1024;
      o.send_timeout_ms = 0;
      o.immediate = true;
      o.count_lost_connections = true;
      Result<std::unique_ptr<transport::Client>> c = transport::Client::Connect(std::move(o), -1);
      if (!c.ok()) {
        link.last_error = c.status().message();
        link.retry_at_ms = now + kRetryMs;
        continue;
      }
      link.client = std::move(*c);
      link.connections_lost = 0;
      link.endpoint = partner->endpoint;
      link.server_key = partner->anchor.broker.curve_key;
    }
    if (ask_directory) {
      link.directory_asked_ms = now;
      Bytes serial;
      audit::PutBe64(&serial, static_cast<uint64_t>(partner->directory->serial()));
      (void)link.client->Send({Frame("PEER-DIRECTORY"), std::move(serial)});
    }
    (void)StartOverIfConnectionLost(link);
    const size_t window = static_cast<size_t>(config_.relay_window);
    while (link.in_flight.size() < window) {
      NRM_ASSIGN_OR_RETURN(std::vector<QueuedMessage> pending,
                           store_->Pending(link.name, link.last_sent,
                                           std::min(kRelayChunk, window - link.in_flight.size())));
      for (QueuedMessage& m : pending) {
        // Looked at right before each send: a loss is reported before ZeroMQ can reconnect.
        if (StartOverIfConnectionLost(link)) break;
        transport::Frames frames =
            m.type == EntryType::kEnvelope
                ? transport::Frames{Frame("RELAY"), std::move(m.data)}
                : transport::Frames{Frame("RELAY-EXPIRED"), m.message_id, std::move(m.data)};
        if (!link.client->Send(frames).ok()) {
          // Not connected (yet), or its queue is full: what is not sent stays on disk.
          link.connected = false;
          link.retry_at_ms = now + kRetryMs;
          break;
        }
        if (link.in_flight.empty()) link.last_progress_ms = now;
        if (m.type == EntryType::kEnvelope) ++link.relays_sent;
        link.in_flight.emplace(std::move(m.message_id), m.seq);
        link.last_sent = m.seq;
        link.connected = true;
      }
      if (now < link.retry_at_ms || pending.size() < kRelayChunk) break;
    }
  }
  return Status::Ok();
}

Status Broker::PollLinks() {
  bool changed = false;
  for (auto& [country, link] : links_) {
    if (link.client == nullptr) continue;
    while (true) {
      Result<std::optional<transport::Frames>> got = link.client->Receive(0);
      if (!got.ok() || !got->has_value()) break;
      const transport::Frames& frames = **got;
      const std::string_view verb = frames.empty() ? "" : FrameText(frames[0]);
      link.connected = true;
      changed = true;
      if (verb == "RELAYED" && frames.size() == 4) {
        OnRelayed(link, frames);
      } else if (verb == "RELAY-REFUSED" && frames.size() == 4) {
        OnRelayRefused(link, frames);
      } else if (verb == "PEER-DIRECTORY" && frames.size() == 3) {
        OnPartnerDirectory(link, frames);
      } else if (verb == "NOTED" && frames.size() == 2) {
        auto it = link.in_flight.find(frames[1]);
        if (it == link.in_flight.end()) continue;
        (void)store_->AddAcknowledged(batch_, link.name, frames[1], it->second);
        link.in_flight.erase(it);
        link.last_progress_ms = clock_.NowMillis();
      } else {
        spdlog::warn("link to {}: ignored an answer it cannot read ({} frames)", country,
                     frames.size());
      }
    }
  }
  return changed ? CommitBatch() : Status::Ok();
}

void Broker::OnRelayed(Link& link, const transport::Frames& frames) {
  const Bytes& id = frames[1];
  auto it = link.in_flight.find(id);
  if (it == link.in_flight.end()) return;  // a late answer to a relay sent again since
  const auto fed = federation();
  const Partner* partner = fed ? fed->FindPartner(link.country) : nullptr;
  // The receipt: the leaf of the partner's audit record and the partner log's checkpoint note,
  // which holds it and is signed under the log key the partner's directory publishes for the
  // broker of its anchor. Anything less is not a delivery.
  Status valid = partner == nullptr ? Unauthenticated("no partner") : Status::Ok();
  uint64_t leaf = 0;
  const audit::VerifiedCheckpoint* head = nullptr;
  if (valid.ok() && frames[2].size() != 8) valid = Unauthenticated("malformed relay receipt");
  if (valid.ok()) {
    leaf = audit::GetBe64(frames[2].data());
    const std::string_view note = FrameText(frames[3]);
    if (!link.verified_head || link.verified_note != note) {
      Result<audit::VerifiedCheckpoint> v = audit::VerifyCheckpointNote(note, partner->log_key);
      if (v.ok()) {
        link.verified_note = note;
        link.verified_head = std::move(*v);
      } else {
        valid = Unauthenticated(v.status().message());
      }
    }
  }
  if (valid.ok()) {
    if (leaf >= link.verified_head->checkpoint.size) {
      valid = Unauthenticated("relay receipt names leaf " + std::to_string(leaf) +
                              " outside its tree of " +
                              std::to_string(link.verified_head->checkpoint.size));
    } else {
      head = &*link.verified_head;
    }
  }
  std::string reason;  // what the relay-receipt record says: see below
  audit::note::Note signed_by_log;
  if (valid.ok()) {
    // Audited with the checkpoint as the partner's log signed it: its text and the log's own
    // Ed25519 signature line (the one any C2SP verifier checks with the log's vkey), in base64.
    // Other lines (the log's timestamp, witnesses' cosignatures) are left out, so that the
    // record fits an audit field whatever else the partner adds.
    signed_by_log.text = head->note.text;
    for (const audit::note::Signature& sig : head->note.signatures) {
      if (sig.name == partner->log_key.name && sig.key_id == partner->log_key.key_id) {
        signed_by_log.signatures.push_back(sig);
        break;
      }
    }
    reason = partner->anchor.broker.id + " leaf " + std::to_string(leaf) + " checkpoint " +
             ToBase64(ToBytes(audit::note::FormatNote(signed_by_log)));
    // Only extension lines can make it longer (a checkpoint of ours has none): refused rather
    // than audited cut short, which no one could verify.
    if (reason.size() > audit::kMaxFieldBytes) {
      valid = InvalidArgument("relay receipt's checkpoint is too long to audit (" +
                              std::to_string(head->note.text.size()) + " bytes of text)");
    }
  }
  const int64_t now = clock_.NowMillis();
  if (!valid.ok()) {
    // Not accepted as delivery: the message stays queued and is relayed again after the
    // timeout. Told to the operator at most every ten seconds, audited each time.
    link.last_error = "relay receipt refused: " + valid.message();
    if (now - link.last_error_logged_ms >= 10000) {
      link.last_error_logged_ms = now;
      spdlog::error("link to {}: {}", link.country, link.last_error);
    }
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kRefused;
    r.message_id = id;
    r.recipients = {link.name};
    r.decision = "deny";
    r.rule = std::string(CodeName(valid.code()));
    r.reason = "relay receipt from " + link.name + " does not verify: " + valid.message();
    Audit(std::move(r));
    return;
  }
  (void)store_->AddAcknowledged(batch_, link.name, id, it->second);
  link.in_flight.erase(it);
  link.last_progress_ms = now;
  link.last_error.clear();
  // Passed on to the agency that sent it, which checks it with the partner's log key itself.
  Result<std::optional<AcceptedMessage>> accepted = store_->Accepted(id);
  if (accepted.ok() && accepted->has_value() && !(*accepted)->sender.starts_with('@')) {
    Bytes data = ToBytes(link.country);
    audit::PutBe64(&data, leaf);
    const std::string note = audit::note::FormatNote(signed_by_log);
    data.insert(data.end(), note.begin(), note.end());
    store_->AddRelayReceipt(batch_, (*accepted)->sender, id, data);
    to_pump_.push_back((*accepted)->sender);
  }
  ++link.relayed;
  link.last_receipt_ms = now;
  link.last_receipt_leaf = leaf;
  link.last_receipt_size = head->checkpoint.size;
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kDelivered;
  r.message_id = id;
  r.recipients = {link.name};
  r.rule = "relay-receipt";
  r.reason = std::move(reason);
  Audit(std::move(r));
}

void Broker::OnRelayRefused(Link& link, const transport::Frames& frames) {
  const Bytes& id = frames[1];
  auto it = link.in_flight.find(id);
  if (it == link.in_flight.end()) return;
  const std::string code(FrameText(frames[2]));
  const std::string reason(FrameText(frames[3]));
  if (code == "unavailable" || code == "resource_exhausted") {
    // The partner cannot store it now: everything in flight goes again a little later.
    link.last_error = link.name + " asks to resend later: " + reason;
    link.in_flight.clear();
    link.last_sent = 0;
    link.retry_at_ms = clock_.NowMillis() + 1000;
    return;
  }
  // Refused for good (the partner's directory, policy or agreement says no): the sender is
  // told the message will not reach that country, and the refusal is audited with its reason.
  (void)store_->AddAcknowledged(batch_, link.name, id, it->second);
  link.in_flight.erase(it);
  link.last_progress_ms = clock_.NowMillis();
  Result<std::optional<AcceptedMessage>> accepted = store_->Accepted(id);
  const std::string sender =
      accepted.ok() && accepted->has_value() ? (*accepted)->sender : std::string();
  const bool known = !sender.empty() && !sender.starts_with('@');  // '@': a partner's notice
  if (known) {
    store_->AddExpiryNotice(batch_, sender, id, link.name);
    to_pump_.push_back(sender);
  }
  spdlog::warn("link to {}: relay {} refused ({}): {}", link.country, ToHex(id), code, reason);
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kRefused;
  r.message_id = id;
  r.sender = known ? sender : "";
  r.recipients = {link.name};
  r.decision = "deny";
  r.rule = code;
  r.reason = "refused by " + link.name + ": " + reason;
  Audit(std::move(r));
}

}  // namespace nrm::broker
