// What a new user tried on the agent, as tests on real processes: each mistake a caseworker
// makes in a case file is refused before anything is sealed, naming the field, the value and the
// fix (issue 18); the data people write comes back as they wrote it (Thai, Khmer, Burmese...).
#include <gtest/gtest.h>

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
  const std::string out =
      RefusedOffer(OfferFile("CanaryIndia", "\"nationality\": \"MM\"", "\"nationality\": \"Myanmar\""));
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
  const std::string words = RefusedOffer(OfferFile("CanaryJuliet", "\"2026-11-29\"", "\"yesterday\""));
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
  const std::string out = RefusedOffer(OfferFile(
      "CanaryMike", "\"identified in a raid\"},", "\"identified in a raid\"}"));
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

}  // namespace
}  // namespace nrm
