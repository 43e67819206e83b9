// What a new user tried on the agent, as tests on real processes: each mistake a caseworker
// makes in a case file is refused before anything is sealed, naming the field, the value and the
// fix (issue 18); the data people write comes back as they wrote it (Thai, Khmer, Burmese...).
#include <gtest/gtest.h>

#include "common/json/json.h"
#include "tests/testing/agent_fixture.h"

namespace nrm {
namespace {

using testing::AgentDaemonTest;
using testing::Cli;
using testing::kPolice;
using testing::kShelterA;

class CaseworkerTest : public AgentDaemonTest {
 protected:
  // A good offer file for a person called `name`, with `from` replaced by `to` in it.
  std::string OfferFile(const std::string& name, const std::string& from = "",
                        const std::string& to = "") {
    std::string json = VictimFile(name, "\"shelter\"");
    if (!from.empty()) {
      const size_t at = json.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      json.replace(at, from.size(), to);
    }
    return WriteJson("offer-" + std::to_string(++files_) + ".json", json);
  }

  // Offers `file` from the police to the first shelter: refused as bad input (exit 2), with
  // nothing in the outbox; returns what was printed.
  std::string RefusedOffer(const std::string& file) {
    Cli r = Run(kPolice, {"offer", "--to", kShelterA, "--file", file});
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_EQ(Run(kPolice, {"outbox", "--json"}).out, "[]\n") << "nothing may be sent";
    return r.out;
  }

  int files_ = 0;
};

TEST_F(CaseworkerTest, EmptyOfferIsRefusedNamingWhatItNeeds) {
  StartAgent(kPolice);
  const std::string out = RefusedOffer(WriteJson("empty.json", "{}"));
  for (const char* need : {"person: an offer needs the person: person.first_name, or person.alias",
                           "case.reason_for_referral: an offer needs the referring agency's reason",
                           "needs: an offer needs the person's needs",
                           "consent: an offer needs the person's consent"}) {
    EXPECT_NE(out.find(need), std::string::npos) << need << "\n" << out;
  }
}

TEST_F(CaseworkerTest, CountryNameIsRefusedWithItsCode) {
  StartAgent(kPolice);
  const std::string out = RefusedOffer(
      OfferFile("CanaryIndia", "\"nationality\": \"MM\"", "\"nationality\": \"Myanmar\""));
  EXPECT_NE(out.find("person.nationality = \"Myanmar\": Myanmar is a country's name: write its "
                     "ISO 3166-1 code, MM (Myanmar)"),
            std::string::npos)
      << out;
}

TEST_F(CaseworkerTest, BuddhistEraDateIsRefusedWithTheDateToWrite) {
  StartAgent(kPolice);
  const std::string out =
      RefusedOffer(OfferFile("CanaryJuliet", "\"2026-11-29\"", "\"29/11/2569\""));
  EXPECT_NE(out.find("consent.date = \"29/11/2569\": 29/11/2569 looks like a Buddhist-era date: "
                     "write 2026-11-29"),
            std::string::npos)
      << out;
  const std::string words =
      RefusedOffer(OfferFile("CanaryJuliet", "\"2026-11-29\"", "\"yesterday\""));
  EXPECT_NE(words.find("consent.date = \"yesterday\": not a date: write the day as YYYY-MM-DD"),
            std::string::npos)
      << words;
}

TEST_F(CaseworkerTest, MisspelledStatusIsRefusedWithTheNearestValue) {
  StartAgent(kPolice);
  const std::string out =
      RefusedOffer(OfferFile("CanaryKilo", "\"status\": \"Active\"", "\"status\": \"Actve\""));
  EXPECT_NE(out.find("case.status = \"Actve\": 'Actve' is not a value of HTCDS 2.0 cas_Status: "
                     "did you mean 'Active'?"),
            std::string::npos)
      << out;
}

TEST_F(CaseworkerTest, MisspelledConsentRoleIsRefusedWithTheRole) {
  StartAgent(kPolice);
  const std::string file = WriteJson("role.json", VictimFile("CanaryLima", "\"shleter\""));
  const std::string out = RefusedOffer(file);
  EXPECT_NE(out.find("consent.share_with_roles[0] = \"shleter\": 'shleter' is not an agency "
                     "role: did you mean 'shelter'?"),
            std::string::npos)
      << out;
}

TEST_F(CaseworkerTest, SyntaxErrorNamesTheLineAndColumnWhereItIs) {
  StartAgent(kPolice);
  // The comma after the case section is missing: the mistake is at the end of line 2, which a
  // parser notices only at the next field, on line 3.
  const std::string out = RefusedOffer(
      OfferFile("CanaryMike", "\"identified in a raid\"},", "\"identified in a raid\"}"));
  EXPECT_NE(out.find("line 2, column 78: a comma is missing after this value"), std::string::npos)
      << out;
}

TEST_F(CaseworkerTest, TextInTheScriptsOfTheRegionIsPrintedAsItIs) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  // Thai, Khmer, Burmese, Lao, Vietnamese and Chinese, as a caseworker types them.
  const std::string names = "ธิดา ស្រីពៅ မြမြ ນາງ Nguyễn 李";
  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", OfferFile(names), "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string id = Field(o.out, "message_id");
  WaitFor(kShelterA, {"inbox", "--json"}, id);
  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"show", id}, std::vector<std::string>{"show", id, "--json"}}) {
    Cli shown = Run(kShelterA, words);
    EXPECT_NE(shown.out.find(names), std::string::npos) << shown.out;
    EXPECT_EQ(shown.out.find("\\u0E"), std::string::npos) << shown.out;
  }
  Cli dec = Run(kShelterA, {"decline", id, "--reason", "ไม่มีที่ว่าง"});
  ASSERT_EQ(dec.code, 0) << dec.out;
  for (const std::vector<std::string>& words :
       {std::vector<std::string>{"timeline", Field(o.out, "case")},
        std::vector<std::string>{"timeline", Field(o.out, "case"), "--json"}}) {
    Cli tl = WaitFor(kPolice, words, "ไม่มีที่ว่าง");
    EXPECT_NE(tl.out.find("ไม่มีที่ว่าง"), std::string::npos) << tl.out;
  }
}

