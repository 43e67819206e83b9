#include "agent/step_commands.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <sstream>

#include "agent/case_data.h"
#include "agent/disclosure.h"
#include "agent/step_state.h"
#include "agent/validate.h"
#include "agent/words.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using json::Json;
using K = wire::Kind;

// Fills a step's payload from the command's options; an error is bad usage.
using Fill = std::function<Status(const Args&, payload::PayloadT&)>;

// Where each message of a step is, and the exit code: 1 when one ended not delivered.
CommandOutput Done(const CommandContext& ctx, const CaseRecord& c,
                   const std::vector<MessageRecord>& sent) {
  const bool refused =
      std::any_of(sent.begin(), sent.end(), [](const auto& m) { return m.state == kNotDelivered; });
  if (ctx.json) {
    Json messages = Json::array();
    for (const MessageRecord& m : sent) {
      messages.push_back({{"message_id", m.id},
                          {"kind", m.kind},
                          {"to", m.to},
                          {"status", m.state},
                          {"detail", m.detail},
                          {"consent_override", m.consent_override},
                          {"sections", m.sections},
                          {"withheld", m.withheld},
                          {"note", m.note}});
    }
    return {
        refused ? 1 : 0,
        JsonLine({{"case", c.ref}, {"label", c.label}, {"state", c.state}, {"messages", messages}}),
        ""};
  }
  std::ostringstream out;
  out << "case " << c.ref << (c.label.empty() ? "" : " (" + c.label + ")") << " is now " << c.state
      << "\n";
  for (const MessageRecord& m : sent) {
    out << "  " << m.kind << " " << m.id << " to " << Join(m.to) << ": " << m.state;
    if (m.state == kAtTheBroker) {
      out << " (" << m.broker_receipt << "); delivered once the recipient's signed receipt comes";
    } else if (m.state == kWaitingToSend) {
      out << ": the broker has not accepted it yet; the agent submits it until it does";
    }
    if (!m.detail.empty()) out << "\n    " << m.detail;
    out << "\n    sections: " << DescribeSections(m.sections, m.withheld);
    if (m.consent_override) out << "\n    shared without consent: " << m.note;
    out << "\n";
  }
  return {refused ? 1 : 0, out.str(), ""};
}

// The case data of a step: the payload a caller in the agent's process gave (the web inbox's
// form, as JSON) or the --file, checked against the schema and the domain for `kind`
// (agent/validate.h), the same way for both.
Result<Bytes> ReadCaseFile(const CommandContext& ctx, const Args& args, bool required,
                           wire::Kind kind) {
  std::string text, source;
  if (!ctx.payload.empty()) {
    text = std::string(ctx.payload);
    source = "the form";
  } else if (std::optional<std::string> file = args.Get("file")) {
    NRM_ASSIGN_OR_RETURN(text, ReadFile(*file));
    source = *file;
  } else if (required) {
    return InvalidArgument("missing --file FILE.json");
  } else {
    return Bytes();
  }
  ValidateOptions options;
  options.kind = kind;
  options.consent_override = args.Get("override").has_value();
  options.now_ms = SystemClock::Get().NowMillis();
  return CaseFromJson(text, source, ctx.agent.directory(), options);
}

Result<wire::Handling> HandlingOf(const Args& args) {
  return wire::HandlingFromName(args.Get("handling").value_or("H0"));
}

// --preview: what each recipient would receive and what the policy withholds from it, and
// whether the consent covers it; nothing is sealed or sent.
CommandOutput Preview(const CommandContext& ctx, const CaseRecord& c, const StepRequest& r) {
  std::optional<ConsentRecord> consent = ConsentOf(r.payload);
  if (!consent) consent = c.consent;
  if (consent && c.consent && c.consent->revoked) consent->revoked = true;
  Result<std::vector<Disclosure>> plan = PlanDisclosure(ctx.agent, r.payload, r.to, consent);
  if (!plan.ok()) return Refused(plan.status());
  const std::string kind(wire::KindName(r.kind));
  if (ctx.json) {
    Json recipients = Json::array();
    for (const Disclosure& d : *plan) {
      recipients.push_back({{"agency", d.agency},
                            {"role", d.role},
                            {"sections", d.sections},
                            {"withheld", d.withheld},
                            {"consent", d.consent.ok() ? "covered" : d.consent.message()},
                            {"consent_phrase", PhraseToJson(d.consent_problem)}});
    }
    return {
        0,
        JsonLine({{"preview", true}, {"kind", kind}, {"case", c.ref}, {"recipients", recipients}}),
        ""};
  }
  std::ostringstream out;
  out << "nothing sent (--preview): " << kind << " on case " << CaseName(ctx.store, c.ref)
      << " would go\n";
  for (const Disclosure& d : *plan) {
    out << "  to " << d.agency << " (" << d.role
        << "): " << DescribeSections(d.sections, d.withheld) << "\n"
        << "    consent: "
        << (d.consent.ok() ? "covers it" : "does not cover it (" + d.consent.message() + ")")
        << "\n";
  }
  return {0, out.str(), ""};
}

