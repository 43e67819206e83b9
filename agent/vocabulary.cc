#include "agent/vocabulary.h"

#include <algorithm>
#include <cctype>

namespace nrm::agent {
namespace {

// Lower-case ASCII letters, single spaces, no leading or trailing space. Other bytes (Thai,
// Khmer, ...) are kept as they are.
std::string Normal(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '_' || c == '-') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// True when one of the "|"-separated `names` is `normal` once made Normal.
bool NamedBy(std::string_view names, const std::string& normal) {
  while (!names.empty()) {
    const size_t bar = names.find('|');
    if (Normal(names.substr(0, bar)) == normal) return true;
    names = bar == std::string_view::npos ? "" : names.substr(bar + 1);
  }
  return false;
}

// Names of the GMS countries that iso-codes does not give: older English names, and each
// country's name in the scripts of the region (Thai, Khmer, Burmese, Lao, Vietnamese, Chinese).
constexpr std::pair<std::string_view, std::string_view> kMoreCountryNames[] = {
    {"burma", "MM"},  {"lao pdr", "LA"},    {"kampuchea", "KH"}, {"siam", "TH"},
    {"yunnan", "CN"}, {"ไทย", "TH"},        {"ประเทศไทย", "TH"}, {"พม่า", "MM"},
    {"เมียนมา", "MM"}, {"เมียนมาร์", "MM"},    {"กัมพูชา", "KH"},     {"เขมร", "KH"},
    {"ลาว", "LA"},    {"เวียดนาม", "VN"},    {"จีน", "CN"},        {"កម្ពុជា", "KH"},
    {"ថៃ", "TH"},     {"မြန်မာ", "MM"},      {"ထိုင်း", "TH"},       {"ລາວ", "LA"},
    {"ໄທ", "TH"},     {"việt nam", "VN"},   {"thái lan", "TH"},  {"campuchia", "KH"},
    {"lào", "LA"},    {"trung quốc", "CN"}, {"中国", "CN"},      {"泰国", "TH"},
    {"缅甸", "MM"},   {"老挝", "LA"},       {"越南", "VN"},      {"柬埔寨", "KH"},
};

constexpr std::pair<std::string_view, std::string_view> kMoreLanguageNames[] = {
    {"khmer", "km"}, {"myanmar", "my"}, {"mandarin", "zh"}, {"cantonese", "zh"}, {"laotian", "lo"},
};

}  // namespace

bool IsCountryCode(std::string_view code) {
  const auto& all = IsoCountries();
  return std::any_of(all.begin(), all.end(), [&](const CodeNames& c) { return c.code == code; });
}

std::string CountryCodeFor(std::string_view text) {
  const std::string normal = Normal(text);
  if (normal.empty()) return "";
  for (const CodeNames& c : IsoCountries()) {
    if (Normal(c.code) == normal || NamedBy(c.names, normal)) return std::string(c.code);
  }
  for (const auto& [name, code] : kMoreCountryNames) {
    if (name == normal) return std::string(code);
  }
  return "";
}

std::string_view CountryName(std::string_view code) {
  for (const CodeNames& c : IsoCountries()) {
    if (c.code == code) return c.names.substr(0, c.names.find('|'));
  }
  return "";
}

bool IsLanguageCode(std::string_view code) {
  const auto& all = IsoLanguages();
  return std::any_of(all.begin(), all.end(), [&](const CodeNames& c) { return c.code == code; });
}

std::string LanguageCodeFor(std::string_view text) {
  const std::string normal = Normal(text);
  if (normal.empty()) return "";
  for (const CodeNames& c : IsoLanguages()) {
    if (c.code == normal || NamedBy(c.names, normal)) return std::string(c.code);
  }
  for (const auto& [name, code] : kMoreLanguageNames) {
    if (name == normal) return std::string(code);
  }
  return "";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Nearest(std::string_view value, const std::vector<std::string_view>& values,
                    const std::vector<std::pair<std::string_view, std::string_view>>& aliases) {
  const std::string normal = Normal(value);
  if (normal.empty()) return "";
  for (std::string_view v : values) {
    if (Normal(v) == normal) return std::string(v);
  }
  for (const auto& [alias, v] : aliases) {
    if (Normal(alias) == normal) return std::string(v);
  }
  // A misspelling: the closest value, if it is close for its length ("Actve", "shleter").
  std::string best;
  size_t best_distance = std::max<size_t>(2, normal.size() / 3) + 1;
  for (std::string_view v : values) {
    const size_t d = EditDistance(Normal(v), normal);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(v);
    }
  }
  if (!best.empty()) return best;
  // A shorter word for a longer value ("Recruiter" for RecruiterOrIntermediary), if only one.
  if (normal.size() < 4) return "";
  std::string found;
  for (std::string_view v : values) {
    if (Normal(v).find(normal) == std::string::npos) continue;
    if (!found.empty()) return "";
    found = std::string(v);
  }
  return found;
}

const std::vector<Enumeration>& Enumerations() {
  static const std::vector<Enumeration> kAll = {
      {"case_status",
       {"Active", "FollowUp", "Closed", "ClosedReferred"},
       {},
       "HTCDS 2.0 cas_Status"},
      {"gender",
       {"Feminine", "Masculine", "TransgenderFeminine", "TransgenderMasculine", "NonConforming",
        "NonSpecifiedUnknown"},
       {{"female", "Feminine"},
        {"woman", "Feminine"},
        {"girl", "Feminine"},
        {"f", "Feminine"},
        {"male", "Masculine"},
        {"man", "Masculine"},
        {"boy", "Masculine"},
        {"m", "Masculine"},
        {"unknown", "NonSpecifiedUnknown"}},
       "HTCDS 2.0 prs_Gender"},
      {"trafficking_status",
       {"PossibleVictimOfTrafficking", "ActualVictimOfTrafficking", "NotAVictimOfTrafficking"},
       {{"presumed", "PossibleVictimOfTrafficking"},
        {"presumed victim", "PossibleVictimOfTrafficking"},
        {"possible", "PossibleVictimOfTrafficking"},
        {"victim", "ActualVictimOfTrafficking"}},
       "HTCDS 2.0 vic_TraffickingStatus"},
      {"recruitment_method",
       {"AtAPlaceOfBusiness", "AtAnEducationalInstitution", "AtWork", "ThroughOnlineSocialNetworks",
        "ThroughAnOnlineAdvertisement", "ThroughATelevisionAdvert", "ThroughANewspaperAdvert",
        "ThroughFamilyOrFamilyEvents", "ThroughFriendsOrSocialEvents", "Other"},
       {{"online", "ThroughOnlineSocialNetworks"},
        {"social media", "ThroughOnlineSocialNetworks"},
        {"family", "ThroughFamilyOrFamilyEvents"},
        {"friends", "ThroughFriendsOrSocialEvents"}},
       "HTCDS 2.0 vic_MethodOfRecruitment"},
      {"control_method",
       {"PhysicalThreats", "ThreatsLawEnforcement", "ThreatensChildrenFamily", "DebtBondage",
        "FalsePromises", "PhysicalAbuse", "SexualAbuse", "TakesEarnings",
        "RestrictsFinancialAccess", "RestrictsMedicalCare", "WithholdsNecessities",
        "PsychologicalAbuse", "PsychoactiveSubstance", "ExcessiveWorkingHours",
        "WithholdsDocuments", "Other"},
       {{"threats", "PhysicalThreats"},
        {"debt", "DebtBondage"},
        {"false promise", "FalsePromises"},
        {"confiscated documents", "WithholdsDocuments"}},
       "HTCDS 2.0 vic_MethodsOfControl"},
      {"exploitation_type",
       {"ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage", "Servitude",
        "ForcedMilitaryByNonStateActors", "OrganRemoval", "ForcedBegging", "ForcedAdoption",
        "Surrogacy", "Other"},
       {{"labour", "ForcedLabour"},
        {"labor", "ForcedLabour"},
        {"forced labor", "ForcedLabour"},
        {"sexual", "SexualExploitation"},
        {"begging", "ForcedBegging"},
        {"marriage", "ForcedMarriage"}},
       "HTCDS 2.0 vic_TypeOfExploitation"},
      {"labour_sector",
       {"A_AgricultureForestryAndFishing",
        "B_MiningAndQuarrying",
        "C_Manufacturing",
        "D_ElectricityGasSteamAndAirConditioningSupply",
        "E_WaterSupplySewerageWasteManagement",
        "F_Construction",
        "G_WholesaleAndRetailTradeRepairOfMotorVehicles",
        "H_TransportationAndStorage",
        "I_AccommodationAndFoodServiceActivities",
        "J_InformationAndCommunication",
        "K_FinancialAndInsuranceActivities",
        "L_RealEstateActivities",
        "M_ProfessionalScientificAndTechnicalActivities",
        "N_AdministrativeAndSupportServiceActivities",
        "O_PublicAdministrationAndDefence",
        "P_Education",
        "Q_HumanHealthAndSocialWorkActivities",
        "R_ArtsEntertainmentAndRecreation",
        "S_OtherServiceActivities",
        "T_ActivitiesOfHouseholdsAsEmployers",
        "U_ActivitiesOfExtraterritorialOrganizations"},
       {{"fishing", "A_AgricultureForestryAndFishing"},
        {"agriculture", "A_AgricultureForestryAndFishing"},
        {"farm", "A_AgricultureForestryAndFishing"},
        {"factory", "C_Manufacturing"},
        {"construction", "F_Construction"},
        {"domestic", "T_ActivitiesOfHouseholdsAsEmployers"},
        {"domestic work", "T_ActivitiesOfHouseholdsAsEmployers"},
        {"restaurant", "I_AccommodationAndFoodServiceActivities"},
        {"entertainment", "R_ArtsEntertainmentAndRecreation"}},
       "HTCDS 2.0 vic_ForcedLabourIndustry (ISIC sections)"},
      {"perpetrator_role",
       {"TravellingPartner", "Transporter", "RecruiterOrIntermediary", "BrokerTravelAgent",
        "TransferredIndividual", "HarbouredIndividual", "SoldIndividual", "BoughtIndividual",
        "ReceivedIndividual", "ControlledIndividual", "Smuggler", "Abuser", "Kidnapper",
        "Exploiter", "Other"},
       {{"broker", "BrokerTravelAgent"}, {"agent", "BrokerTravelAgent"}},
       "HTCDS 2.0 per_RoleInProcess"},
      {"immediate_need",
       {"Medical", "Psychosocial", "Legal", "Interpretation", "Shelter", "Safety"},
       {{"health", "Medical"}, {"counselling", "Psychosocial"}, {"interpreter", "Interpretation"}},
       "DOMAIN.md (no HTCDS field)"},
      {"risk_level", {"Low", "Medium", "High"}, {}, "DOMAIN.md (no HTCDS field)"},
      {"place_stage",
       {"recruitment", "transit", "exploitation"},
       {},
       "HTCDS 2.0 hte_Type (Recruitment, Transit, Exploitation)"},
  };
  return kAll;
}

const Enumeration* FindEnumeration(std::string_view name) {
  for (const Enumeration& e : Enumerations()) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace nrm::agent
