#include "agent/delivery.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/case_data.h"
#include "agent/consent.h"
#include "agent/erasure.h"
#include "agent/log.h"
#include "agent/refusal.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

int64_t Now() { return SystemClock::Get().NowMillis(); }

std::string Text(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// The record of a received message (no payload for one refused here).
MessageRecord RecordOf(const Received& r) {
  MessageRecord m;
  m.id = ToHex(r.message_id);
  m.direction = "in";
  m.kind = std::string(wire::KindName(r.kind));
  m.from = r.sender;
  m.to = r.recipients;
  m.case_ref = ToHex(r.case_ref);
  m.in_reply_to = ToHex(r.in_reply_to);
  m.created_at_ms = r.created_at_ms;
  m.consent_override = r.consent_override;
  m.received_at_ms = Now();
  m.handling = std::string(wire::HandlingName(r.handling));
  m.frame = r.frame;
  m.payload.assign(r.payload.data(), r.payload.data() + r.payload.size());
  if (std::any_of(r.previous.begin(), r.previous.end(), [](uint8_t b) { return b != 0; })) {
    m.previous = ToHex(r.previous);
  }
  return m;
}

Result<CaseRecord> CaseOf(AgentStore& store, const std::string& ref) {
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> known, store.GetCase(ref));
  if (known) return *known;
  CaseRecord c;
  c.ref = ref;
  return c;
}

// Moves case `c` on with received step `m` (not a receipt). Returns why it cannot be applied
// here (a step backwards), or "" when it was.
std::string Apply(const std::string& self, CaseRecord& c, MessageRecord& m) {
  Result<const payload::Payload*> p = wire::VerifyPayload(m.payload);
  const payload::DecisionSection* decision = p.ok() ? (*p)->decision() : nullptr;
  if (decision) {
    m.note = Text(decision->reason());
    if (m.note.empty()) m.note = Text(decision->outcome());
  }
  std::string note = m.note, refusal;
  Phrase note_phrase;  // `note` as words, when they are this agent's (not the sender's)
  Result<wire::Kind> kind = wire::KindFromName(m.kind);
  if (kind.ok() && *kind == wire::Kind::ConsentRevoke) {
    if (!c.consent) c.consent = ConsentRecord{};
    c.consent->revoked = true;
    c.consent->revoked_reason = m.note;
  } else if (std::optional<ConsentRecord> k = ConsentOf(m.payload)) {
    if (!(c.consent && c.consent->revoked)) c.consent = k;
  }
  if (kind.ok() && *kind == wire::Kind::StatusUpdate && decision && decision->decision()) {
    // A party sharing the case tells its state: adopt it if it is further on.
    const std::string theirs = decision->decision()->str();
    const auto& all = WorkflowStates();
    auto rank = [&](std::string_view s) { return std::find(all.begin(), all.end(), s); };
    if (rank(theirs) != all.end() && rank(theirs) > rank(c.state)) c.state = theirs;
  } else if (kind.ok()) {
    Applied a = ApplyReceived(c.state, *kind);
    if (!a.applied) {
      // The state machine's reason, as it gives it: a value.
      note_phrase = NotAppliedHere(NextState(c.state, *kind).status());
      refusal = English(note_phrase);
      note = refusal;
      SetDetail(m, note_phrase);
    }
    c.state = a.state;
  }
  if (m.consent_override) {
    note += (note.empty() ? "" : "; ") + std::string("consent override");
    if (!note_phrase.empty()) note_phrase = Say("%1; consent override", {Nested(note_phrase)});
  }
  AddUnique(c.parties, m.from);
  for (const std::string& to : m.to) {
    if (to != self) AddUnique(c.parties, to);
  }
  c.timeline.push_back({Now(), m.id, m.kind, m.from, self, c.state, note, "", note_phrase});
  return refusal;
}

// Adds `m`'s receipt (negative with `refusal`) to `records`, and its line to `c`'s timeline.
// A sender that can no longer be sealed to (revoked since) gets none.
Status AddReceipt(Agent& agent, Outbox& outbox, const MessageRecord& m, const std::string& refusal,
                  CaseRecord& c, std::vector<MessageRecord>& records) {
  Result<MessageRecord> receipt = outbox.MakeReceipt(m, refusal);
  if (!receipt.ok()) {
    LogEvent("no receipt for " + m.kind + " " + m.id + " to " + m.from + ": " +
             receipt.status().message());
    return Status::Ok();
  }
  c.timeline.push_back({receipt->taken_at_ms, receipt->id, receipt->kind, agent.agency(), m.from,
                        c.state, receipt->note});
  records.push_back(std::move(*receipt));
  return Status::Ok();
}