// A new case for a person who has an open case here already is a mistake unless the
// caseworker says otherwise (--new-case): one person, one case, one label.
Status RefuseSamePerson(const CommandContext& ctx, ByteView payload, const Args& args) {
  if (args.Has("new-case")) return Status::Ok();
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> same, SamePerson(ctx.store, payload, ""));
  if (same.empty()) return Status::Ok();
  std::string cases;
  for (const CaseRecord& c : same) {
    cases += "\n  " + c.ref + (c.label.empty() ? "" : " (" + c.label + ")") + ", " + c.state;
  }
  return AlreadyExists(
      "this person (same name and birth date, or same identity document) already has an open "
      "case here:" +
      cases + "\ngive --case CASE to act on it, or --new-case to open another case anyway");
}

// offer / request-repatriation: starts (or re-offers) a case with a case file.
CommandOutput Open(const CommandContext& ctx, const Args& args, wire::Kind kind) {
  auto to = args.Require("to");
  if (!to.ok()) return Usage(to.status().message());
  // Without --file, a case held here is offered with its own data (e.g. imported).
  Result<Bytes> payload = ReadCaseFile(ctx, args, !args.Get("case"), kind);
  if (!payload.ok()) return Usage(payload.status().message());
  Result<wire::Handling> handling = HandlingOf(args);
  if (!handling.ok()) return Usage(handling.status().message());
  CaseRecord c;
  std::string in_reply_to;
  if (auto key = args.Get("case")) {
    Result<CaseRecord> found = FindCase(ctx.store, *key);
    if (!found.ok()) return Refused(found.status());
    c = *found;
    if (!c.timeline.empty()) in_reply_to = c.timeline.back().message_id;
    if (payload->empty()) {
      if (c.payload.empty()) return Usage("case " + *key + " holds no data: give --file");
      Result<std::string> text = wire::PayloadToJson(c.payload);
      if (!text.ok()) return Refused(text.status());
      ValidateOptions options;
      options.kind = kind;
      options.consent_override = args.Get("override").has_value();
      payload = CaseFromJson(*text, "case " + c.ref, ctx.agent.directory(), options);
      if (!payload.ok()) return Usage(payload.status().message());
    }
  } else {
    // A new case: a random reference, which says nothing about the person. Every party
    // learns it from the envelope, so the case has the same reference everywhere.
    c.ref = ToHex(crypto::RandomBytes(wire::kCaseRefBytes));
    if (Status s = RefuseSamePerson(ctx, *payload, args); !s.ok()) return Refused(s);
  }
  if (auto label = args.Get("label")) {
    if (Status s = CheckLabelFree(ctx.store, *label, c.ref); !s.ok()) return Refused(s);
    c.label = *label;
  }
  StepRequest r;
  r.kind = kind;
  r.to = Split(*to);
  r.payload = std::move(*payload);
  r.in_reply_to = in_reply_to;
  r.override_reason = args.Get("override").value_or("");
  r.handling = *handling;
  r.by = ctx.by;
  if (args.Has("preview")) return Preview(ctx, c, r);
  Result<std::vector<MessageRecord>> sent = ctx.outbox.TakeStep(c, std::move(r));
  if (!sent.ok()) return Refused(sent.status());
  return Done(ctx, c, *sent);
}

