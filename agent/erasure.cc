#include "agent/erasure.h"

#include <algorithm>

#include "agent/log.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

// The reason an erasure receipt gives.
constexpr char kErasedHere[] = "erased every record of the case and its key";

std::string Text(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// The erasure requests of erased (or being erased) case `ref` to `to`, waiting to send
// (agent/step_state.h). Sealed once here, to check every recipient and to give each role's
// envelope its message id; the outbox seals them anew for each submission and follows them like
// any step, until every recipient's signed receipt arrives. The payload is a decision only,
// never personal data.
Result<std::vector<MessageRecord>> ErasureRequests(Agent& agent, const std::string& ref,
                                                   const std::vector<std::string>& to,
                                                   const std::string& reason) {
  NRM_ASSIGN_OR_RETURN(Bytes payload, EditPayload({}, [&](payload::PayloadT& t) {
                         Decision(t).decision = "erase";
                         Decision(t).reason = reason;
                       }));
  NRM_ASSIGN_OR_RETURN(Bytes case_ref, FromHex(ref));
  NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                       agent.SealStep(to, wire::Kind::ErasureRequest, case_ref, wire::Handling::H0,
                                      payload, Agent::StepFields{}));
  std::vector<MessageRecord> out;
  for (const wire::Sealed& s : sealed) {
    NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(s.frame));
    MessageRecord m;
    m.id = ToHex(s.message_id);
    m.direction = "out";
    m.kind = std::string(wire::KindName(wire::Kind::ErasureRequest));
    m.from = agent.agency();
    for (std::string_view r : env.recipients()) m.to.emplace_back(r);
    m.case_ref = ref;
    m.created_at_ms = env.created_at_ms();
    m.taken_at_ms = env.created_at_ms();
    m.state = std::string(kWaitingToSend);
    m.note = reason;
    m.frame = s.frame;
    m.payload = payload;
    m.handling = std::string(wire::HandlingName(wire::Handling::H0));
    m.sections = {"decision"};
    out.push_back(std::move(m));
  }
  return out;
}

// What is kept of a message received for an erased case: who sent what, when; never its
// payload nor its envelope.
MessageRecord MetadataOf(const Received& r, const std::string& note) {
  MessageRecord m;
  m.id = ToHex(r.message_id);
  m.direction = "in";
  m.kind = std::string(wire::KindName(r.kind));
  m.from = r.sender;
  m.to = r.recipients;
  m.case_ref = ToHex(r.case_ref);
  m.in_reply_to = ToHex(r.in_reply_to);
  m.created_at_ms = r.created_at_ms;
  m.received_at_ms = SystemClock::Get().NowMillis();
  m.handling = std::string(wire::HandlingName(r.handling));
  m.state = std::string(kRead);
  m.note = note;
  return m;
}

// Adds to `records` the receipt for `step` (an erasure receipt, or negative with `refusal`).
// A sender that can no longer be sealed to (revoked since) gets none.
void AddReceipt(Outbox& outbox, const MessageRecord& step, const std::string& refusal,
                std::vector<MessageRecord>& records) {
  Result<MessageRecord> receipt =
      outbox.MakeReceipt(step, refusal, refusal.empty() ? kErasedHere : "");
  if (!receipt.ok()) {
    LogEvent("no receipt for " + step.kind + " " + step.id + " to " + step.from + ": " +
             receipt.status().message());
    return;
  }
  records.push_back(std::move(*receipt));
}

