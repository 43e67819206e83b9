// A new referral or repatriation request as a form: the payload's sections this agency's role
// may write, checked in the browser and again here; then a review page that says, for each
// recipient, which sections it will receive and which the policy withholds, whether the person's
// consent covers it (`offer --preview`), and whether the same person already has an open case
// here (then a new case needs an explicit choice, as --new-case); then the step, through the
// same command as `nrm-agent offer` / `request-repatriation`.
#include <algorithm>

#include "agent/case_data.h"
#include "agent/refusal.h"
#include "agent/web/case_view.h"
#include "agent/web/form_view.h"
#include "agent/web/pages.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;

// The sections a form of `kind` offers: those that belong to it that this role may hold.
std::vector<std::string> SectionsFor(Site& site, const std::string& kind) {
  const std::vector<std::string> wanted =
      kind == "referral_offer"
          ? std::vector<std::string>{"case",  "person",        "context",
                                     "needs", "investigation", "consent"}
          : std::vector<std::string>{"case", "person", "needs", "repatriation", "consent"};
  const std::vector<std::string> may = site.agent().SectionsFor(site.role());
  std::vector<std::string> out;
  for (const std::string& s : wanted) {
    if (std::find(may.begin(), may.end(), s) != may.end()) out.push_back(s);
  }
  return out;
}

std::string Text(const Json& j, const char* section, const char* field) {
  if (!j.contains(section) || !j[section].is_object()) return "";
  const Json& s = j[section];
  return s.contains(field) && s[field].is_string() ? s[field].get<std::string>() : "";
}

class NewCase {
 public:
  NewCase(Site& site, const Visit& visit, const Request& req, std::string kind)
      : site_(site),
        visit_(visit),
        req_(req),
        kind_(std::move(kind)),
        lang_(visit.lang()),
        dir_(site.directory()) {}

  Response Serve() {
    if (!MaySend(site_, kind_)) {
      return site_.Problem(&visit_, lang_, 403,
                           site_.Tr(lang_, "The policy does not let this agency take this step."));
    }
    case_ref_ = req_.method == "POST" ? req_.Form("case") : req_.Query("case");
    if (!case_ref_.empty()) {
      Result<CaseView> c = LoadCase(site_, case_ref_);
      if (!c.ok())
        return site_.Problem(&visit_, lang_, 404,
                             site_.Tr(lang_, "This agency holds no such case."));
      existing_ = std::move(*c);
    }
    sections_ = SectionsFor(site_, kind_);
    if (req_.method != "POST") return Form(Defaults(), {}, 200);
    const std::string action = req_.Form("action");
    const FormValueList values = Values();
    if (action == "edit") return Form(values, {}, 200);
    Json payload = PayloadFromForm(req_, sections_);
    if (payload.contains("consent")) payload["consent"]["recorded_by"] = visit_.session.user;
    // The validation every step's case data goes through, the command's included.
    std::vector<FieldError> errors = CheckForm(
        kind_, payload, *dir_, !req_.Form("override").empty(), SystemClock::Get().NowMillis());
    const std::string to = req_.Form("to");
    if (to.empty() || dir_->Find(to) == nullptr) {
      errors.push_back({"to", to, Msg("Choose the agency it goes to.")});
    }
    if (!errors.empty()) return Form(values, errors, 400);
    if (action == "send") return Send(payload, to);
    return Review(payload, values, to);
  }

 private:
  // The form's values: the request's, with the person who records consent forced to be the
  // one logged in.
  FormValueList Values() const {
    FormValueList v = RequestValues(req_);
    // The review page asks for new_case anew each time.
    std::erase_if(v, [](const auto& kv) {
      return kv.first == "consent.recorded_by" || kv.first == "new_case";
    });
    v.emplace_back("consent.recorded_by", visit_.session.user);
    return v;
  }

  FormValueList Defaults() const {
    FormValueList v;
    if (existing_) {
      // A re-offer (or a request on a case here) starts from what this agency holds on it.
      v = FormValues(existing_->merged);
      std::erase_if(v, [](const auto& kv) { return kv.first == "consent.recorded_by"; });
    } else {
      v = {{"case.status", "Active"},
           {"case.referral_date", site_.Today()},
           {"case.referring_organisation", site_.agent().agency()},
           {"case.referring_case_worker", visit_.session.user},
           {"consent.date", site_.Today()}};
    }
    v.emplace_back("consent.recorded_by", visit_.session.user);
    v.emplace_back("handling", "H0");
    return v;
  }