TEST_F(CaseworkerTest, PoliceWhoRecordedConsentCanRevokeIt) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", OfferFile("CanaryNovember"),
                        "--label", "november", "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  WaitFor(kShelterA, {"cases", "--json"}, "\"consent\":\"recorded\"");
  Cli rc = Run(kPolice, {"revoke-consent", "november", "--reason", "the person asked", "--json"});
  ASSERT_EQ(rc.code, 0) << rc.out;
  // Accepted by the broker (agent/step_state.h), or confirmed by the shelter already.
  EXPECT_TRUE(rc.out.find("\"status\":\"at the broker\"") != std::string::npos ||
              rc.out.find("\"status\":\"delivered\"") != std::string::npos)
      << rc.out;
  WaitFor(kShelterA, {"cases", "--json"}, "\"consent\":\"revoked\"");
}

TEST_F(CaseworkerTest, SectionsThePolicyWithholdsAreReportedBeforeAndAfterSending) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  // The police file holds the investigation, which a shelter may never hold.
  const std::string file = OfferFile(
      "CanaryOscar",
      "\"needs\":", "\"investigation\": {\"perpetrator_roles\": [\"Transporter\"]},\n  \"needs\":");
  Cli preview = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--preview"});
  ASSERT_EQ(preview.code, 0) << preview.out;
  EXPECT_NE(preview.out.find("nothing sent (--preview)"), std::string::npos) << preview.out;
  EXPECT_NE(preview.out.find("to " + kShelterA +
                             " (shelter): case, person, needs, consent; withheld by the policy: "
                             "investigation"),
            std::string::npos)
      << preview.out;
  EXPECT_NE(preview.out.find("consent: covers it"), std::string::npos) << preview.out;
  EXPECT_EQ(Run(kPolice, {"outbox", "--json"}).out, "[]\n") << "a preview sends nothing";

  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file});
  ASSERT_EQ(o.code, 0) << o.out;
  EXPECT_NE(o.out.find("withheld by the policy: investigation"), std::string::npos) << o.out;
  Cli outbox = Run(kPolice, {"outbox"});
  EXPECT_NE(outbox.out.find("withheld by the policy: investigation"), std::string::npos)
      << outbox.out;
  Cli json = Run(kPolice, {"outbox", "--json"});
  EXPECT_NE(json.out.find("\"withheld\":[\"investigation\"]"), std::string::npos) << json.out;
  Cli shown = Run(kPolice, {"show", Field(json.out, "message_id")});
  EXPECT_NE(shown.out.find("withheld by the policy: investigation"), std::string::npos)
      << shown.out;
}

