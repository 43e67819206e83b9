#include "agent/validate.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "agent/vocabulary.h"
#include "common/clock.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

using json::Json;

// What a field holds and how its value is checked.
enum class Check {
  kText,
  kFlag,       // true or false
  kPastDate,   // YYYY-MM-DD, not after today
  kDate,       // YYYY-MM-DD, any day (a planned return)
  kBirthDate,  // YYYY-MM-DD or YYYY, not after today
  kCountry,    // ISO 3166-1 alpha-2
  kLanguage,   // ISO 639-1
  kEnum,       // one of Enumeration `values`
  kRole,       // an agency role (identity::kRoles)
  kAgency,     // an agency id of the directory
  kSection,    // a payload section name
  kPlaces,     // a list of Place tables
};

struct Field {
  std::string_view name;
  bool list;
  Check check;
  std::string_view enumeration = {};
};

struct Section {
  std::string_view name;
  std::vector<Field> fields;
};

// schemas/payload.fbs, field by field (validate_test checks that nothing is missing).
const std::vector<Section>& Schema() {
  static const std::vector<Section> kSections = {
      {"case",
       {{"status", false, Check::kEnum, "case_status"},
        {"reason_for_referral", false, Check::kText},
        {"referral_date", false, Check::kPastDate},
        {"referring_organisation", false, Check::kAgency},
        {"referring_case_worker", false, Check::kText},
        {"referred_organisation", false, Check::kAgency},
        {"referred_case_worker", false, Check::kText}}},
      {"person",
       {{"first_name", false, Check::kText},
        {"second_name", false, Check::kText},
        {"birth_date", false, Check::kBirthDate},
        {"gender", false, Check::kEnum, "gender"},
        {"nationality", false, Check::kCountry},
        {"phone", false, Check::kText},
        {"languages", true, Check::kLanguage},
        {"is_child", false, Check::kFlag},
        {"best_interests_assessment", false, Check::kText},
        {"guardian", false, Check::kText},
        {"alias", false, Check::kText},
        {"identity_number", false, Check::kText}}},
      {"context",
       {{"recruitment_methods", true, Check::kEnum, "recruitment_method"},
        {"control_methods", true, Check::kEnum, "control_method"},
        {"exploitation_types", true, Check::kEnum, "exploitation_type"},
        {"labour_sector", false, Check::kEnum, "labour_sector"},
        {"places", true, Check::kPlaces},
        {"trafficking_status", false, Check::kEnum, "trafficking_status"}}},
      {"needs",
       {{"immediate_needs", true, Check::kEnum, "immediate_need"},
        {"risk_to_person", false, Check::kEnum, "risk_level"},
        {"risk_to_family", false, Check::kEnum, "risk_level"},
        {"risk_from", false, Check::kText},
        {"transport_constraints", false, Check::kText}}},
      {"consent",
       {{"share_sections", true, Check::kSection},
        {"share_with_roles", true, Check::kRole},
        {"share_with_agencies", true, Check::kAgency},
        {"purpose", false, Check::kText},
        {"date", false, Check::kPastDate},
        {"recorded_by", false, Check::kText},
        {"override_reason", false, Check::kText}}},
      {"investigation",
       {{"perpetrator_roles", true, Check::kEnum, "perpetrator_role"},
        {"evidence_refs", true, Check::kText},
        {"testimony_available", false, Check::kFlag}}},
      {"repatriation",
       {{"origin_address", false, Check::kText},
        {"family_found", false, Check::kFlag},
        {"travel_documents", true, Check::kText},
        {"proposed_date", false, Check::kDate},
        {"border_point", false, Check::kText},
        {"reception_agency", false, Check::kAgency},
        {"reception_needs", false, Check::kText}}},
      {"counselling", {{"notes", false, Check::kText}, {"health_notes", false, Check::kText}}},
      {"decision",
       {{"decision", false, Check::kText},
        {"reason", false, Check::kText},
        {"outcome", false, Check::kText},
        {"note", false, Check::kText}}},
  };
  return kSections;
}