// The rest of a step on case `c` to `to`: its payload (--file, then `fill`), --override and
// --handling; takes it and says what happened. `note` is for the timeline; nullopt takes the
// payload's decision reason.
CommandOutput Step(const CommandContext& ctx, const Args& args, wire::Kind kind, CaseRecord c,
                   std::vector<std::string> to, std::string in_reply_to,
                   std::optional<std::string> note, const Fill& fill) {
  // Only an offer or a repatriation request needs whole sections; a later step's file is
  // checked field by field.
  Result<Bytes> base = ReadCaseFile(ctx, args, false, wire::Kind::StatusUpdate);
  if (!base.ok()) return Usage(base.status().message());
  Status filled = Status::Ok();
  Result<Bytes> payload = EditPayload(*base, [&](payload::PayloadT& t) { filled = fill(args, t); });
  if (!filled.ok()) return Usage(filled.message());
  if (!payload.ok()) return Refused(payload.status());
  Result<wire::Handling> handling = HandlingOf(args);
  if (!handling.ok()) return Usage(handling.status().message());
  StepRequest r;
  r.kind = kind;
  r.to = std::move(to);
  r.payload = std::move(*payload);
  r.in_reply_to = std::move(in_reply_to);
  r.override_reason = args.Get("override").value_or("");
  r.handling = *handling;
  r.by = ctx.by;
  if (note) {
    r.note = *note;
  } else if (Result<payload::Payload const*> p = wire::VerifyPayload(r.payload);
             p.ok() && (*p)->decision() && (*p)->decision()->reason()) {
    r.note = (*p)->decision()->reason()->str();
  }
  if (args.Has("preview")) return Preview(ctx, c, r);
  Result<std::vector<MessageRecord>> sent = ctx.outbox.TakeStep(c, std::move(r));
  if (!sent.ok()) return Refused(sent.status());
  return Done(ctx, c, *sent);
}

// A step that answers message ID (accept, decline, confirm-handover, respond) or withdraws
// it (revoke): to the other side of that message.
CommandOutput Answer(const CommandContext& ctx, const Args& args, wire::Kind kind,
                     const Fill& fill) {
  if (args.positional().size() != 2) return Usage("give the message id: ID");
  Result<MessageRecord> m = FindMessage(ctx.store, args.positional()[1]);
  if (!m.ok()) return Refused(m.status());
  Result<CaseRecord> c = FindCase(ctx.store, m->case_ref);
  if (!c.ok()) return Refused(c.status());
  std::vector<std::string> to = m->direction == "in" ? std::vector<std::string>{m->from} : m->to;
  return Step(ctx, args, kind, *c, std::move(to), m->id, std::nullopt, fill);
}

// A step on CASE to --to recipients (or every party on the case when --to is absent and
// `all_parties` is true).
CommandOutput OnCase(const CommandContext& ctx, const Args& args, wire::Kind kind, bool all_parties,
                     const Fill& fill) {
  if (args.positional().size() != 2) return Usage("give the case: CASE (reference or label)");
  Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
  if (!c.ok()) return Refused(c.status());
  std::vector<std::string> to;
  if (auto t = args.Get("to")) {
    to = Split(*t);
  } else if (all_parties) {
    to = c->parties;
  } else {
    return Usage("missing --to AGENCY[,AGENCY...]");
  }
  std::string in_reply_to = c->timeline.empty() ? "" : c->timeline.back().message_id;
  std::string note =
      args.Get("reason").value_or(args.Get("outcome").value_or(args.Get("note").value_or("")));
  return Step(ctx, args, kind, *c, std::move(to), std::move(in_reply_to), std::move(note), fill);
}

// A decision with its --reason (or --note) flag, and --note.
Fill Decide(std::string decision, std::string reason_flag, bool reason_required) {
  return [=](const Args& a, payload::PayloadT& t) {
    Decision(t).decision = decision;
    auto reason = a.Get(reason_flag);
    if (reason_required && !reason) return InvalidArgument("missing --" + reason_flag);
    if (reason) Decision(t).reason = *reason;
    if (auto note = a.Get("note")) Decision(t).note = *note;
    return Status::Ok();
  };
}

