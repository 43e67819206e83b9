#include "agent/views.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "agent/disclosure.h"
#include "agent/erasure.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using json::Json;

// A sent step that needs a person: it ended not delivered.
bool NeedsAction(const MessageRecord& m) {
  return m.direction == "out" && m.kind != "receipt" && m.state == kNotDelivered;
}

Json SentJson(const MessageRecord& m) {
  return {{"message_id", m.id},
          {"direction", m.direction},
          {"kind", m.kind},
          {"to", m.to},
          {"case", m.case_ref},
          {"status", m.state},
          {"detail", m.detail},
          {"needs_action", NeedsAction(m)},
          {"attempts", m.attempts},
          {"receipts", m.receipts},
          {"confirmed_by", m.confirmed_by},
          {"sections", m.sections},
          {"withheld", m.withheld},
          {"note", m.note}};
}

std::string SentLine(AgentStore& store, const MessageRecord& m) {
  return m.id + "  " + m.kind + "  to " + Join(m.to) + "  case " + CaseName(store, m.case_ref) +
         "  " + m.state + (m.detail.empty() ? "" : ": " + m.detail) +
         (m.withheld.empty() ? "" : "  withheld by the policy: " + Join(m.withheld)) + "\n";
}

// Inbox: first what needs a person (sent steps not delivered, received steps waiting for an
// earlier one), then the new messages.
CommandOutput ListInbox(const CommandContext& ctx, const Args& args) {
  Result<std::vector<MessageRecord>> all = ctx.store.Messages();
  if (!all.ok()) return Refused(all.status());
  const bool everything = args.Has("all");
  std::ostringstream first, rest;
  Json urgent = Json::array(), list = Json::array();
  for (const MessageRecord& m : *all) {
    if (NeedsAction(m)) {
      if (ctx.json) urgent.push_back(SentJson(m));
      first << "ACTION NEEDED  " << SentLine(ctx.store, m);
      continue;
    }
    if (m.direction != "in" || m.kind == "receipt") continue;
    const bool held = m.state == kHeld;
    if (!everything && m.state != kNew && !held) continue;
    if (ctx.json) {
      (held ? urgent : list)
          .push_back({{"message_id", m.id},
                      {"direction", m.direction},
                      {"kind", m.kind},
                      {"from", m.from},
                      {"case", m.case_ref},
                      {"status", m.state},
                      {"detail", held ? "its sender's earlier step " + Short(m.previous) +
                                            " on the case has not arrived"
                                      : m.detail},
                      {"needs_action", held},
                      {"received", FormatTimeUtc(m.created_at_ms)}});
    }
    std::ostringstream& out = held ? first : rest;
    out << (held ? "WAITING  " : "") << m.id << "  " << m.kind << "  from " << m.from << "  case "
        << CaseName(ctx.store, m.case_ref) << "  " << FormatTimeUtc(m.created_at_ms)
        << (m.state == kNew ? "  NEW"
            : held          ? "  " + m.state
                            : "  " + m.state)
        << "\n";
  }
  if (ctx.json) {
    for (Json& j : list) urgent.push_back(std::move(j));
    return {0, JsonLine(urgent), ""};
  }
  std::string text = first.str() + rest.str();
  if (text.empty()) {
    text = everything ? "no messages\n" : "no new messages (inbox --all shows read ones)\n";
  }
  return {0, text, ""};
}

// Outbox: every step sent, the ones that need action first; receipts only with --all.
CommandOutput ListOutbox(const CommandContext& ctx, const Args& args) {
  Result<std::vector<MessageRecord>> all = ctx.store.Messages();
  if (!all.ok()) return Refused(all.status());
  std::stable_partition(all->begin(), all->end(), NeedsAction);
  std::ostringstream out;
  Json list = Json::array();
  for (const MessageRecord& m : *all) {
    if (m.direction != "out" || (m.kind == "receipt" && !args.Has("all"))) continue;
    if (ctx.json) {
      Json j = SentJson(m);
      j["label"] = CaseLabel(ctx.store, m.case_ref);
      list.push_back(std::move(j));
    } else {
      out << (NeedsAction(m) ? "ACTION NEEDED  " : "") << SentLine(ctx.store, m);
    }
  }
  if (!ctx.json && out.tellp() == 0) out << "nothing sent\n";
  return {0, ctx.json ? JsonLine(list) : out.str(), ""};
}

