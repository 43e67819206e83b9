#include "agent/daemon.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>

#include "agent/case_file.h"
#include "agent/workflow.h"
#include "audit/json.h"
#include "common/args.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kSubmitTimeoutMs = 3000;
constexpr auto kResendEvery = std::chrono::seconds(2);

std::string JsonList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + audit::json::Quote(v[i]);
  return out + "]";
}

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::string Short(const std::string& hex) { return hex.substr(0, 12); }

CommandOutput Usage(const std::string& what) { return {2, "", what + "\n"}; }
CommandOutput Refused(const Status& s) { return {1, "", s.message() + "\n"}; }

// Builds a payload: `base` (may be empty) with `edit` applied to its object form.
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

// OK for an error that concerns one message (logged; the daemon goes on), the error itself when
// the store failed (the daemon stops: nothing may be acknowledged that was not stored).
Status Survivable(const Status& s) {
  if (s.ok()) return s;
  if (s.code() == Code::kIOError || s.code() == Code::kCorruption ||
      s.code() == Code::kResourceExhausted) {
    return s;
  }
  std::fprintf(stderr, "nrm-agent: %s\n", s.ToString().c_str());
  return Status::Ok();
}

}  // namespace

std::string ControlPath(const AgentConfig& config) { return config.data_dir + "/control"; }

struct Daemon::Impl {
  Daemon& d;
  const bool json;
  std::ostringstream out;
  bool unanswered = false;  // the last Submit got no answer from the broker

  Agent& agent() { return *d.agent_; }
  AgentStore& store() { return *d.store_; }
  const std::string& self() { return d.config_.agency; }
  int64_t Now() { return SystemClock::Get().NowMillis(); }

  std::string RoleOf(const std::string& id) {
    const identity::Agency* a = agent().directory().Find(id);
    return a ? a->role : "";
  }

  // ---- resolving what people type -------------------------------------------------------

