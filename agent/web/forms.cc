#include "agent/web/forms.h"

#include <algorithm>

#include "agent/vocabulary.h"
#include "agent/web/site.h"
#include "schemas/wire/envelope.h"

namespace nrm::agent::web {
namespace {

using json::Json;
using T = FieldType;

const std::vector<std::string_view> kRoles = {"police",   "shelter",     "ngo",
                                              "ministry", "immigration", "io"};
// The languages of the region and English: ISO 639-1 codes, as the validation wants them.
const std::vector<std::string_view> kLanguages = {"my", "th", "km", "lo", "vi", "zh", "en"};

// The values of enumeration `name` (agent/vocabulary.h).
std::vector<std::string_view> Values(std::string_view name) {
  const Enumeration* e = FindEnumeration(name);
  return e ? e->values : std::vector<std::string_view>();
}

// Splits "a.b.c" into its parts.
std::vector<std::string> Parts(std::string_view path) {
  std::vector<std::string> out;
  while (true) {
    const size_t dot = path.find('.');
    out.emplace_back(path.substr(0, dot));
    if (dot == std::string_view::npos) return out;
    path.remove_prefix(dot + 1);
  }
}

bool IsPlace(std::string_view path) { return path.starts_with("context.places."); }

}  // namespace

const std::vector<SectionSpec>& FormSections() {
  static const std::vector<SectionSpec> kSections = {
      {"case",
       {{"case.status", Msg("Case status"), T::kChoice, Values("case_status")},
        {"case.reason_for_referral", Msg("Reason for referral (no names)"), T::kTextArea},
        {"case.referral_date", Msg("Referral date"), T::kDate},
        {"case.referring_organisation", Msg("Referring organisation"), T::kAgency},
        {"case.referring_case_worker", Msg("Referring case worker"), T::kText}}},
      {"person",
       {{"person.first_name", Msg("First name"), T::kText},
        {"person.second_name", Msg("Second name"), T::kText},
        {"person.alias", Msg("Alias (when the name is not known)"), T::kText},
        {"person.birth_date", Msg("Birth date (or year)"), T::kYearOrDate},
        {"person.gender", Msg("Gender"), T::kChoice, Values("gender")},
        {"person.nationality", Msg("Nationality"), T::kCountry},
        {"person.identity_number", Msg("Identity document number"), T::kText},
        {"person.phone", Msg("Phone"), T::kText},
        {"person.languages", Msg("Languages spoken"), T::kChoices, kLanguages},
        {"person.is_child", Msg("The person is a child"), T::kBool},
        {"person.best_interests_assessment", Msg("Best interests assessment (child)"),
         T::kTextArea},
        {"person.guardian", Msg("Guardian (child)"), T::kText}}},
      {"context",
       {{"context.trafficking_status", Msg("Trafficking status"), T::kChoice,
         Values("trafficking_status")},
        {"context.recruitment_methods", Msg("Methods of recruitment"), T::kChoices,
         Values("recruitment_method")},
        {"context.control_methods", Msg("Methods of control"), T::kChoices,
         Values("control_method")},
        {"context.exploitation_types", Msg("Types of exploitation"), T::kChoices,
         Values("exploitation_type")},
        {"context.labour_sector", Msg("Labour sector"), T::kChoice, Values("labour_sector")},
        {"context.places.recruitment.location", Msg("Place of recruitment"), T::kText},
        {"context.places.recruitment.country", Msg("Country of recruitment"), T::kCountry},
        {"context.places.recruitment.date", Msg("Date of recruitment"), T::kDate},
        {"context.places.transit.location", Msg("Place of transit"), T::kText},
        {"context.places.transit.country", Msg("Country of transit"), T::kCountry},
        {"context.places.transit.date", Msg("Date of transit"), T::kDate},
        {"context.places.exploitation.location", Msg("Place of exploitation"), T::kText},
        {"context.places.exploitation.country", Msg("Country of exploitation"), T::kCountry},
        {"context.places.exploitation.date", Msg("Date of exploitation"), T::kDate}}},
      {"needs",
       {{"needs.immediate_needs", Msg("Immediate needs"), T::kChoices, Values("immediate_need")},
        {"needs.risk_to_person", Msg("Risk to the person"), T::kChoice, Values("risk_level")},
        {"needs.risk_to_family", Msg("Risk to the family"), T::kChoice, Values("risk_level")},
        {"needs.risk_from", Msg("Risk from whom (a role, never a name)"), T::kText},
        {"needs.transport_constraints", Msg("Safety constraints for transport"), T::kTextArea}}},
      {"investigation",
       {{"investigation.perpetrator_roles", Msg("Perpetrator roles"), T::kChoices,
         Values("perpetrator_role")},
        {"investigation.evidence_refs", Msg("Evidence references (one a line)"), T::kList},
        {"investigation.testimony_available", Msg("Testimony available"), T::kBool}}},
      {"repatriation",
       {{"repatriation.origin_address", Msg("Origin address (for family tracing)"), T::kTextArea},
        {"repatriation.family_found", Msg("The family was found"), T::kBool},
        {"repatriation.travel_documents", Msg("Travel documents (one a line)"), T::kList},
        {"repatriation.proposed_date", Msg("Proposed date of return"), T::kDate},
        {"repatriation.border_point", Msg("Border crossing"), T::kText},
        {"repatriation.reception_agency", Msg("Reception agency"), T::kAgency},
        {"repatriation.reception_needs", Msg("Reception needs"), T::kTextArea}}},
      {"counselling",
       {{"counselling.notes", Msg("Counselling notes"), T::kTextArea},
        {"counselling.health_notes", Msg("Health notes"), T::kTextArea}}},
      {"consent",
       {{"consent.share_sections",
         Msg("The person agreed to share"),
         T::kChoices,
         {"person", "context", "needs", "investigation", "repatriation", "counselling"}},
        {"consent.share_with_roles", Msg("with agencies of these roles"), T::kChoices, kRoles},
        {"consent.share_with_agencies", Msg("or with these agencies"), T::kAgencies},
        {"consent.purpose", Msg("for this purpose"), T::kText},
        {"consent.date", Msg("Date of consent"), T::kDate},
        {"consent.recorded_by", Msg("Recorded by"), T::kText}}},
  };
  return kSections;
}

const FieldSpec* FindField(std::string_view path) {
  for (const SectionSpec& s : FormSections()) {
    for (const FieldSpec& f : s.fields) {
      if (f.path == path) return &f;
    }
  }
  return nullptr;
}

Json PayloadFromForm(const Request& req, const std::vector<std::string>& sections) {
  Json payload = Json::object();
  for (const SectionSpec& s : FormSections()) {
    if (std::find(sections.begin(), sections.end(), s.name) == sections.end()) continue;
    Json section = Json::object();
    Json places = Json::object();  // stage -> Place
    for (const FieldSpec& f : s.fields) {
      const std::string name(f.path);
      const std::vector<std::string> parts = Parts(f.path);
      Json value;
      switch (f.type) {
        case T::kChoices:
        case T::kAgencies: {
          Json list = Json::array();
          for (const std::string& v : req.FormAll(name)) {
            if (!v.empty()) list.push_back(v);
          }
          if (!list.empty()) value = list;
          break;
        }
        case T::kList: {
          const std::vector<std::string> lines = Lines(req.Form(name));
          if (!lines.empty()) value = lines;
          break;
        }
        case T::kBool:
          if (req.Form(name) == "yes") value = true;
          break;
        default: {
          std::string v = req.Form(name);
          if (f.type != T::kTextArea) {
            while (!v.empty() && v.back() == ' ') v.pop_back();
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          }
          if (!v.empty()) value = v;
        }
      }
      if (value.is_null()) continue;
      if (IsPlace(f.path)) {
        places[parts[2]][parts[3]] = value;
      } else {
        section[parts[1]] = value;
      }
    }
    if (!places.empty()) {
      Json list = Json::array();
      for (std::string_view stage : Values("place_stage")) {
        if (!places.contains(std::string(stage))) continue;
        Json p = places[std::string(stage)];
        p["stage"] = std::string(stage);
        list.push_back(p);
      }
      section["places"] = list;
    }
    if (!section.empty()) payload[std::string(s.name)] = section;
  }
  return payload;
}

std::vector<std::pair<std::string, std::string>> FormValues(const Json& payload) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!payload.is_object()) return out;
  for (const SectionSpec& s : FormSections()) {
    auto section = payload.find(std::string(s.name));
    if (section == payload.end() || !section->is_object()) continue;
    for (const FieldSpec& f : s.fields) {
      const std::vector<std::string> parts = Parts(f.path);
      const Json* v = nullptr;
      if (IsPlace(f.path)) {
        auto places = section->find("places");
        if (places == section->end() || !places->is_array()) continue;
        for (const Json& p : *places) {
          if (p.is_object() && p.value("stage", std::string()) == parts[2] &&
              p.contains(parts[3])) {
            v = &p[parts[3]];
          }
        }
      } else if (section->contains(parts[1])) {
        v = &(*section)[parts[1]];
      }
      if (v == nullptr) continue;
      const std::string name(f.path);
      if (v->is_array()) {
        std::string joined;
        for (const Json& item : *v) {
          if (!item.is_string()) continue;
          if (f.type == T::kList) {
            joined += (joined.empty() ? "" : "\n") + item.get<std::string>();
          } else {
            out.emplace_back(name, item.get<std::string>());
          }
        }
        if (f.type == T::kList && !joined.empty()) out.emplace_back(name, joined);
      } else if (v->is_boolean()) {
        if (v->get<bool>()) out.emplace_back(name, "yes");
      } else if (v->is_string()) {
        out.emplace_back(name, v->get<std::string>());
      }
    }
  }
  return out;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? "" : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) out.emplace_back(line);
  }
  return out;
}

