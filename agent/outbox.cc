// Taking a step and submitting it (agent/outbox.h). The answers, receipts and notices that move
// a step on are in agent/confirmation.cc.
#include "agent/outbox.h"

#include <algorithm>
#include <optional>
#include <set>

#include "agent/case_data.h"
#include "agent/consent.h"
#include "agent/disclosure.h"
#include "agent/log.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"

namespace nrm::agent {
namespace {

// How long a command waits for the broker's answers to the steps it took.
constexpr int kAwaitAnswersMs = 3000;

int64_t Now() { return SystemClock::Get().NowMillis(); }

// The ids of the steps this agency took on `c`, in the order it took them.
std::vector<std::string> OwnSteps(const CaseRecord& c, const std::string& self) {
  std::vector<std::string> ids;
  for (const TimelineStep& s : c.timeline) {
    if (s.from == self && !s.message_id.empty()) AddUnique(ids, s.message_id);
  }
  return ids;
}

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
  NRM_ASSIGN_OR_RETURN(std::vector<Disclosure> plan,
                       PlanDisclosure(agent_, r.payload, r.to, consent));
  for (const Disclosure& d : plan) {
    if (!d.consent.ok()) {
      if (r.override_reason.empty()) return d.consent;
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
  // Sealed once here to check every recipient and to give each role's envelope its message id,
  // the step's identity from now on; sealed anew for each submission.
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
    m.taken_at_ms = env.created_at_ms();
    m.consent_override = override_used;
    m.state = std::string(kWaitingToSend);
    m.note = override_used ? "consent override: " + r.override_reason : r.note;
    m.frame = s.frame;
    m.payload = r.payload;
    m.handling = std::string(wire::HandlingName(r.handling));
    m.prev_state = c.state;
    for (const Disclosure& d : plan) {
      if (!m.to.empty() && d.agency == m.to.front()) {  // one envelope per role: all alike
        m.sections = d.sections;
        m.withheld = d.withheld;
      }
    }
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
  NRM_RETURN_IF_ERROR(NoteCaseData(c, r.payload));
  for (const std::string& to : r.to) AddUnique(c.parties, to);
  for (const MessageRecord& m : records) {
    c.timeline.push_back(
        {m.created_at_ms, m.id, m.kind, agent_.agency(), Join(m.to, ","), c.state, m.note, r.by});
  }
  NRM_RETURN_IF_ERROR(store_.Write(records, {c}));
  std::vector<std::string> ids;
  for (const MessageRecord& m : records) ids.push_back(m.id);
  NRM_RETURN_IF_ERROR(SubmitNow(ids));
  for (MessageRecord& m : records) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> now, store_.GetMessage(m.id));
    if (now) m = *now;
  }
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> now, store_.GetCase(c.ref));
  if (now) c = *now;
  return records;
}

Status Outbox::SubmitNow(const std::vector<std::string>& ids) {
  NRM_RETURN_IF_ERROR(Tick(live_, /*force=*/true));
  AwaitAnswers(ids, kAwaitAnswersMs);
  return Status::Ok();
}

Result<MessageRecord> Outbox::MakeReceipt(const MessageRecord& step, const std::string& refusal,
                                          const std::string& erased) {
  const bool erasure = refusal.empty() && !erased.empty();
  NRM_ASSIGN_OR_RETURN(
      Bytes payload, EditPayload({}, [&](payload::PayloadT& t) {
        Decision(t).decision = !refusal.empty() ? "refused" : erasure ? "erased" : "received";
        Decision(t).reason = erasure ? erased : refusal;
        Decision(t).note = step.kind + " " + step.id;
      }));
  MessageRecord r;
  r.id = ToHex(crypto::RandomBytes(wire::kMessageIdBytes));
  r.direction = "out";
  r.kind = std::string(wire::KindName(wire::Kind::Receipt));
  r.from = agent_.agency();
  r.to = {step.from};
  r.case_ref = step.case_ref;
  r.in_reply_to = step.id;
  r.taken_at_ms = Now();
  r.state = std::string(kWaitingToSend);
  r.note = (!refusal.empty() ? "refused (negative receipt) "
            : erasure        ? "erased here: signed receipt for "
                             : "signed receipt for ") +
           step.kind + " " + Short(step.id);
  r.payload = std::move(payload);
  NRM_RETURN_IF_ERROR(Seal(r));
  return r;
}

