// What moves a sent step on after it was submitted (agent/outbox.h): the broker's answers to
// SEND and QUERY, the recipients' signed receipts, the broker's signed expiry notices. Only
// proofs count: a receipt that verifies, a receipt from a recipient of the step, a notice with
// the broker's signature. Everything else is logged and changes nothing.
#include <algorithm>

#include "agent/log.h"
#include "agent/outbox.h"
#include "agent/refusal.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "common/clock.h"

namespace nrm::agent {
namespace {

int64_t Now() { return SystemClock::Get().NowMillis(); }

bool Holds(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void SetReceipt(MessageRecord& m, uint64_t leaf) {
  m.broker_receipt_phrase = BrokerReceipt(leaf);
  m.broker_receipt = English(m.broker_receipt_phrase);
}

}  // namespace

Status Outbox::OnAnswer(const SendOutcome& a) {
  const std::string id = ToHex(a.message_id);
  in_flight_.erase(id);
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
  if (!m || m->direction != "out" || m->state != kWaitingToSend) return Status::Ok();  // late
  if (a.accepted && a.receipt_leaf) {
    m->state = std::string(kAtTheBroker);
    m->accepted_at_ms = Now();
    SetReceipt(*m, *a.receipt_leaf);
    m->broker_head = a.receipt_head;
    SetDetail(*m, {});
    stale_.erase(id);
    retry_after_.erase(id);
    awaiting_receipt_.erase(id);
    LogEvent("accepted by the broker: " + m->kind + " " + id + " to " + Join(m->to) + " (" +
             m->broker_receipt + ")");
    return store_.Write({*m}, {});
  }
  const std::string refusal = a.code + ": " + a.reason;
  if (a.code == "already_exists") {
    // Not acceptance: nothing proves the broker stored it. Its receipt does.
    awaiting_receipt_.insert(id);
    SetDetail(*m, Say("the broker says it already holds this step; waiting for its receipt"));
    LogEvent("the broker answered " + m->kind + " " + id + " with already_exists: asking for its " +
             "receipt before counting it as accepted");
    return Query(*m, "its receipt, for a step it says it already holds");
  }
  if (a.code == "unavailable" || a.code == "resource_exhausted") {
    retry_after_[id] = Now() + 5000;
    SetDetail(*m, SendAgainLater(a.code, a.reason));
    LogEvent("refused for now by the broker: " + m->kind + " " + id + " (" + refusal +
             "); submitting it again in 5 s");
    return store_.Write({*m}, {});
  }
  if (a.code == "invalid_argument" && a.reason.rfind("created_at is", 0) == 0) {
    // Stale: never final for a step the broker never accepted. Sealed anew with a fresh time at
    // the next submission, at once the first time, then backing off (a wrong clock here).
    const int n = ++stale_[id];
    retry_after_[id] = Now() + std::min<int64_t>(60000, n <= 1 ? 0 : 1000LL << std::min(n, 6));
    SetDetail(
        *m, n > 2 ? Say("refused as stale (%1); sealed again with a fresh time; if this "
                        "goes on, check this computer's clock",
                        {AsIs(a.reason)})
                  : Say("refused as stale (%1); sealed again with a fresh time", {AsIs(a.reason)}));
    LogEvent("refused as stale by the broker: " + m->kind + " " + id + " (" + a.reason +
             "); sealing it again with a fresh time");
    return store_.Write({*m}, {});
  }
  return Fail(*m, BrokerRefusal(agent_, *m, a.code, a.reason), WhatToDo(a.code));
}

Status Outbox::OnBadAnswer(ByteView message_id, const Status& why) {
  const std::string id = ToHex(message_id);
  in_flight_.erase(id);
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
  if (!m || m->state != kWaitingToSend) return Status::Ok();
  awaiting_receipt_.insert(id);
  SetDetail(*m, Say("the broker's answer carried no receipt that verifies; asking for it again"));
  LogEvent("SUSPICIOUS: the broker answered " + m->kind + " " + id +
           " without a receipt that verifies (" + why.message() + "); not counted");
  return store_.Write({*m}, {});
}

Status Outbox::OnStatus(const QueryAnswer& a) {
  const std::string id = ToHex(a.message_id);
  queried_.erase(id);
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(id));
  if (!m || m->direction != "out" || !IsOpen(m->state)) return Status::Ok();
  if (a.held && a.receipt_leaf) {
    awaiting_receipt_.erase(id);
    if (m->state == kWaitingToSend) {
      m->state = std::string(kAtTheBroker);
      m->accepted_at_ms = Now();
      SetReceipt(*m, *a.receipt_leaf);
      m->broker_head = a.receipt_head;
      SetDetail(*m, {});
      LogEvent("accepted by the broker (its receipt given again): " + m->kind + " " + id + " (" +
               m->broker_receipt + ")");
    } else {
      std::vector<std::string> missing;
      for (const std::string& to : m->to) {
        if (!Holds(m->confirmed_by, to)) missing.push_back(to);
      }
      SetDetail(*m, Say("no signed receipt yet from %1; the broker still holds it (%2) as of %3",
                        {AsIs(Join(missing)), Nested(BrokerReceipt(*a.receipt_leaf)),
                         AsIs(FormatTimeUtc(Now()))}));
      LogEvent("the broker still holds " + m->kind + " " + id + "; waiting for the receipt of " +
               Join(missing));
    }
    return store_.Write({*m}, {});
  }
  if (a.held) {
    SetDetail(*m,
              Say("the broker says it holds this step but gives no receipt for it: not counted"));
    LogEvent("SUSPICIOUS: the broker says it holds " + m->kind + " " + id +
             " but gives no receipt; asking again later");
    return store_.Write({*m}, {});
  }
  // The broker does not hold it: never accepted, or lost since (a lost data directory). The
  // recipient drops a repeat by its id, so submitting it again is safe.
  awaiting_receipt_.erase(id);
  retry_after_.erase(id);
  SetDetail(*m, m->state == kAtTheBroker ? Say("no signed receipt from every recipient, and the "
                                               "broker no longer holds it: submitted again")
                                         : Say("the broker does not hold it: submitted again"));
  LogEvent("the broker does not hold " + m->kind + " " + id + ": submitting it again");
  m->state = std::string(kWaitingToSend);
  return store_.Write({*m}, {});
}

Result<bool> Outbox::OnReceipt(const std::string& step_id, const std::string& from,
                               const std::string& receipt_id, const std::string& refusal) {
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(step_id));
  if (!m || m->direction != "out") {
    LogEvent("a receipt from " + from + " for " + Short(step_id) +
             ", a step this agency did not send: not filed");
    return false;
  }
  if (!Holds(m->to, from)) {
    LogEvent("SUSPICIOUS: a receipt from " + from + " for " + m->kind + " " + step_id +
             ", which was not addressed to it: not filed");
    return false;
  }
  AddUnique(m->receipts, receipt_id);
  AddUnique(m->confirmed_by, from);
  in_flight_.erase(step_id);
  awaiting_receipt_.erase(step_id);
  if (!refusal.empty()) {
    NRM_RETURN_IF_ERROR(
        Fail(*m, Say("%1 refused it: %2", {AsIs(from), AsIs(refusal)}),
             Say("change what the reason names and take the step again, or call %1", {AsIs(from)}),
             // The reason is the receipt's payload: on the step, not in the log.
             from + " refused it (a signed negative receipt; `show " + Short(step_id) +
                 "` gives its reason)"));
    return true;
  }
  if (m->state == kNotDelivered) {
    NRM_RETURN_IF_ERROR(store_.Write({*m}, {}));
    return true;
  }
  const bool all = std::all_of(m->to.begin(), m->to.end(),
                               [&](const std::string& to) { return Holds(m->confirmed_by, to); });
  if (all) {
    m->state = std::string(kDelivered);
    SetDetail(*m, Say("signed receipt from %1", {AsIs(Join(m->to))}));
    LogEvent("delivered: " + m->kind + " " + step_id + " to " + Join(m->to) + " (signed receipts)");
  } else {
    SetDetail(*m, Say("signed receipt from %1", {AsIs(Join(m->confirmed_by))}));
  }
  NRM_RETURN_IF_ERROR(store_.Write({*m}, {}));
  return true;
}

