#include "agent/outbox.h"

#include <algorithm>
#include <optional>

#include "agent/consent.h"
#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"

namespace nrm::agent {
namespace {

constexpr int kSubmitTimeoutMs = 3000;

}  // namespace

Result<Bytes> EditPayload(ByteView base, const std::function<void(payload::PayloadT&)>& edit) {
  payload::PayloadT t;
  if (!base.empty()) {
    NRM_ASSIGN_OR_RETURN(const payload::Payload* p, wire::VerifyPayload(base));
    p->UnPackTo(&t);
  }
  edit(t);
  flatbuffers::FlatBufferBuilder b;
  b.Finish(payload::Payload::Pack(b, &t));
  return Bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

payload::DecisionSectionT& Decision(payload::PayloadT& t) {
  if (!t.decision) t.decision = std::make_unique<payload::DecisionSectionT>();
  return *t.decision;
}

Result<std::vector<MessageRecord>> Outbox::TakeStep(CaseRecord& c, StepRequest r) {
  if (r.to.empty()) return InvalidArgument("no recipient (--to AGENCY)");
  std::string next = c.state;
  if (r.check_state) {
    NRM_ASSIGN_OR_RETURN(next, NextState(c.state, r.kind));
  }
  NRM_ASSIGN_OR_RETURN(const payload::Payload* p, wire::VerifyPayload(r.payload));
  const std::vector<std::string> present = wire::PresentSections(*p);
  // The consent that governs this step: the payload's own (a new case file), else the case's.
  std::optional<ConsentRecord> consent = ConsentOf(r.payload);
  if (!consent) consent = c.consent;
  if (consent && c.consent && c.consent->revoked) {
    consent->revoked = true;
    consent->revoked_reason = c.consent->revoked_reason;
  }
  bool override_used = false;
  for (const std::string& to : r.to) {
    const identity::Agency* a = agent_.directory().Find(to);
    if (a == nullptr) return NotFound("recipient " + to + " is not in the directory");
    std::vector<std::string> sections;
    for (const std::string& s : agent_.SectionsFor(a->role)) {
      if (std::find(present.begin(), present.end(), s) != present.end()) sections.push_back(s);
    }
    Status ok = CheckConsent(consent, sections, to, a->role);
    if (!ok.ok()) {
      if (r.override_reason.empty()) return ok;
      override_used = true;
    }
  }
  const bool personal = std::any_of(present.begin(), present.end(), IsPersonalSection);
  if (override_used || (personal && consent)) {
    NRM_ASSIGN_OR_RETURN(r.payload, WithConsent(r.payload, consent.value_or(ConsentRecord{}),
                                                override_used ? r.override_reason : ""));
  }
  Agent::StepFields f;
  if (!r.in_reply_to.empty()) {
    NRM_ASSIGN_OR_RETURN(f.in_reply_to, FromHex(r.in_reply_to));
  }
  f.consent_override = override_used;
  NRM_ASSIGN_OR_RETURN(Bytes ref, FromHex(c.ref));
  NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                       agent_.SealStep(r.to, r.kind, ref, r.handling, r.payload, f));
  std::vector<MessageRecord> records;
  for (const wire::Sealed& s : sealed) {
    NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(s.frame));
    MessageRecord m;
    m.id = ToHex(s.message_id);
    m.direction = "out";
    m.kind = std::string(wire::KindName(r.kind));
    m.from = agent_.agency();
    for (std::string_view to : env.recipients()) m.to.emplace_back(to);
    m.case_ref = c.ref;
    m.in_reply_to = r.in_reply_to;
    m.created_at_ms = env.created_at_ms();
    m.consent_override = override_used;
    m.state = "pending";
    m.note = override_used ? "consent override: " + r.override_reason : r.note;
    m.frame = s.frame;
    m.payload = r.payload;
    m.prev_state = c.state;
    records.push_back(m);
  }
  if (r.kind == wire::Kind::ConsentRevoke) {
    if (!c.consent) c.consent = ConsentRecord{};
    c.consent->revoked = true;
    c.consent->revoked_reason = r.note;
  } else if (consent && !c.consent) {
    c.consent = consent;
  }
  c.state = next;
  for (const std::string& to : r.to) AddUnique(c.parties, to);
  for (const MessageRecord& m : records) {
    c.timeline.push_back(
        {m.created_at_ms, m.id, m.kind, agent_.agency(), Join(m.to, ","), c.state, m.note, r.by});
  }
  NRM_RETURN_IF_ERROR(store_.Write(records, {c}));
  for (MessageRecord& m : records) {
    if (Status s = TrySubmit(m.id, kSubmitTimeoutMs); !s.ok()) return s;
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> now, store_.GetMessage(m.id));
    if (now) m = *now;
  }
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> now, store_.GetCase(c.ref));
  if (now) c = *now;
  return records;
}

Status Outbox::TrySubmit(const std::string& id, int timeout_ms) {
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
  if (!m || m->state != "pending" || !agent_.connected()) return Status::Ok();
  // Count the attempt before making it: after a crash, already_exists then means accepted.
  m->attempts++;
  NRM_RETURN_IF_ERROR(store_.Write({*m}, {}));
  NRM_ASSIGN_OR_RETURN(Bytes mid, FromHex(m->id));
  Result<SendOutcome> got = agent_.Submit(wire::Sealed{mid, m->frame}, timeout_ms, m->attempts > 1);
  if (!got.ok()) {  // no answer: resend later
    unanswered_ = true;
    return Status::Ok();
  }
  if (!got->accepted && (got->code == "unavailable" || got->code == "resource_exhausted")) {
    return Status::Ok();
  }
  std::vector<CaseRecord> cases;
  if (got->accepted) {
    m->state = "accepted";
    if (got->receipt_leaf) {
      m->broker_receipt = "audit leaf " + std::to_string(*got->receipt_leaf) +
                          ", in a tree head signed by the broker and verified";
      m->broker_head = got->receipt_head;
    } else {
      m->broker_receipt = "accepted earlier (the broker recognised the repeat)";
    }
  } else {
    m->state = "refused";
    m->note = got->code + ": " + got->reason;
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store_.GetCase(m->case_ref));
    if (c && m->kind != "receipt") {
      if (!c->timeline.empty() && c->timeline.back().message_id == m->id) {
        c->state = m->prev_state;  // the step did not happen
      }
      c->timeline.push_back({SystemClock::Get().NowMillis(), m->id, m->kind, "broker",
                             agent_.agency(), c->state, "REFUSED by the broker: " + m->note});
      cases.push_back(*c);
    }
  }
  return store_.Write({*m}, cases);
}

Status Outbox::Retry() {
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> pending, store_.PendingOutbox());
  unanswered_ = false;
  for (const std::string& id : pending) {
    NRM_RETURN_IF_ERROR(TrySubmit(id, kSubmitTimeoutMs));
    // The broker is away: keep the rest for the next round rather than waiting on each,
    // so that people's commands are answered meanwhile.
    if (unanswered_) break;
  }
  return Status::Ok();
}

}  // namespace nrm::agent
