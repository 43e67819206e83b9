// The steps on a case, as small forms: each is offered only when the case page offers it
// (case_view.h), and each runs the same command as at the command line (accept, decline,
// confirm-handover, revoke, respond, travel-documents, schedule-return, complete-return,
// followup, close, share, revoke-consent), for the person logged in. A step that carries case
// data beyond its decision (respond, travel documents, schedule the return, close, share) is
// reviewed before it is sent: which sections each recipient will receive and which the policy
// withholds, as for a new referral (the command's --preview).
#include <algorithm>
#include <optional>

#include "agent/web/case_view.h"
#include "agent/web/form_view.h"
#include "agent/web/pages.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;
using T = FieldType;

// A step's own fields: named as the command's options (reason, note, to, ...).
struct StepSpec {
  std::string_view action;   // in the URL
  std::string_view command;  // nrm-agent's command
  std::string_view kind;
  std::string_view title;  // msgid
  bool answers = false;    // answers a message (ID) rather than acting on the case (CASE)
  std::vector<FieldSpec> fields;
  std::vector<std::string_view> required;
  // It carries case data beyond the decision (sections the policy may withhold from a
  // recipient): the form goes through a review that says what each recipient will receive.
  bool reviews = false;
};

const std::vector<StepSpec>& Steps() {
  static const std::vector<std::string_view> kDecline = {"lack_of_capacity", "not_eligible",
                                                         "client_refused", "other"};
  static const std::vector<std::string_view> kOutcome = {
      "success",
      "client_refused_services",
      "lack_of_capacity",
      "services_no_longer_needed",
      "unable_to_contact_client",
      "unable_to_contact_referred_to_organization",
      "other"};
  static const std::vector<StepSpec> kSteps = {
      {"accept",
       "accept",
       "referral_accept",
       Msg("Accept the referral"),
       true,
       {{"note", Msg("Note for the other agency"), T::kTextArea}},
       {}},
      {"decline",
       "decline",
       "referral_decline",
       Msg("Decline the referral"),
       true,
       {{"reason", Msg("Reason"), T::kChoice, kDecline},
        {"note", Msg("Note (needed for other)"), T::kTextArea}},
       {"reason"}},
      {"confirm_handover",
       "confirm-handover",
       "handover_confirmed",
       Msg("Confirm the handover"),
       true,
       {{"note", Msg("Note for the other agency"), T::kTextArea}},
       {}},
      {"revoke",
       "revoke",
       "referral_revoke",
       Msg("Withdraw the offer"),
       true,
       {{"reason", Msg("Why the offer is withdrawn"), T::kText}},
       {"reason"}},
      {"respond",
       "respond",
       "repatriation_response",
       Msg("Answer the repatriation request"),
       true,
       {{"family-found", Msg("Was the family found?"), T::kChoice, {"yes", "no"}},
        {"reception-agency", Msg("Agency that receives the person"), T::kAgency},
        {"note", Msg("Note for the other agency"), T::kTextArea}},
       {"family-found"},
       true},
      {"travel_documents",
       "travel-documents",
       "travel_documents",
       Msg("Send travel documents"),
       false,
       {{"to", Msg("To"), T::kAgency},
        {"documents", Msg("Travel documents (one a line)"), T::kList},
        {"include-person", Msg("Include the person section"), T::kBool},
        {"note", Msg("Note"), T::kTextArea}},
       {"to", "documents"},
       true},
      {"schedule_return",
       "schedule-return",
       "return_scheduled",
       Msg("Schedule the return"),
       false,
       {{"to", Msg("To"), T::kAgencies},
        {"date", Msg("Date of return"), T::kDate},
        {"border-point", Msg("Border crossing"), T::kText}},
       {"to", "date", "border-point"},
       true},
      {"complete_return",
       "complete-return",
       "return_completed",
       Msg("Confirm the return"),
       false,
       {{"to", Msg("To"), T::kAgencies}, {"note", Msg("Note"), T::kTextArea}},
       {"to"}},
      {"followup",
       "followup",
       "reintegration_followup",
       Msg("Report on reintegration"),
       false,
       {{"to", Msg("To"), T::kAgency}, {"note", Msg("How the person is doing"), T::kTextArea}},
       {"to", "note"}},
      {"close",
       "close",
       "case_close",
       Msg("Close the case"),
       false,
       {{"outcome", Msg("Outcome"), T::kChoice, kOutcome},
        {"reason", Msg("Reason (when not a success)"), T::kTextArea},
        {"to", Msg("Tell these agencies"), T::kAgencies}},
       {"outcome", "to"},
       true},
      {"share",
       "share",
       "status_update",
       Msg("Share the case with an agency"),
       false,
       {{"to", Msg("To"), T::kAgency},
        {"sections",
         Msg("Sections to pass on"),
         T::kChoices,
         {"person", "context", "needs", "repatriation", "counselling"}},
        {"note", Msg("Note"), T::kTextArea}},
       {"to"},
       true},
      {"counselling_notes",
       "counselling-notes",
       "counselling_notes",
       Msg("Add counselling notes"),
       false,
       {{"to", Msg("To"), T::kAgency},
        {"counselling.notes", Msg("Counselling notes"), T::kTextArea},
        {"counselling.health_notes", Msg("Health notes"), T::kTextArea}},
       {"to", "counselling.notes"},
       true},
      {"revoke_consent",
       "revoke-consent",
       "consent_revoke",
       Msg("The person withdrew consent"),
       false,
       {{"reason", Msg("What the person said"), T::kTextArea}},
       {"reason"}},
  };
  return kSteps;
}