CommandOutput Offer(const CommandContext& ctx, const Args& a) {
  return Open(ctx, a, K::ReferralOffer);
}
CommandOutput RequestRepatriation(const CommandContext& ctx, const Args& a) {
  return Open(ctx, a, K::RepatriationRequest);
}
CommandOutput Accept(const CommandContext& ctx, const Args& a) {
  return Answer(ctx, a, K::ReferralAccept, Decide("accepted", "reason", false));
}
CommandOutput Decline(const CommandContext& ctx, const Args& a) {
  return Answer(ctx, a, K::ReferralDecline, Decide("rejected", "reason", true));
}
CommandOutput ConfirmHandover(const CommandContext& ctx, const Args& a) {
  return Answer(ctx, a, K::HandoverConfirmed, Decide("handover_confirmed", "reason", false));
}
CommandOutput Revoke(const CommandContext& ctx, const Args& a) {
  return Answer(ctx, a, K::ReferralRevoke, Decide("revoked", "reason", true));
}

CommandOutput Respond(const CommandContext& ctx, const Args& args) {
  return Answer(ctx, args, K::RepatriationResponse, [](const Args& a, payload::PayloadT& t) {
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

CommandOutput Close(const CommandContext& ctx, const Args& args) {
  return OnCase(ctx, args, K::CaseClose, true, [](const Args& a, payload::PayloadT& t) {
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

CommandOutput Share(const CommandContext& ctx, const Args& args) {
  // A status update that brings a party into the case; it tells them the state.
  return OnCase(ctx, args, K::StatusUpdate, false, [&](const Args&, payload::PayloadT& t) {
    Result<CaseRecord> c = FindCase(ctx.store, args.positional()[1]);
    Decision(t).decision = c.ok() ? c->state : "";
    if (auto note = args.Get("note")) Decision(t).note = *note;
    return Status::Ok();
  });
}

CommandOutput TravelDocuments(const CommandContext& ctx, const Args& a) {
  return OnCase(ctx, a, K::TravelDocuments, false, Decide("travel_documents", "note", false));
}

CommandOutput ScheduleReturn(const CommandContext& ctx, const Args& args) {
  return OnCase(ctx, args, K::ReturnScheduled, false, [](const Args& a, payload::PayloadT& t) {
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

CommandOutput CompleteReturn(const CommandContext& ctx, const Args& a) {
  return OnCase(ctx, a, K::ReturnCompleted, false, Decide("return_completed", "note", false));
}
CommandOutput Followup(const CommandContext& ctx, const Args& a) {
  return OnCase(ctx, a, K::ReintegrationFollowUp, false,
                Decide("reintegration_followup", "note", false));
}
CommandOutput CounsellingNotes(const CommandContext& ctx, const Args& args) {
  if (!args.Get("file") && ctx.payload.empty()) {
    return Usage("missing --file notes.json (the counselling section)");
  }
  return OnCase(ctx, args, K::CounsellingNotes, false,
                [](const Args&, payload::PayloadT&) { return Status::Ok(); });
}
CommandOutput RevokeConsent(const CommandContext& ctx, const Args& a) {
  return OnCase(ctx, a, K::ConsentRevoke, true, Decide("consent_revoked", "reason", true));
}

constexpr OptionHelp kTo{"--to AGENCY[,AGENCY...]", "the agencies it goes to"};
constexpr OptionHelp kToOrParties{"--to AGENCY[,AGENCY...]",
                                  "the agencies it goes to (default: every party on the case)"};
constexpr OptionHelp kCase{"--case CASE", "a case already here: its reference, prefix or label"};
constexpr OptionHelp kLabel{"--label L", "a label for the case, known only to this agency"};
constexpr OptionHelp kNewCase{"--new-case",
                              "open a new case even though this person has an open case here"};
constexpr OptionHelp kNote{"--note N", "a note for the other side"};
constexpr OptionHelp kReason{"--reason R", "why"};
constexpr OptionHelp kPreview{"--preview",
                              "say what each recipient would get and what the policy withholds; "
                              "send nothing"};
constexpr OptionHelp kFile{"--file F",
                           "a JSON payload to send with the step (schemas/payload.fbs)"};

}  // namespace

const std::vector<CommandSpec>& StepCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"offer",
       "--to AGENCY --file case.json [--case CASE] [--label L] [--override REASON]",
       "Offer a case to an agency (referral_offer): a new case, or with --case one already here.",
       {kTo,
        {"--file case.json",
         "the case file: the JSON form of schemas/payload.fbs (required for a new case; default "
         "with --case: the case's data)"},
        kCase,
        kLabel,
        kNewCase,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Offer},
      {"accept",
       "ID [--note N]",
       "Accept the offer ID (referral_accept, to its sender): the case becomes accepted.",
       {kNote, kReason, kFile, kOverrideOption, kHandlingOption, kPreview, kJsonOption},
       Accept},
      {"decline",
       "ID --reason REASON",
       "Decline the offer ID (referral_decline, to its sender), e.g. --reason lack_of_capacity.",
       {{"--reason REASON", "why (required), e.g. lack_of_capacity"},
        kNote,
        kFile,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Decline},
      {"confirm-handover",
       "ID",
       "Confirm that the person of the accepted offer ID was handed over (handover_confirmed).",
       {kReason, kNote, kFile, kOverrideOption, kHandlingOption, kPreview, kJsonOption},
       ConfirmHandover},
      {"revoke",
       "ID --reason REASON",
       "Withdraw the offer ID (referral_revoke), before or after it was accepted.",
       {{"--reason REASON", "why (required)"},
        kNote,
        kFile,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Revoke},
      {"close",
       "CASE --outcome OUTCOME [--reason R] [--to AGENCY]",
       "Close a case (case_close) with its outcome; to every party unless --to says otherwise.",
       {{"--outcome OUTCOME", "success, or why not (required)"},
        kReason,
        kToOrParties,
        kFile,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Close},
      {"request-repatriation",
       "--to AGENCY --file request.json [--case CASE] [--label L]",
       "Ask an agency to trace the family and receive the person (repatriation_request).",
       {kTo,
        {"--file request.json",
         "the request (required): person, needs, repatriation and consent sections"},
        kCase,
        kLabel,
        kNewCase,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       RequestRepatriation},
      {"respond",
       "ID --family-found yes|no [--reception-agency AGENCY] [--file response.json]",
       "Answer the repatriation request ID (repatriation_response): family found, who receives.",
       {{"--family-found yes|no", "whether the family was found"},
        {"--reception-agency AGENCY", "the agency that receives the person"},
        kNote,
        {"--file response.json", "the response as a payload, instead of or with the options"},
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Respond},
      {"share",
       "CASE --to AGENCY [--file F]",
       "Bring an agency into the case (status_update): it learns the case and its state.",
       {kTo,
        {"--file F", "what to share with it, e.g. the person section"},
        kNote,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       Share},
      {"travel-documents",
       "CASE --to AGENCY --file docs.json",
       "Send travel documents for the case (travel_documents); both sides may exchange them.",
       {kTo,
        {"--file docs.json", "person and repatriation.travel_documents"},
        kNote,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       TravelDocuments},
      {"schedule-return",
       "CASE --to AGENCY --date YYYY-MM-DD --border-point P",
       "Schedule the return (return_scheduled): its date and the border crossing.",
       {kTo,
        {"--date YYYY-MM-DD", "the day of the return"},
        {"--border-point P", "the border crossing, e.g. Aranyaprathet-Poipet"},
        kFile,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       ScheduleReturn},
      {"complete-return",
       "CASE --to AGENCY[,AGENCY]",
       "Record that the person has returned (return_completed).",
       {kTo, kNote, kFile, kOverrideOption, kHandlingOption, kPreview, kJsonOption},
       CompleteReturn},
      {"followup",
       "CASE --to AGENCY [--file F] [--note N]",
       "Report on the person's reintegration (reintegration_followup); may be repeated.",
       {kTo, kNote, kFile, kOverrideOption, kHandlingOption, kPreview, kJsonOption},
       Followup},
      {"counselling-notes",
       "CASE --to AGENCY --file notes.json",
       "Send a shelter's counselling and health notes (counselling_notes): caregivers only.",
       {kTo,
        {"--file notes.json", "the counselling section (notes, health_notes)"},
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       CounsellingNotes,
       "The policy lets counselling notes go only from a shelter or NGO to a shelter or NGO\n"
       "of the same country; any other recipient is refused by the broker."},
      {"revoke-consent",
       "CASE --reason R [--to AGENCY]",
       "Record that the person withdrew consent (consent_revoke), to every party unless --to.",
       {{"--reason R", "why (required)"},
        kToOrParties,
        kNote,
        kFile,
        kOverrideOption,
        kHandlingOption,
        kPreview,
        kJsonOption},
       RevokeConsent},
  };
  return kCommands;
}

}  // namespace nrm::agent
