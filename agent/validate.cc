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

// "a, b or c", or "" when the list is too long to be useful in one line.
std::string OneOf(const std::vector<std::string_view>& values) {
  if (values.size() > 12) return "";
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + std::string(values[i]);
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

bool RealDay(int y, int m, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

std::string Iso(int y, int m, int d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

// A year this far on is a Buddhist-era year (CE + 543): Thai documents write 2569 for 2026.
constexpr int kFirstBuddhistEraYear = 2300;
constexpr int kBuddhistEraOffset = 543;

class Validator {
 public:
  Validator(const identity::Directory& dir, const ValidateOptions& options)
      : dir_(dir), options_(options) {}

  std::vector<FieldError> Run(const Json& root) {
    if (!root.is_object()) {
      Add("", Text(root), "a case file is one JSON object of sections, e.g. {\"person\": {...}}");
      return std::move(errors_);
    }
    const std::vector<Section>& schema = Schema();
    for (const auto& [key, value] : root.items()) {
      auto s = std::find_if(schema.begin(), schema.end(),
                            [&](const Section& x) { return x.name == key; });
      if (s == schema.end()) {
        std::vector<std::string_view> names;
        for (const Section& x : schema) names.push_back(x.name);
        Unknown(key, key, names, "section");
        continue;
      }
      CheckTable(key, value, s->fields);
    }
    Required(root);
    return std::move(errors_);
  }

 private:
  void Add(std::string path, std::string value, std::string message) {
    errors_.push_back({std::move(path), std::move(value), std::move(message)});
  }

  void Unknown(const std::string& path, const std::string& name,
               const std::vector<std::string_view>& names, const std::string& what) {
    std::string m = "unknown " + what + " '" + name + "'";
    const std::string near = Nearest(name, names);
    if (!near.empty()) {
      m += ": did you mean '" + near + "'?";
    } else if (const std::string all = OneOf(names); !all.empty()) {
      m += "; the " + what + "s are " + all;
    }
    Add(path, "", m);
  }

  void CheckTable(const std::string& path, const Json& value, const std::vector<Field>& fields) {
    if (!value.is_object()) {
      Add(path, Text(value),
          "expected an object of fields, e.g. {\"" + std::string(fields.front().name) + "\": ...}");
      return;
    }
    for (const auto& [key, v] : value.items()) {
      auto f =
          std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == key; });
      const std::string at = path + "." + key;
      if (f == fields.end()) {
        Unknown(at, key, Names(fields), "field");
        continue;
      }
      if (!f->list) {
        CheckValue(at, v, *f);
        continue;
      }
      if (!v.is_array()) {
        Add(at, Text(v),
            f->check == Check::kPlaces ? "expected a list of places [{...}, ...]"
                                       : "expected a list, e.g. [\"...\"]");
        continue;
      }
      if (v.size() > kMaxListItems) {
        Add(at, "", "more than " + std::to_string(kMaxListItems) + " items");
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
      if (!v.is_boolean()) Add(path, Text(v), "expected true or false (without quotes)");
      return;
    }
    if (!v.is_string()) {
      Add(path, Text(v), "expected text in quotes");
      return;
    }
    const std::string s = v.get<std::string>();
    if (s.size() > kMaxTextBytes) {
      Add(path, "", "longer than " + std::to_string(kMaxTextBytes) + " bytes");
      return;
    }
    const std::string problem = Problem(s, f);
    if (!problem.empty()) Add(path, Text(v), problem);
  }

  // "" when `s` is a good value for `f`, else the message.
  std::string Problem(const std::string& s, const Field& f) const {
    switch (f.check) {
      case Check::kText:
      case Check::kFlag:
      case Check::kPlaces:
        return "";
      case Check::kDate:
      case Check::kPastDate:
      case Check::kBirthDate: {
        std::string m = CheckDate(s, f.check == Check::kBirthDate);
        if (m.empty() && f.check != Check::kDate) m = Future(s);
        return m;
      }
      case Check::kCountry: {
        if (IsCountryCode(s)) return "";
        const std::string code = CountryCodeFor(s);
        if (!code.empty()) {
          return (s.size() == 2 ? "country codes are upper case" : s + " is a country's name") +
                 std::string(": write its ISO 3166-1 code, ") + code + " (" +
                 std::string(CountryName(code)) + ")";
        }
        return "not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. TH, KH, MM, LA, "
               "VN, CN)";
      }
      case Check::kLanguage: {
        if (IsLanguageCode(s)) return "";
        const std::string code = LanguageCodeFor(s);
        if (!code.empty()) return "write the ISO 639-1 code of " + s + ": " + code;
        return "not an ISO 639-1 language code (two small letters, e.g. th, km, my, lo, vi, zh)";
      }
      case Check::kEnum: {
        const Enumeration* e = FindEnumeration(f.enumeration);
        if (e == nullptr || std::find(e->values.begin(), e->values.end(), s) != e->values.end()) {
          return "";
        }
        return NotOneOf(s, e->values, e->aliases, "a value of " + std::string(e->source));
      }
      case Check::kRole: {
        const std::vector<std::string_view> roles(std::begin(identity::kRoles),
                                                  std::end(identity::kRoles));
        if (std::find(roles.begin(), roles.end(), s) != roles.end()) return "";
        return NotOneOf(s, roles, {}, "an agency role");
      }
      case Check::kSection: {
        const auto& sections = wire::PayloadSectionNames();
        if (std::find(sections.begin(), sections.end(), s) != sections.end()) return "";
        return NotOneOf(s, sections, {}, "a payload section");
      }
      case Check::kAgency: {
        if (const identity::Agency* a = dir_.Find(s)) {
          return a->revoked ? s + " is revoked in the directory" : "";
        }
        std::vector<std::string_view> ids;
        for (const identity::Agency& a : dir_.agencies()) ids.push_back(a.id);
        const std::string near = Nearest(s, ids);
        return "no agency " + s + " in the directory" +
               (near.empty() ? std::string(" (give its id, e.g. TH.SHELTER.KREDTRAKARN)")
                             : ": did you mean " + near + "?");
      }
    }
    return "";
  }

  static std::string NotOneOf(const std::string& s, const std::vector<std::string_view>& values,
                              const std::vector<std::pair<std::string_view, std::string_view>>& al,
                              const std::string& what) {
    const std::string near = Nearest(s, values, al);
    const std::string m = "'" + s + "' is not " + what;
    if (!near.empty()) return m + ": did you mean '" + near + "'?";
    const std::string all = OneOf(values);
    return m + (all.empty() ? "; docs/DATA.md lists the values" : "; write " + all);
  }

  std::string Future(const std::string& s) const {
    if (options_.now_ms == 0) return "";
    const int y = std::stoi(s.substr(0, 4));
    const int m = s.size() >= 7 ? std::stoi(s.substr(5, 2)) : 1;
    const int d = s.size() >= 10 ? std::stoi(s.substr(8, 2)) : 1;
    const int64_t today = options_.now_ms / 86400000;
    // A day of slack: the caseworker's day may already be tomorrow in UTC terms.
    if (DaysFromCivil(y, m, d) <= today + 1) return "";
    return s + " is in the future (today is " + FormatTimeUtc(options_.now_ms).substr(0, 10) + ")";
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
    const std::string what = offer          ? "an offer"
                             : repatriation ? "a repatriation request"
                                            : "a case";
    if (Get(root, "person", "first_name") == nullptr && Get(root, "person", "alias") == nullptr) {
      Add("person", "",
          what +
              " needs the person: person.first_name, or person.alias when the name is not "
              "known");
    }
    if (offer && Get(root, "case", "reason_for_referral") == nullptr) {
      Add("case.reason_for_referral", "",
          "an offer needs the referring agency's reason for the referral");
    }
    if (offer) NonEmpty(root, "needs", what + " needs the person's needs (needs.immediate_needs)");
    if (repatriation) {
      NonEmpty(root, "repatriation",
               what + " needs the repatriation section (origin_address for family tracing)");
    }
    if ((offer || repatriation) && !options_.consent_override) {
      const Json* c = Get(root, "consent");
      if (c == nullptr || c->empty()) {
        Add("consent", "",
            what +
                " needs the person's consent: share_sections, share_with_roles (or "
                "share_with_agencies), purpose, date, recorded_by; or --override REASON "
                "where the law allows sharing without consent");
        return;
      }
      auto empty = [&](std::string_view f) {
        const Json* v = Get(root, "consent", f);
        return v == nullptr || (v->is_array() && v->empty());
      };
      if (empty("share_with_roles") && empty("share_with_agencies")) {
        Add("consent.share_with_roles", "",
            "the consent names nobody to share with: give share_with_roles or "
            "share_with_agencies");
      }
      for (std::string_view f : {"share_sections", "date", "recorded_by"}) {
        if (empty(f))
          Add("consent." + std::string(f), "", "the consent needs its " + std::string(f));
      }
    }
  }

  void NonEmpty(const Json& root, std::string_view section, const std::string& message) {
    const Json* s = Get(root, section);
    if (s == nullptr || s->empty()) Add(std::string(section), "", message);
  }

  const identity::Directory& dir_;
  const ValidateOptions& options_;
  std::vector<FieldError> errors_;
};

}  // namespace

// json::Parse says "JSON: line L, column C: WHAT" at the token that stopped it: a missing comma
// or a comma too many shows only at the next token, which may be lines later.
FieldError JsonSyntaxError(std::string_view text, const std::string& message) {
  FieldError e;
  std::smatch m;
  static const std::regex kWhere(R"(line (\d+), column (\d+): (.*))");
  if (!std::regex_search(message, m, kWhere)) {
    e.message = message.starts_with("JSON: ") ? message.substr(6) : message;
    return e;
  }
  e.line = std::stoi(m[1].str());
  e.column = std::stoi(m[2].str());
  std::string what = m[3].str();
  size_t at = 0;
  for (int l = 1; l < e.line && at < text.size(); ++l) at = text.find('\n', at) + 1;
  at = std::min(text.size(), at + static_cast<size_t>(e.column - 1));
  // `at` is the last character the parser read: go back to the start of its token (a string
  // or a word), then to the last character before that token.
  if (at < text.size() && text[at] == '"' && at > 0) {
    size_t open = at - 1;
    while (open > 0 && !(text[open] == '"' && text[open - 1] != '\\')) --open;
    at = open;
  } else {
    while (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) ||
                      text[at - 1] == '.' || text[at - 1] == '-' || text[at - 1] == '+')) {
      --at;
    }
  }
  size_t prev = at;
  while (prev > 0 && std::isspace(static_cast<unsigned char>(text[prev - 1]))) --prev;
  const bool moved = text.substr(prev, at - prev).find('\n') != std::string_view::npos;
  if (moved && prev > 0 && what.find("unexpected") != std::string::npos) {
    const bool comma = text[prev - 1] == ',';
    size_t line_start = text.rfind('\n', prev - 1);
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    e.line = static_cast<int>(std::count(text.begin(), text.begin() + prev, '\n')) + 1;
    e.column = static_cast<int>(prev - line_start) + (comma ? 0 : 1);
    what = comma ? "this comma is followed by no field: remove it (" + what + ")"
                 : "a comma is missing after this value, before the next field (" + what + ")";
  }
  e.message =
      "line " + std::to_string(e.line) + ", column " + std::to_string(e.column) + ": " + what;
  return e;
}

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

