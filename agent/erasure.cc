#include "agent/erasure.h"

#include <algorithm>

#include "agent/words.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

// Seals a message of `kind` on erased (or being erased) case `ref` to `to`: its payload is a
// decision only, never personal data. Returns the records to store with the tombstone.
Result<std::vector<MessageRecord>> Compose(Agent& agent, const std::string& ref, wire::Kind kind,
                                           const std::vector<std::string>& to,
                                           const std::string& decision, const std::string& note,
                                           const std::string& in_reply_to) {
  NRM_ASSIGN_OR_RETURN(Bytes payload, EditPayload({}, [&](payload::PayloadT& t) {
                         Decision(t).decision = decision;
                         Decision(t).reason = note;
                       }));
  Agent::StepFields f;
  if (!in_reply_to.empty()) {
    NRM_ASSIGN_OR_RETURN(f.in_reply_to, FromHex(in_reply_to));
  }
  NRM_ASSIGN_OR_RETURN(Bytes case_ref, FromHex(ref));
  NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                       agent.SealStep(to, kind, case_ref, wire::Handling::H0, payload, f));
  std::vector<MessageRecord> out;
  for (const wire::Sealed& s : sealed) {
    NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(s.frame));
    MessageRecord m;
    m.id = ToHex(s.message_id);
    m.direction = "out";
    m.kind = std::string(wire::KindName(kind));
    m.from = agent.agency();
    for (std::string_view r : env.recipients()) m.to.emplace_back(r);
    m.case_ref = ref;
    m.in_reply_to = in_reply_to;
    m.created_at_ms = env.created_at_ms();
    m.state = "pending";
    m.note = note;
    m.frame = s.frame;
    m.payload = payload;
    m.sections = {"decision"};
    out.push_back(std::move(m));
  }
  return out;
}

Status Submit(Outbox& outbox, const std::vector<MessageRecord>& sent) {
  for (const MessageRecord& m : sent) NRM_RETURN_IF_ERROR(outbox.TrySubmit(m.id, 3000));
  return Status::Ok();
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
    NRM_ASSIGN_OR_RETURN(requests, Compose(agent, c.ref, wire::Kind::ErasureRequest, c.parties,
                                           "erase", reason, ""));
    for (const MessageRecord& m : requests) t.requests.push_back(m.id);
  }
  CrashPointForTesting("erase:before-write");
  NRM_RETURN_IF_ERROR(store.Erase(t, requests));
  NRM_RETURN_IF_ERROR(Submit(outbox, requests));
  NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> now, store.GetTombstone(c.ref));
  return now ? *now : t;
}

Result<bool> HandleErasure(Agent& agent, AgentStore& store, Outbox& outbox, const Received& r) {
  if (r.type != Received::Type::kMessage) return false;
  const std::string ref = ToHex(r.case_ref);
  NRM_ASSIGN_OR_RETURN(std::optional<Tombstone> tomb, store.GetTombstone(ref));
  const bool request = r.kind == wire::Kind::ErasureRequest;
  if (!tomb && !request) return false;
  std::string note;
  if (Result<const payload::Payload*> p = wire::VerifyPayload(r.payload.view());
      p.ok() && (*p)->decision() && (*p)->decision()->reason()) {
    note = (*p)->decision()->reason()->str();
  }
  // What is kept of it: who sent what, when; never its payload.
  MessageRecord m;
  m.id = ToHex(r.message_id);
  m.direction = "in";
  m.kind = std::string(wire::KindName(r.kind));
  m.from = r.sender;
  m.to = r.recipients;
  m.case_ref = ref;
  m.in_reply_to = ToHex(r.in_reply_to);
  m.created_at_ms = r.created_at_ms;
  m.state = "read";
  m.note = note;
  if (request) {
    if (!tomb) {
      NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store.GetCase(ref));
      Tombstone t;
      t.ref = ref;
      t.at_ms = SystemClock::Get().NowMillis();
      t.erased_by = "erasure request of " + r.sender;
      t.reason = note;
      (void)c;  // erased whether or not a case record is here: its messages may be
      NRM_RETURN_IF_ERROR(store.Erase(t, {m}));
      NRM_ASSIGN_OR_RETURN(tomb, store.GetTombstone(ref));
    }
    NRM_RETURN_IF_ERROR(agent.Acknowledge(r.message_id));
    // Erased (and compacted) before it is confirmed: the signed receipt says it is done.
    NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> receipt,
                         Compose(agent, ref, wire::Kind::Receipt, {r.sender}, "erased",
                                 "erased every record of the case and its key", m.id));
    NRM_RETURN_IF_ERROR(store.WriteTombstone(*tomb, receipt));
    NRM_RETURN_IF_ERROR(Submit(outbox, receipt));
    return true;
  }
  NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> answered, store.GetMessage(m.in_reply_to));
  if (r.kind == wire::Kind::Receipt && answered && answered->kind == "erasure_request") {
    AddUnique(tomb->confirmed, r.sender + " at " + FormatTimeUtc(r.created_at_ms));
    AddUnique(answered->receipts, m.id);
    NRM_RETURN_IF_ERROR(store.WriteTombstone(*tomb, {m, *answered}));
  }
  // Anything else for an erased case is dropped: acknowledged, never stored.
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
