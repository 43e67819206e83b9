#include "agent/delivery.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agent/case_data.h"
#include "agent/consent.h"
#include "agent/erasure.h"
#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {

Status OnDelivery(Agent& agent, AgentStore& store, Outbox& outbox, Received r) {
  const std::string& self = agent.agency();
  const std::string id = ToHex(r.message_id);
  if (r.type == Received::Type::kExpiryNotice) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store.GetMessage(id));
    if (m) {
      m->note = "EXPIRED: never acknowledged by " + r.recipients[0];
      NRM_RETURN_IF_ERROR(store.Write({*m}, {}));
    }
    return agent.Acknowledge(r.message_id);
  }
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> seen, store.GetMessage(id));
  if (seen) return agent.Acknowledge(r.message_id);  // a repeat: stored already
  // An erasure request, or anything for a case erased here (agent/erasure.h).
  NRM_ASSIGN_OR_RETURN(bool erasure, HandleErasure(agent, store, outbox, r));
  if (erasure) return Status::Ok();
  MessageRecord m;
  m.id = id;
  m.direction = "in";
  m.kind = std::string(wire::KindName(r.kind));
  m.from = r.sender;
  m.to = r.recipients;
  m.case_ref = ToHex(r.case_ref);
  m.in_reply_to = ToHex(r.in_reply_to);
  m.created_at_ms = r.created_at_ms;
  m.consent_override = r.consent_override;
  m.state = r.kind == wire::Kind::Receipt ? "read" : "new";
  m.frame = r.frame;
  m.payload.assign(r.payload.data(), r.payload.data() + r.payload.size());
  NRM_ASSIGN_OR_RETURN(const payload::Payload* p, wire::VerifyPayload(m.payload));
  const payload::DecisionSection* decision = p->decision();
  auto text = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  if (decision) {
    m.note = text(decision->reason());
    if (m.note.empty()) m.note = text(decision->outcome());
  }
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> known, store.GetCase(m.case_ref));
  CaseRecord c = known ? *known : CaseRecord{};
  if (!known) c.ref = m.case_ref;
  std::vector<MessageRecord> records;
  if (r.kind == wire::Kind::Receipt) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> step, store.GetMessage(m.in_reply_to));
    std::string what = "signed receipt from " + r.sender;
    if (step) {
      AddUnique(step->receipts, m.id);
      records.push_back(*step);
      what += " for " + step->kind + " " + Short(step->id);
    }
    c.timeline.push_back(
        {SystemClock::Get().NowMillis(), m.id, m.kind, r.sender, self, c.state, what});
  } else {
    std::string note = m.note;
    if (r.kind == wire::Kind::ConsentRevoke) {
      if (!c.consent) c.consent = ConsentRecord{};
      c.consent->revoked = true;
      c.consent->revoked_reason = m.note;
    } else if (std::optional<ConsentRecord> k = ConsentOf(m.payload)) {
      if (!(c.consent && c.consent->revoked)) c.consent = k;
    }
    if (r.kind == wire::Kind::StatusUpdate && decision && decision->decision()) {
      // A party sharing the case tells its state: adopt it if it is further on.
      const std::string theirs = decision->decision()->str();
      const auto& all = WorkflowStates();
      auto rank = [&](std::string_view s) { return std::find(all.begin(), all.end(), s); };
      if (rank(theirs) != all.end() && rank(theirs) > rank(c.state)) c.state = theirs;
    } else {
      Applied a = ApplyReceived(c.state, r.kind);
      if (!a.applied) {
        note = "not applied: " + NextState(c.state, r.kind).status().message();
      }
      c.state = a.state;
    }
    NRM_RETURN_IF_ERROR(NoteCaseData(c, m.payload));
    if (r.consent_override) note += (note.empty() ? "" : "; ") + std::string("consent override");
    AddUnique(c.parties, r.sender);
    for (const std::string& to : r.recipients) {
      if (to != self) AddUnique(c.parties, to);
    }
    c.timeline.push_back(
        {SystemClock::Get().NowMillis(), m.id, m.kind, r.sender, self, c.state, note});
  }
  records.push_back(m);
  NRM_RETURN_IF_ERROR(store.Write(records, {c}));  // stored (synced) before the ACK
  NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
  if (r.kind == wire::Kind::Receipt) return Status::Ok();
  // Confirm the step to its sender with a signed receipt.
  NRM_ASSIGN_OR_RETURN(Bytes receipt, EditPayload({}, [&](payload::PayloadT& t) {
                         Decision(t).decision = "received";
                         Decision(t).note = m.kind + " " + m.id;
                       }));
  StepRequest rr;
  rr.kind = wire::Kind::Receipt;
  rr.to = {r.sender};
  rr.payload = std::move(receipt);
  rr.in_reply_to = m.id;
  rr.check_state = false;
  rr.note = "signed receipt for " + m.kind + " " + Short(m.id);
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> fresh, store.GetCase(c.ref));
  CaseRecord cc = fresh ? *fresh : c;
  Result<std::vector<MessageRecord>> sent = outbox.TakeStep(cc, std::move(rr));
  return sent.status();
}

}  // namespace nrm::agent
