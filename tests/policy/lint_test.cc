// One test per kind of mistake in a policy file: Lint() names the file, the line and what was
// expected, and Parse() refuses the file with the first problem.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/policy.h"
#include "tests/policy/policy_test_util.h"

namespace nrm::policy {
namespace {

using Problems = std::vector<std::string>;

// kMinimalPolicy with one edit, linted as "p.toml". Also checks that Parse() fails with the first
// problem, so every test below covers both entry points.
Problems LintEdited(const std::string& from, const std::string& to) {
  std::string text = kMinimalPolicy;
  ReplaceOnce(text, from, to);
  Problems problems = Lint(text, "p.toml");
  Result<Policy> p = Policy::Parse(text, "p.toml", "h");
  EXPECT_EQ(p.ok(), problems.empty());
  if (!p.ok() && !problems.empty()) {
    EXPECT_EQ(p.status().message(), problems.front());
  }
  return problems;
}

TEST(LintTest, MinimalPolicyIsClean) {
  EXPECT_EQ(Lint(kMinimalPolicy, "p.toml"), Problems{});
  Result<Policy> p = Policy::Parse(kMinimalPolicy, "p.toml", "h");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->rules().size(), 2u);
  EXPECT_EQ(p->agreements().size(), 1u);
}

TEST(LintTest, RejectsUnknownRole) {
  EXPECT_EQ(LintEdited("to = \"shelter\"", "to = \"shelterr\""),
            Problems{"p.toml:27: unknown role 'shelterr' (expected one of: police, shelter, "
                     "monitor)"});
  EXPECT_EQ(LintEdited("roles = [\"police\", \"shelter\"]", "roles = [\"police\", \"judge\"]"),
            (Problems{"p.toml:21: unknown role 'judge' (expected one of: police, shelter, "
                      "monitor)",
                      // Without the shelter, the agreement no longer covers r2.
                      "p.toml:30: rule 'r2' can never match: no [[agreement]] covers any of its "
                      "roles and kinds across a border (expected an agreement naming a 'from' "
                      "role, a 'to' role and one of its kinds)"}));
  EXPECT_EQ(LintEdited("monitor = []", "judge = []"),
            Problems{"p.toml:17: unknown role 'judge' in [fields] (expected one of: police, "
                     "shelter, monitor)"});
}

TEST(LintTest, RejectsUnknownCountry) {
  EXPECT_EQ(
      LintEdited("countries = [\"TH\", \"KH\"]\nroles", "countries = [\"TH\", \"XX\"]\nroles"),
      Problems{"p.toml:20: unknown country 'XX' (expected one of: TH, KH)"});
}

TEST(LintTest, RejectsAgreementNamingACountryTwice) {
  EXPECT_EQ(
      LintEdited("countries = [\"TH\", \"KH\"]\nroles", "countries = [\"TH\", \"TH\"]\nroles"),
      (Problems{"p.toml:20: agreement 'th-kh' names 'TH' twice",
                "p.toml:20: agreement 'th-kh' must name at least two different countries"}));
}

TEST(LintTest, RejectsRuleThatCanNeverMatch) {
  // Cross-border, but no agreement covers referral_offer.
  EXPECT_EQ(LintEdited("kinds = [\"status_update\"]\nscope", "kinds = [\"referral_offer\"]\nscope"),
            Problems{"p.toml:30: rule 'r2' can never match: no [[agreement]] covers any of its "
                     "roles and kinds across a border (expected an agreement naming a 'from' "
                     "role, a 'to' role and one of its kinds)"});
  EXPECT_EQ(LintEdited("from = [\"police\"]", "from = []"),
            Problems{"p.toml:32: rule 'r2' can never match: 'from' is empty (expected at least "
                     "one name)"});
  EXPECT_EQ(LintEdited("to = \"shelter\"", "to = \"monitor\""),
            Problems{"p.toml:27: rule 'r1' can never match: 'monitor' may receive no payload "
                     "section (see [fields]); remove it from 'to' or give it sections"});
}

TEST(LintTest, RejectsNonexistentFieldSection) {
  EXPECT_EQ(LintEdited("shelter = [\"case\"]", "shelter = [\"case\", \"counselling\"]"),
            Problems{"p.toml:16: unknown section 'counselling' (expected one of: case, "
                     "investigation)"});
}

TEST(LintTest, RejectsUnknownKind) {
  EXPECT_EQ(LintEdited("kinds = [\"referral_offer\"]", "kinds = [\"referral_offer\", \"gossip\"]"),
            Problems{"p.toml:28: unknown kind 'gossip' (expected one of: referral_offer, "
                     "status_update)"});
  EXPECT_EQ(LintEdited("kinds = [\"status_update\"]\nfrom", "kinds = [\"status_updat\"]\nfrom"),
            (Problems{"p.toml:22: unknown kind 'status_updat' (expected one of: referral_offer, "
                      "status_update)",
                      // The agreement is left with no known kind, so r2 has nothing to use.
                      "p.toml:30: rule 'r2' can never match: no [[agreement]] covers any of its "
                      "roles and kinds across a border (expected an agreement naming a 'from' "
                      "role, a 'to' role and one of its kinds)"}));
}

TEST(LintTest, RejectsDuplicateRuleId) {
  EXPECT_EQ(LintEdited("id = \"r2\"", "id = \"r1\""),
            Problems{"p.toml:31: duplicate rule id 'r1'"});
}

TEST(LintTest, RejectsBadDate) {
  EXPECT_EQ(LintEdited("from = 2003-05-31", "from = \"2003-13-01\""),
            Problems{"p.toml:23: bad date '2003-13-01' in 'from' (expected a real calendar date "
                     "YYYY-MM-DD from 1900 on)"});
  EXPECT_EQ(LintEdited("from = 2003-05-31", "from = 2003-05-31T08:00:00"),
            Problems{"p.toml:23: bad date in 'from' (expected a date like 2003-05-31, without a "
                     "time)"});
  EXPECT_EQ(LintEdited("from = 2003-05-31", "from = 2003-05-31\nuntil = 2003-05-31"),
            Problems{"p.toml:24: bad date: agreement 'th-kh' ends (2003-05-31) before it starts "
                     "(2003-05-31)"});
  // Calendar errors in a TOML date are syntax errors, with the column.
  Problems p = LintEdited("from = 2003-05-31", "from = 2003-02-30");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].rfind("p.toml:23:", 0), 0u) << p[0];
  // A string date is accepted when it is a real date.
  EXPECT_EQ(LintEdited("from = 2003-05-31", "from = \"2003-05-31\""), Problems{});
}

