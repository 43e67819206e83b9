#include "tools/demo_cases.h"

#include <filesystem>

#include "common/file_util.h"

namespace nrm::tools {

std::string DemoOffer(const std::string& canary, const std::string& who) {
  const bool child = who.starts_with("child");
  std::string json = R"({"case": {"status": "Active", "referral_date": "2026-11-29", )";
  json += R"("reason_for_referral": "Presumed victim identified in a raid, )" + who + "\"},";
  json += R"( "person": {"first_name": ")" + canary + R"(", "gender": "Feminine", )";
  json += R"("nationality": "MM", "languages": ["my", "th"], "is_child": )";
  json += std::string(child ? "true" : "false") + R"(},)";
  json += R"( "context": {"recruitment_methods": ["ThroughFriendsOrSocialEvents"], )"
          R"("control_methods": ["DebtBondage", "FalsePromises"], )"
          R"("exploitation_types": ["ForcedLabour"], )"
          R"("trafficking_status": "PossibleVictimOfTrafficking"},)"
          R"( "needs": {"immediate_needs": ["Medical", "Interpretation"], )"
          R"("risk_to_person": "High"},)"
          R"( "consent": {"share_sections": ["case", "person", "context", "needs"], )"
          R"("share_with_roles": ["shelter"], "purpose": "protection", "date": "2026-11-29", )"
          R"("recorded_by": "case officer"},)"
          R"( "investigation": {"perpetrator_roles": ["RecruiterOrIntermediary"], )"
          R"("evidence_refs": ["CRI-2026-0412"], "testimony_available": true}})";
  return json;
}

std::string DemoRepatriationRequest(const std::string& canary, const std::string& origin,
                                    const std::string& nationality) {
  return R"({"person": {"first_name": ")" + canary + R"(", "nationality": ")" + nationality +
         R"("},
  "repatriation": {"origin_address": ")" +
         origin + R"(", "reception_needs": "family mediation"},
  "consent": {"share_sections": ["person", "repatriation"], "share_with_roles": ["ngo",
              "immigration"], "purpose": "family tracing and return", "date": "2026-11-29",
              "recorded_by": "return case worker"}})";
}

Result<size_t> ScanForCanaries(const std::vector<std::string>& roots,
                               const std::vector<std::string>& canaries,
                               std::vector<std::string>& leaks) {
  namespace fs = std::filesystem;
  size_t scanned = 0;
  for (const std::string& root : roots) {
    std::vector<std::string> files;
    if (fs::is_regular_file(root)) {
      files.push_back(root);
    } else if (fs::exists(root)) {
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file()) files.push_back(e.path().string());
      }
    }
    for (const std::string& file : files) {
      NRM_ASSIGN_OR_RETURN(std::string data, ReadFile(file));
      ++scanned;
      for (const std::string& canary : canaries) {
        if (data.find(canary) != std::string::npos) leaks.push_back(file);
      }
    }
  }
  return scanned;
}

}  // namespace nrm::tools
