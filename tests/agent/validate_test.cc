// The validation of case data (agent/validate.h) and its vocabularies (agent/vocabulary.h):
// one named test per kind of mistake a caseworker makes, each checking the JSON path, the value
// and the fix the message spells out; and that every field of schemas/payload.fbs is checked.
#include "agent/validate.h"

#include <gtest/gtest.h>

#include "agent/vocabulary.h"
#include "common/file_util.h"
#include "flatbuffers/idl.h"
#include "tests/testing/temp_dir.h"
#include "tools/scenario.h"

namespace nrm {
namespace {

using agent::FieldError;
using K = wire::Kind;

// A directory with the agencies of scenarios 1 and 2, signed by a fresh authority.
const identity::Directory& Dir() {
  static const identity::Directory* dir = [] {
    if (!crypto::InitCrypto().ok()) std::abort();
    testing::TempDir tmp;
    Result<tools::Scenario> s = tools::CreateScenario(
        tmp.path(), {{"TH.POLICE.CRI-ATU", "police", "TH", "Chiang Rai", "ATU"},
                     {"TH.SHELTER.KREDTRAKARN", "shelter", "TH", "Nonthaburi", "Kredtrakarn"},
                     {"KH.NGO.RECEPTION", "ngo", "KH", "Banteay Meanchey", "Reception"}});
    if (!s.ok()) std::abort();
    Result<identity::Directory> d = identity::Directory::Load(
        tmp.path() + "/directory.toml", s->authority.sign_public, SystemClock::Get().NowMillis());
    if (!d.ok()) std::abort();
    return new identity::Directory(std::move(*d));
  }();
  return *dir;
}

std::vector<FieldError> Check(const std::string& json, K kind = K::StatusUpdate) {
  agent::ValidateOptions o;
  o.kind = kind;
  o.now_ms = 1796601600000;  // 2026-12-07
  return agent::ValidateCaseJson(json, Dir(), o);
}

// The one error at `path`, or a failure listing what there was.
FieldError At(const std::vector<FieldError>& errors, const std::string& path) {
  std::string all;
  for (const FieldError& e : errors) {
    if (e.path == path) return e;
    all += e.path + ": " + e.message + "\n";
  }
  ADD_FAILURE() << "no error at " << path << "; errors:\n" << all;
  return {};
}

constexpr const char* kGoodOffer = R"({
  "case": {"status": "Active", "reason_for_referral": "identified in a raid",
           "referral_date": "2026-11-29", "referring_organisation": "TH.POLICE.CRI-ATU"},
  "person": {"first_name": "ธิดา", "birth_date": "2008", "gender": "Feminine",
             "nationality": "MM", "languages": ["my", "th"], "is_child": true},
  "context": {"control_methods": ["DebtBondage"], "exploitation_types": ["ForcedLabour"],
              "labour_sector": "A_AgricultureForestryAndFishing",
              "trafficking_status": "PossibleVictimOfTrafficking",
              "places": [{"stage": "recruitment", "country": "MM", "date": "2026-10-01"}]},
  "needs": {"immediate_needs": ["Medical"], "risk_to_person": "High"},
  "consent": {"share_sections": ["person", "needs"], "share_with_roles": ["shelter"],
              "share_with_agencies": ["KH.NGO.RECEPTION"], "purpose": "protection",
              "date": "2026-11-29", "recorded_by": "ATU officer 12"}
})";

TEST(ValidateTest, AGoodOfferPasses) {
  std::vector<FieldError> e = Check(kGoodOffer, K::ReferralOffer);
  EXPECT_TRUE(e.empty()) << agent::DescribeErrors("offer", e);
  EXPECT_TRUE(agent::CaseFromJson(kGoodOffer, "offer.json", Dir(), {}).ok());
}

TEST(ValidateTest, EmptyOfferNamesEverySectionItNeeds) {
  std::vector<FieldError> e = Check("{}", K::ReferralOffer);
  EXPECT_NE(At(e, "person").message.find("first_name"), std::string::npos);
  EXPECT_NE(At(e, "person").message.find("alias"), std::string::npos);
  EXPECT_NE(At(e, "case.reason_for_referral").message.find("reason"), std::string::npos);
  EXPECT_NE(At(e, "needs").message.find("needs"), std::string::npos);
  EXPECT_NE(At(e, "consent").message.find("--override"), std::string::npos);
  // An alias is enough for the person; an override stands in for a missing consent.
  agent::ValidateOptions o;
  o.kind = K::ReferralOffer;
  o.consent_override = true;
  e = agent::ValidateCaseJson(
      R"({"person": {"alias": "Nang"}, "case": {"reason_for_referral": "raid"},
          "needs": {"immediate_needs": ["Shelter"]}})",
      Dir(), o);
  EXPECT_TRUE(e.empty()) << agent::DescribeErrors("offer", e);
}