  std::string Value(const FormValueList& values, const std::string& name) const {
    for (const auto& [k, v] : values) {
      if (k == name) return v;
    }
    return "";
  }

  Json Common(const FormValueList& values) const {
    const std::string path = "/new/" + kind_;
    Json recipients = Json::array();
    const std::string to = Value(values, "to");
    for (const std::string& id : Recipients(site_, kind_)) {
      if (existing_ &&
          std::find(existing_->record.parties.begin(), existing_->record.parties.end(), id) !=
              existing_->record.parties.end() &&
          kind_ == "referral_offer" && existing_->record.state != "new") {
        // A re-offer goes to another agency than the ones that had it.
        const MessageRecord* decline = existing_->Latest("referral_decline", "in");
        if (decline && decline->from == id) continue;
      }
      const identity::Agency* a = dir_->Find(id);
      recipients.push_back({{"value", id},
                            {"label", a->name + " (" + site_.Tr(lang_, Site::RoleWords(a->role)) +
                                          ", " + a->country + ")"},
                            {"selected", id == to}});
    }
    const char* title =
        kind_ == "referral_offer" ? Msg("New referral") : Msg("New repatriation request");
    return {{"title", site_.Tr(lang_, title)},
            {"kind", kind_},
            {"action", path},
            {"csrf", SessionTable::CsrfToken(visit_.session, path)},
            {"case", case_ref_},
            {"case_label", existing_ ? existing_->record.label : ""},
            {"existing", existing_.has_value()},
            {"label", Value(values, "label")},
            {"recipients", recipients},
            {"handling", HandlingJson(site_, Value(values, "handling"))},
            {"override", Value(values, "override")}};
  }

  Response Form(const FormValueList& values, const std::vector<FieldError>& errors, int status) {
    Json data = Common(values);
    FieldOptions options;
    options.kind = kind_;
    options.readonly = {"consent.recorded_by"};
    options.any_agency = {"repatriation.reception_agency", "consent.share_with_agencies",
                          "case.referring_organisation"};
    // What the validation needs whatever else is given (agent/validate.h); the person may be
    // named by an alias instead, and consent may be overridden, so those are checked on the
    // server only.
    if (kind_ == "referral_offer") options.required = {"case.reason_for_referral"};
    data["sections"] = SectionsJson(site_, lang_, sections_, values, errors, options);
    data["errors"] = ErrorsJson(site_, lang_, errors);
    for (const FieldError& e : errors) {
      if (e.path == "to") data["to_error"] = ErrorText(site_.translator(), lang_, e);
    }
    return site_.Page(&visit_, lang_, "new_case", std::move(data), status);
  }

  // The command's words for this form: `offer` / `request-repatriation`, with --preview for the
  // review page (which shows the duplicates itself, hence --new-case there).
  std::vector<std::string> CommandWords(const std::string& to, bool preview) const {
    std::vector<std::string> words = {kind_ == "referral_offer" ? "offer" : "request-repatriation",
                                      "--to", to};
    const std::string handling = req_.Form("handling");
    if (!handling.empty()) words.insert(words.end(), {"--handling", handling});
    if (!case_ref_.empty()) words.insert(words.end(), {"--case", case_ref_});
    if (const std::string label = req_.Form("label"); !label.empty() && case_ref_.empty()) {
      words.insert(words.end(), {"--label", label});
    }
    if (const std::string o = req_.Form("override"); !o.empty()) {
      words.insert(words.end(), {"--override", o});
    }
    if (preview) words.insert(words.end(), {"--preview", "--new-case"});
    if (!preview && case_ref_.empty() && req_.Form("new_case") == "1") {
      words.push_back("--new-case");
    }
    return words;
  }

