// HTCDS 2.0 export and import (agent/htcds.h): a round trip keeps every field, the document
// uses HTCDS's field names, and a file with an unknown field or a wrong value is refused with
// its path in the file.
#include "agent/htcds.h"

#include <gtest/gtest.h>

#include "schemas/wire/payload.h"

namespace nrm {
namespace {

using json::Json;

// Every field of the payload but the decision, including those HTCDS has no field for.
constexpr const char* kFullCase = R"({
  "case": {"status": "Active", "reason_for_referral": "identified in a raid",
           "referral_date": "2026-11-29", "referring_organisation": "TH.POLICE.CRI-ATU",
           "referring_case_worker": "officer 12", "referred_organisation": "TH.SHELTER.KREDTRAKARN",
           "referred_case_worker": "social worker 3"},
  "person": {"first_name": "ธิดา", "second_name": "Mya", "birth_date": "2008-03-02",
             "gender": "Feminine", "nationality": "MM", "phone": "+66 81 000 0000",
             "languages": ["my", "th", "en"], "is_child": true,
             "best_interests_assessment": "done 2026-11-30", "guardian": "shelter director",
             "alias": "Nang", "identity_number": "MB123456"},
  "context": {"recruitment_methods": ["ThroughFriendsOrSocialEvents"],
              "control_methods": ["DebtBondage", "WithholdsDocuments"],
              "exploitation_types": ["ForcedLabour"],
              "labour_sector": "A_AgricultureForestryAndFishing",
              "places": [{"stage": "recruitment", "location": "Tachileik", "country": "MM",
                          "date": "2026-09-01"},
                         {"stage": "exploitation", "location": "Mae Sai", "country": "TH"}],
              "trafficking_status": "PossibleVictimOfTrafficking"},
  "needs": {"immediate_needs": ["Medical", "Interpretation"], "risk_to_person": "High",
            "risk_to_family": "Medium", "risk_from": "recruiter", "transport_constraints": "escort"},
  "consent": {"share_sections": ["person", "needs"], "share_with_roles": ["shelter"],
              "share_with_agencies": ["TH.SHELTER.KREDTRAKARN"], "purpose": "protection",
              "date": "2026-11-29", "recorded_by": "ATU officer 12"},
  "investigation": {"perpetrator_roles": ["RecruiterOrIntermediary", "Transporter"],
                    "evidence_refs": ["CRI-2026-0412"], "testimony_available": true},
  "repatriation": {"origin_address": "Tachileik", "family_found": true,
                   "travel_documents": ["CI-1"], "proposed_date": "2027-01-10",
                   "border_point": "Mae Sai-Tachileik", "reception_agency": "TH.SHELTER.KREDTRAKARN",
                   "reception_needs": "school"},
  "counselling": {"notes": "sessions 1-3", "health_notes": "none"}
})";

const identity::Directory& NoDirectory() {
  static const identity::Directory kEmpty;
  return kEmpty;
}

// The payload's JSON as the agent prints it, which is the same for equal payloads.
std::string Canonical(const std::string& json) {
  Result<Bytes> p = wire::PayloadFromJson(json);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << json;
  if (!p.ok()) return "";
  Result<std::string> text = wire::PayloadToJson(*p);
  return text.ok() ? *text : "";
}

Json Export(const std::string& case_json, const std::string& by) {
  agent::HtcdsExport info;
  info.case_reference = std::string(32, 'a');
  info.exported_by = by;
  info.exported_at_ms = 1796601600000;
  Result<Json> doc = agent::ExportHtcds(*json::Parse(Canonical(case_json)), info);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : Json();
}

// Imports with the agencies of the case unchecked (no directory): what is under test is the
// mapping; validate_test checks agencies against a directory.
agent::HtcdsImport Import(const std::string& text) {
  return agent::ImportHtcds(text, NoDirectory(), {});
}

TEST(HtcdsTest, ExportThenImportGivesTheSameCase) {
  for (const char* by : {"TH.POLICE.CRI-ATU", "TH.SHELTER.KREDTRAKARN"}) {
    const Json doc = Export(kFullCase, by);
    agent::HtcdsImport in = Import(doc.dump());
    // Agencies are not in the empty directory: those are the only errors.
    for (const agent::FieldError& e : in.errors) {
      EXPECT_NE(e.message.find("in the directory"), std::string::npos)
          << e.path << ": " << e.message;
    }
    EXPECT_EQ(in.case_reference, std::string(32, 'a'));
    EXPECT_EQ(Canonical(in.payload.dump()), Canonical(kFullCase)) << by;
  }
}

