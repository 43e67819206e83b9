#include "tools/demo_cases.h"

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

std::string DemoRepatriationRequest(const std::string& canary, const std::string& origin) {
  return R"({"person": {"first_name": ")" + canary + R"(", "nationality": "KH"},
  "repatriation": {"origin_address": ")" +
         origin + R"(", "reception_needs": "family mediation"},
  "consent": {"share_sections": ["person", "repatriation"], "share_with_roles": ["ngo",
              "immigration"], "purpose": "family tracing and return", "date": "2026-11-29",
              "recorded_by": "return case worker"}})";
}

}  // namespace nrm::tools
