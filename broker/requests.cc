// The broker's requests: each message that arrives comes from the agency its connection
// authenticated; a message on a new connection starts a new session; HELLO is welcomed, SEND
// goes to admission (admission.cc), ACK to delivery (delivery.cc), anything else is refused.
// Refuse() answers REFUSED and audits it.
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
    Refuse(in.routing_id, {}, PermissionDenied("agency " + in.agency + " is not active"), nullptr,
           in.agency);
    return;
  }
  // Any message from a new connection starts a new session: what was delivered on the old
  // one and not acknowledged is delivered again (the recipient drops duplicates by id).
  if (sessions_.Connect(in.agency, in.routing_id)) to_pump_.push_back(in.agency);
  if (in.frames.empty()) {
    ++stats_.malformed;
    return;
  }
  const std::string_view verb = FrameText(in.frames[0]);
  if (verb == "HELLO" && in.frames.size() == 1) {
    // The directory's serial, so that an agent with an older one asks for it (DIRECTORY).
    Bytes serial(8);
    const auto n = static_cast<uint64_t>(dir->serial());
    for (int i = 0; i < 8; ++i) serial[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    replies_.push_back(
        {in.routing_id, {Frame("WELCOME"), Frame(keys_.id), std::move(serial)}, std::nullopt});
  } else if (verb == "SEND" && in.frames.size() == 2) {
    HandleSend(in, *agency, pre != nullptr && pre->valid ? pre : nullptr);
  } else if (verb == "ACK" && in.frames.size() == 2) {
    HandleAck(in);
  } else if (verb == "QUERY" && in.frames.size() == 2) {
    HandleQuery(in);
  } else if (verb == "DIRECTORY" && in.frames.size() == 1) {
    HandleDirectoryRequest(in);
  } else if (verb == "PARTNER-DIRECTORY" && in.frames.size() == 3) {
    ServeDirectory(in, std::string(FrameText(in.frames[1])), "PARTNER-DIRECTORY");
  } else {
    ++stats_.malformed;
    Refuse(in.routing_id, {},
           InvalidArgument("unknown request (expected HELLO, SEND, ACK, QUERY, DIRECTORY or "
                           "PARTNER-DIRECTORY)"),
           nullptr, in.agency);
  }
}

void Broker::Refuse(const Bytes& routing_id, ByteView message_id, const Status& why,
                    const wire::EnvelopeView* env, const std::string& sender) {
  audit::AuditRecord r;
  if (env != nullptr) {
    r = RecordOf(audit::AuditEvent::kRefused, *env);
  } else {
    r.event = audit::AuditEvent::kRefused;
    r.sender = sender;
  }
  r.decision = "deny";
  r.rule = std::string(CodeName(why.code()));
  r.reason = why.message();  // our own words about metadata: never payload content
  Audit(std::move(r));
  replies_.push_back({routing_id,
                      {Frame("REFUSED"), Bytes(message_id.begin(), message_id.end()),
                       Frame(CodeName(why.code())), Frame(why.message())},
                      std::nullopt});
}

}  // namespace nrm::broker