// An erasure receipt (or a refusal) for one of this agency's erasure requests: filed with the
// step by the outbox (so that it ends delivered, or not delivered), and the party's
// confirmation added to the tombstone. Kept as metadata. Other receipts are dropped.
Status OnErasureReceipt(AgentStore& store, Outbox& outbox, Tombstone& tomb, MessageRecord m,
                        const Received& r) {
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> step, store.GetMessage(m.in_reply_to));
  if (!step || step->direction != "out" || step->kind != "erasure_request") return Status::Ok();
  Result<const payload::Payload*> p = wire::VerifyPayload(r.payload.view());
  const payload::DecisionSection* d = p.ok() ? (*p)->decision() : nullptr;
  const bool negative = d && Text(d->decision()) == "refused";
  std::string refusal = negative ? Text(d->reason()) : "";
  if (negative && refusal.empty()) refusal = "no reason given";
  NRM_ASSIGN_OR_RETURN(bool filed, outbox.OnReceipt(step->id, m.from, m.id, refusal));
  if (!filed) return Status::Ok();
  const bool known = std::any_of(tomb.confirmed.begin(), tomb.confirmed.end(),
                                 [&](auto& c) { return c.rfind(m.from + " at ", 0) == 0; });
  if (!negative && !known) {
    tomb.confirmed.push_back(m.from + " at " + FormatTimeUtc(r.created_at_ms));
  }
  m.note = (negative ? "NEGATIVE receipt from " + m.from + ": " + refusal
                     : "signed erasure receipt from " + m.from) +
           " for erasure_request " + Short(step->id);
  LogEvent((negative ? "erasure refused by " : "erasure confirmed by ") + m.from + " (case " +
           Short(tomb.ref) + ", erasure_request " + step->id + ")");
  return store.WriteTombstone(tomb, {m});
}

}  // namespace

Result<Tombstone> EraseCase(Agent& agent, AgentStore& store, Outbox& outbox, const CaseRecord& c,
                            const std::string& by, const std::string& reason) {
  Tombstone t;
  t.ref = c.ref;
  t.at_ms = SystemClock::Get().NowMillis();
  t.erased_by = by;
  t.reason = reason;
  std::vector<MessageRecord> requests;
  if (!c.parties.empty()) {
    t.asked = c.parties;
    NRM_ASSIGN_OR_RETURN(requests, ErasureRequests(agent, c.ref, c.parties, reason));
    for (const MessageRecord& m : requests) t.requests.push_back(m.id);
  }
  CrashPointForTesting("erase:before-write");
  // The requests go to the outbox in the erasure's batch: waiting to send, submitted (again
  // after a restart, a lost link, no answer) and followed until every party's receipt arrives.
  NRM_RETURN_IF_ERROR(store.Erase(t, requests));
  LogEvent("case " + Short(c.ref) + " erased here (" + by +
           (by == kRetentionRule ? ": " + reason : "") + ")" +
           (t.asked.empty() ? "" : "; erasure requests to " + Join(t.asked)));
  NRM_RETURN_IF_ERROR(outbox.SubmitNow(t.requests));
  NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> now, store.GetTombstone(c.ref));
  return now ? *now : t;
}

Result<bool> HandleErasure(Agent& agent, AgentStore& store, Outbox& outbox, const Received& r) {
  if (r.type == Received::Type::kExpiryNotice) return false;
  const std::string ref = ToHex(r.case_ref);
  NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> tomb, store.GetTombstone(ref));
  const bool request = r.kind == wire::Kind::ErasureRequest;
  if (!tomb && (!request || r.type == Received::Type::kRefused)) return false;
  std::string note;
  if (r.type == Received::Type::kMessage) {
    Result<const payload::Payload*> p = wire::VerifyPayload(r.payload.view());
    if (p.ok() && (*p)->decision()) note = Text((*p)->decision()->reason());
  }
  MessageRecord m = MetadataOf(r, note);
  if (r.type == Received::Type::kMessage && request) {
    // Erased (and compacted) before it is confirmed: the receipt, written in the erasure's
    // batch, waits to send until Erase has returned.
    std::vector<MessageRecord> records = {m};
    AddReceipt(outbox, m, "", records);
    if (!tomb) {
      Tombstone t;
      t.ref = ref;
      t.at_ms = SystemClock::Get().NowMillis();
      t.erased_by = "erasure request of " + r.sender;
      t.reason = note;
      // Erased whether or not a case record is here: its messages may be.
      NRM_RETURN_IF_ERROR(store.Erase(t, records));
      LogEvent("case " + Short(ref) + " erased here at the request of " + r.sender +
               " (erasure_request " + m.id + "); confirming it");
    } else {
      NRM_RETURN_IF_ERROR(store.WriteTombstone(*tomb, records));
    }
    NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
    return true;
  }
  if (r.type == Received::Type::kMessage && r.kind == wire::Kind::Receipt) {
    NRM_RETURN_IF_ERROR(OnErasureReceipt(store, outbox, *tomb, std::move(m), r));
  } else if (r.kind != wire::Kind::Receipt) {  // a receipt is never answered: no loops
    // A step for a case erased here (or one refused here): dropped, never stored. Its sender
    // is told with a negative receipt, so that its step ends not delivered rather than being
    // sent again after confirm_after.
    const std::string refusal = r.type == Received::Type::kRefused
                                    ? r.refusal.message()
                                    : "the case was erased here; nothing of it is kept";
    LogEvent("dropped " + m.kind + " " + m.id + " from " + m.from + ": case " + Short(ref) +
             " was erased here");
    std::vector<MessageRecord> records;
    AddReceipt(outbox, m, refusal, records);
    NRM_RETURN_IF_ERROR(store.WriteTombstone(*tomb, records));
  }
  NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
  return true;
}

