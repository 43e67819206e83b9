// The receiving half of Agent (agent/agent.h): frames from the broker read and checked. A
// delivery is opened only after its sender's signature verified (PROTOCOL.md section 8); what a
// verified sender sent and this agency cannot accept comes back as Received::Type::kRefused, so
// that the sender hears why; an expiry notice counts only with the broker's signature; answers
// to SEND and QUERY count only with a receipt that verifies against the directory's broker key.
#include <algorithm>
#include <chrono>

#include "agent/agent.h"
#include "agent/refusal.h"
#include "audit/checkpoint.h"
#include "schemas/wire/notice.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using transport::Frame;
using transport::FrameText;

std::string Seconds(int64_t ms) { return std::to_string(ms / 1000) + " s"; }

}  // namespace

Result<std::optional<transport::Frames>> Agent::ReceiveFrames(int timeout_ms) {
  if (!early_.empty()) {
    transport::Frames f = std::move(early_.front());
    early_.erase(early_.begin());
    return std::optional<transport::Frames>(std::move(f));
  }
  if (!client_) return Unavailable("not connected to the broker");
  return client_->Receive(timeout_ms);
}

Result<std::optional<Received>> Agent::Receive(int timeout_ms) {
  return ReceiveImpl(timeout_ms, /*greet=*/true);
}

Result<std::optional<Received>> Agent::ReceiveQuietly(int timeout_ms) {
  return ReceiveImpl(timeout_ms, /*greet=*/false);
}

Result<std::optional<Received>> Agent::ReceiveImpl(int timeout_ms, bool greet) {
  if (!client_) return Unavailable("not connected to the broker");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  transport::Frames frames;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && early_.empty()) return std::optional<Received>();
    NRM_ASSIGN_OR_RETURN(
        auto got, ReceiveFrames(static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000))));
    if (!got) {
      if (greet) NRM_RETURN_IF_ERROR(Greet());  // idle: keep the session alive
      continue;
    }
    const std::string_view verb = got->empty() ? "" : FrameText((*got)[0]);
    if (IsDelivery(verb)) {
      frames = std::move(*got);
      break;
    }
  }
  Result<Received> r = OpenDelivery(frames);
  if (!r.ok() || r->type == Received::Type::kRefused) {
    NRM_RETURN_IF_ERROR(AcknowledgeDropped(frames));  // never delivered again
    return r.ok() ? r->refusal : r.status();
  }
  return std::optional<Received>(std::move(*r));
}

Status Agent::AcknowledgeDropped(const transport::Frames& frames) {
  if (frames.size() < 2) return Status::Ok();
  if (FrameText(frames[0]) != "DELIVER") {
    // A notice names its message id in its second frame.
    return frames[1].size() == wire::kMessageIdBytes ? Acknowledge(frames[1]) : Status::Ok();
  }
  if (Result<wire::EnvelopeView> env = wire::DecodeEnvelope(frames[1]); env.ok()) {
    return Acknowledge(env->message_id());
  }
  return Status::Ok();
}