Status Outbox::Seal(MessageRecord& m) {
  NRM_ASSIGN_OR_RETURN(Bytes id, FromHex(m.id));
  NRM_ASSIGN_OR_RETURN(Bytes ref, FromHex(m.case_ref));
  NRM_ASSIGN_OR_RETURN(wire::Kind kind, wire::KindFromName(m.kind));
  NRM_ASSIGN_OR_RETURN(wire::Handling handling, wire::HandlingFromName(m.handling));
  Agent::StepFields f;
  if (!m.in_reply_to.empty()) {
    NRM_ASSIGN_OR_RETURN(f.in_reply_to, FromHex(m.in_reply_to));
  }
  f.consent_override = m.consent_override;
  f.message_id = id;
  // Receipts are not ordered: a recipient never waits for one.
  f.ordered = kind != wire::Kind::Receipt;
  if (f.ordered) {
    // For each recipient, the last step this agency took on the case before this one that the
    // recipient has seen or will see: any but one that ended not delivered without reaching
    // it (refused by the broker, expired). Ids, not bytes: a step sealed again keeps its id.
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store_.GetCase(m.case_ref));
    std::vector<std::string> ids = c ? OwnSteps(*c, agent_.agency()) : std::vector<std::string>();
    auto self = std::find(ids.begin(), ids.end(), m.id);
    for (auto it = std::make_reverse_iterator(self); it != ids.rend(); ++it) {
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> earlier, store_.GetMessage(*it));
      if (!earlier || earlier->direction != "out" || earlier->kind == "receipt") continue;
      for (const std::string& to : m.to) {
        const bool shared = std::count(earlier->to.begin(), earlier->to.end(), to) > 0;
        const bool reached =
            earlier->state != kNotDelivered ||
            std::count(earlier->confirmed_by.begin(), earlier->confirmed_by.end(), to) > 0;
        if (shared && reached && !f.previous.count(to)) {
          NRM_ASSIGN_OR_RETURN(f.previous[to], FromHex(earlier->id));
        }
      }
    }
  }
  NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                       agent_.SealStep(m.to, kind, ref, handling, m.payload, f));
  if (sealed.size() != 1) return Internal("a step sealed again made more than one envelope");
  NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(sealed.front().frame));
  m.created_at_ms = env.created_at_ms();
  m.frame = std::move(sealed.front().frame);
  return Status::Ok();
}

Status Outbox::Submit(MessageRecord& m) {
  for (const std::string& to : m.to) {
    const identity::Agency* a = agent_.directory().Find(to);
    if (a == nullptr || a->revoked) {
      return Fail(m,
                  a == nullptr ? Say("recipient %1 is no longer in the directory", {AsIs(to)})
                               : Say("recipient %1 is revoked in the directory", {AsIs(to)}),
                  Say("choose another agency and take the step again"));
    }
  }
  if (Status s = Seal(m); !s.ok()) {
    return Fail(m, Say("it could not be sealed: %1", {AsIs(s.message())}),
                Say("take the step again"));
  }
  if (!agent_.SendFrames({transport::Frame("SEND"), m.frame}).ok()) {
    return Status::Ok();  // no connection after all: the next turn tries again
  }
  ++m.attempts;
  in_flight_[m.id] = Now() + agent_.config().answer_timeout_ms;
  LogEvent("submitted " + m.kind + " " + m.id + " (case " + Short(m.case_ref) + ") to " +
           Join(m.to) + ", attempt " + std::to_string(m.attempts));
  return store_.Write({m}, {});
}