// Applies stored step `m` to its case and writes it with its receipt, in one batch.
Status ApplyAndConfirm(Agent& agent, AgentStore& store, Outbox& outbox, MessageRecord m) {
  NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, m.case_ref));
  const std::string refusal = Apply(agent.agency(), c, m);
  if (!refusal.empty()) LogEvent("received " + m.kind + " " + m.id + ": " + refusal);
  NRM_RETURN_IF_ERROR(NoteCaseData(c, m.payload));
  std::vector<MessageRecord> records;
  NRM_RETURN_IF_ERROR(AddReceipt(agent, outbox, m, refusal, c, records));
  records.push_back(std::move(m));
  return store.Write(records, {c});
}

// Applies the held steps whose earlier step is here now, until none is left that can be; a
// case none of whose steps waits any more needs no attention for them.
Status ReleaseHeld(Agent& agent, AgentStore& store, Outbox& outbox) {
  std::set<std::string> released;  // case references
  for (bool progress = true; progress;) {
    progress = false;
    NRM_ASSIGN_OR_RETURN(std::vector<std::string> held, store.HeldInbox());
    for (const std::string& id : held) {
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store.GetMessage(id));
      if (!m) continue;
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> earlier, store.GetMessage(m->previous));
      if (!earlier) continue;
      LogEvent("applying " + m->kind + " " + id + ": its earlier step " + Short(m->previous) +
               " has arrived");
      m->state = std::string(kNew);
      released.insert(m->case_ref);
      NRM_RETURN_IF_ERROR(ApplyAndConfirm(agent, store, outbox, *m));
      progress = true;
    }
  }
  if (released.empty()) return Status::Ok();
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> still, store.HeldInbox());
  for (const std::string& id : still) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store.GetMessage(id));
    if (m) released.erase(m->case_ref);
  }
  for (const std::string& ref : released) {
    NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, ref));
    if (c.attention.empty()) continue;
    c.attention.clear();
    LogEvent("case " + Short(ref) + ": no step waits for an earlier one any more");
    NRM_RETURN_IF_ERROR(store.Write({}, {c}));
  }
  return Status::Ok();
}

// A receipt for one of this agency's steps: filed with it when it comes from a recipient of it.
Status OnReceiptMessage(Agent& agent, AgentStore& store, Outbox& outbox, MessageRecord m) {
  Result<const payload::Payload*> p = wire::VerifyPayload(m.payload);
  const payload::DecisionSection* d = p.ok() ? (*p)->decision() : nullptr;
  const bool negative = d && Text(d->decision()) == "refused";
  std::string refusal = negative ? Text(d->reason()) : "";
  if (negative && refusal.empty()) refusal = "no reason given";
  NRM_ASSIGN_OR_RETURN(bool filed, outbox.OnReceipt(m.in_reply_to, m.from, m.id, refusal));
  m.state = std::string(kRead);
  std::string what = (negative ? "NEGATIVE receipt from " : "signed receipt from ") + m.from;
  if (!filed) {
    // Kept as it came (the sender's signature), on no case: it confirms nothing here.
    m.note = what + " (not filed: not from a recipient of a step this agency sent)";
    return store.Write({m}, {});
  }
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> step, store.GetMessage(m.in_reply_to));
  NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, m.case_ref));
  if (step) what += " for " + step->kind + " " + Short(step->id);
  if (negative) what += ": " + refusal;
  c.timeline.push_back({Now(), m.id, m.kind, m.from, agent.agency(), c.state, what});
  m.note = what;
  return store.Write({m}, {c});
}

}  // namespace