  // A message by its id or a unique prefix of at least 6 hex digits.
  Result<MessageRecord> FindMessage(const std::string& id) {
    if (id.size() < 6) return InvalidArgument("give at least 6 hex digits of the message id");
    NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> all, store().Messages());
    const MessageRecord* found = nullptr;
    for (const MessageRecord& m : all) {
      if (m.id.rfind(id, 0) != 0) continue;
      if (found != nullptr) return InvalidArgument("message id " + id + " is ambiguous");
      found = &m;
    }
    if (found == nullptr) return NotFound("no message " + id + " here (see: inbox, outbox)");
    return *found;
  }

  // A case by its reference, a unique prefix of it (6+ hex digits), or its local label.
  Result<CaseRecord> FindCase(const std::string& key) {
    NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> all, store().Cases());
    const CaseRecord* found = nullptr;
    for (const CaseRecord& c : all) {
      const bool match =
          (!c.label.empty() && c.label == key) || (key.size() >= 6 && c.ref.rfind(key, 0) == 0);
      if (!match) continue;
      if (found != nullptr) return InvalidArgument("case " + key + " is ambiguous");
      found = &c;
    }
    if (found == nullptr) return NotFound("no case " + key + " here (see: cases)");
    return *found;
  }

  // ---- sending a step -------------------------------------------------------------------

  struct StepRequest {
    wire::Kind kind = wire::Kind::Unknown;
    std::vector<std::string> to;
    Bytes payload;
    std::string in_reply_to;  // hex
    std::string override_reason;
    wire::Handling handling = wire::Handling::H0;
    std::string note;  // for the timeline
    bool check_state = true;
  };

  // Checks the transition and the consent, seals, stores in the outbox with the case, then
  // tries to hand each envelope to the broker. The case is updated in `c`.
  Result<std::vector<MessageRecord>> TakeStep(CaseRecord& c, StepRequest r) {
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
      const identity::Agency* a = agent().directory().Find(to);
      if (a == nullptr) return NotFound("recipient " + to + " is not in the directory");
      std::vector<std::string> sections;
      for (const std::string& s : agent().SectionsFor(a->role)) {
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
                         agent().SealStep(r.to, r.kind, ref, r.handling, r.payload, f));
    std::vector<MessageRecord> records;
    for (const wire::Sealed& s : sealed) {
      NRM_ASSIGN_OR_RETURN(wire::EnvelopeView env, wire::DecodeEnvelope(s.frame));
      MessageRecord m;
      m.id = ToHex(s.message_id);
      m.direction = "out";
      m.kind = std::string(wire::KindName(r.kind));
      m.from = self();
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
          {m.created_at_ms, m.id, m.kind, self(), Join(m.to, ","), c.state, m.note});
    }
    NRM_RETURN_IF_ERROR(store().Write(records, {c}));
    for (MessageRecord& m : records) {
      if (Status s = TrySubmit(m.id, kSubmitTimeoutMs); !s.ok()) return s;
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> now, store().GetMessage(m.id));
      if (now) m = *now;
    }
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> now, store().GetCase(c.ref));
    if (now) c = *now;
    return records;
  }

  // Hands one outbox message to the broker once. Not connected or no answer: it stays in the
  // outbox. Errors are only those of the store.
  Status TrySubmit(const std::string& id, int timeout_ms) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store().GetMessage(id));
    if (!m || m->state != "pending" || !agent().connected()) return Status::Ok();
    // Count the attempt before making it: after a crash, already_exists then means accepted.
    m->attempts++;
    NRM_RETURN_IF_ERROR(store().Write({*m}, {}));
    NRM_ASSIGN_OR_RETURN(Bytes mid, FromHex(m->id));
    Result<SendOutcome> got =
        agent().Submit(wire::Sealed{mid, m->frame}, timeout_ms, m->attempts > 1);
    if (!got.ok()) {  // no answer: resend later
      unanswered = true;
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
      NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store().GetCase(m->case_ref));
      if (c && m->kind != "receipt") {
        if (!c->timeline.empty() && c->timeline.back().message_id == m->id) {
          c->state = m->prev_state;  // the step did not happen
        }
        c->timeline.push_back({Now(), m->id, m->kind, "broker", self(), c->state,
                               "REFUSED by the broker: " + m->note});
        cases.push_back(*c);
      }
    }
    return store().Write({*m}, cases);
  }

  Status RetryOutbox() {
    NRM_ASSIGN_OR_RETURN(std::vector<std::string> pending, store().PendingOutbox());
    unanswered = false;
    for (const std::string& id : pending) {
      NRM_RETURN_IF_ERROR(TrySubmit(id, kSubmitTimeoutMs));
      // The broker is away: keep the rest for the next round rather than waiting on each,
      // so that people's commands are answered meanwhile.
      if (unanswered) break;
    }
    return Status::Ok();
  }

  // ---- receiving ------------------------------------------------------------------------

  Status OnDelivery(Received r) {
    const std::string id = ToHex(r.message_id);
    if (r.type == Received::Type::kExpiryNotice) {
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store().GetMessage(id));
      if (m) {
        m->note = "EXPIRED: never acknowledged by " + r.recipients[0];
        NRM_RETURN_IF_ERROR(store().Write({*m}, {}));
      }
      return agent().Acknowledge(r.message_id);
    }
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> seen, store().GetMessage(id));
    if (seen) return agent().Acknowledge(r.message_id);  // a repeat: stored already
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
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> known, store().GetCase(m.case_ref));
    CaseRecord c = known ? *known : CaseRecord{};
    if (!known) c.ref = m.case_ref;
    std::vector<MessageRecord> records;
    if (r.kind == wire::Kind::Receipt) {
      NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> step, store().GetMessage(m.in_reply_to));
      std::string what = "signed receipt from " + r.sender;
      if (step) {
        AddUnique(step->receipts, m.id);
        records.push_back(*step);
        what += " for " + step->kind + " " + Short(step->id);
      }
      c.timeline.push_back({Now(), m.id, m.kind, r.sender, self(), c.state, what});
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
      if (r.consent_override) note += (note.empty() ? "" : "; ") + std::string("consent override");
      AddUnique(c.parties, r.sender);
      for (const std::string& to : r.recipients) {
        if (to != self()) AddUnique(c.parties, to);
      }
      c.timeline.push_back({Now(), m.id, m.kind, r.sender, self(), c.state, note});
    }
    records.push_back(m);
    NRM_RETURN_IF_ERROR(store().Write(records, {c}));  // stored (synced) before the ACK
    NRM_RETURN_IF_ERROR(agent().Acknowledge(r.message_id));
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
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> fresh, store().GetCase(c.ref));
    CaseRecord cc = fresh ? *fresh : c;
    Result<std::vector<MessageRecord>> sent = TakeStep(cc, std::move(rr));
    return sent.status();
  }

  // ---- output ---------------------------------------------------------------------------

  std::string CaseName(const std::string& ref) {
    Result<std::optional<CaseRecord>> c = store().GetCase(ref);
    if (c.ok() && *c && !(**c).label.empty()) return (**c).label + " (" + Short(ref) + ")";
    return Short(ref);
  }

  void PrintSent(const CaseRecord& c, const std::vector<MessageRecord>& sent) {
    if (json) {
      out << "{\"case\":" << audit::json::Quote(c.ref)
          << ",\"label\":" << audit::json::Quote(c.label)
          << ",\"state\":" << audit::json::Quote(c.state) << ",\"messages\":[";
      for (size_t i = 0; i < sent.size(); ++i) {
        const MessageRecord& m = sent[i];
        out << (i ? "," : "") << "{\"message_id\":" << audit::json::Quote(m.id)
            << ",\"kind\":" << audit::json::Quote(m.kind) << ",\"to\":" << JsonList(m.to)
            << ",\"status\":" << audit::json::Quote(m.state)
            << ",\"consent_override\":" << (m.consent_override ? "true" : "false")
            << ",\"note\":" << audit::json::Quote(m.note) << "}";
      }
      out << "]}\n";
      return;
    }
    out << "case " << c.ref << (c.label.empty() ? "" : " (" + c.label + ")") << " is now "
        << c.state << "\n";
    for (const MessageRecord& m : sent) {
      out << "  " << m.kind << " " << m.id << " to " << Join(m.to) << ": ";
      if (m.state == "accepted") {
        out << "accepted by the broker (" << m.broker_receipt << ")";
      } else if (m.state == "pending") {
        out << "queued: the broker has not answered yet; the agent resends until it accepts";
      } else {
        out << "REFUSED by the broker: " << m.note;
      }
      if (m.consent_override) out << "\n    shared without consent: " << m.note;
      out << "\n";
    }
  }

  CommandOutput Done(const CaseRecord& c, const std::vector<MessageRecord>& sent) {
    PrintSent(c, sent);
    const bool refused =
        std::any_of(sent.begin(), sent.end(), [](const auto& m) { return m.state == "refused"; });
    return {refused ? 1 : 0, out.str(), ""};
  }

  // ---- commands -------------------------------------------------------------------------

  Result<Bytes> ReadCaseFile(const Args& args, bool required) {
    std::optional<std::string> file = args.Get("file");
    if (!file) {
      if (required) return InvalidArgument("missing --file FILE.json");
      return Bytes();
    }
    NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(*file));
    return ParseCaseFile(text, *file);
  }

  Result<wire::Handling> HandlingOf(const Args& args) {
    return wire::HandlingFromName(args.Get("handling").value_or("H0"));
  }

  // offer / request-repatriation: starts (or re-offers) a case with a case file.
  CommandOutput Open(const Args& args, wire::Kind kind) {
    auto to = args.Require("to");
    if (!to.ok()) return Usage(to.status().message());
    Result<Bytes> payload = ReadCaseFile(args, true);
    if (!payload.ok()) return Usage(payload.status().message());
    Result<wire::Handling> handling = HandlingOf(args);
    if (!handling.ok()) return Usage(handling.status().message());
    CaseRecord c;
    std::string in_reply_to;
    if (auto key = args.Get("case")) {
      Result<CaseRecord> found = FindCase(*key);
      if (!found.ok()) return Refused(found.status());
      c = *found;
      if (!c.timeline.empty()) in_reply_to = c.timeline.back().message_id;
    } else {
      // A new case: a random reference, which says nothing about the person. Every party
      // learns it from the envelope, so the case has the same reference everywhere.
      c.ref = ToHex(crypto::RandomBytes(wire::kCaseRefBytes));
    }
    if (auto label = args.Get("label")) c.label = *label;
    StepRequest r;
    r.kind = kind;
    r.to = Split(*to);
    r.payload = std::move(*payload);
    r.in_reply_to = in_reply_to;
    r.override_reason = args.Get("override").value_or("");
    r.handling = *handling;
    Result<std::vector<MessageRecord>> sent = TakeStep(c, std::move(r));
    if (!sent.ok()) return Refused(sent.status());
    return Done(c, *sent);
  }

  // A step that answers message ID (accept, decline, confirm-handover, respond) or withdraws
  // it (revoke): to the other side of that message.
  CommandOutput Answer(const Args& args, wire::Kind kind,
                       const std::function<Status(const Args&, payload::PayloadT&)>& fill) {
    if (args.positional().size() != 2) return Usage("give the message id: ID");
    Result<MessageRecord> m = FindMessage(args.positional()[1]);
    if (!m.ok()) return Refused(m.status());
    Result<CaseRecord> c = FindCase(m->case_ref);
    if (!c.ok()) return Refused(c.status());
    Result<Bytes> base = ReadCaseFile(args, false);
    if (!base.ok()) return Usage(base.status().message());
    Status filled = Status::Ok();
    Result<Bytes> payload =
        EditPayload(*base, [&](payload::PayloadT& t) { filled = fill(args, t); });
    if (!filled.ok()) return Usage(filled.message());
    if (!payload.ok()) return Refused(payload.status());
    StepRequest r;
    r.kind = kind;
    r.to = m->direction == "in" ? std::vector<std::string>{m->from} : m->to;
    r.payload = std::move(*payload);
    r.in_reply_to = m->id;
    r.override_reason = args.Get("override").value_or("");
    Result<wire::Handling> handling = HandlingOf(args);
    if (!handling.ok()) return Usage(handling.status().message());
    r.handling = *handling;
    Result<payload::Payload const*> p = wire::VerifyPayload(r.payload);
    if (p.ok() && (*p)->decision() && (*p)->decision()->reason()) {
      r.note = (*p)->decision()->reason()->str();
    }
    Result<std::vector<MessageRecord>> sent = TakeStep(*c, std::move(r));
    if (!sent.ok()) return Refused(sent.status());
    return Done(*c, *sent);
  }

  // A step on CASE to --to recipients (or every party on the case when --to is absent and
  // `all_parties` is true).
  CommandOutput OnCase(const Args& args, wire::Kind kind, bool all_parties,
                       const std::function<Status(const Args&, payload::PayloadT&)>& fill) {
    if (args.positional().size() != 2) return Usage("give the case: CASE (reference or label)");
    Result<CaseRecord> c = FindCase(args.positional()[1]);
    if (!c.ok()) return Refused(c.status());
    std::vector<std::string> to;
    if (auto t = args.Get("to")) {
      to = Split(*t);
    } else if (all_parties) {
      to = c->parties;
    } else {
      return Usage("missing --to AGENCY[,AGENCY...]");
    }
    Result<Bytes> base = ReadCaseFile(args, false);
    if (!base.ok()) return Usage(base.status().message());
    Status filled = Status::Ok();
    Result<Bytes> payload =
        EditPayload(*base, [&](payload::PayloadT& t) { filled = fill(args, t); });
    if (!filled.ok()) return Usage(filled.message());
    if (!payload.ok()) return Refused(payload.status());
    StepRequest r;
    r.kind = kind;
    r.to = to;
    r.payload = std::move(*payload);
    r.in_reply_to = c->timeline.empty() ? "" : c->timeline.back().message_id;
    r.override_reason = args.Get("override").value_or("");
    r.note =
        args.Get("reason").value_or(args.Get("outcome").value_or(args.Get("note").value_or("")));
    Result<wire::Handling> handling = HandlingOf(args);
    if (!handling.ok()) return Usage(handling.status().message());
    r.handling = *handling;
    Result<std::vector<MessageRecord>> sent = TakeStep(*c, std::move(r));
    if (!sent.ok()) return Refused(sent.status());
    return Done(*c, *sent);
  }

  CommandOutput Inbox(const Args& args) {
    Result<std::vector<MessageRecord>> all = store().Messages();
    if (!all.ok()) return Refused(all.status());
    const bool everything = args.Has("all");
    if (json) out << "[";
    bool first = true;
    int shown = 0;
    for (const MessageRecord& m : *all) {
      if (m.direction != "in" || m.kind == "receipt") continue;
      if (!everything && m.state != "new") continue;
      ++shown;
      if (json) {
        out << (first ? "" : ",") << "{\"message_id\":" << audit::json::Quote(m.id)
            << ",\"kind\":" << audit::json::Quote(m.kind)
            << ",\"from\":" << audit::json::Quote(m.from)
            << ",\"case\":" << audit::json::Quote(m.case_ref)
            << ",\"status\":" << audit::json::Quote(m.state)
            << ",\"received\":" << audit::json::Quote(FormatTimeUtc(m.created_at_ms)) << "}";
      } else {
        out << m.id << "  " << m.kind << "  from " << m.from << "  case " << CaseName(m.case_ref)
            << "  " << FormatTimeUtc(m.created_at_ms) << (m.state == "new" ? "  NEW" : "") << "\n";
      }
      first = false;
    }
    if (json) {
      out << "]\n";
    } else if (shown == 0) {
      out << (everything ? "no messages\n" : "no new messages (inbox --all shows read ones)\n");
    }
    return {0, out.str(), ""};
  }

  CommandOutput Outbox() {
    Result<std::vector<MessageRecord>> all = store().Messages();
    if (!all.ok()) return Refused(all.status());
    if (json) out << "[";
    bool first = true;
    for (const MessageRecord& m : *all) {
      if (m.direction != "out") continue;
      if (json) {
        out << (first ? "" : ",") << "{\"message_id\":" << audit::json::Quote(m.id)
            << ",\"kind\":" << audit::json::Quote(m.kind) << ",\"to\":" << JsonList(m.to)
            << ",\"case\":" << audit::json::Quote(m.case_ref)
            << ",\"status\":" << audit::json::Quote(m.state) << ",\"attempts\":" << m.attempts
            << ",\"receipts\":" << JsonList(m.receipts)
            << ",\"note\":" << audit::json::Quote(m.note) << "}";
      } else {
        out << m.id << "  " << m.kind << "  to " << Join(m.to) << "  " << m.state << "  "
            << m.receipts.size() << " signed receipt(s)" << (m.note.empty() ? "" : "  " + m.note)
            << "\n";
      }
      first = false;
    }
    if (json) out << "]\n";
    return {0, out.str(), ""};
  }

  CommandOutput Show(const Args& args) {
    if (args.positional().size() != 2) return Usage("give the message id: show ID");
    Result<MessageRecord> m = FindMessage(args.positional()[1]);
    if (!m.ok()) return Refused(m.status());
    Result<std::string> payload = wire::PayloadToJson(m->payload);
    std::string text = payload.ok() ? *payload : "null";
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (json) {
      out << "{\"message_id\":" << audit::json::Quote(m->id)
          << ",\"direction\":" << audit::json::Quote(m->direction)
          << ",\"kind\":" << audit::json::Quote(m->kind)
          << ",\"from\":" << audit::json::Quote(m->from) << ",\"to\":" << JsonList(m->to)
          << ",\"case\":" << audit::json::Quote(m->case_ref)
          << ",\"in_reply_to\":" << audit::json::Quote(m->in_reply_to)
          << ",\"created_at\":" << audit::json::Quote(FormatTimeUtc(m->created_at_ms))
          << ",\"consent_override\":" << (m->consent_override ? "true" : "false")
          << ",\"status\":" << audit::json::Quote(m->state)
          << ",\"receipts\":" << JsonList(m->receipts)
          << ",\"broker_receipt\":" << audit::json::Quote(m->broker_receipt)
          << ",\"payload\":" << text << "}\n";
    } else {
      out << "message " << m->id << " (" << (m->direction == "in" ? "received" : "sent") << ")\n"
          << "  kind      " << m->kind << "\n"
          << "  from      " << m->from << "\n"
          << "  to        " << Join(m->to) << "\n"
          << "  case      " << CaseName(m->case_ref) << "\n"
          << "  created   " << FormatTimeUtc(m->created_at_ms) << "\n";
      if (!m->in_reply_to.empty()) out << "  answers   " << m->in_reply_to << "\n";
      if (m->consent_override) out << "  CONSENT OVERRIDE (shared without the person's consent)\n";
      out << "  status    " << m->state << (m->note.empty() ? "" : ": " + m->note) << "\n";
      if (!m->broker_receipt.empty()) out << "  broker    " << m->broker_receipt << "\n";
      for (const std::string& r : m->receipts) out << "  receipt   " << r << " (signed)\n";
      out << "  payload   " << text << "\n";
    }
    if (m->direction == "in" && m->state == "new") {
      m->state = "read";
      if (Status s = store().Write({*m}, {}); !s.ok()) return Refused(s);
    }
    return {0, out.str(), ""};
  }

  CommandOutput Cases() {
    Result<std::vector<CaseRecord>> all = store().Cases();
    if (!all.ok()) return Refused(all.status());
    if (json) out << "[";
    for (size_t i = 0; i < all->size(); ++i) {
      const CaseRecord& c = (*all)[i];
      const std::string consent = !c.consent ? "none" : c.consent->revoked ? "revoked" : "recorded";
      if (json) {
        out << (i ? "," : "") << "{\"case\":" << audit::json::Quote(c.ref)
            << ",\"label\":" << audit::json::Quote(c.label)
            << ",\"state\":" << audit::json::Quote(c.state)
            << ",\"parties\":" << JsonList(c.parties)
            << ",\"consent\":" << audit::json::Quote(consent)
            << ",\"next\":" << JsonList(AllowedFrom(c.state)) << "}";
      } else {
        out << c.ref << "  " << (c.label.empty() ? "-" : c.label) << "  " << c.state << "  with "
            << Join(c.parties) << "  consent " << consent
            << "  next: " << Join(AllowedFrom(c.state)) << "\n";
      }
    }
    if (json) out << "]\n";
    if (!json && all->empty()) out << "no cases\n";
    return {0, out.str(), ""};
  }

  CommandOutput Timeline(const Args& args) {
    if (args.positional().size() != 2) return Usage("give the case: timeline CASE");
    Result<CaseRecord> c = FindCase(args.positional()[1]);
    if (!c.ok()) return Refused(c.status());
    if (json) {
      out << "{\"case\":" << audit::json::Quote(c->ref)
          << ",\"state\":" << audit::json::Quote(c->state) << ",\"steps\":[";
      for (size_t i = 0; i < c->timeline.size(); ++i) {
        const TimelineStep& s = c->timeline[i];
        out << (i ? "," : "") << "{\"at\":" << audit::json::Quote(FormatTimeUtc(s.at_ms))
            << ",\"message_id\":" << audit::json::Quote(s.message_id)
            << ",\"kind\":" << audit::json::Quote(s.kind)
            << ",\"from\":" << audit::json::Quote(s.from) << ",\"to\":" << audit::json::Quote(s.to)
            << ",\"state\":" << audit::json::Quote(s.state)
            << ",\"note\":" << audit::json::Quote(s.note) << "}";
      }
      out << "]}\n";
    } else {
      out << "case " << c->ref << (c->label.empty() ? "" : " (" + c->label + ")") << ": "
          << c->state << "\n";
      for (const TimelineStep& s : c->timeline) {
        out << "  " << FormatTimeUtc(s.at_ms) << "  " << s.kind << "  " << s.from << " -> " << s.to
            << "  => " << s.state << "  [" << Short(s.message_id) << "]"
            << (s.note.empty() ? "" : "  " + s.note) << "\n";
      }
    }
    return {0, out.str(), ""};
  }

  CommandOutput Run(const std::vector<std::string>& words) {
    Result<Args> parsed =
        Args::Parse(words,
                    {"to", "file", "case", "label", "override", "handling", "reason", "outcome",
                     "note", "family-found", "reception-agency", "date", "border-point"},
                    {"json", "all"});
    if (!parsed.ok()) return Usage(parsed.status().message());
    const Args& args = *parsed;
    if (args.positional().empty()) return Usage("no command");
    const std::string& cmd = args.positional()[0];
    auto none = [](const Args&, payload::PayloadT&) { return Status::Ok(); };
    auto decide = [](std::string decision, std::string reason_flag, bool reason_required) {
      return [=](const Args& a, payload::PayloadT& t) {
        Decision(t).decision = decision;
        auto reason = a.Get(reason_flag);
        if (reason_required && !reason) return InvalidArgument("missing --" + reason_flag);
        if (reason) Decision(t).reason = *reason;
        if (auto note = a.Get("note")) Decision(t).note = *note;
        return Status::Ok();
      };
    };
    using K = wire::Kind;
    if (cmd == "inbox") return Inbox(args);
    if (cmd == "outbox") return Outbox();
    if (cmd == "show") return Show(args);
    if (cmd == "cases") return Cases();
    if (cmd == "timeline") return Timeline(args);
    if (cmd == "offer") return Open(args, K::ReferralOffer);
    if (cmd == "request-repatriation") return Open(args, K::RepatriationRequest);
    if (cmd == "accept")
      return Answer(args, K::ReferralAccept, decide("accepted", "reason", false));
    if (cmd == "decline")
      return Answer(args, K::ReferralDecline, decide("rejected", "reason", true));
    if (cmd == "confirm-handover") {
      return Answer(args, K::HandoverConfirmed, decide("handover_confirmed", "reason", false));
    }
    if (cmd == "revoke") return Answer(args, K::ReferralRevoke, decide("revoked", "reason", true));
    if (cmd == "respond") {
      return Answer(args, K::RepatriationResponse, [](const Args& a, payload::PayloadT& t) {
        Decision(t).decision = "responded";
        if (auto note = a.Get("note")) Decision(t).note = *note;
        auto found = a.Get("family-found");
        auto agency = a.Get("reception-agency");
        if (found || agency) {
          if (!t.repatriation) t.repatriation = std::make_unique<payload::RepatriationSectionT>();
          if (found) {
            if (*found != "yes" && *found != "no") {
              return InvalidArgument("--family-found takes yes or no");
            }
            t.repatriation->family_found = *found == "yes";
          }
          if (agency) t.repatriation->reception_agency = *agency;
        }
        if (!t.repatriation) {
          return InvalidArgument(
              "say whether the family was found: --family-found yes|no "
              "[--reception-agency AGENCY], or give --file response.json");
        }
        return Status::Ok();
      });
    }
    if (cmd == "close") {
      return OnCase(args, K::CaseClose, true, [](const Args& a, payload::PayloadT& t) {
        auto outcome = a.Get("outcome");
        if (!outcome) return InvalidArgument("missing --outcome (success, or why not)");
        Decision(t).decision = "done";
        Decision(t).outcome = *outcome;
        if (auto reason = a.Get("reason")) Decision(t).reason = *reason;
        if (!t.case_) t.case_ = std::make_unique<payload::CaseSectionT>();
        t.case_->status = "Closed";
        return Status::Ok();
      });
    }
    if (cmd == "travel-documents") {
      return OnCase(args, K::TravelDocuments, false, decide("travel_documents", "note", false));
    }
    if (cmd == "schedule-return") {
      return OnCase(args, K::ReturnScheduled, false, [](const Args& a, payload::PayloadT& t) {
        auto date = a.Get("date");
        auto point = a.Get("border-point");
        if (!date || !point) return InvalidArgument("missing --date YYYY-MM-DD --border-point P");
        if (!t.repatriation) t.repatriation = std::make_unique<payload::RepatriationSectionT>();
        t.repatriation->proposed_date = *date;
        t.repatriation->border_point = *point;
        Decision(t).decision = "return_scheduled";
        return Status::Ok();
      });
    }
    if (cmd == "complete-return") {
      return OnCase(args, K::ReturnCompleted, false, decide("return_completed", "note", false));
    }
    if (cmd == "followup") {
      return OnCase(args, K::ReintegrationFollowUp, false,
                    decide("reintegration_followup", "note", false));
    }
    if (cmd == "share") {
      // A status update that brings a party into the case; it tells them the state.
      return OnCase(args, K::StatusUpdate, false, [this, &args](const Args&, payload::PayloadT& t) {
        Result<CaseRecord> c = FindCase(args.positional()[1]);
        Decision(t).decision = c.ok() ? c->state : "";
        if (auto note = args.Get("note")) Decision(t).note = *note;
        return Status::Ok();
      });
    }
    if (cmd == "revoke-consent") {
      return OnCase(args, K::ConsentRevoke, true, decide("consent_revoked", "reason", true));
    }
    (void)none;
    return Usage("unknown command '" + cmd + "'");
  }
};