const std::vector<Field>& PlaceFields() {
  static const std::vector<Field> kPlace = {{"stage", false, Check::kEnum, "place_stage"},
                                            {"location", false, Check::kText},
                                            {"country", false, Check::kCountry},
                                            {"date", false, Check::kPastDate}};
  return kPlace;
}

constexpr size_t kMaxListItems = 100;

std::string Text(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::vector<std::string_view> Names(const std::vector<Field>& fields) {
  std::vector<std::string_view> out;
  for (const Field& f : fields) out.push_back(f.name);
  return out;
}

using Arg = MessageArg;
using ArgKind = MessageArg::Kind;

Arg Value(std::string text) { return {ArgKind::kValue, std::move(text)}; }
Arg Values(const std::vector<std::string_view>& values) {
  std::string text;
  for (std::string_view v : values) text += (text.empty() ? "" : "|") + std::string(v);
  return {ArgKind::kValues, std::move(text)};
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

class Validator {
 public:
  Validator(const identity::Directory& dir, const ValidateOptions& options)
      : dir_(dir), options_(options) {}

  std::vector<FieldError> Run(const Json& root) {
    if (!root.is_object()) {
      Add("", Text(root),
          Say("a case file is one JSON object of sections, e.g. {\"person\": {...}}"));
      return std::move(errors_);
    }
    const std::vector<Section>& schema = Schema();
    for (const auto& [key, value] : root.items()) {
      auto s = std::find_if(schema.begin(), schema.end(),
                            [&](const Section& x) { return x.name == key; });
      if (s == schema.end()) {
        std::vector<std::string_view> names;
        for (const Section& x : schema) names.push_back(x.name);
        Unknown(key, key, names, /*section=*/true);
        continue;
      }
      CheckTable(key, value, s->fields);
    }
    Required(root);
    return std::move(errors_);
  }

 private:
  void Add(std::string path, std::string value, Phrase phrase) {
    FieldError e{std::move(path), std::move(value), English(phrase)};
    e.phrase = std::move(phrase);
    errors_.push_back(std::move(e));
  }

  void Unknown(const std::string& path, const std::string& name,
               const std::vector<std::string_view>& names, bool section) {
    const std::string near = Nearest(name, names);
    if (!near.empty()) {
      Add(path, "",
          section ? Say("unknown section '%1': did you mean '%2'?", {AsIs(name), AsIs(near)})
                  : Say("unknown field '%1': did you mean '%2'?", {AsIs(name), AsIs(near)}));
    } else if (!OneOf(names).empty()) {
      Add(path, "",
          section ? Say("unknown section '%1'; the sections are %2", {AsIs(name), Values(names)})
                  : Say("unknown field '%1'; the fields are %2", {AsIs(name), Values(names)}));
    } else {
      Add(path, "",
          section ? Say("unknown section '%1'", {AsIs(name)})
                  : Say("unknown field '%1'", {AsIs(name)}));
    }
  }

  void CheckTable(const std::string& path, const Json& value, const std::vector<Field>& fields) {
    if (!value.is_object()) {
      Add(path, Text(value),
          Say("expected an object of fields, e.g. {\"%1\": ...}",
              {AsIs(std::string(fields.front().name))}));
      return;
    }
    for (const auto& [key, v] : value.items()) {
      auto f =
          std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == key; });
      const std::string at = path + "." + key;
      if (f == fields.end()) {
        Unknown(at, key, Names(fields), /*section=*/false);
        continue;
      }
      if (!f->list) {
        CheckValue(at, v, *f);
        continue;
      }
      if (!v.is_array()) {
        Add(at, Text(v),
            f->check == Check::kPlaces ? Say("expected a list of places [{...}, ...]")
                                       : Say("expected a list, e.g. [\"...\"]"));
        continue;
      }
      if (v.size() > kMaxListItems) {
        Add(at, "", Say("more than %1 items", {AsIs(std::to_string(kMaxListItems))}));
        continue;
      }
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string item = at + "[" + std::to_string(i) + "]";
        if (f->check == Check::kPlaces) {
          CheckTable(item, v[i], PlaceFields());
        } else {
          CheckValue(item, v[i], *f);
        }
      }
    }
  }

  void CheckValue(const std::string& path, const Json& v, const Field& f) {
    if (f.check == Check::kFlag) {
      if (!v.is_boolean()) Add(path, Text(v), Say("expected true or false (without quotes)"));
      return;
    }
    if (!v.is_string()) {
      Add(path, Text(v), Say("expected text in quotes"));
      return;
    }
    const std::string s = v.get<std::string>();
    if (s.size() > kMaxTextBytes) {
      Add(path, "", TooLongPhrase());
      return;
    }
    Phrase problem = Problem(s, f);
    if (!problem.empty()) Add(path, Text(v), std::move(problem));
  }

  // Empty when `s` is a good value for `f`, else the message.
  Phrase Problem(const std::string& s, const Field& f) const {
    switch (f.check) {
      case Check::kText:
      case Check::kFlag:
      case Check::kPlaces:
        return {};
      case Check::kDate:
      case Check::kPastDate:
      case Check::kBirthDate: {
        Phrase m = CheckDatePhrase(s, f.check == Check::kBirthDate);
        if (m.empty() && f.check != Check::kDate) m = Future(s);
        return m;
      }
      case Check::kCountry: {
        if (IsCountryCode(s)) return {};
        const std::string code = CountryCodeFor(s);
        const Arg country{ArgKind::kCountry, code};
        if (!code.empty() && s.size() == 2) {
          return Say("country codes are upper case: write its ISO 3166-1 code, %1 (%2)",
                     {AsIs(code), country});
        }
        if (!code.empty()) {
          return Say("%1 is a country's name: write its ISO 3166-1 code, %2 (%3)",
                     {AsIs(s), AsIs(code), country});
        }
        return Say(
            "not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. TH, KH, MM, LA, "
            "VN, CN)");
      }
      case Check::kLanguage: {
        if (IsLanguageCode(s)) return {};
        const std::string code = LanguageCodeFor(s);
        if (!code.empty()) return Say("write the ISO 639-1 code of %1: %2", {AsIs(s), Value(code)});
        return Say(
            "not an ISO 639-1 language code (two small letters, e.g. th, km, my, lo, vi, zh)");
      }
      case Check::kEnum: {
        const Enumeration* e = FindEnumeration(f.enumeration);
        if (e == nullptr || std::find(e->values.begin(), e->values.end(), s) != e->values.end()) {
          return {};
        }
        static const NotOneOfWords kWords = {
            Say("'%1' is not a value of %3: did you mean '%2'?"),
            Say("'%1' is not a value of %3; write %2"),
            Say("'%1' is not a value of %3; docs/DATA.md lists the values")};
        return NotOneOf(s, e->values, e->aliases, kWords,
                        {ArgKind::kWords, std::string(e->source)});
      }
      case Check::kRole: {
        const std::vector<std::string_view> roles(std::begin(identity::kRoles),
                                                  std::end(identity::kRoles));
        if (std::find(roles.begin(), roles.end(), s) != roles.end()) return {};
        static const NotOneOfWords kWords = {
            Say("'%1' is not an agency role: did you mean '%2'?"),
            Say("'%1' is not an agency role; write %2"),
            Say("'%1' is not an agency role; docs/DATA.md lists the values")};
        return NotOneOf(s, roles, {}, kWords);
      }
      case Check::kSection: {
        const auto& sections = wire::PayloadSectionNames();
        if (std::find(sections.begin(), sections.end(), s) != sections.end()) return {};
        static const NotOneOfWords kWords = {
            Say("'%1' is not a payload section: did you mean '%2'?"),
            Say("'%1' is not a payload section; write %2"),
            Say("'%1' is not a payload section; docs/DATA.md lists the values")};
        return NotOneOf(s, sections, {}, kWords);
      }
      case Check::kAgency: {
        if (const identity::Agency* a = dir_.Find(s)) {
          return a->revoked ? Say("%1 is revoked in the directory", {AsIs(s)}) : Phrase{};
        }
        std::vector<std::string_view> ids;
        for (const identity::Agency& a : dir_.agencies()) ids.push_back(a.id);
        const std::string near = Nearest(s, ids);
        if (near.empty()) {
          return Say("no agency %1 in the directory (give its id, e.g. TH.SHELTER.KREDTRAKARN)",
                     {AsIs(s)});
        }
        return Say("no agency %1 in the directory: did you mean %2?", {AsIs(s), AsIs(near)});
      }
    }
    return {};
  }

  // The words of a value that is not one of a closed list: with the nearest value, with every
  // value, or with neither (%1 the value, %2 the nearest or every value, %3 the list's source).
  struct NotOneOfWords {
    Phrase nearest, all, neither;
  };

  static Phrase NotOneOf(const std::string& s, const std::vector<std::string_view>& values,
                         const std::vector<std::pair<std::string_view, std::string_view>>& al,
                         const NotOneOfWords& words, Arg source = {}) {
    Phrase out = words.neither;
    out.args = {AsIs(s), AsIs("")};
    if (const std::string near = Nearest(s, values, al); !near.empty()) {
      out = words.nearest;
      out.args = {AsIs(s), Value(near)};
    } else if (!OneOf(values).empty()) {
      out = words.all;
      out.args = {AsIs(s), Values(values)};
    }
    out.args.push_back(std::move(source));
    return out;
  }

  Phrase Future(const std::string& s) const {
    if (options_.now_ms == 0) return {};
    const int y = std::stoi(s.substr(0, 4));
    const int m = s.size() >= 7 ? std::stoi(s.substr(5, 2)) : 1;
    const int d = s.size() >= 10 ? std::stoi(s.substr(8, 2)) : 1;
    const int64_t today = options_.now_ms / 86400000;
    // A day of slack: the caseworker's day may already be tomorrow in UTC terms.
    if (DaysFromCivil(y, m, d) <= today + 1) return {};
    return Say("%1 is in the future (today is %2)",
               {AsIs(s), AsIs(FormatTimeUtc(options_.now_ms).substr(0, 10))});
  }

  const Json* Get(const Json& root, std::string_view section, std::string_view field = {}) {
    auto s = root.find(std::string(section));
    if (s == root.end() || !s->is_object()) return nullptr;
    if (field.empty()) return &*s;
    auto f = s->find(std::string(field));
    if (f == s->end() || (f->is_string() && f->get<std::string>().empty())) return nullptr;
    return &*f;
  }

  void Required(const Json& root) {
    const wire::Kind kind = options_.kind;
    const bool offer = kind == wire::Kind::ReferralOffer;
    const bool repatriation = kind == wire::Kind::RepatriationRequest;
    if (!offer && !repatriation && kind != wire::Kind::Unknown) return;
    if (Get(root, "person", "first_name") == nullptr && Get(root, "person", "alias") == nullptr) {
      Add("person", "",
          offer ? Say("an offer needs the person: person.first_name, or person.alias when the "
                      "name is not known")
          : repatriation
              ? Say("a repatriation request needs the person: person.first_name, or "
                    "person.alias when the name is not known")
              : Say("a case needs the person: person.first_name, or person.alias when the name "
                    "is not known"));
    }
    if (offer && Get(root, "case", "reason_for_referral") == nullptr) {
      Add("case.reason_for_referral", "",
          Say("an offer needs the referring agency's reason for the referral"));
    }
    if (offer)
      NonEmpty(root, "needs", Say("an offer needs the person's needs (needs.immediate_needs)"));
    if (repatriation) {
      NonEmpty(root, "repatriation",
               Say("a repatriation request needs the repatriation section (origin_address for "
                   "family tracing)"));
    }
    if ((offer || repatriation) && !options_.consent_override) {
      const Json* c = Get(root, "consent");
      if (c == nullptr || c->empty()) {
        Add("consent", "",
            offer ? Say("an offer needs the person's consent: share_sections, share_with_roles "
                        "(or share_with_agencies), purpose, date, recorded_by; or --override "
                        "REASON where the law allows sharing without consent")
                  : Say("a repatriation request needs the person's consent: share_sections, "
                        "share_with_roles (or share_with_agencies), purpose, date, recorded_by; "
                        "or --override REASON where the law allows sharing without consent"));
        return;
      }
      auto empty = [&](std::string_view f) {
        const Json* v = Get(root, "consent", f);
        return v == nullptr || (v->is_array() && v->empty());
      };
      if (empty("share_with_roles") && empty("share_with_agencies")) {
        Add("consent.share_with_roles", "",
            Say("the consent names nobody to share with: give share_with_roles or "
                "share_with_agencies"));
      }
      if (empty("share_sections")) {
        Add("consent.share_sections", "", Say("the consent needs its share_sections"));
      }
      if (empty("date")) Add("consent.date", "", Say("the consent needs its date"));
      if (empty("recorded_by")) {
        Add("consent.recorded_by", "", Say("the consent needs its recorded_by"));
      }
    }
  }

  void NonEmpty(const Json& root, std::string_view section, Phrase message) {
    const Json* s = Get(root, section);
    if (s == nullptr || s->empty()) Add(std::string(section), "", std::move(message));
  }

  const identity::Directory& dir_;
  const ValidateOptions& options_;
  std::vector<FieldError> errors_;
};

}  // namespace