Status OnDelivery(Agent& agent, AgentStore& store, Outbox& outbox, Received r) {
  const std::string id = ToHex(r.message_id);
  if (r.type == Received::Type::kExpiryNotice) {
    LogEvent("the broker's signed notice: " + id + " expired unacknowledged by " + r.recipients[0]);
    NRM_RETURN_IF_ERROR(outbox.OnExpired(id, r.recipients[0]));
    return agent.Acknowledge(r.message_id);
  }
  if (r.type == Received::Type::kRelayReceipt) {
    NRM_RETURN_IF_ERROR(outbox.OnRelayReceipt(id, r.recipients[0].substr(1), r.relay_receipt));
    return agent.Acknowledge(r.message_id);
  }
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> seen, store.GetMessage(id));
  if (seen) {
    // A repeat for a case erased here (agent/erasure.h).
    NRM_ASSIGN_OR_RETURN(bool erased, HandleErasedRepeat(agent, store, outbox, *seen, r));
    if (erased) return Status::Ok();
    // A repeat. Sealed anew by its sender (a later created_at), it means the sender has no
    // receipt: confirm it again. A broker's redelivery carries the same bytes: only ACK.
    if (seen->direction == "in" && r.created_at_ms > seen->created_at_ms &&
        r.kind != wire::Kind::Receipt && seen->state != kHeld) {
      LogEvent("received " + seen->kind + " " + id + " again from " + r.sender +
               ", sealed anew: confirming it again");
      seen->created_at_ms = r.created_at_ms;
      std::vector<MessageRecord> records;
      NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, seen->case_ref));
      NRM_RETURN_IF_ERROR(AddReceipt(agent, outbox, *seen,
                                     seen->state == kRefusedHere ? seen->detail : "", c, records));
      records.push_back(*seen);
      NRM_RETURN_IF_ERROR(store.Write(records, {c}));
    }
    return agent.Acknowledge(r.message_id);
  }
  // An erasure request, or anything for a case erased here (agent/erasure.h).
  NRM_ASSIGN_OR_RETURN(bool erasure, HandleErasure(agent, store, outbox, r));
  if (erasure) return Status::Ok();
  MessageRecord m = RecordOf(r);
  if (r.type == Received::Type::kRefused) {
    m.state = std::string(kRefusedHere);
    m.detail = r.refusal.message();
    // Its words when they are the refusal's, else the refusal as it is.
    if (English(r.refusal_phrase) == m.detail) SetDetail(m, r.refusal_phrase);
    LogEvent("refused delivery " + m.kind + " " + id + " from " + m.from + ": " + m.detail);
    std::vector<MessageRecord> records;
    NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, m.case_ref));
    const Phrase note = RefusedHere(m);
    c.timeline.push_back(
        {Now(), m.id, m.kind, m.from, agent.agency(), c.state, English(note), "", note});
    if (r.kind != wire::Kind::Receipt) {  // a refused receipt is not answered: no loops
      NRM_RETURN_IF_ERROR(AddReceipt(agent, outbox, m, m.detail, c, records));
    }
    records.push_back(std::move(m));
    NRM_RETURN_IF_ERROR(store.Write(records, {c}));  // stored (synced) before the ACK
    return agent.Acknowledge(r.message_id);
  }
  LogEvent("received " + m.kind + " " + id + " from " + m.from + " (case " + Short(m.case_ref) +
           ")");
  if (r.kind == wire::Kind::Receipt) {
    NRM_RETURN_IF_ERROR(OnReceiptMessage(agent, store, outbox, std::move(m)));
    return agent.Acknowledge(r.message_id);
  }
  std::optional<MessageRecord> earlier;
  if (!m.previous.empty()) {
    NRM_ASSIGN_OR_RETURN(earlier, store.GetMessage(m.previous));
  }
  if (!m.previous.empty() && !earlier) {
    m.state = std::string(kHeld);
    LogEvent("holding " + m.kind + " " + id + ": " + m.from + "'s earlier step " +
             Short(m.previous) + " on the case has not arrived");
    NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, m.case_ref));
    const Phrase note = HeldForEarlier(Short(m.previous));
    c.timeline.push_back(
        {Now(), m.id, m.kind, m.from, agent.agency(), c.state, English(note), "", note});
    NRM_RETURN_IF_ERROR(store.Write({m}, {c}));
    return agent.Acknowledge(r.message_id);
  }
  m.state = std::string(kNew);
  NRM_RETURN_IF_ERROR(ApplyAndConfirm(agent, store, outbox, std::move(m)));
  NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
  return ReleaseHeld(agent, store, outbox);
}

Status CheckHeld(Agent& agent, AgentStore& store) {
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> held, store.HeldInbox());
  const int64_t now = Now();
  for (const std::string& id : held) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store.GetMessage(id));
    if (!m || now - m->received_at_ms < agent.config().earlier_step_wait_ms) continue;
    NRM_ASSIGN_OR_RETURN(CaseRecord c, CaseOf(store, m->case_ref));
    if (!c.attention.empty()) continue;
    c.attention = std::string(kHeld) + ": " + m->kind + " " + Short(m->id) + " from " + m->from +
                  " arrived " + FormatTimeUtc(m->received_at_ms) + ", but " + m->from +
                  "'s step before it (" + Short(m->previous) +
                  ") has not; it is applied when that arrives. Ask " + m->from + " about it";
    c.timeline.push_back(
        {now, m->id, m->kind, m->from, agent.agency(), c.state, "FLAGGED: " + c.attention});
    LogEvent("case " + Short(c.ref) + " flagged: " + m->kind + " " + id +
             " has waited for its earlier step " + Short(m->previous) + " since " +
             FormatTimeUtc(m->received_at_ms));
    NRM_RETURN_IF_ERROR(store.Write({}, {c}));
  }
  return Status::Ok();
}

}  // namespace nrm::agent