Status Outbox::OnExpired(const std::string& step_id, const std::string& recipient) {
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(step_id));
  if (!m || m->direction != "out" || !Holds(m->to, recipient)) {
    LogEvent("SUSPICIOUS: an expiry notice for " + Short(step_id) + " and " + recipient +
             ", not a step this agency sent to it: ignored");
    return Status::Ok();
  }
  if (Holds(m->confirmed_by, recipient)) return Status::Ok();  // it has its receipt
  return Fail(
      *m,
      Say("expired at the broker: %1 did not take it within the broker's time-to-live",
          {AsIs(recipient)}),
      Say("check with %1 that its agent runs, then take the step again", {AsIs(recipient)}));
}

Status Outbox::OnRelayReceipt(const std::string& step_id, const std::string& country,
                              const std::string& receipt) {
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store_.GetMessage(step_id));
  const bool to_country = m && std::any_of(m->to.begin(), m->to.end(), [&](const std::string& r) {
                            return r.substr(0, 2) == country;
                          });
  if (!m || m->direction != "out" || !to_country) {
    LogEvent("SUSPICIOUS: a relay receipt for " + Short(step_id) + " from " + country +
             ", not a step this agency sent there: ignored");
    return Status::Ok();
  }
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store_.GetCase(m->case_ref));
  if (!c) return Status::Ok();  // erased since
  const Phrase phrase = RelayedTo(country, receipt);
  const std::string note = English(phrase);
  for (const TimelineStep& s : c->timeline) {
    if (s.message_id == m->id && s.note == note) return Status::Ok();  // told twice
  }
  LogEvent(m->kind + " " + Short(step_id) + " " + note);
  c->timeline.push_back(
      {Now(), m->id, m->kind, agent_.agency(), "@" + country, c->state, note, "", phrase});
  return store_.Write({}, {*c});
}