std::string CheckDate(std::string_view text, bool year_alone) {
  const std::string s(text);
  std::smatch m;
  static const std::regex kIso(R"((\d{4})-(\d{2})-(\d{2}))");
  static const std::regex kYear(R"(\d{4})");
  static const std::regex kDayFirst(R"((\d{1,2})[/.-](\d{1,2})[/.-](\d{4}))");
  static const std::regex kYearFirst(R"((\d{4})[/.](\d{1,2})[/.](\d{1,2}))");
  int y = 0, mo = 0, d = 0;
  std::string shape;
  if (std::regex_match(s, m, kIso)) {
    y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
  } else if (year_alone && std::regex_match(s, kYear)) {
    y = std::stoi(s);
    if (y < kFirstBuddhistEraYear) return "";
    return s + " looks like a Buddhist-era year: write " + std::to_string(y - kBuddhistEraOffset);
  } else if (std::regex_match(s, m, kDayFirst)) {
    y = std::stoi(m[3].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[1].str());
    shape = "day/month/year";
  } else if (std::regex_match(s, m, kYearFirst)) {
    y = std::stoi(m[1].str()), mo = std::stoi(m[2].str()), d = std::stoi(m[3].str());
    shape = "year/month/day";
  } else {
    return "not a date: write the day as YYYY-MM-DD (ISO 8601), e.g. 2026-11-29" +
           std::string(year_alone ? ", or the year alone (YYYY) when only it is known" : "");
  }
  if (y >= kFirstBuddhistEraYear) {
    const int ce = y - kBuddhistEraOffset;
    if (!RealDay(ce, mo, d)) return s + " is not a day of the calendar";
    return s + " looks like a Buddhist-era date: write " + Iso(ce, mo, d);
  }
  if (!RealDay(y, mo, d)) return s + " is not a day of the calendar (YYYY-MM-DD)";
  if (!shape.empty()) return s + " reads as " + shape + ": write " + Iso(y, mo, d);
  return "";
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
