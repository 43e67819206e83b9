#include "agent/views.h"

#include <sstream>

#include "agent/words.h"
#include "agent/workflow.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using json::Json;

CommandOutput ListInbox(const CommandContext& ctx, const Args& args) {
  Result<std::vector<MessageRecord>> all = ctx.store.Messages();
  if (!all.ok()) return Refused(all.status());
  const bool everything = args.Has("all");
  std::ostringstream out;
  Json list = Json::array();
  for (const MessageRecord& m : *all) {
    if (m.direction != "in" || m.kind == "receipt") continue;
    if (!everything && m.state != "new") continue;
    if (ctx.json) {
      list.push_back({{"message_id", m.id},
                      {"kind", m.kind},
                      {"from", m.from},
                      {"case", m.case_ref},
                      {"status", m.state},
                      {"received", FormatTimeUtc(m.created_at_ms)}});
    } else {
      out << m.id << "  " << m.kind << "  from " << m.from << "  case "
          << CaseName(ctx.store, m.case_ref) << "  " << FormatTimeUtc(m.created_at_ms)
          << (m.state == "new" ? "  NEW" : "") << "\n";
    }
  }
  if (ctx.json) return {0, JsonLine(list), ""};
  if (out.tellp() == 0) {
    out << (everything ? "no messages\n" : "no new messages (inbox --all shows read ones)\n");
  }
  return {0, out.str(), ""};
}

CommandOutput ListOutbox(const CommandContext& ctx, const Args&) {
  Result<std::vector<MessageRecord>> all = ctx.store.Messages();
  if (!all.ok()) return Refused(all.status());
  std::ostringstream out;
  Json list = Json::array();
  for (const MessageRecord& m : *all) {
    if (m.direction != "out") continue;
    if (ctx.json) {
      list.push_back({{"message_id", m.id},
                      {"kind", m.kind},
                      {"to", m.to},
                      {"case", m.case_ref},
                      {"status", m.state},
                      {"attempts", m.attempts},
                      {"receipts", m.receipts},
                      {"note", m.note}});
    } else {
      out << m.id << "  " << m.kind << "  to " << Join(m.to) << "  " << m.state << "  "
          << m.receipts.size() << " signed receipt(s)" << (m.note.empty() ? "" : "  " + m.note)
          << "\n";
    }
  }
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
                     {"receipts", m->receipts},
                     {"broker_receipt", m->broker_receipt}},
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
    out << "  status    " << m->state << (m->note.empty() ? "" : ": " + m->note) << "\n";
    if (!m->broker_receipt.empty()) out << "  broker    " << m->broker_receipt << "\n";
    for (const std::string& r : m->receipts) out << "  receipt   " << r << " (signed)\n";
    out << "  payload   " << text << "\n";
  }
  if (m->direction == "in" && m->state == "new") {
    m->state = "read";
    if (Status s = ctx.store.Write({*m}, {}); !s.ok()) return Refused(s);
  }
  return {0, out.str(), ""};
}

CommandOutput ListCases(const CommandContext& ctx, const Args&) {
  Result<std::vector<CaseRecord>> all = ctx.store.Cases();
  if (!all.ok()) return Refused(all.status());
  std::ostringstream out;
  Json list = Json::array();
  for (const CaseRecord& c : *all) {
    const std::string consent = !c.consent ? "none" : c.consent->revoked ? "revoked" : "recorded";
    if (ctx.json) {
      list.push_back({{"case", c.ref},
                      {"label", c.label},
                      {"state", c.state},
                      {"parties", c.parties},
                      {"consent", consent},
                      {"next", AllowedFrom(c.state)}});
    } else {
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
       "List the new messages (--all: read ones too); receipts are not listed.",
       {{"--all", "read messages too"}, kJsonOption},
       ListInbox},
      {"outbox",
       "",
       "List what this agency sent, with the broker's and the signed receipts.",
       {kJsonOption},
       ListOutbox},
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