// An error of the case data validation's words (agent/validate.h).
FieldError PhraseError(std::string_view path, const std::string& value, Phrase phrase) {
  FieldError e{std::string(path), value, English(phrase)};
  e.phrase = std::move(phrase);
  return e;
}

const StepSpec* FindStep(std::string_view action) {
  for (const StepSpec& s : Steps()) {
    if (s.action == action) return &s;
  }
  return nullptr;
}

class Step {
 public:
  Step(Site& site, const Visit& visit, const Request& req, const StepSpec& spec, CaseView c)
      : site_(site),
        visit_(visit),
        req_(req),
        spec_(spec),
        case_(std::move(c)),
        lang_(visit.lang()) {}

  Response Serve() {
    if (req_.method != "POST") return Form(Defaults(), {}, "", 200);
    const FormValueList values = RequestValues(req_);
    const std::string action = req_.Form("action");
    if (action == "edit") return Form(values, {}, "", 200);
    std::vector<FieldError> errors = Check(values);
    if (!errors.empty()) return Form(values, errors, "", 400);
    if (spec_.reviews && action != "send") return Review(values);
    return Take(values);
  }

 private:
  std::vector<std::string> All(const FormValueList& values, std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values) {
      if (k == name && !v.empty()) out.push_back(v);
    }
    return out;
  }
  std::string One(const FormValueList& values, std::string_view name) const {
    std::vector<std::string> v = All(values, name);
    return v.empty() ? "" : v.front();
  }

  FormValueList Defaults() const {
    FormValueList v = {{"handling", "H0"}};
    if (spec_.action == "close" || spec_.action == "schedule_return" ||
        spec_.action == "complete_return") {
      for (const std::string& p : case_.record.parties) v.emplace_back("to", p);
    }
    if (spec_.action == "travel_documents") v.emplace_back("include-person", "yes");
    if (spec_.action == "respond") v.emplace_back("reception-agency", site_.agent().agency());
    return v;
  }

  std::vector<FieldError> Check(const FormValueList& values) const {
    std::vector<FieldError> errors;
    for (std::string_view r : spec_.required) {
      if (All(values, r).empty())
        errors.push_back({std::string(r), "", Msg("This field is required.")});
    }
    for (const FieldSpec& f : spec_.fields) {
      for (const std::string& v : All(values, f.path)) {
        // The case data validation's own checks (agent/validate.h), as the payload gets them.
        if (v.size() > kMaxFieldBytes) {
          errors.push_back(PhraseError(f.path, "", TooLongPhrase()));
        } else if ((f.type == T::kChoice || f.type == T::kChoices) &&
                   std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end()) {
          errors.push_back({std::string(f.path), v, Msg("Choose one of the values listed.")});
        } else if (Phrase date = f.type == T::kDate ? CheckDatePhrase(v, false) : Phrase{};
                   !date.empty()) {
          errors.push_back(PhraseError(f.path, v, std::move(date)));
        } else if ((f.type == T::kAgency || f.type == T::kAgencies) &&
                   site_.directory()->Find(v) == nullptr) {
          errors.push_back({std::string(f.path), v, Msg("Choose the agency it goes to.")});
        }
      }
    }
    if (spec_.action == "decline" && One(values, "reason") == "other" &&
        One(values, "note").empty()) {
      errors.push_back({"note", "", Msg("Say why in the note.")});
    }
    // The case data the form writes: checked as the step will check it (agent/validate.h).
    if (errors.empty() && HasCaseFields()) {
      Result<Json> p = json::Parse(Payload(values));
      if (p.ok()) {
        for (FieldError& e :
             CheckForm(spec_.kind, *p, *site_.directory(), false, SystemClock::Get().NowMillis())) {
          errors.push_back(std::move(e));
        }
      }
    }
    return errors;
  }

  // The form writes fields of the case data ("counselling.notes"), not only the step's options.
  bool HasCaseFields() const {
    return std::any_of(spec_.fields.begin(), spec_.fields.end(),
                       [](const FieldSpec& f) { return f.path.find('.') != f.path.npos; });
  }

  // What the step's form and its review both show: the case, and where the form posts.
  Json Common() const {
    const std::string path = "/case/" + case_.record.ref + "/step/" + std::string(spec_.action);
    return {{"case", case_.record.ref},
            {"case_label",
             case_.record.label.empty() ? case_.record.ref.substr(0, 8) : case_.record.label},
            {"action", path},
            {"csrf", SessionTable::CsrfToken(visit_.session, path)}};
  }

  Response Form(const FormValueList& values, const std::vector<FieldError>& errors,
                const std::string& refused, int status) {
    FieldOptions options;
    options.kind = std::string(spec_.kind);
    options.any_agency = {"reception-agency"};
    for (std::string_view r : spec_.required) options.required.insert(std::string(r));
    Json fields = Json::array();
    for (const FieldSpec& f : spec_.fields) {
      Json field = FieldJson(site_, lang_, f, values, errors, options);
      fields.push_back(std::move(field));
    }
    Json data = Common();
    data.update({{"title", site_.Tr(lang_, spec_.title)},
                 {"fields", fields},
                 {"errors", ErrorsJson(site_, lang_, errors)},
                 {"refused", refused},
                 {"reviews", spec_.reviews},
                 {"handling", HandlingJson(site_, One(values, "handling"))},
                 {"override", One(values, "override")}});
    return site_.Page(&visit_, lang_, "step", std::move(data), status);
  }

  // The message this step answers: the latest of the kind it answers that came in (or, for a
  // withdrawal, went out).
  const MessageRecord* Answered() const {
    if (spec_.action == "revoke") return case_.Latest("referral_offer", "out");
    if (spec_.action == "respond") return case_.Latest("repatriation_request", "in");
    return case_.Latest("referral_offer", "in");
  }

  // The case data some steps carry (JSON): what this agency holds on the case, in the sections
  // asked; "" for none.
  std::string Payload(const FormValueList& values) const {
    Json p = Json::object();
    std::vector<std::string> sections;
    if (spec_.action == "share") sections = All(values, "sections");
    if (spec_.action == "travel_documents") {
      if (One(values, "include-person") == "yes") sections.push_back("person");
      Json docs = Json::array();
      for (const std::string& d : All(values, "documents")) {
        for (const std::string& line : Lines(d)) docs.push_back(line);
      }
      p["repatriation"]["travel_documents"] = docs;
    }
    for (const std::string& s : sections) {
      if (case_.merged.contains(s)) p[s] = case_.merged[s];
    }
    // The fields of the case data the form wrote ("counselling.notes").
    for (const FieldSpec& f : spec_.fields) {
      const size_t dot = f.path.find('.');
      const std::string v = One(values, f.path);
      if (dot == f.path.npos || v.empty()) continue;
      p[std::string(f.path.substr(0, dot))][std::string(f.path.substr(dot + 1))] = v;
    }
    return p.empty() ? "" : p.dump();
  }

  // The command's words for the form's `values`; nullopt when the step answers a message and
  // there is none on the case.
  std::optional<std::vector<std::string>> Words(const FormValueList& values) const {
    std::vector<std::string> words = {std::string(spec_.command)};
    if (spec_.answers) {
      const MessageRecord* m = Answered();
      if (m == nullptr) return std::nullopt;
      words.push_back(m->id);
    } else {
      words.push_back(case_.record.ref);
    }
    for (const FieldSpec& f : spec_.fields) {
      const std::string name(f.path);
      if (name == "documents" || name == "sections" || name == "include-person" ||
          name.find('.') != name.npos) {
        continue;  // in the payload
      }
      std::vector<std::string> v = All(values, name);
      if (v.empty()) continue;
      std::string joined;
      for (const std::string& x : v) joined += (joined.empty() ? "" : ",") + x;
      words.insert(words.end(), {"--" + name, joined});
    }
    if (const std::string h = One(values, "handling"); !h.empty()) {
      words.insert(words.end(), {"--handling", h});
    }
    if (const std::string o = One(values, "override"); !o.empty()) {
      words.insert(words.end(), {"--override", o});
    }
    return words;
  }

  Response NothingToAnswer(const FormValueList& values) {
    return Form(values, {}, site_.Tr(lang_, "There is no message to answer on this case."), 409);
  }

  // The review before sending: what each recipient will receive and what the policy withholds,
  // whether the consent covers it (the step's own --preview, as on the new case form), with the
  // form's values carried to "Send" and "Change".
  Response Review(const FormValueList& values) {
    std::optional<std::vector<std::string>> words = Words(values);
    if (!words) return NothingToAnswer(values);
    words->push_back("--preview");
    Result<CommandOutput> preview = site_.Command(visit_, *words, Payload(values));
    if (!preview.ok()) return site_.Problem(&visit_, lang_, 503, preview.status().message());
    Result<Json> answer = json::Parse(preview->out);
    if (preview->code != 0 || !answer.ok() || !answer->contains("recipients")) {
      return Form(values, {}, preview->err.empty() ? preview->out : preview->err,
                  preview->code == 2 ? 400 : 409);
    }
    Json data = Common();
    data.update({{"step_title", site_.Tr(lang_, spec_.title)},
                 {"hidden", HiddenJson(values)},
                 {"review", true},
                 {"disclosure", DisclosureJson(site_, lang_, *answer)},
                 {"route_ok", true},
                 {"refused", ""}});
    return site_.Page(&visit_, lang_, "review", std::move(data));
  }

  Response Take(const FormValueList& values) {
    std::optional<std::vector<std::string>> words = Words(values);
    if (!words) return NothingToAnswer(values);
    Result<CommandOutput> out = site_.Command(visit_, *words, Payload(values));
    if (!out.ok()) return site_.Problem(&visit_, lang_, 503, out.status().message());
    if (out->code != 0 && out->out.empty()) {
      return Form(values, {}, out->err, out->code == 2 ? 400 : 409);
    }
    return Response::Redirect("/case/" + case_.record.ref + "?done=" + std::string(spec_.kind));
  }

  Site& site_;
  const Visit& visit_;
  const Request& req_;
  const StepSpec& spec_;
  const CaseView case_;
  const std::string lang_;
};

}  // namespace

Response StepForm(Site& site, const Visit& visit, const Request& req, const std::string& ref,
                  const std::string& action) {
  const std::string& lang = visit.lang();
  const StepSpec* spec = FindStep(action);
  Result<CaseView> c = LoadCase(site, ref);
  if (spec == nullptr || !c.ok()) {
    return site.Problem(&visit, lang, 404, site.Tr(lang, "There is no such page."));
  }
  if (!FindAction(site, *c, action)) {
    return site.Problem(&visit, lang, 409,
                        site.Tr(lang, "This step is not open in the case's present state."));
  }
  return Step(site, visit, req, *spec, std::move(*c)).Serve();
}

}  // namespace nrm::agent::web
