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
         "Case status",
         T::kChoice,
         {"Active", "FollowUp", "Closed", "ClosedReferred"}},
        {"case.reason_for_referral", "Reason for referral (no names)", T::kTextArea},
        {"case.referral_date", "Referral date", T::kDate},
        {"case.referring_organisation", "Referring organisation", T::kText},
        {"case.referring_case_worker", "Referring case worker", T::kText}}},
      {"person",
       {{"person.first_name", "First name", T::kText},
        {"person.second_name", "Second name", T::kText},
        {"person.birth_date", "Birth date (or year)", T::kYearOrDate},
        {"person.gender", "Gender", T::kChoice, {"female", "male", "other", "unknown"}},
        {"person.nationality", "Nationality", T::kCountry},
        {"person.phone", "Phone", T::kText},
        {"person.languages",
         "Languages spoken",
         T::kChoices,
         {"my", "th", "km", "lo", "vi", "zh", "shn", "kar", "en"}},
        {"person.is_child", "The person is a child", T::kBool},
        {"person.best_interests_assessment", "Best interests assessment (child)", T::kTextArea},
        {"person.guardian", "Guardian (child)", T::kText}}},
      {"context",
       {{"context.recruitment_methods",
         "Methods of recruitment",
         T::kChoices,
         {"FalsePromise", "FalseJobOffer", "Deception", "Abduction", "SoldByFamily", "Online"}},
        {"context.control_methods",
         "Methods of control",
         T::kChoices,
         {"DebtBondage", "WithholdsDocuments", "WithholdsWages", "Threats", "PhysicalViolence",
          "SexualViolence", "Isolation", "Confinement", "Drugs"}},
        {"context.exploitation_types",
         "Types of exploitation",
         T::kChoices,
         {"Labour", "Sexual", "ForcedMarriage", "Begging", "Criminality", "OrganRemoval"}},
        {"context.labour_sector",
         "Labour sector",
         T::kChoice,
         {"Fishing", "Agriculture", "Construction", "Domestic", "Manufacturing", "Entertainment",
          "Other"}},
        {"context.places.recruitment.location", "Place of recruitment", T::kText},
        {"context.places.recruitment.country", "Country of recruitment", T::kCountry},
        {"context.places.recruitment.date", "Date of recruitment", T::kDate},
        {"context.places.transit.location", "Place of transit", T::kText},
        {"context.places.transit.country", "Country of transit", T::kCountry},
        {"context.places.transit.date", "Date of transit", T::kDate},
        {"context.places.exploitation.location", "Place of exploitation", T::kText},
        {"context.places.exploitation.country", "Country of exploitation", T::kCountry},
        {"context.places.exploitation.date", "Date of exploitation", T::kDate}}},
      {"needs",
       {{"needs.immediate_needs",
         "Immediate needs",
         T::kChoices,
         {"Medical", "Psychosocial", "Legal", "Interpretation", "Shelter", "FamilyTracing"}},
        {"needs.risk_to_person", "Risk to the person", T::kChoice, kRisk},
        {"needs.risk_to_family", "Risk to the family", T::kChoice, kRisk},
        {"needs.risk_from", "Risk from whom (a role, never a name)", T::kText},
        {"needs.transport_constraints", "Safety constraints for transport", T::kTextArea}}},
      {"investigation",
       {{"investigation.perpetrator_roles",
         "Perpetrator roles",
         T::kChoices,
         {"Recruiter", "Transporter", "Exploiter", "Controller", "Financier"}},
        {"investigation.evidence_refs", "Evidence references (one a line)", T::kList},
        {"investigation.testimony_available", "Testimony available", T::kBool}}},
      {"repatriation",
       {{"repatriation.origin_address", "Origin address (for family tracing)", T::kTextArea},
        {"repatriation.family_found", "The family was found", T::kBool},
        {"repatriation.travel_documents", "Travel documents (one a line)", T::kList},
        {"repatriation.proposed_date", "Proposed date of return", T::kDate},
        {"repatriation.border_point", "Border crossing", T::kText},
        {"repatriation.reception_agency", "Reception agency", T::kAgency},
        {"repatriation.reception_needs", "Reception needs", T::kTextArea}}},
      {"counselling",
       {{"counselling.notes", "Counselling notes", T::kTextArea},
        {"counselling.health_notes", "Health notes", T::kTextArea}}},
      {"consent",
       {{"consent.share_sections",
         "The person agreed to share",
         T::kChoices,
         {"person", "context", "needs", "investigation", "repatriation", "counselling"}},
        {"consent.share_with_roles", "with agencies of these roles", T::kChoices, kRoles},
        {"consent.share_with_agencies", "or with these agencies", T::kAgencies},
        {"consent.purpose", "for this purpose", T::kText},
        {"consent.date", "Date of consent", T::kDate},
        {"consent.recorded_by", "Recorded by", T::kText}}},
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
  static const std::vector<std::pair<std::string_view, std::string_view>> kWords = {
      {"Active", "Active"},
      {"FollowUp", "Follow-up"},
      {"Closed", "Closed"},
      {"ClosedReferred", "Closed, referred"},
      {"female", "female"},
      {"male", "male"},
      {"other", "other"},
      {"unknown", "unknown"},
      {"my", "Burmese"},
      {"th", "Thai"},
      {"km", "Khmer"},
      {"lo", "Lao"},
      {"vi", "Vietnamese"},
      {"zh", "Chinese"},
      {"shn", "Shan"},
      {"kar", "Karen"},
      {"en", "English"},
      {"FalsePromise", "False promise"},
      {"FalseJobOffer", "False job offer"},
      {"Deception", "Deception"},
      {"Abduction", "Abduction"},
      {"SoldByFamily", "Sold by family"},
      {"Online", "Online recruitment"},
      {"DebtBondage", "Debt bondage"},
      {"WithholdsDocuments", "Withholds documents"},
      {"WithholdsWages", "Withholds wages"},
      {"Threats", "Threats"},
      {"PhysicalViolence", "Physical violence"},
      {"SexualViolence", "Sexual violence"},
      {"Isolation", "Isolation"},
      {"Confinement", "Confinement"},
      {"Drugs", "Drugs"},
      {"Labour", "Labour"},
      {"Sexual", "Sexual"},
      {"ForcedMarriage", "Forced marriage"},
      {"Begging", "Begging"},
      {"Criminality", "Forced criminality"},
      {"OrganRemoval", "Organ removal"},
      {"Fishing", "Fishing"},
      {"Agriculture", "Agriculture"},
      {"Construction", "Construction"},
      {"Domestic", "Domestic work"},
      {"Manufacturing", "Manufacturing"},
      {"Entertainment", "Entertainment"},
      {"Other", "Other"},
      {"Medical", "Medical"},
      {"Psychosocial", "Psychosocial"},
      {"Legal", "Legal"},
      {"Interpretation", "Interpretation"},
      {"Shelter", "Shelter"},
      {"FamilyTracing", "Family tracing"},
      {"Low", "Low"},
      {"Medium", "Medium"},
      {"High", "High"},
      {"Recruiter", "Recruiter"},
      {"Transporter", "Transporter"},
      {"Exploiter", "Exploiter"},
      {"Controller", "Controller"},
      {"Financier", "Financier"},
      {"person", "Person"},
      {"context", "Victim context"},
      {"needs", "Needs and risk"},
      {"investigation", "Investigation"},
      {"repatriation", "Repatriation"},
      {"counselling", "Counselling and health"},
      {"police", "police"},
      {"shelter", "shelter"},
      {"ngo", "NGO"},
      {"ministry", "ministry"},
      {"immigration", "immigration"},
      {"io", "international organisation"},
      {"lack_of_capacity", "Lack of capacity"},
      {"not_eligible", "Not eligible"},
      {"client_refused", "The person refused"},
      {"success", "Success"},
      {"client_refused_services", "The person refused services"},
      {"services_no_longer_needed", "Services no longer needed"},
      {"unable_to_contact_client", "Unable to contact the person"},
      {"unable_to_contact_referred_to_organization", "Unable to contact the agency"},
  };
  for (const auto& [k, w] : kWords) {
    if (k == value) return w;
  }
  return value;
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
          Json list = Json::array();
          std::string text = req.Form(name);
          size_t start = 0;
          while (start <= text.size()) {
            size_t nl = text.find('\n', start);
            if (nl == std::string::npos) nl = text.size();
            std::string item = text.substr(start, nl - start);
            while (!item.empty() && (item.back() == '\r' || item.back() == ' ')) item.pop_back();
            if (!item.empty()) list.push_back(item);
            start = nl + 1;
          }
          if (!list.empty()) value = list;
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
      error("This text is too long (at most 20,000 characters).");
      continue;
    }
    switch (f->type) {
      case T::kDate:
        if (!IsDate(value)) error("Write a date that exists, as YYYY-MM-DD.");
        break;
      case T::kYearOrDate:
        if (!IsDate(value) && !(value.size() == 4 && IsDate(value + "-01-01"))) {
          error("Write a year (YYYY) or a date that exists (YYYY-MM-DD).");
        }
        break;
      case T::kCountry:
        if (tr.FindCountry(value) == nullptr) error("Choose a country from the list.");
        break;
      case T::kChoice:
      case T::kChoices:
        if (std::find(f->choices.begin(), f->choices.end(), value) == f->choices.end()) {
          error("Choose one of the values listed.");
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
          {"consent.share_with_roles", "", "Say with whom the person agreed to share."});
    }
  }
  for (std::string_view p : required) {
    if (value_of(p).empty()) errors.push_back({std::string(p), "", "This field is required."});
  }
  return errors;
}

}  // namespace nrm::agent::web