TEST_F(CaseworkerTest, SendRefusesPersonalDataItCannotCheckConsentFor) {
  StartAgent(kPolice);
  // The person agreed to share with NGOs only; send would have sealed it to a shelter.
  const std::string file = WriteJson("ngo-only.json", VictimFile("CanaryPapa", "\"ngo\""));
  Cli r = Run(kPolice, {"send", "--to", kShelterA, "--kind", "referral_offer", "--file", file});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("referral_offer carries personal data: send is a low-level tool"),
            std::string::npos)
      << r.out;
  // Nor under another kind: any personal section is refused.
  r = Run(kPolice, {"send", "--to", kShelterA, "--kind", "status_update", "--file", file});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("the person section is personal data"), std::string::npos) << r.out;
  // A status without personal data still goes (tests and interop).
  const std::string status = WriteJson("status.json", R"({"case": {"status": "FollowUp"}})");
  r = Run(kPolice, {"send", "--to", kShelterA, "--kind", "status_update", "--file", status});
  EXPECT_EQ(r.code, 0) << r.out;
  // The caseworker's command checks the consent and refuses.
  Cli offer = Run(kPolice, {"offer", "--to", kShelterA, "--file", file});
  EXPECT_EQ(offer.code, 1) << offer.out;
  EXPECT_NE(offer.out.find("consent does not cover sharing with " + kShelterA), std::string::npos)
      << offer.out;
}

TEST_F(CaseworkerTest, SamePersonTwiceNeedsNewCase) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  // The same person, with a birth date; then the same identity document under another name.
  const std::string born = "\"nationality\": \"MM\", \"birth_date\": \"2008-03-02\"";
  const std::string first = OfferFile("CanaryQuebec", "\"nationality\": \"MM\"", born);
  Cli o =
      Run(kPolice, {"offer", "--to", kShelterA, "--file", first, "--label", "quebec", "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string ref = Field(o.out, "case");
  Cli again = Run(kPolice, {"offer", "--to", kShelterA, "--file", first, "--label", "quebec-2"});
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("already has an open case here:\n  " + ref + " (quebec), offered"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("--new-case"), std::string::npos) << again.out;
  Cli forced = Run(kPolice, {"offer", "--to", kShelterA, "--file", first, "--new-case", "--json"});
  ASSERT_EQ(forced.code, 0) << forced.out;
  EXPECT_NE(Field(forced.out, "case"), ref);

  const std::string doc = "\"nationality\": \"MM\", \"identity_number\": \"MB-123 456\"";
  ASSERT_EQ(Run(kPolice, {"offer", "--to", kShelterA, "--file",
                          OfferFile("CanaryRomeo", "\"nationality\": \"MM\"", doc)})
                .code,
            0);
  const std::string alias = "\"nationality\": \"MM\", \"identity_number\": \"MB123456\"";
  Cli same_doc = Run(kPolice, {"offer", "--to", kShelterA, "--file",
                               OfferFile("CanarySierra", "\"nationality\": \"MM\"", alias)});
  EXPECT_EQ(same_doc.code, 1) << same_doc.out;
  EXPECT_NE(same_doc.out.find("same identity document"), std::string::npos) << same_doc.out;
}

TEST_F(CaseworkerTest, LabelsAreUniqueAndAnAmbiguousReferenceListsTheCandidates) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  Cli a = Run(kPolice, {"offer", "--to", kShelterA, "--file", OfferFile("CanaryTango"), "--label",
                        "victim-1", "--json"});
  ASSERT_EQ(a.code, 0) << a.out;
  Cli dup = Run(kPolice, {"offer", "--to", kShelterA, "--file", OfferFile("CanaryUniform"),
                          "--label", "victim-1"});
  EXPECT_EQ(dup.code, 1) << dup.out;
  EXPECT_NE(dup.out.find("the label victim-1 is already case " + Field(a.out, "case")),
            std::string::npos)
      << dup.out;
  Cli b =
      Run(kPolice, {"offer", "--to", kShelterA, "--file", OfferFile("CanaryUniform"), "--json"});
  ASSERT_EQ(b.code, 0) << b.out;
  const std::string ref_a = Field(a.out, "case"), ref_b = Field(b.out, "case");
  // A label that is also the start of the other case's reference: both are candidates.
  Cli rl = Run(kPolice, {"relabel", "victim-1", ref_b.substr(0, 8)});
  ASSERT_EQ(rl.code, 0) << rl.out;
  Cli amb = Run(kPolice, {"timeline", ref_b.substr(0, 8)});
  EXPECT_EQ(amb.code, 1) << amb.out;
  EXPECT_NE(amb.out.find("is ambiguous; it names each of:"), std::string::npos) << amb.out;
  EXPECT_NE(amb.out.find(ref_a + "  label " + ref_b.substr(0, 8)), std::string::npos) << amb.out;
  EXPECT_NE(amb.out.find(ref_b + "  offered"), std::string::npos) << amb.out;
  // The receiving agency labels the case its own way.
  WaitFor(kShelterA, {"cases", "--json"}, ref_b);
  Cli mine = Run(kShelterA, {"relabel", ref_b, "room-4"});
  ASSERT_EQ(mine.code, 0) << mine.out;
  EXPECT_NE(Run(kShelterA, {"timeline", "room-4"}).out.find(ref_b), std::string::npos);
}

