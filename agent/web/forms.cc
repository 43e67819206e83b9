#include "agent/web/forms.h"

#include <algorithm>
#include <charconv>

namespace nrm::agent::web {
namespace {

using json::Json;
using T = FieldType;

const std::vector<std::string_view> kRoles = {"police",   "shelter",     "ngo",
                                              "ministry", "immigration", "io"};
const std::vector<std::string_view> kRisk = {"Low", "Medium", "High"};
const std::vector<std::string_view> kStages = {"recruitment", "transit", "exploitation"};

size_t Utf8Length(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xc0) != 0x80; }));
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
       {{"case.status",
         Msg("Case status"),
         T::kChoice,
         {"Active", "FollowUp", "Closed", "ClosedReferred"}},
        {"case.reason_for_referral", Msg("Reason for referral (no names)"), T::kTextArea},
        {"case.referral_date", Msg("Referral date"), T::kDate},
        {"case.referring_organisation", Msg("Referring organisation"), T::kText},
        {"case.referring_case_worker", Msg("Referring case worker"), T::kText}}},
      {"person",
       {{"person.first_name", Msg("First name"), T::kText},
        {"person.second_name", Msg("Second name"), T::kText},
        {"person.birth_date", Msg("Birth date (or year)"), T::kYearOrDate},
        {"person.gender", Msg("Gender"), T::kChoice, {"female", "male", "other", "unknown"}},
        {"person.nationality", Msg("Nationality"), T::kCountry},
        {"person.phone", Msg("Phone"), T::kText},
        {"person.languages",
         Msg("Languages spoken"),
         T::kChoices,
         {"my", "th", "km", "lo", "vi", "zh", "shn", "kar", "en"}},
        {"person.is_child", Msg("The person is a child"), T::kBool},
        {"person.best_interests_assessment", Msg("Best interests assessment (child)"),
         T::kTextArea},
        {"person.guardian", Msg("Guardian (child)"), T::kText}}},
      {"context",
       {{"context.recruitment_methods",
         Msg("Methods of recruitment"),
         T::kChoices,
         {"FalsePromise", "FalseJobOffer", "Deception", "Abduction", "SoldByFamily", "Online"}},
        {"context.control_methods",
         Msg("Methods of control"),
         T::kChoices,
         {"DebtBondage", "WithholdsDocuments", "WithholdsWages", "Threats", "PhysicalViolence",
          "SexualViolence", "Isolation", "Confinement", "Drugs"}},
        {"context.exploitation_types",
         Msg("Types of exploitation"),
         T::kChoices,
         {"Labour", "Sexual", "ForcedMarriage", "Begging", "Criminality", "OrganRemoval"}},
        {"context.labour_sector",
         Msg("Labour sector"),
         T::kChoice,
         {"Fishing", "Agriculture", "Construction", "Domestic", "Manufacturing", "Entertainment",
          "Other"}},
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
       {{"needs.immediate_needs",
         Msg("Immediate needs"),
         T::kChoices,
         {"Medical", "Psychosocial", "Legal", "Interpretation", "Shelter", "FamilyTracing"}},
        {"needs.risk_to_person", Msg("Risk to the person"), T::kChoice, kRisk},
        {"needs.risk_to_family", Msg("Risk to the family"), T::kChoice, kRisk},
        {"needs.risk_from", Msg("Risk from whom (a role, never a name)"), T::kText},
        {"needs.transport_constraints", Msg("Safety constraints for transport"), T::kTextArea}}},
      {"investigation",
       {{"investigation.perpetrator_roles",
         Msg("Perpetrator roles"),
         T::kChoices,
         {"Recruiter", "Transporter", "Exploiter", "Controller", "Financier"}},
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

std::string_view ChoiceWords(std::string_view value) {
  static const WordTable kWords = {
      {"Active", Msg("Active")},
      {"FollowUp", Msg("Follow-up")},
      {"Closed", Msg("Closed")},
      {"ClosedReferred", Msg("Closed, referred")},
      {"female", Msg("female")},
      {"male", Msg("male")},
      {"other", Msg("other")},
      {"unknown", Msg("unknown")},
      {"yes", Msg("yes")},
      {"no", Msg("no")},
      {"my", Msg("Burmese")},
      {"th", Msg("Thai")},
      {"km", Msg("Khmer")},
      {"lo", Msg("Lao")},
      {"vi", Msg("Vietnamese")},
      {"zh", Msg("Chinese")},
      {"shn", Msg("Shan")},
      {"kar", Msg("Karen")},
      {"en", Msg("English")},
      {"FalsePromise", Msg("False promise")},
      {"FalseJobOffer", Msg("False job offer")},
      {"Deception", Msg("Deception")},
      {"Abduction", Msg("Abduction")},
      {"SoldByFamily", Msg("Sold by family")},
      {"Online", Msg("Online recruitment")},
      {"DebtBondage", Msg("Debt bondage")},
      {"WithholdsDocuments", Msg("Withholds documents")},
      {"WithholdsWages", Msg("Withholds wages")},
      {"Threats", Msg("Threats")},
      {"PhysicalViolence", Msg("Physical violence")},
      {"SexualViolence", Msg("Sexual violence")},
      {"Isolation", Msg("Isolation")},
      {"Confinement", Msg("Confinement")},
      {"Drugs", Msg("Drugs")},
      {"Labour", Msg("Labour")},
      {"Sexual", Msg("Sexual")},
      {"ForcedMarriage", Msg("Forced marriage")},
      {"Begging", Msg("Begging")},
      {"Criminality", Msg("Forced criminality")},
      {"OrganRemoval", Msg("Organ removal")},
      {"Fishing", Msg("Fishing")},
      {"Agriculture", Msg("Agriculture")},
      {"Construction", Msg("Construction")},
      {"Domestic", Msg("Domestic work")},
      {"Manufacturing", Msg("Manufacturing")},
      {"Entertainment", Msg("Entertainment")},
      {"Other", Msg("Other")},
      {"Medical", Msg("Medical")},
      {"Psychosocial", Msg("Psychosocial")},
      {"Legal", Msg("Legal")},
      {"Interpretation", Msg("Interpretation")},
      {"Shelter", Msg("Shelter")},
      {"FamilyTracing", Msg("Family tracing")},
      {"Low", Msg("Low")},
      {"Medium", Msg("Medium")},
      {"High", Msg("High")},
      {"Recruiter", Msg("Recruiter")},
      {"Transporter", Msg("Transporter")},
      {"Exploiter", Msg("Exploiter")},
      {"Controller", Msg("Controller")},
      {"Financier", Msg("Financier")},
      {"person", Msg("Person")},
      {"context", Msg("Victim context")},
      {"needs", Msg("Needs and risk")},
      {"investigation", Msg("Investigation")},
      {"repatriation", Msg("Repatriation")},
      {"counselling", Msg("Counselling and health")},
      {"police", Msg("police")},
      {"shelter", Msg("shelter")},
      {"ngo", Msg("NGO")},
      {"ministry", Msg("ministry")},
      {"immigration", Msg("immigration")},
      {"io", Msg("international organisation")},
      {"lack_of_capacity", Msg("Lack of capacity")},
      {"not_eligible", Msg("Not eligible")},
      {"client_refused", Msg("The person refused")},
      {"success", Msg("Success")},
      {"client_refused_services", Msg("The person refused services")},
      {"services_no_longer_needed", Msg("Services no longer needed")},
      {"unable_to_contact_client", Msg("Unable to contact the person")},
      {"unable_to_contact_referred_to_organization", Msg("Unable to contact the agency")},
  };
  return WordsFor(kWords, value);
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
      for (std::string_view stage : kStages) {
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

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y = 0, m = 0, d = 0;
  auto num = [&](size_t at, size_t n, int& out) {
    auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + n, out);
    return ec == std::errc() && p == s.data() + at + n;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

std::vector<FieldError> CheckPayload(std::string_view kind, const Json& payload,
                                     const Translator& tr) {
  std::vector<FieldError> errors;
  const std::vector<std::pair<std::string, std::string>> values = FormValues(payload);
  auto value_of = [&](std::string_view path) {
    for (const auto& [k, v] : values) {
      if (k == path) return v;
    }
    return std::string();
  };
  for (const auto& [path, value] : values) {
    const FieldSpec* f = FindField(path);
    if (f == nullptr) continue;
    auto error = [&](std::string_view message) {
      errors.push_back({path, value, std::string(message)});
    };
    if (Utf8Length(value) > kMaxFieldChars) {
      error(Msg("This text is too long (at most 20,000 characters)."));
      continue;
    }
    switch (f->type) {
      case T::kDate:
        if (!IsDate(value)) error(Msg("Write a date that exists, as YYYY-MM-DD."));
        break;
      case T::kYearOrDate:
        if (!IsDate(value) && !(value.size() == 4 && IsDate(value + "-01-01"))) {
          error(Msg("Write a year (YYYY) or a date that exists (YYYY-MM-DD)."));
        }
        break;
      case T::kCountry:
        if (tr.FindCountry(value) == nullptr) error(Msg("Choose a country from the list."));
        break;
      case T::kChoice:
      case T::kChoices:
        if (std::find(f->choices.begin(), f->choices.end(), value) == f->choices.end()) {
          error(Msg("Choose one of the values listed."));
        }
        break;
      default:
        break;
    }
  }
  // What each kind needs.
  std::vector<std::string_view> required;
  if (kind == "referral_offer") {
    required = {"person.first_name", "person.nationality", "case.reason_for_referral",
                "needs.risk_to_person"};
  } else if (kind == "repatriation_request") {
    required = {"person.first_name", "person.nationality", "repatriation.origin_address"};
  }
  const bool consent = !value_of("consent.share_with_roles").empty() ||
                       !value_of("consent.share_with_agencies").empty() ||
                       !value_of("consent.share_sections").empty();
  if (consent) {
    for (std::string_view p : {"consent.share_sections", "consent.purpose", "consent.date"}) {
      required.push_back(p);
    }
    if (value_of("consent.share_with_roles").empty() &&
        value_of("consent.share_with_agencies").empty()) {
      errors.push_back(
          {"consent.share_with_roles", "", Msg("Say with whom the person agreed to share.")});
    }
  }
  for (std::string_view p : required) {
    if (value_of(p).empty()) errors.push_back({std::string(p), "", Msg("This field is required.")});
  }
  return errors;
}

}  // namespace nrm::agent::web