std::string RequiredSections(wire::Kind kind) {
  switch (kind) {
    case wire::Kind::ReferralOffer:
      return "person (first_name or alias), case.reason_for_referral, needs, consent";
    case wire::Kind::RepatriationRequest:
      return "person (first_name or alias), repatriation, consent";
    case wire::Kind::Unknown:
      return "person (first_name or alias)";
    default:
      return "";
  }
}

std::vector<FieldError> ValidateCase(const Json& value, const identity::Directory& dir,
                                     const ValidateOptions& options) {
  return Validator(dir, options).Run(value);
}

std::vector<FieldError> ValidateCaseJson(std::string_view text, const identity::Directory& dir,
                                         const ValidateOptions& options) {
  Result<Json> parsed = json::Parse(text);
  if (!parsed.ok()) return {JsonSyntaxError(text, parsed.status().message())};
  return ValidateCase(*parsed, dir, options);
}

std::string DescribeErrors(std::string_view source, const std::vector<FieldError>& errors) {
  std::string out = std::string(source) + ": " + std::to_string(errors.size()) +
                    (errors.size() == 1 ? " problem:\n" : " problems:\n");
  for (const FieldError& e : errors) {
    out += "  ";
    if (!e.path.empty()) out += e.path + (e.value.empty() ? "" : " = " + e.value) + ": ";
    out += e.message + "\n";
  }
  out.pop_back();
  return out;
}

Json ErrorsToJson(const std::vector<FieldError>& errors) {
  Json out = Json::array();
  for (const FieldError& e : errors) {
    Json one = {{"path", e.path}, {"value", e.value}, {"message", e.message}};
    if (e.line > 0) {
      one["line"] = e.line;
      one["column"] = e.column;
    }
    out.push_back(std::move(one));
  }
  return out;
}

Result<Bytes> CaseFromJson(std::string_view text, std::string_view source,
                           const identity::Directory& dir, const ValidateOptions& options) {
  const std::vector<FieldError> errors = ValidateCaseJson(text, dir, options);
  if (!errors.empty()) return InvalidArgument(DescribeErrors(source, errors));
  Result<Bytes> payload = wire::PayloadFromJson(text);
  if (!payload.ok()) {
    // The checks above follow the schema field by field; this is a gap in them, not the user's.
    return InvalidArgument(std::string(source) + ": " + payload.status().message());
  }
  return payload;
}

}  // namespace nrm::agent