std::string ErrorText(const Translator& tr, std::string_view lang, const FieldError& e) {
  if (e.phrase.empty()) return std::string(tr.Tr(lang, e.message));
  return PhraseText(tr, lang, e.phrase);
}

std::string PhraseText(const Translator& tr, std::string_view lang, const Phrase& p) {
  // A value of a list by its words; a kind of step (a policy's reason names one) by its name.
  auto words = [&](const std::string& v) {
    std::string_view w = ChoiceWords(v);
    if (w == v) w = Site::KindWords(v);
    return std::string(tr.Tr(lang, w));
  };
  std::vector<std::string> values;
  for (const MessageArg& a : p.args) {
    switch (a.kind) {
      case MessageArg::Kind::kAsIs:
        values.push_back(a.text);
        break;
      case MessageArg::Kind::kWords:
        values.push_back(std::string(tr.Tr(lang, a.text)));
        break;
      case MessageArg::Kind::kCountry: {
        const Country* c = tr.FindCountry(a.text);
        values.push_back(c ? std::string(tr.Tr(lang, c->name)) : a.text);
        break;
      }
      case MessageArg::Kind::kValue:
        values.push_back(words(a.text));
        break;
      case MessageArg::Kind::kValues: {
        const std::vector<std::string> all = SplitValues(a.text);
        std::string list;
        for (size_t i = 0; i + 1 < all.size(); ++i) list += (i ? ", " : "") + words(all[i]);
        values.push_back(all.size() < 2 ? words(all.front())
                                        : FillPlaceholders(tr.Tr(lang, Msg("%1 or %2")),
                                                           {list, words(all.back())}));
        break;
      }
      case MessageArg::Kind::kPhrase: {
        const Result<Json> nested = json::Parse(a.text);
        values.push_back(nested.ok() ? PhraseText(tr, lang, PhraseFromJson(*nested)) : a.text);
        break;
      }
    }
  }
  return FillPlaceholders(tr.Tr(lang, p.words), values);
}

