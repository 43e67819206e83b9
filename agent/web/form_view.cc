#include "agent/web/form_view.h"

#include <algorithm>

#include "common/clock.h"

namespace nrm::agent::web {
namespace {

using json::Json;
using T = FieldType;

std::vector<std::string> ValuesOf(const FormValueList& values, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : values) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string UtcDate() {
  const std::string t = FormatTimeUtc(SystemClock::Get().NowMillis());
  return t.substr(0, 10);
}

}  // namespace

Json FieldJson(Site& site, std::string_view lang, const FieldSpec& spec,
               const FormValueList& values, const std::vector<FieldError>& errors,
               const FieldOptions& options) {
  const std::string name(spec.path);
  const std::vector<std::string> given = ValuesOf(values, name);
  const std::string value = given.empty() ? "" : given.front();
  Json f = {{"name", name},
            {"id", "f-" + name},
            {"label", site.Tr(lang, spec.label)},
            {"value", value},
            {"required", options.required.count(name) > 0},
            {"readonly", options.readonly.count(name) > 0}};
  std::string error;
  for (const FieldError& e : errors) {
    if (e.path == name) error = site.Tr(lang, e.message);
  }
  f["error"] = error;
  auto option_list = [&](const std::vector<std::pair<std::string, std::string>>& choices) {
    Json list = Json::array();
    for (const auto& [v, words] : choices) {
      const bool selected = std::find(given.begin(), given.end(), v) != given.end();
      list.push_back({{"value", v}, {"label", words}, {"selected", selected}});
    }
    return list;
  };
  std::vector<std::pair<std::string, std::string>> choices;
  switch (spec.type) {
    case T::kText:
      f["text"] = true;
      break;
    case T::kTextArea:
    case T::kList:
      f["textarea"] = true;
      break;
    case T::kDate:
      f["date"] = true;
      break;
    case T::kYearOrDate:
      f["year_or_date"] = true;
      break;
    case T::kBool:
      f["bool"] = true;
      f["checked"] = value == "yes";
      break;
    case T::kCountry:
      f["select"] = true;
      for (const Country& c : site.translator().countries()) {
        choices.emplace_back(c.code, c.code + " " + site.Tr(lang, c.name));
      }
      break;
    case T::kChoice:
      f["select"] = true;
      for (std::string_view c : spec.choices) {
        choices.emplace_back(std::string(c), site.Tr(lang, ChoiceWords(c)));
      }
      break;
    case T::kChoices:
      f["checks"] = true;
      for (std::string_view c : spec.choices) {
        choices.emplace_back(std::string(c), site.Tr(lang, ChoiceWords(c)));
      }
      break;
    case T::kAgency:
    case T::kAgencies: {
      f[spec.type == T::kAgency ? "select" : "multi"] = true;
      const bool any = options.any_agency.count(name) > 0;
      const std::vector<std::string> ids =
          options.kind.empty() || any ? std::vector<std::string>() : Recipients(site, options.kind);
      const std::shared_ptr<const identity::Directory> dir = site.directory();
      for (const identity::Agency& a : dir->agencies()) {
        if (a.revoked || a.role == "monitor" || (a.id == site.agent().agency() && !any)) continue;
        if (!ids.empty() && std::find(ids.begin(), ids.end(), a.id) == ids.end()) continue;
        choices.emplace_back(a.id, a.name + " (" + a.id + ")");
      }
      break;
    }
  }
  // A value that is not among the choices (a hostile or outdated form) is shown as it is.
  for (const std::string& v : given) {
    if (!v.empty() && !choices.empty() &&
        std::none_of(choices.begin(), choices.end(), [&](const auto& c) { return c.first == v; })) {
      choices.emplace_back(v, v);
    }
  }
  f["options"] = option_list(choices);
  return f;
}

Json SectionsJson(Site& site, std::string_view lang, const std::vector<std::string>& names,
                  const FormValueList& values, const std::vector<FieldError>& errors,
                  const FieldOptions& options) {
  Json out = Json::array();
  for (const SectionSpec& s : FormSections()) {
    if (std::find(names.begin(), names.end(), s.name) == names.end()) continue;
    Json fields = Json::array();
    for (const FieldSpec& f : s.fields) {
      fields.push_back(FieldJson(site, lang, f, values, errors, options));
    }
    out.push_back({{"name", std::string(s.name)},
                   {"title", site.Tr(lang, Site::SectionWords(s.name))},
                   {"fields", fields}});
  }
  return out;
}

Json HiddenJson(const FormValueList& values) {
  Json out = Json::array();
  for (const auto& [k, v] : values) out.push_back({{"name", k}, {"value", v}});
  return out;
}

Json ErrorsJson(Site& site, std::string_view lang, const std::vector<FieldError>& errors) {
  Json out = Json::array();
  for (const FieldError& e : errors) {
    const FieldSpec* f = FindField(e.path);
    out.push_back({{"field", f ? site.Tr(lang, f->label) : e.path},
                   {"id", "f-" + e.path},
                   {"message", site.Tr(lang, e.message)}});
  }
  return out;
}

std::vector<std::string> Recipients(Site& site, std::string_view kind) {
  std::vector<std::string> out;
  const std::shared_ptr<const identity::Directory> held = site.directory();
  const identity::Directory& dir = *held;
  const identity::Agency* self = dir.Find(site.agent().agency());
  if (self == nullptr) return out;
  const std::string today = UtcDate();
  for (const identity::Agency& a : dir.agencies()) {
    if (a.revoked || a.id == self->id) continue;
    policy::RouteQuery q{
        {self->id, self->role, self->country}, {a.id, a.role, a.country}, std::string(kind), today};
    if (site.agent().policy().Route(q).allowed) out.push_back(a.id);
  }
  return out;
}

Json HandlingJson(Site& site, const std::string& selected) {
  Json out = Json::array();
  for (const policy::HandlingCode& h : site.agent().policy().handling_codes()) {
    out.push_back({{"value", h.code},
                   {"label", h.code + ": " + h.description},
                   {"selected", h.code == (selected.empty() ? "H0" : selected)}});
  }
  return out;
}

FormValueList RequestValues(const Request& req) {
  FormValueList out;
  for (const auto& [k, vs] : req.form) {
    if (k == "csrf" || k == "action") continue;
    for (const std::string& v : vs) out.emplace_back(k, v);
  }
  return out;
}

}  // namespace nrm::agent::web