TEST(ValidateTest, RepatriationRequestNeedsItsSections) {
  std::vector<FieldError> e =
      Check(R"({"person": {"first_name": "Srey"}})", K::RepatriationRequest);
  At(e, "repatriation");
  At(e, "consent");
  EXPECT_EQ(e.size(), 2u);
}

TEST(ValidateTest, CountryNameIsRefusedWithItsCode) {
  std::vector<FieldError> e = Check(R"({"person": {"nationality": "Myanmar"}})");
  FieldError f = At(e, "person.nationality");
  EXPECT_EQ(f.value, "\"Myanmar\"");
  EXPECT_NE(f.message.find("write its ISO 3166-1 code, MM"), std::string::npos) << f.message;
  for (const auto& [written, code] :
       std::vector<std::pair<std::string, std::string>>{{"Burma", "MM"},
                                                        {"พม่า", "MM"},
                                                        {"Viet Nam", "VN"},
                                                        {"Laos", "LA"},
                                                        {"kh", "KH"},
                                                        {"KHM", "KH"},
                                                        {"กัมพูชา", "KH"},
                                                        {"中国", "CN"}}) {
    e = Check(R"({"context": {"places": [{"country": ")" + written + R"("}]}})");
    EXPECT_NE(At(e, "context.places[0].country").message.find(", " + code + " ("),
              std::string::npos)
        << written;
  }
  e = Check(R"({"person": {"nationality": "XQ"}})");
  EXPECT_NE(At(e, "person.nationality").message.find("not an ISO 3166-1"), std::string::npos);
}

TEST(ValidateTest, BuddhistEraDateIsRefusedWithTheDateToWrite) {
  std::vector<FieldError> e = Check(R"({"consent": {"date": "29/11/2569"}})");
  FieldError f = At(e, "consent.date");
  EXPECT_EQ(f.value, "\"29/11/2569\"");
  EXPECT_EQ(f.message, "29/11/2569 looks like a Buddhist-era date: write 2026-11-29");
  EXPECT_EQ(agent::CheckDate("2569-11-29", false),
            "2569-11-29 looks like a Buddhist-era date: write 2026-11-29");
  EXPECT_EQ(agent::CheckDate("2551", true), "2551 looks like a Buddhist-era year: write 2008");
  EXPECT_EQ(agent::CheckDate("29/11/2026", false),
            "29/11/2026 reads as day/month/year: write 2026-11-29");
  EXPECT_NE(agent::CheckDate("yesterday", false).find("not a date: write the day as YYYY-MM-DD"),
            std::string::npos);
  EXPECT_NE(agent::CheckDate("2026-02-30", false).find("not a day of the calendar"),
            std::string::npos);
  EXPECT_EQ(agent::CheckDate("2024-02-29", false), "");
  EXPECT_EQ(agent::CheckDate("2008", true), "");
  EXPECT_NE(agent::CheckDate("2008", false), "") << "a year alone is a birth date's privilege";
  e = Check(R"({"case": {"referral_date": "yesterday"}})");
  EXPECT_EQ(At(e, "case.referral_date").value, "\"yesterday\"");
}

TEST(ValidateTest, DateInTheFutureIsRefusedButAPlannedReturnIsNot) {
  std::vector<FieldError> e = Check(
      R"({"person": {"birth_date": "2027-01-01"}, "repatriation": {"proposed_date": "2027-01-15"}})");
  EXPECT_NE(At(e, "person.birth_date").message.find("in the future"), std::string::npos);
  EXPECT_EQ(e.size(), 1u);
}