std::string SaidText(const Translator& tr, std::string_view lang, const std::string& english,
                     const Phrase& p) {
  // English is the text itself, as the command line prints it.
  if (p.empty() || tr.CatalogOf(lang) == nullptr || English(p) != english) return english;
  return PhraseText(tr, lang, p);
}

std::vector<FieldError> CheckForm(std::string_view kind, const Json& payload,
                                  const identity::Directory& dir, bool consent_override,
                                  int64_t now_ms) {
  ValidateOptions options;
  Result<wire::Kind> k = wire::KindFromName(kind);
  options.kind = k.ok() ? *k : wire::Kind::StatusUpdate;
  options.consent_override = consent_override;
  options.now_ms = now_ms;
  std::vector<FieldError> errors = ValidateCase(payload, dir, options);
  // The field of the form a missing section is filled in by.
  static const std::vector<std::pair<std::string_view, std::string_view>> kFirstField = {
      {"person", "person.first_name"},
      {"needs", "needs.immediate_needs"},
      {"repatriation", "repatriation.origin_address"},
      {"consent", "consent.share_sections"},
  };
  for (FieldError& e : errors) {
    std::string& path = e.path;
    for (const auto& [section, field] : kFirstField) {
      if (path == section) path = std::string(field);
    }
    // context.places[N].field: the place of the stage the form wrote at N.
    if (path.starts_with("context.places[")) {
      const size_t close = path.find(']');
      const size_t n = std::strtoul(path.c_str() + 15, nullptr, 10);
      const Json* places = payload.contains("context") ? &payload["context"] : nullptr;
      if (places != nullptr && places->is_object() && places->contains("places")) {
        places = &(*places)["places"];
      } else {
        places = nullptr;
      }
      if (places != nullptr && places->is_array() && n < places->size() &&
          (*places)[n].is_object() && close != std::string::npos) {
        const std::string stage = (*places)[n].value("stage", std::string());
        path = "context.places." + stage + path.substr(close + 1);
      }
    } else if (const size_t bracket = path.find('['); bracket != std::string::npos) {
      path = path.substr(0, bracket);  // an item of a list: the list's field
    }
  }
  return errors;
}

}  // namespace nrm::agent::web