Daemon::~Daemon() {
  if (store_) (void)store_->Close();
}

Result<std::unique_ptr<Daemon>> Daemon::Open(const AgentConfig& config,
                                             const std::string& passphrase) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Agent::Load(config, SystemClock::Get()));
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes key, LoadOrCreateLocalKey(config.data_dir, passphrase));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<AgentStore> store,
                       AgentStore::Open(config.data_dir, std::move(key)));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::ControlServer> control,
                       transport::ControlServer::Bind(ControlPath(config)));
  return std::unique_ptr<Daemon>(
      new Daemon(config, std::move(agent), std::move(store), std::move(control)));
}

CommandOutput Daemon::Handle(const std::vector<std::string>& words) {
  const bool json = std::find(words.begin(), words.end(), "--json") != words.end();
  Impl impl{*this, json, {}, false};
  return impl.Run(words);
}

Status Daemon::Run(const std::atomic<bool>& stop) {
  Impl impl{*this, false, {}, false};
  auto next_connect = SteadyClock::now();
  auto next_greet = SteadyClock::now();
  auto next_resend = SteadyClock::now();
  while (!stop.load()) {
    // Connected or not: an idle agent must not keep an epoch key past its hour.
    agent_->WipeExpiredEpochKey();
    const auto now = SteadyClock::now();
    if (!agent_->connected() && now >= next_connect) {
      if (agent_->Connect(1000).ok()) next_resend = now;
      next_connect = SteadyClock::now() + std::chrono::seconds(1);
    }
    NRM_ASSIGN_OR_RETURN(std::optional<transport::Frames> request,
                         control_->Receive(agent_->connected() ? 10 : 100));
    if (request) {
      std::vector<std::string> words;
      for (const Bytes& f : *request) words.emplace_back(AsChars(f));
      CommandOutput o = Handle(words);
      NRM_RETURN_IF_ERROR(control_->Reply({transport::Frame(std::to_string(o.code)),
                                           transport::Frame(o.out), transport::Frame(o.err)}));
    }
    if (!agent_->connected()) continue;
    Result<std::optional<Received>> got = agent_->ReceiveQuietly(20);
    if (got.ok() && *got) {
      NRM_RETURN_IF_ERROR(Survivable(impl.OnDelivery(std::move(**got))));
    } else if (!got.ok()) {
      std::fprintf(stderr, "nrm-agent: %s\n", got.status().ToString().c_str());
    }
    if (SteadyClock::now() >= next_greet) {
      (void)agent_->Greet();  // restores a session the broker closed (restart, revocation)
      next_greet = SteadyClock::now() + std::chrono::seconds(1);
    }
    if (SteadyClock::now() >= next_resend) {
      NRM_RETURN_IF_ERROR(Survivable(impl.RetryOutbox()));
      next_resend = SteadyClock::now() + kResendEvery;
    }
  }
  return store_->Close();
}

}  // namespace nrm::agent