TEST(ValidateTest, MisspelledEnumerationSuggestsTheNearestValue) {
  std::vector<FieldError> e = Check(R"({"case": {"status": "Actve"}})");
  FieldError f = At(e, "case.status");
  EXPECT_EQ(f.value, "\"Actve\"");
  EXPECT_NE(f.message.find("did you mean 'Active'?"), std::string::npos) << f.message;
  e = Check(R"({"person": {"gender": "female"}, "context": {"exploitation_types": ["Labour"],
               "labour_sector": "Fishing"}, "investigation": {"perpetrator_roles": ["Recruiter"]},
               "needs": {"risk_to_person": "high"}})");
  EXPECT_NE(At(e, "person.gender").message.find("'Feminine'"), std::string::npos);
  EXPECT_NE(At(e, "context.exploitation_types[0]").message.find("'ForcedLabour'"),
            std::string::npos);
  EXPECT_NE(At(e, "context.labour_sector").message.find("'A_AgricultureForestryAndFishing'"),
            std::string::npos);
  EXPECT_NE(At(e, "investigation.perpetrator_roles[0]").message.find("RecruiterOrIntermediary"),
            std::string::npos);
  EXPECT_NE(At(e, "needs.risk_to_person").message.find("'High'"), std::string::npos);
  // Nothing near: the values are listed.
  e = Check(R"({"needs": {"risk_to_person": "zzzzzz"}})");
  EXPECT_NE(At(e, "needs.risk_to_person").message.find("write Low, Medium or High"),
            std::string::npos);
}

TEST(ValidateTest, MisspelledConsentRoleSuggestsTheRole) {
  std::vector<FieldError> e = Check(
      R"({"consent": {"share_with_roles": ["shelter", "shleter"], "share_sections": ["persn"]}})");
  FieldError f = At(e, "consent.share_with_roles[1]");
  EXPECT_EQ(f.value, "\"shleter\"");
  EXPECT_NE(f.message.find("not an agency role: did you mean 'shelter'?"), std::string::npos)
      << f.message;
  EXPECT_NE(At(e, "consent.share_sections[0]").message.find("'person'"), std::string::npos);
}

TEST(ValidateTest, AgencyThatDoesNotExistIsNamedWithTheNearest) {
  std::vector<FieldError> e = Check(R"({"consent": {"share_with_agencies": ["KH.NGO.RECEPTON"]},
                                       "repatriation": {"reception_agency": "nobody"}})");
  EXPECT_NE(At(e, "consent.share_with_agencies[0]").message.find("did you mean KH.NGO.RECEPTION?"),
            std::string::npos);
  EXPECT_NE(At(e, "repatriation.reception_agency").message.find("no agency nobody"),
            std::string::npos);
}

TEST(ValidateTest, LanguageNameIsRefusedWithItsCode) {
  std::vector<FieldError> e = Check(R"({"person": {"languages": ["Burmese", "th", "Khmer"]}})");
  EXPECT_NE(At(e, "person.languages[0]").message.find(": my"), std::string::npos);
  EXPECT_NE(At(e, "person.languages[2]").message.find(": km"), std::string::npos);
  EXPECT_EQ(e.size(), 2u);
}

TEST(ValidateTest, UnknownFieldAndWrongTypeAreNamedWithTheirPath) {
  std::vector<FieldError> e = Check(
      R"({"person": {"frist_name": "A", "is_child": "yes", "languages": "my"}, "persn": {},
          "context": {"places": [{"stage": "transit", "contry": "TH"}]}, "needs": []})");
  EXPECT_NE(At(e, "person.frist_name").message.find("did you mean 'first_name'"),
            std::string::npos);
  EXPECT_NE(At(e, "person.is_child").message.find("true or false"), std::string::npos);
  EXPECT_NE(At(e, "person.languages").message.find("a list"), std::string::npos);
  EXPECT_NE(At(e, "persn").message.find("'person'"), std::string::npos);
  EXPECT_NE(At(e, "context.places[0].contry").message.find("'country'"), std::string::npos);
  EXPECT_NE(At(e, "needs").message.find("object"), std::string::npos);
  e = Check("[1, 2]");
  EXPECT_NE(At(e, "").message.find("one JSON object"), std::string::npos);
}