CommandOutput ShowMessage(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("give the message id: show ID");
  Result<MessageRecord> m = FindMessage(ctx.store, args.positional()[1]);
  if (!m.ok()) return Refused(m.status());
  Result<std::string> payload = wire::PayloadToJson(m->payload);
  std::string text = payload.ok() ? *payload : "null";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::ostringstream out;
  if (ctx.json) {
    out << JsonLine({{"message_id", m->id},
                     {"direction", m->direction},
                     {"kind", m->kind},
                     {"from", m->from},
                     {"to", m->to},
                     {"case", m->case_ref},
                     {"in_reply_to", m->in_reply_to},
                     {"created_at", FormatTimeUtc(m->created_at_ms)},
                     {"consent_override", m->consent_override},
                     {"status", m->state},
                     {"detail", m->detail},
                     {"receipts", m->receipts},
                     {"broker_receipt", m->broker_receipt},
                     {"sections", m->sections},
                     {"withheld", m->withheld}},
                    "payload", text);
  } else {
    out << "message " << m->id << " (" << (m->direction == "in" ? "received" : "sent") << ")\n"
        << "  kind      " << m->kind << "\n"
        << "  from      " << m->from << "\n"
        << "  to        " << Join(m->to) << "\n"
        << "  case      " << CaseName(ctx.store, m->case_ref) << "\n"
        << "  created   " << FormatTimeUtc(m->created_at_ms) << "\n";
    if (!m->in_reply_to.empty()) out << "  answers   " << m->in_reply_to << "\n";
    if (m->consent_override) out << "  CONSENT OVERRIDE (shared without the person's consent)\n";
    out << "  status    " << m->state << (m->detail.empty() ? "" : ": " + m->detail) << "\n";
    if (!m->note.empty()) out << "  note      " << m->note << "\n";
    if (!m->broker_receipt.empty()) out << "  broker    " << m->broker_receipt << "\n";
    for (const std::string& r : m->receipts) out << "  receipt   " << r << " (signed)\n";
    if (m->direction == "out") {
      out << "  sections  " << DescribeSections(m->sections, m->withheld) << "\n";
    }
    out << "  payload   " << text << "\n";
  }
  if (m->direction == "in" && m->state == kNew) {
    m->state = std::string(kRead);
    if (Status s = ctx.store.Write({*m}, {}); !s.ok()) return Refused(s);
  }
  return {0, out.str(), ""};
}

