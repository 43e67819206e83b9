// The broker's requests: each message that arrives comes from the agency its connection
// authenticated; a message on a new connection starts a new session; HELLO is welcomed, SEND
// goes to admission (admission.cc), ACK to delivery (delivery.cc), QUERY, DIRECTORY,
// CONSISTENCY and PROVE to queries.cc, anything else is refused.
// Refuse() answers REFUSED and audits it (on its own, or counted: limits.cc).
#include "broker/broker.h"

namespace nrm::broker {

using transport::Frame;
using transport::FrameText;

void Broker::Handle(transport::Incoming& in, const Prechecked* pre) {
  if (in.agency.starts_with('@')) return HandleFromPartner(in);  // a partner country's broker
  auto dir = directory();
  const identity::Agency* agency = dir->Find(in.agency);
  if (agency == nullptr || agency->revoked) {
    ++stats_.refused;
    Refuse(in, {}, PermissionDenied("agency " + in.agency + " is not active"));
    return;
  }
  // Any message from a new connection starts a new session: what was delivered on the old
  // one and not acknowledged is delivered again (the recipient drops duplicates by id).
  // A new connection may have the descriptor of one that is gone: its Gone event is taken
  // first (the server records it before it admits a connection on the same descriptor), or it
  // would end the new connection's session, which would then be delivered its window again.
  if (sessions_.IsNew(in.agency, in.routing_id)) TakeConnectionEvents();
  if (sessions_.Connect(in.agency, in.routing_id, in.connection)) to_pump_.push_back(in.agency);
  if (in.frames.empty()) {
    ++stats_.malformed;
    return;
  }
  const std::string_view verb = FrameText(in.frames[0]);
  if (verb == "HELLO" && in.frames.size() == 1) {
    // The directory's serial, so that an agent with an older one asks for it (DIRECTORY).
    replies_.push_back(
        {in.routing_id, {Frame("WELCOME"), Frame(keys_.id), SerialFrame()}, std::nullopt});
  } else if (verb == "SEND" && in.frames.size() == 2) {
    if (Throttled(in.agency)) {
      ++stats_.refused;
      return Refuse(in, {}, ResourceExhausted(kThrottledReason));
    }
    HandleSend(in, *agency, pre != nullptr && pre->valid ? pre : nullptr);
  } else if (verb == "ACK" && in.frames.size() == 2) {
    HandleAck(in);
  } else if (verb == "QUERY" && in.frames.size() == 2) {
    HandleQuery(in);
  } else if (verb == "DIRECTORY" && in.frames.size() == 1) {
    HandleDirectoryRequest(in);
  } else if (verb == "CONSISTENCY" && in.frames.size() == 3) {
    HandleConsistency(in);
  } else if (verb == "PROVE" && in.frames.size() == 3) {
    HandleProve(in);
  } else if (verb == "PARTNER-DIRECTORY" && in.frames.size() == 3) {
    ServeDirectory(in, std::string(FrameText(in.frames[1])), "PARTNER-DIRECTORY");
  } else {
    ++stats_.malformed;
    Refuse(in, {},
           InvalidArgument("unknown request (expected HELLO, SEND, ACK, QUERY, DIRECTORY, "
                           "CONSISTENCY, PROVE or PARTNER-DIRECTORY)"));
  }
}

void Broker::Refuse(const transport::Incoming& in, ByteView message_id, const Status& why,
                    const wire::EnvelopeView* env) {
  // A refusal of an envelope is audited on its own (it names the message) while the agency's
  // refusals stay under the rate; anything else, and everything over the rate, is counted into
  // one record per agency and code a second (limits.cc).
  if (!in.frames.empty() && FrameText(in.frames[0]) == "SEND") {
    CountSend(env != nullptr ? wire::KindName(env->kind()) : "unknown", CodeName(why.code()));
  }
  if (ChargeRefusal(in.agency) && env != nullptr) {
    audit::AuditRecord r = RecordOf(audit::AuditEvent::kRefused, *env);
    r.decision = "deny";
    r.rule = std::string(CodeName(why.code()));
    r.reason = why.message();  // our own words about metadata: never payload content
    Audit(std::move(r));
  } else {
    CountEvent(audit::AuditEvent::kRefused, in.agency, std::string(CodeName(why.code())),
               why.message());
  }
  replies_.push_back({in.routing_id,
                      {Frame("REFUSED"), Bytes(message_id.begin(), message_id.end()),
                       Frame(CodeName(why.code())), Frame(why.message())},
                      std::nullopt});
}

}  // namespace nrm::broker