Status Outbox::Query(MessageRecord& m, const std::string& why) {
  NRM_ASSIGN_OR_RETURN(Bytes id, FromHex(m.id));
  if (!agent_.SendFrames({transport::Frame("QUERY"), id}).ok()) return Status::Ok();
  const int64_t now = Now();
  queried_[m.id] = now + agent_.config().answer_timeout_ms;
  m.checked_at_ms = now;
  LogEvent("asked the broker about " + m.kind + " " + m.id + ": " + why);
  return store_.Write({m}, {});
}

void Outbox::OnLinkChange() {
  in_flight_.clear();
  queried_.clear();
}

Status Outbox::Tick(bool live, bool force) {
  const int64_t now = Now();
  if (live != live_) OnLinkChange();
  live_ = live;
  if (!force && now < next_tick_ms_) return Status::Ok();
  next_tick_ms_ = now + kTickEveryMs;
  if (!live) return Status::Ok();
  // A pending SEND or QUERY whose time ran out is forgotten: the step goes again.
  auto pending = [&](std::map<std::string, int64_t>& m, const std::string& id) {
    auto it = m.find(id);
    if (it == m.end()) return false;
    if (it->second > now) return true;
    m.erase(it);
    return false;
  };
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> ids, store_.WaitingOutbox());
  std::vector<MessageRecord> waiting;
  for (const std::string& id : ids) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
    if (m) waiting.push_back(std::move(*m));
  }
  std::stable_sort(
      waiting.begin(), waiting.end(),
      [](const MessageRecord& a, const MessageRecord& b) { return a.taken_at_ms < b.taken_at_ms; });
  // (case, recipient) pairs with an earlier step the broker has not yet accepted: later steps
  // of the case to that recipient wait behind it, so that they reach the broker in order.
  std::set<std::pair<std::string, std::string>> earlier;
  for (MessageRecord& m : waiting) {
    bool blocked = false;
    if (m.kind != "receipt") {  // receipts are not ordered
      for (const std::string& to : m.to) {
        blocked = !earlier.insert({m.case_ref, to}).second || blocked;
      }
    }
    const bool was_in_flight = in_flight_.count(m.id) > 0;
    if (pending(in_flight_, m.id)) continue;
    if (was_in_flight) {
      LogEvent("no answer from the broker for " + m.kind + " " + m.id + " within " +
               std::to_string(agent_.config().answer_timeout_ms / 1000) +
               " s; submitting it again");
    }
    if (pending(queried_, m.id) || blocked) continue;
    if (auto r = retry_after_.find(m.id); r != retry_after_.end() && r->second > now) continue;
    if (awaiting_receipt_.count(m.id)) {
      NRM_RETURN_IF_ERROR(Query(m, "it says it already holds this step: its receipt, please"));
      continue;
    }
    NRM_RETURN_IF_ERROR(Submit(m));
  }
  // Steps at the broker without every receipt: asked about after confirm_after. Read less
  // often than the waiting ones; there may be many, waiting for days on an offline recipient.
  const int64_t confirm_after = agent_.config().confirm_after_ms;
  if (now < next_confirm_scan_ms_) return Status::Ok();
  next_confirm_scan_ms_ = now + std::min<int64_t>(kConfirmScanEveryMs, confirm_after / 2);
  NRM_ASSIGN_OR_RETURN(ids, store_.AtTheBroker());
  for (const std::string& id : ids) {
    if (pending(queried_, id)) continue;
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
    if (!m || now - std::max(m->accepted_at_ms, m->checked_at_ms) < confirm_after) continue;
    NRM_RETURN_IF_ERROR(Query(*m, "no signed receipt from every recipient within " +
                                      std::to_string(confirm_after / 1000) +
                                      " s; does the broker still hold it?"));
  }
  return Status::Ok();
}

void Outbox::AwaitAnswers(const std::vector<std::string>& ids, int ms) {
  if (!serve_) return;
  const int64_t deadline = Now() + ms;
  while (Now() < deadline) {
    const bool pending = std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
      return in_flight_.count(id) > 0 || queried_.count(id) > 0;
    });
    if (!pending) return;
    if (!serve_(50).ok()) return;
  }
}

}  // namespace nrm::agent