Status Outbox::Fail(MessageRecord& m, const Phrase& why, const Phrase& what_to_do,
                    const std::string& log_why) {
  in_flight_.erase(m.id);
  queried_.erase(m.id);
  awaiting_receipt_.erase(m.id);
  retry_after_.erase(m.id);
  m.state = std::string(kNotDelivered);
  SetDetail(m, Say("%1. What to do: %2", {Nested(why), Nested(what_to_do)}));
  LogEvent("not delivered: " + m.kind + " " + m.id + " to " + Join(m.to) + ": " +
           (log_why.empty() ? English(why) : log_why));
  std::vector<CaseRecord> cases;
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store_.GetCase(m.case_ref));
  if (c && m.kind != "receipt") {
    // The step did not happen: the case goes back to where it was, unless a later step has
    // moved it on since.
    auto at = std::find_if(c->timeline.begin(), c->timeline.end(),
                           [&](const TimelineStep& s) { return s.message_id == m.id; });
    if (at != c->timeline.end() && std::all_of(at, c->timeline.end(), [&](const TimelineStep& s) {
          return s.state == at->state;
        })) {
      c->state = m.prev_state;
    }
    const Phrase note = Say("NOT DELIVERED: %1", {Nested(why)});
    c->timeline.push_back(
        {Now(), m.id, m.kind, "-", agent_.agency(), c->state, English(note), "", note});
    cases.push_back(*c);
  }
  return store_.Write({m}, cases);
}

}  // namespace nrm::agent