TEST_F(CaseworkerTest, ExportAndImportHtcdsAndPrimeroTransitions) {
  StartAgent(kPolice);
  StartAgent(kShelterA);
  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file",
                        OfferFile("CanaryVictor", "\"nationality\": \"MM\"",
                                  "\"nationality\": \"MM\", \"birth_date\": \"2009\""),
                        "--label", "victor", "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string id = Field(o.out, "message_id");
  WaitFor(kShelterA, {"inbox", "--json"}, id);
  ASSERT_EQ(Run(kShelterA, {"decline", id, "--reason", "lack_of_capacity"}).code, 0);
  WaitFor(kPolice, {"cases", "--json"}, "\"state\":\"rejected\"");

  const std::string out = tmp_.path() + "/victor.htcds.json";
  Cli ex = Run(kPolice, {"export", "victor", "--format", "htcds", "--out", out});
  ASSERT_EQ(ex.code, 0) << ex.out;
  Result<std::string> exported = ReadFile(out);
  ASSERT_TRUE(exported.ok());
  for (const char* field : {"\"standard\": \"HTCDS\"", "\"prs_FirstName\": \"CanaryVictor\"",
                            "\"cas_Status\": \"Active\"", "\"con_Consent\": true"}) {
    EXPECT_NE(exported->find(field), std::string::npos) << field << "\n" << *exported;
  }
  // Imported again (the same person: --new-case), it is the same case.
  Cli im = Run(kPolice, {"import", out, "--format", "htcds", "--label", "victor-2", "--json"});
  EXPECT_EQ(im.code, 1) << "the same person has an open case here\n" << im.out;
  im = Run(kPolice,
           {"import", out, "--format", "htcds", "--label", "victor-2", "--new-case", "--json"});
  ASSERT_EQ(im.code, 0) << im.out;
  EXPECT_NE(im.out.find("\"consent\":\"recorded\""), std::string::npos) << im.out;
  Cli again = Run(kPolice, {"export", "victor-2", "--format", "htcds"});
  ASSERT_EQ(again.code, 0) << again.out;
  Result<json::Json> a = json::Parse(*exported), b = json::Parse(again.out);
  ASSERT_TRUE(a.ok() && b.ok());
  for (json::Json* doc : {&*a, &*b}) {
    doc->erase("case_reference");
    doc->erase("exported_at");
  }
  EXPECT_EQ(a->dump(), b->dump());
  // The imported case is offered with its own data.
  Cli offer = Run(kPolice, {"offer", "--case", "victor-2", "--to", kShelterA, "--json"});
  EXPECT_EQ(offer.code, 0) << offer.out;

  // The referral's history as Primero transitions.
  Cli pr = Run(kPolice, {"export", "victor", "--format", "primero"});
  ASSERT_EQ(pr.code, 0) << pr.out;
  Result<json::Json> t = json::Parse(pr.out);
  ASSERT_TRUE(t.ok()) << pr.out;
  const json::Json& first = (*t)["transitions"][0];
  EXPECT_EQ(first["type"], "referral");
  EXPECT_EQ(first["status"], "rejected");
  EXPECT_EQ(first["rejected_reason"], "lack_of_capacity");
  EXPECT_EQ(first["transitioned_to_agency"], kShelterA);
  EXPECT_EQ(first["consent_overridden"], false);

  // A file with a wrong value is refused with its path in the file.
  const std::string bad = WriteJson("bad.htcds.json", R"({"standard": "HTCDS", "version": "2.0",
    "person": {"prs_FirstName": "A", "prs_Gender": "female"}})");
  Cli refused = Run(kPolice, {"import", bad, "--format", "htcds"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.out.find("person.prs_Gender = \"female\""), std::string::npos) << refused.out;
}

}  // namespace
}  // namespace nrm