TEST(HtcdsTest, TheDocumentUsesHtcdsFieldNames) {
  const Json doc = Export(kFullCase, "TH.POLICE.CRI-ATU");
  EXPECT_EQ(doc["standard"], "HTCDS");
  EXPECT_EQ(doc["version"], "2.0");
  EXPECT_EQ(doc["person"]["prs_FirstName"], "ธิดา");
  EXPECT_EQ(doc["person"]["prs_Citizenship"], Json::array({"MM"}));
  EXPECT_EQ(doc["person"]["prs_PrimaryLanguage"], "my");
  EXPECT_EQ(doc["victim"]["vic_TraffickingStatus"], "PossibleVictimOfTrafficking");
  EXPECT_EQ(doc["victim"]["vic_MethodsOfControl"][1], "WithholdsDocuments");
  EXPECT_EQ(doc["case"]["cas_ReferringOrganisation"], "TH.POLICE.CRI-ATU");
  EXPECT_EQ(doc["case"]["cas_ReferredOrganisation"], "TH.SHELTER.KREDTRAKARN");
  // The police referred it: the date is the outgoing referral's; the shelter sees it incoming.
  EXPECT_EQ(doc["case"]["cas_OutgoingReferralDate"], "2026-11-29");
  EXPECT_EQ(Export(kFullCase, "TH.SHELTER.KREDTRAKARN")["case"]["cas_IncomingReferralDate"],
            "2026-11-29");
  EXPECT_EQ(doc["consent"]["con_Consent"], true);
  EXPECT_EQ(doc["trafficking_events"][0]["hte_Type"], "Recruitment");
  EXPECT_EQ(doc["perpetrators"][1]["per_RoleInProcess"], Json::array({"Transporter"}));
  // What HTCDS has no field for stays under nrm, in the payload's own names.
  EXPECT_EQ(doc["nrm"]["person"]["alias"], "Nang");
  EXPECT_EQ(doc["nrm"]["person"]["languages"], Json::array({"en"}));
  EXPECT_TRUE(doc["nrm"].contains("needs"));
  EXPECT_FALSE(doc["nrm"]["person"].contains("first_name"));
}

TEST(HtcdsTest, UnknownFieldIsRefusedWithItsPath) {
  Json doc = Export(kFullCase, "TH.POLICE.CRI-ATU");
  doc["person"]["prs_FristName"] = "A";
  doc["trafficking_events"][1]["hte_Cuntry"] = "TH";
  doc["extra"] = 1;
  agent::HtcdsImport in = Import(doc.dump());
  auto has = [&](const std::string& path, const std::string& text) {
    for (const agent::FieldError& e : in.errors) {
      if (e.path == path && e.message.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("person.prs_FristName", "did you mean 'prs_FirstName'?"));
  EXPECT_TRUE(has("trafficking_events[1].hte_Cuntry", "did you mean 'hte_Country'?"));
  EXPECT_TRUE(has("extra", "unknown field 'extra'"));
}

TEST(HtcdsTest, WrongValueIsRefusedWithItsPathInTheFile) {
  Json doc = Export(kFullCase, "TH.POLICE.CRI-ATU");
  doc["victim"]["vic_TraffickingStatus"] = "PossibleVictim";
  doc["victim"]["vic_MethodsOfControl"][0] = "Debt";
  doc["trafficking_events"][0]["hte_Country"] = "Myanmar";
  doc["person"]["prs_SecondaryLanguage"] = "Thai";
  doc["perpetrators"][1]["per_RoleInProcess"][0] = "Trnasporter";
  doc["nrm"]["needs"]["risk_to_person"] = "Hgh";
  doc["version"] = "1.0";
  agent::HtcdsImport in = Import(doc.dump());
  std::map<std::string, std::string> got;
  for (const agent::FieldError& e : in.errors) got[e.path] = e.message;
  EXPECT_NE(got["version"].find("2.0"), std::string::npos);
  doc["version"] = "2.0";
  in = Import(doc.dump());
  got.clear();
  for (const agent::FieldError& e : in.errors) got[e.path] = e.message;
  EXPECT_NE(got["victim.vic_TraffickingStatus"].find("'PossibleVictimOfTrafficking'"),
            std::string::npos);
  EXPECT_NE(got["victim.vic_MethodsOfControl[0]"].find("'DebtBondage'"), std::string::npos);
  EXPECT_NE(got["trafficking_events[0].hte_Country"].find("MM"), std::string::npos);
  EXPECT_NE(got["person.prs_SecondaryLanguage"].find(": th"), std::string::npos);
  EXPECT_NE(got["perpetrators[1].per_RoleInProcess[0]"].find("'Transporter'"), std::string::npos);
  EXPECT_NE(got["nrm.needs.risk_to_person"].find("'High'"), std::string::npos);
}

TEST(HtcdsTest, MappedFieldGivenTwiceAndBadShapesAreRefused) {
  Json doc = Export(kFullCase, "TH.POLICE.CRI-ATU");
  doc["nrm"]["person"]["first_name"] = "Other";
  doc["person"]["prs_Citizenship"] = Json::array({"MM", "TH"});
  agent::HtcdsImport in = Import(doc.dump());
  std::map<std::string, std::string> got;
  for (const agent::FieldError& e : in.errors) got[e.path] = e.message;
  EXPECT_NE(got["nrm.person.first_name"].find("person.prs_FirstName"), std::string::npos);
  EXPECT_NE(got["person.prs_Citizenship"].find("one country"), std::string::npos);
  EXPECT_FALSE(Import("[]").errors.empty());
  EXPECT_FALSE(
      Import("{\"standard\": \"HTCDS\",\n \"version\": \"2.0\"\n \"person\": {}}").errors.empty());
  // A foreign file: HTCDS fields only, consent without its scope.
  in = Import(R"({"standard": "HTCDS", "version": "2.0",
                  "person": {"prs_FirstName": "Sokha", "prs_Citizenship": ["KH"]},
                  "consent": {"con_Consent": true}})");
  EXPECT_TRUE(in.errors.empty()) << in.errors.front().path << ": " << in.errors.front().message;
  EXPECT_FALSE(in.payload.contains("consent"));
}

}  // namespace
}  // namespace nrm