TEST(LintTest, RejectsUnknownKey) {
  EXPECT_EQ(LintEdited("id = \"r1\"", "id = \"r1\"\nkind = \"status_update\""),
            Problems{"p.toml:26: unknown key 'kind' in [[rule]] (expected one of: id, "
                     "description, from, to, kinds, scope)"});
}

TEST(LintTest, RejectsUnknownScope) {
  EXPECT_EQ(LintEdited("scope = \"domestic\"", "scope = \"national\""),
            Problems{"p.toml:29: unknown scope 'national' (expected \"domestic\" or "
                     "\"cross_border\")"});
}

TEST(LintTest, RejectsMissingHandlingCode) {
  EXPECT_EQ(LintEdited("[handling.H3]\ndescription = \"three\"\n", ""),
            Problems{"p.toml:5: missing handling code H3 (expected [handling.H3] with a "
                     "description)"});
}

TEST(LintTest, RejectsDuplicateDeclaredName) {
  EXPECT_EQ(LintEdited("countries = [\"TH\", \"KH\"]\nkinds",
                       "countries = [\"TH\", \"KH\", \"TH\"]\nkinds"),
            Problems{"p.toml:2: 'TH' is listed twice in 'countries'"});
}

TEST(LintTest, ReportsEveryProblemInLineOrder) {
  std::string text = kMinimalPolicy;
  ReplaceOnce(text, "id = \"r2\"", "id = \"r1\"");
  ReplaceOnce(text, "to = \"shelter\"", "to = \"shelterr\"");
  ReplaceOnce(text, "countries = [\"TH\", \"KH\"]\nroles", "countries = [\"TH\", \"XX\"]\nroles");
  Problems problems = Lint(text, "p.toml");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].rfind("p.toml:20: unknown country 'XX'", 0), 0u) << problems[0];
  EXPECT_EQ(problems[1].rfind("p.toml:27: unknown role 'shelterr'", 0), 0u) << problems[1];
  EXPECT_EQ(problems[2], "p.toml:31: duplicate rule id 'r1'");
  Result<Policy> p = Policy::Parse(text, "p.toml", "h");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p.status().message(), problems[0]);
}

TEST(LintTest, SyntaxErrorNamesLineAndColumn) {
  Problems problems = Lint("roles = [\"police\"\ncountries = 3\n", "p.toml");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rfind("p.toml:2:", 0), 0u) << problems[0];
}

TEST(LintTest, EmptyFileNamesWhatIsMissing) {
  Problems problems = Lint("", "p.toml");
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[0], "p.toml:1: missing key 'roles' (expected an array of strings)");
  EXPECT_EQ(problems[4],
            "p.toml:1: missing [handling] table (expected [handling.H0] to [handling.H3])");
}

}  // namespace
}  // namespace nrm::policy