Result<Received> Agent::OpenDelivery(const transport::Frames& frames) {
  const std::string_view verb = frames.empty() ? "" : FrameText(frames[0]);
  if (verb == "EXPIRED") {
    if (frames.size() != 4) {
      return Unauthenticated("an expiry notice without the broker's signature was ignored");
    }
    if (Status s = wire::VerifyExpiryNotice(directory_.broker().sign_key, frames[1], keys_.id,
                                            FrameText(frames[2]), frames[3]);
        !s.ok()) {
      return s.WithContext("an expiry notice whose signature does not verify was ignored");
    }
    Received notice;
    notice.type = Received::Type::kExpiryNotice;
    notice.message_id = frames[1];
    notice.sender = keys_.id;
    notice.recipients = {std::string(FrameText(frames[2]))};
    return notice;
  }
  if (verb == "RELAY-RECEIPT") return OpenRelayReceipt(frames);
  if (verb != "DELIVER" || frames.size() != 2) return InvalidArgument("not a delivery");
  const Bytes& frame = frames[1];
  NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(frame));
  auto dropped = [&](const Status& why) {
    return why.WithContext("refused delivery " + ToHex(env.message_id()));
  };
  const identity::Agency* sender = directory_.Find(env.sender());
  if (sender == nullptr || sender->revoked) {
    return dropped(Unauthenticated("sender " + std::string(env.sender()) + " is not active"));
  }
  if (Status s = wire::VerifySignature(env, sender->sign_key); !s.ok()) return dropped(s);
  const std::vector<std::string_view> recipients = env.recipients();
  const auto self = std::find(recipients.begin(), recipients.end(), keys_.id);
  if (self == recipients.end()) {
    return dropped(PermissionDenied("this agency is not one of its recipients"));
  }
  // From here on the sender is known and signed it: a refusal is told to the sender.
  Received r;
  r.message_id.assign(env.message_id().begin(), env.message_id().end());
  r.sender = env.sender();
  for (std::string_view id : recipients) r.recipients.emplace_back(id);
  r.kind = env.kind();
  r.case_ref.assign(env.case_ref().begin(), env.case_ref().end());
  r.handling = env.handling();
  r.created_at_ms = env.created_at_ms();
  r.in_reply_to.assign(env.in_reply_to().begin(), env.in_reply_to().end());
  r.consent_override = env.header->consent_override();
  const ByteView previous = env.previous(static_cast<size_t>(self - recipients.begin()));
  r.previous.assign(previous.begin(), previous.end());
  r.frame = frame;
  // Why, as a Status and as words (this agent's own, or a value from deeper down as it is).
  auto refuse = [&](const Status& why, const Phrase& words = {}) -> Result<Received> {
    r.type = Received::Type::kRefused;
    r.refusal = why.WithContext("refused delivery " + ToHex(env.message_id()));
    r.refusal_phrase = RefusedDelivery(ToHex(env.message_id()), why, words);
    return std::move(r);
  };
  const int64_t now = clock_.NowMillis();
  if (r.created_at_ms > now + config_.max_step_ahead_ms) {
    const Phrase p = Say("its created_at is %1 ahead of this agency's clock",
                         {AsIs(Seconds(r.created_at_ms - now))});
    return refuse(InvalidArgument(English(p)), p);
  }
  if (r.created_at_ms < now - config_.max_step_age_ms) {
    const Phrase p = Say("its created_at is %1 old, more than any broker holds a message",
                         {AsIs(Seconds(now - r.created_at_ms))});
    return refuse(InvalidArgument(English(p)), p);
  }
  Result<crypto::SecretBytes> payload = wire::OpenEnvelope(env, sender->sign_key, reader_);
  if (!payload) {
    return refuse(payload.status().WithContext("cannot decrypt it"),
                  Say("cannot decrypt it: %1", {AsIs(payload.status().message())}));
  }
  Result<const payload::Payload*> verified = wire::VerifyPayload(payload->view());
  if (!verified) return refuse(verified.status());
  for (const std::string& section : wire::PresentSections(**verified)) {
    if (!policy_.MayReceive(role_, section)) {
      const Phrase p = MayNotHold(section, role_);
      return refuse(PermissionDenied(English(p)), p);
    }
  }
  r.payload = std::move(*payload);
  return r;
}

Status Agent::CheckReceipt(const transport::Frames& frames, size_t first,
                           std::optional<uint64_t>& leaf_out, Bytes& head_out) const {
  if (frames.size() != first + 2 || frames[first].size() != 8) {
    return Unauthenticated("the broker gave no receipt");
  }
  uint64_t leaf = 0;
  for (uint8_t b : frames[first]) leaf = leaf << 8 | b;
  // The receipt's checkpoint must be signed with the log key the directory publishes.
  const identity::BrokerEntry& broker = directory_.broker();
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::PublishedLogKey(broker.log_vkey, broker.id, broker.sign_key));
  Result<audit::VerifiedCheckpoint> cp =
      audit::VerifyCheckpointNote(AsChars(frames[first + 1]), log_key);
  if (!cp) return cp.status().WithContext("the broker's receipt does not verify");
  if (leaf >= cp->checkpoint.size) {
    return Unauthenticated("the broker's receipt names a leaf past its tree");
  }
  leaf_out = leaf;
  head_out = frames[first + 1];
  return Status::Ok();
}

Result<SendOutcome> Agent::ReadAnswer(const transport::Frames& frames) const {
  const std::string_view verb = frames.empty() ? "" : FrameText(frames[0]);
  if ((verb != "ACCEPTED" && verb != "REFUSED") || frames.size() < 2) {
    return InvalidArgument("not an answer to a SEND");
  }
  SendOutcome out{frames[1], verb == "ACCEPTED", "ok", "", std::nullopt, {}};
  if (out.accepted) {
    NRM_RETURN_IF_ERROR(CheckReceipt(frames, 2, out.receipt_leaf, out.receipt_head));
  } else if (frames.size() >= 4) {
    out.code = FrameText(frames[2]);
    out.reason = FrameText(frames[3]);
  } else {
    out.code = "unknown";
  }
  return out;
}

Result<QueryAnswer> Agent::ReadStatus(const transport::Frames& frames) const {
  if (frames.size() < 3 || FrameText(frames[0]) != "STATUS") {
    return InvalidArgument("not an answer to a QUERY");
  }
  QueryAnswer a;
  a.message_id = frames[1];
  a.held = FrameText(frames[2]) == "accepted";
  if (a.held && frames.size() > 3) {
    NRM_RETURN_IF_ERROR(CheckReceipt(frames, 3, a.receipt_leaf, a.receipt_head));
  }
  return a;
}

Status Agent::Acknowledge(ByteView message_id) {
  if (!client_) return Unavailable("not connected to the broker");
  return client_->Send({Frame("ACK"), Bytes(message_id.begin(), message_id.end())});
}

}  // namespace nrm::agent