Result<bool> HandleErasedRepeat(Agent& agent, AgentStore& store, Outbox& outbox,
                                const MessageRecord& seen, const Received& r) {
  NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> tomb, store.GetTombstone(seen.case_ref));
  if (!tomb) return false;
  // An erasure request sealed anew: its sender has no receipt yet. Confirmed again.
  if (seen.direction == "in" && seen.kind == "erasure_request" &&
      r.created_at_ms > seen.created_at_ms) {
    MessageRecord again = seen;
    again.created_at_ms = r.created_at_ms;
    std::vector<MessageRecord> records = {again};
    AddReceipt(outbox, again, "", records);
    LogEvent("received erasure_request " + seen.id + " again from " + r.sender +
             ", sealed anew: confirming the erasure again");
    NRM_RETURN_IF_ERROR(store.WriteTombstone(*tomb, records));
  }
  NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
  return true;
}

Result<std::optional<Tombstone>> FindTombstone(AgentStore& store, const std::string& key) {
  if (key.size() < 6) return std::optional<Tombstone>();
  NRM_ASSIGN_OR_RETURN(std::vector<Tombstone> all, store.Tombstones());
  for (Tombstone& t : all) {
    if (t.ref.rfind(key, 0) == 0) return std::optional<Tombstone>(std::move(t));
  }
  return std::optional<Tombstone>();
}

std::string DescribeTombstone(const Tombstone& t) {
  std::string out = "case " + t.ref + ": ERASED at " + FormatTimeUtc(t.at_ms) + " by " +
                    t.erased_by + (t.reason.empty() ? "" : ": " + t.reason) + "\n" +
                    "  its key is destroyed and its records deleted here" +
                    (t.compacted ? " (store compacted)" : " (compaction pending)") + "\n";
  for (const std::string& a : t.asked) {
    auto done = std::find_if(t.confirmed.begin(), t.confirmed.end(),
                             [&](const std::string& c) { return c.rfind(a + " at ", 0) == 0; });
    out += "  " + a + ": " +
           (done != t.confirmed.end() ? "erased, signed receipt " + done->substr(a.size() + 1)
                                      : "NOT CONFIRMED yet") +
           "\n";
  }
  return out;
}

json::Json TombstoneJson(const Tombstone& t) {
  json::Json pending = json::Json::array();
  for (const std::string& a : t.asked) {
    const bool done =
        std::any_of(t.confirmed.begin(), t.confirmed.end(),
                    [&](const std::string& c) { return c.rfind(a + " at ", 0) == 0; });
    if (!done) pending.push_back(a);
  }
  return {{"case", t.ref},
          {"state", "erased"},
          {"erased_at", FormatTimeUtc(t.at_ms)},
          {"erased_by", t.erased_by},
          {"reason", t.reason},
          {"asked", t.asked},
          {"confirmed", t.confirmed},
          {"not_confirmed", pending},
          {"compacted", t.compacted}};
}

}  // namespace nrm::agent