// Cases: those that need action (a step not delivered, a step waiting for an earlier one)
// first.
CommandOutput ListCases(const CommandContext& ctx, const Args&) {
  Result<std::vector<CaseRecord>> all = ctx.store.Cases();
  if (!all.ok()) return Refused(all.status());
  Result<std::vector<MessageRecord>> messages = ctx.store.Messages();
  if (!messages.ok()) return Refused(messages.status());
  std::map<std::string, std::string> action;  // case -> what needs a person
  for (const MessageRecord& m : *messages) {
    if (NeedsAction(m)) action[m.case_ref] = m.kind + " " + Short(m.id) + " " + m.state;
  }
  for (const CaseRecord& c : *all) {
    if (!c.attention.empty()) action[c.ref] = c.attention;
  }
  std::stable_partition(all->begin(), all->end(),
                        [&](const CaseRecord& c) { return action.count(c.ref) > 0; });
  std::ostringstream out;
  Json list = Json::array();
  for (const CaseRecord& c : *all) {
    const std::string consent = !c.consent ? "none" : c.consent->revoked ? "revoked" : "recorded";
    const auto needs = action.find(c.ref);
    if (ctx.json) {
      list.push_back({{"case", c.ref},
                      {"label", c.label},
                      {"state", c.state},
                      {"parties", c.parties},
                      {"consent", consent},
                      {"needs_action", needs != action.end()},
                      {"attention", needs == action.end() ? "" : needs->second},
                      {"next", AllowedFrom(c.state)}});
    } else {
      if (needs != action.end()) out << "ACTION NEEDED (" << needs->second << ")\n  ";
      out << c.ref << "  " << (c.label.empty() ? "-" : c.label) << "  " << c.state << "  with "
          << Join(c.parties) << "  consent " << consent << "  next: " << Join(AllowedFrom(c.state))
          << "\n";
    }
  }
  if (ctx.json) return {0, JsonLine(list), ""};
  if (all->empty()) out << "no cases\n";
  return {0, out.str(), ""};
}

CommandOutput ShowTimeline(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2) return Usage("give the case: timeline CASE");
  Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
  if (!c.ok() && c.status().code() == Code::kNotFound) {  // erased here: its tombstone
    Result<std::optional<Tombstone>> t = FindTombstone(ctx.store, args.positional()[1]);
    if (t.ok() && *t) {
      return {0, ctx.json ? JsonLine(TombstoneJson(**t)) : DescribeTombstone(**t), ""};
    }
  }
  if (!c.ok()) return Refused(c.status());
  if (ctx.json) {
    Json steps = Json::array();
    for (const TimelineStep& s : c->timeline) {
      steps.push_back({{"at", FormatTimeUtc(s.at_ms)},
                       {"message_id", s.message_id},
                       {"kind", s.kind},
                       {"from", s.from},
                       {"to", s.to},
                       {"state", s.state},
                       {"note", s.note},
                       {"by", s.by}});
    }
    return {0, JsonLine({{"case", c->ref}, {"state", c->state}, {"steps", steps}}), ""};
  }
  std::ostringstream out;
  out << "case " << c->ref << (c->label.empty() ? "" : " (" + c->label + ")") << ": " << c->state
      << "\n";
  for (const TimelineStep& s : c->timeline) {
    out << "  " << FormatTimeUtc(s.at_ms) << "  " << s.kind << "  " << s.from << " -> " << s.to
        << "  => " << s.state << "  [" << Short(s.message_id) << "]"
        << (s.note.empty() ? "" : "  " + s.note) << (s.by.empty() ? "" : "  by " + s.by) << "\n";
  }
  return {0, out.str(), ""};
}

}  // namespace

const std::vector<CommandSpec>& ViewCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"inbox",
       "[--all]",
       "List what needs action first (steps not delivered, steps waiting for an earlier one),\n"
       "then the new messages (--all: read ones too); receipts are not listed.",
       {{"--all", "read messages too"}, kJsonOption},
       ListInbox},
      {"outbox",
       "[--all]",
       "List the steps this agency sent and where each is; those that need action first.",
       {{"--all", "the signed receipts it sent too"}, kJsonOption},
       ListOutbox,
       "States: waiting to send, at the broker (accepted, audit leaf N), delivered (every\n"
       "recipient's signed receipt), not delivered: action needed (with the reason and what\n"
       "to do)."},
      {"show",
       "ID",
       "Show one message (ID: 6+ hex digits of its id) with its payload; marks it read.",
       {kJsonOption},
       ShowMessage},
      {"cases",
       "",
       "List every case: state, parties, consent and the steps allowed next.",
       {kJsonOption},
       ListCases},
      {"timeline",
       "CASE",
       "Show every step of a case (CASE: its reference, a 6+ digit prefix of it, or its label).",
       {kJsonOption},
       ShowTimeline},
  };
  return kCommands;
}

}  // namespace nrm::agent