TEST(ValidateTest, SyntaxErrorNamesTheLineAndColumnWhereItIs) {
  // The comma missing after line 2's value shows to a parser only at line 3's field.
  std::vector<FieldError> e = Check(
      "{\n  \"person\": {\"first_name\": \"A\"}\n  \"needs\": {\"risk_to_person\": \"High\"}\n}");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 2);
  EXPECT_EQ(e[0].column, 32);
  EXPECT_NE(e[0].message.find("line 2, column 32: a comma is missing"), std::string::npos)
      << e[0].message;
  // A comma too many, before the closing brace.
  e = Check("{\n  \"person\": {\"first_name\": \"A\"},\n}");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 2);
  EXPECT_EQ(e[0].column, 32);
  EXPECT_NE(e[0].message.find("remove it"), std::string::npos) << e[0].message;
  // A mistake within a line is named where it is.
  e = Check("{\"person\": {\"first_name\": A}}");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 1);
  EXPECT_EQ(e[0].column, 27);
  EXPECT_EQ(agent::ErrorsToJson(e)[0]["line"], 1);
}

TEST(ValidateTest, ErrorsAreDescribedForPeopleAndForMachines) {
  std::vector<FieldError> e = Check(R"({"case": {"status": "Actve"}})");
  EXPECT_EQ(agent::DescribeErrors("case.json", e),
            "case.json: 1 problem:\n  case.status = \"Actve\": 'Actve' is not a value of HTCDS 2.0 "
            "cas_Status: did you mean 'Active'?");
  json::Json j = agent::ErrorsToJson(e);
  EXPECT_EQ(j[0]["path"], "case.status");
  EXPECT_EQ(j[0]["value"], "\"Actve\"");
  Result<Bytes> p = agent::CaseFromJson(R"({"case": {"status": "Actve"}})", "f.json", Dir(), {});
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
}

// Every field of schemas/payload.fbs is known to the validator: a value of the right type for
// it gives no "unknown field" error (a field added to the schema and not to validate.cc would).
TEST(ValidateTest, EveryFieldOfTheSchemaIsChecked) {
  Result<std::string> fbs = ReadFile(std::string(NRM_SOURCE_DIR) + "/schemas/payload.fbs");
  ASSERT_TRUE(fbs.ok());
  flatbuffers::Parser parser;
  ASSERT_TRUE(parser.Parse(fbs->c_str())) << parser.error_;
  const flatbuffers::StructDef* root = parser.root_struct_def_;
  ASSERT_NE(root, nullptr);
  int fields = 0;
  for (const flatbuffers::FieldDef* section : root->fields.vec) {
    const flatbuffers::StructDef* table = section->value.type.struct_def;
    ASSERT_NE(table, nullptr) << section->name;
    for (const flatbuffers::FieldDef* f : table->fields.vec) {
      const flatbuffers::BaseType t = f->value.type.base_type;
      std::string value = t == flatbuffers::BASE_TYPE_BOOL     ? "true"
                          : t == flatbuffers::BASE_TYPE_STRING ? "\"x\""
                                                               : "[]";
      std::vector<FieldError> e =
          Check("{\"" + section->name + "\": {\"" + f->name + "\": " + value + "}}");
      for (const FieldError& err : e) {
        EXPECT_EQ(err.message.find("unknown"), std::string::npos)
            << section->name << "." << f->name << ": " << err.message;
      }
      ++fields;
    }
  }
  EXPECT_GE(fields, 50);
}

TEST(VocabularyTest, NearestFindsMisspellingsCaseAndAliases) {
  const std::vector<std::string_view> v = {"Active", "FollowUp", "Closed", "ClosedReferred"};
  EXPECT_EQ(agent::Nearest("actve", v), "Active");
  EXPECT_EQ(agent::Nearest("ACTIVE", v), "Active");
  EXPECT_EQ(agent::Nearest("follow-up", v), "FollowUp");
  EXPECT_EQ(agent::Nearest("banana", v), "");
  EXPECT_EQ(agent::Nearest("gone", v, {{"gone", "Closed"}}), "Closed");
  EXPECT_EQ(agent::EditDistance("shleter", "shelter"), 2u);
  EXPECT_EQ(agent::IsoCountries().size(), 249u);
  EXPECT_EQ(agent::IsoLanguages().size(), 184u);
  for (std::string_view c : {"TH", "KH", "MM", "LA", "VN", "CN"}) {
    EXPECT_TRUE(agent::IsCountryCode(c)) << c;
  }
  EXPECT_EQ(agent::LanguageCodeFor("Vietnamese"), "vi");
  EXPECT_EQ(agent::CountryName("LA"), "Lao People's Democratic Republic");
}

}  // namespace
}  // namespace nrm
