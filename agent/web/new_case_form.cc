// A new referral or repatriation request as a form: the payload's sections this agency's role
// may write, checked in the browser and again here; then a review page that says, for each
// recipient, which sections it will receive and which the policy withholds, whether the person's
// consent covers it, and whether the same person already has an open case; then the step,
// through the same command as `nrm-agent offer` / `request-repatriation`.
#include <algorithm>

#include "agent/consent.h"
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

std::vector<std::string> Strings(const Json& j, const char* section, const char* field) {
  std::vector<std::string> out;
  if (!j.contains(section) || !j[section].is_object() || !j[section].contains(field)) return out;
  for (const Json& v : j[section][field]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
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
    std::erase_if(v, [](const auto& kv) { return kv.first == "consent.recorded_by"; });
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
      if (e.path == "to") data["to_error"] = site_.Tr(lang_, e.message);
    }
    return site_.Page(&visit_, lang_, "new_case", std::move(data), status);
  }

  Response Review(const Json& payload, const FormValueList& values, const std::string& to) {
    Json data = Common(values);
    data["hidden"] = HiddenJson(values);
    const identity::Agency* a = dir_->Find(to);
    std::vector<std::string> present;
    for (auto& [section, body] : payload.items()) present.push_back(section);
    const std::vector<std::string> may = site_.agent().SectionsFor(a->role);
    Json receives = Json::array(), withheld = Json::array();
    std::vector<std::string> sent;
    for (const std::string& s : present) {
      const bool ok = std::find(may.begin(), may.end(), s) != may.end();
      (ok ? receives : withheld).push_back(site_.Tr(lang_, Site::SectionWords(s)));
      if (ok) sent.push_back(s);
    }
    std::optional<ConsentRecord> consent;
    if (payload.contains("consent")) {
      ConsentRecord k;
      k.share_sections = Strings(payload, "consent", "share_sections");
      k.share_with_roles = Strings(payload, "consent", "share_with_roles");
      k.share_with_agencies = Strings(payload, "consent", "share_with_agencies");
      consent = k;
    } else if (existing_ && existing_->record.consent) {
      consent = existing_->record.consent;
    }
    const Status covered = CheckConsent(consent, sent, to, a->role);
    policy::RouteQuery q{
        {site_.agent().agency(), site_.role(), dir_->Find(site_.agent().agency())->country},
        {a->id, a->role, a->country},
        kind_,
        site_.Today()};
    const policy::Decision route = site_.agent().policy().Route(q);
    Json duplicates = Json::array();
    for (const std::string& ref : site_.index().SamePerson(Text(payload, "person", "first_name"),
                                                           Text(payload, "person", "second_name"),
                                                           Text(payload, "person", "birth_date"))) {
      if (ref == case_ref_) continue;
      std::optional<CaseInfo> other = site_.index().Find(ref);
      duplicates.push_back(
          {{"href", "/case/" + ref},
           {"label", other && !other->label.empty() ? other->label : ref.substr(0, 8)}});
    }
    data["review"] = true;
    data["to_name"] = a->name;
    data["to_role"] = site_.Tr(lang_, Site::RoleWords(a->role));
    data["receives"] = receives;
    data["withheld"] = withheld;
    data["consent_ok"] = covered.ok();
    data["consent_problem"] = covered.ok() ? "" : covered.message();
    data["route_ok"] = route.allowed;
    data["route_problem"] = route.allowed ? "" : route.reason;
    data["duplicates"] = duplicates;
    data["person"] =
        Text(payload, "person", "first_name") + " " + Text(payload, "person", "second_name");
    return site_.Page(&visit_, lang_, "review", std::move(data));
  }

  Response Send(const Json& payload, const std::string& to) {
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
    Result<CommandOutput> out = site_.Command(visit_, words, payload.dump());
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