  // The open cases here of the same person (name and birth date, or identity document), for a
  // new case: the agent's own check, which `offer` refuses without --new-case.
  Json Duplicates(const Json& payload) {
    Json out = Json::array();
    if (!case_ref_.empty()) return out;
    Result<Bytes> bytes = wire::PayloadFromJson(payload.dump());
    if (!bytes.ok()) return out;
    Result<std::vector<CaseRecord>> same = SamePerson(site_.store(), *bytes, "");
    if (!same.ok()) return out;
    for (const CaseRecord& c : *same) {
      out.push_back({{"href", "/case/" + c.ref},
                     {"label", c.label.empty() ? c.ref.substr(0, 8) : c.label},
                     {"state", site_.Tr(lang_, Site::StateWords(c.state))}});
    }
    return out;
  }

  // The review: what each recipient will receive and what the policy withholds, whether the
  // consent covers it (`offer --preview`: the words `outbox` and `show` keep), whether the
  // policy allows the route, and the person's open cases here. `refused`: why sending did not
  // happen (409).
  Response Review(const Json& payload, const FormValueList& values, const std::string& to,
                  const std::string& refused = "") {
    Json data = Common(values);
    data["hidden"] = HiddenJson(values);
    Result<CommandOutput> preview = site_.Command(visit_, CommandWords(to, true), payload.dump());
    if (!preview.ok()) return site_.Problem(&visit_, lang_, 503, preview.status().message());
    Result<Json> answer = json::Parse(preview->out);
    if (preview->code != 0 || !answer.ok() || !answer->contains("recipients")) {
      data["refused"] = preview->err.empty() ? preview->out : preview->err;
      return site_.Page(&visit_, lang_, "review", std::move(data), 409);
    }
    const identity::Agency* a = dir_->Find(to);
    policy::RouteQuery q{
        {site_.agent().agency(), site_.role(), dir_->Find(site_.agent().agency())->country},
        {a->id, a->role, a->country},
        kind_,
        site_.Today()};
    const policy::Decision route = site_.agent().policy().Route(q);
    data["review"] = true;
    data["disclosure"] = DisclosureJson(site_, lang_, *answer);
    data["route_ok"] = route.allowed;
    data["route_problem"] =
        route.allowed ? "" : SaidText(site_.translator(), lang_, route.reason, PolicyReason(route));
    data["duplicates"] = Duplicates(payload);
    data["refused"] = refused;
    data["person"] =
        Text(payload, "person", "first_name") + " " + Text(payload, "person", "second_name");
    return site_.Page(&visit_, lang_, "review", std::move(data), refused.empty() ? 200 : 409);
  }

  Response Send(const Json& payload, const std::string& to) {
    // A person with an open case here gets another only when the caseworker chose it.
    if (case_ref_.empty() && req_.Form("new_case") != "1" && !Duplicates(payload).empty()) {
      return Review(payload, Values(), to,
                    site_.Tr(lang_,
                             "This person already has an open case here. Open that case to act "
                             "on it, or choose to open a new case anyway."));
    }
    Result<CommandOutput> out = site_.Command(visit_, CommandWords(to, false), payload.dump());
    if (!out.ok()) return site_.Problem(&visit_, lang_, 503, out.status().message());
    Result<Json> answer = json::Parse(out->out);
    if (out->code != 0 && (!answer.ok() || !answer->contains("case"))) {
      Json data = Common(Values());
      data["hidden"] = HiddenJson(Values());
      data["refused"] = out->err;
      return site_.Page(&visit_, lang_, "review", std::move(data), 409);
    }
    const std::string ref = answer.ok() ? answer->value("case", std::string()) : "";
    return Response::Redirect("/case/" + ref + "?done=" + kind_);
  }

  Site& site_;
  const Visit& visit_;
  const Request& req_;
  const std::string kind_;
  const std::string lang_;
  // The directory in force when the request came, for the whole request.
  const std::shared_ptr<const identity::Directory> dir_;
  std::string case_ref_;
  std::optional<CaseView> existing_;
  std::vector<std::string> sections_;
};

}  // namespace

Response NewCaseForm(Site& site, const Visit& visit, const Request& req, const std::string& kind) {
  return NewCase(site, visit, req, kind).Serve();
}

}  // namespace nrm::agent::web
