// The `policy lint|explain|test` commands: output, exit codes, usage errors.
#include "policy/cli.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "tests/policy/policy_test_util.h"

namespace nrm::policy {
namespace {

const std::string kGms = std::string(NRM_SOURCE_DIR) + "/policy/rules/gms.toml";
const std::string kCases = std::string(NRM_SOURCE_DIR) + "/policy/rules/gms_cases.toml";

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

// A stand-in for SHA-256 that still depends on the bytes.
std::string FakeHash(std::string_view bytes) { return "len" + std::to_string(bytes.size()); }

CliRun Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = RunPolicyCommand(args, out, err, FakeHash);
  return {code, out.str(), err.str()};
}

// Writes `text` to a fresh file under the test temp dir and returns its path.
std::string TempFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/policy_cli_test_" + name;
  Status s = WriteFileAtomic(path, text);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

std::vector<std::string> ExplainArgs(const std::string& fr, const std::string& fc,
                                     const std::string& tr, const std::string& tc,
                                     const std::string& kind, const std::string& date) {
  return {"explain",      kGms, "--from-role", fr,   "--from-country", fc,  "--to-role", tr,
          "--to-country", tc,   "--kind",      kind, "--date",         date};
}

TEST(CliTest, LintShippedPolicyIsOk) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  CliRun r = Cli({"lint", kGms});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, kGms + ": ok (" + std::to_string(p.rules().size()) + " rules, " +
                       std::to_string(p.agreements().size()) + " agreements)\n");
  EXPECT_EQ(p.agreements().size(), 6u);
}

TEST(CliTest, LintPrintsEveryProblem) {
  std::string text = kMinimalPolicy;
  ReplaceOnce(text, "id = \"r2\"", "id = \"r1\"");
  ReplaceOnce(text, "to = \"shelter\"", "to = \"shelterr\"");
  std::string path = TempFile("bad.toml", text);
  CliRun r = Cli({"lint", path});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, path +
                       ":27: unknown role 'shelterr' (expected one of: police, shelter, "
                       "monitor)\n" +
                       path + ":31: duplicate rule id 'r1'\n");
}

TEST(CliTest, LintMissingFileIsAUsageError) {
  CliRun r = Cli({"lint", "/nonexistent/policy.toml"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("/nonexistent/policy.toml"), std::string::npos) << r.err;
}

TEST(CliTest, ExplainAllowedNamesRuleAgreementAndSections) {
  CliRun r = Cli(ExplainArgs("ngo", "TH", "ngo", "KH", "repatriation_request", "2024-05-10"));
  EXPECT_EQ(r.code, kExitOk) << r.err;
  Result<std::string> text = ReadFile(kGms);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(r.out,
            "ALLOWED by rule xb-repatriation (agreement th-kh-2003): ngo (TH) -> ngo (KH), "
            "repatriation_request on 2024-05-10\n"
            "the ngo receives: case, person, context, needs, consent, repatriation, counselling, "
            "decision\n"
            "withheld from it: investigation\n"
            "policy " +
                FakeHash(*text) + "\n");
}

TEST(CliTest, ExplainDeniedGivesReason) {
  CliRun r = Cli(ExplainArgs("ngo", "MM", "shelter", "VN", "referral_offer", "2024-03-01"));
  EXPECT_EQ(r.code, kExitDenied) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
            "DENIED: no agreement between MM and VN covers ngo -> shelter for referral_offer "
            "(agreements between them: commit-2004)");
  EXPECT_NE(r.out.find("nothing is delivered"), std::string::npos) << r.out;
}

TEST(CliTest, ExplainFunctionShowsAgencies) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  RouteQuery q = Query("shelter", "TH", "police", "TH", "counselling_notes", "2024-03-01");
  q.from.id = "th-shelter-chiangrai";
  q.to.id = "th-police-chiangrai";
  std::ostringstream out;
  EXPECT_EQ(Explain(p, q, out), kExitDenied);
  EXPECT_EQ(out.str(),
            "DENIED: no rule allows shelter -> police for counselling_notes within TH\n"
            "message: shelter (TH, th-shelter-chiangrai) -> police (TH, th-police-chiangrai), "
            "counselling_notes on 2024-03-01\n"
            "nothing is delivered (if allowed, the police would receive: case, person, context, "
            "needs, consent, investigation, decision)\n"
            "policy " +
                std::string(kTestHash) + "\n");
}

TEST(CliTest, ExplainUsageErrors) {
  std::vector<std::string> args =
      ExplainArgs("police", "TH", "shelter", "TH", "referral_offer", "2024-03-01");
  // Each required flag, left out, is named.
  for (const char* flag :
       {"--from-role", "--from-country", "--to-role", "--to-country", "--kind"}) {
    std::vector<std::string> a;
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == flag) {
        ++i;
        continue;
      }
      a.push_back(args[i]);
    }
    CliRun r = Cli(a);
    EXPECT_EQ(r.code, kExitUsage) << flag;
    EXPECT_EQ(r.err.rfind(std::string("error: missing ") + flag + "\n", 0), 0u) << r.err;
  }
  CliRun bad_date = Cli(ExplainArgs("police", "TH", "shelter", "TH", "referral_offer", "1/3/2024"));
  EXPECT_EQ(bad_date.code, kExitUsage);
  EXPECT_EQ(bad_date.err.rfind("error: bad --date '1/3/2024' (expected YYYY-MM-DD)", 0), 0u);
  CliRun unknown = Cli({"explain", kGms, "--from", "x"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_EQ(unknown.err.rfind("error: unknown option '--from'", 0), 0u) << unknown.err;
  CliRun no_value = Cli({"explain", kGms, "--kind"});
  EXPECT_EQ(no_value.code, kExitUsage);
  EXPECT_EQ(no_value.err.rfind("error: --kind needs a value", 0), 0u) << no_value.err;
  // --flag=value works too.
  CliRun eq = Cli({"explain", kGms, "--from-role=police", "--from-country=TH", "--to-role=shelter",
                   "--to-country=TH", "--kind=referral_offer"});
  EXPECT_EQ(eq.code, kExitOk) << eq.err;
}

TEST(CliTest, ExplainWithBrokenPolicyFails) {
  std::string path = TempFile("broken.toml", "roles = [\n");
  CliRun r = Cli({"explain", path, "--from-role", "police", "--from-country", "TH", "--to-role",
                  "shelter", "--to-country", "TH", "--kind", "referral_offer"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_EQ(r.err.rfind(path + ":", 0), 0u) << r.err;
}

TEST(CliTest, TestShippedTablePasses) {
  CliRun r = Cli({"test", kGms, kCases});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find(" passed, 0 failed\n"), std::string::npos) << r.out;
}

TEST(CliTest, TestReportsFailingCases) {
  std::string cases = TempFile("cases.toml", R"([[case]]
name = "right"
from = { role = "police", country = "TH" }
to = { role = "shelter", country = "TH" }
kind = "referral_offer"
expect = "allow"

[[case]]
name = "wrong"
from = { role = "shelter", country = "TH" }
to = { role = "police", country = "TH" }
kind = "counselling_notes"
expect = "allow"
)");
  CliRun r = Cli({"test", kGms, cases});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_EQ(r.out, cases +
                       ":8: FAIL wrong: expected allow, got deny: no rule allows shelter -> "
                       "police for counselling_notes within TH\n1 passed, 1 failed\n");
}

TEST(CliTest, HelpAndUsage) {
  for (const char* cmd : {"lint", "explain", "test"}) {
    CliRun r = Cli({cmd, "--help"});
    EXPECT_EQ(r.code, kExitOk) << cmd;
    EXPECT_EQ(r.out.rfind(std::string("usage: policy ") + cmd, 0), 0u) << r.out;
  }
  // --help anywhere, before any other argument is looked at.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"lint", "a.toml", "b.toml", "--help"},
        {"explain", "--from-role", "--help"},
        {"explain", "FILE", "--bogus", "-h"},
        {"test", "only.toml", "-h"}}) {
    CliRun r = Cli(args);
    EXPECT_EQ(r.code, kExitOk) << args[0];
    EXPECT_EQ(r.out.rfind("usage: policy " + args[0] + " ", 0), 0u) << r.out;
    EXPECT_EQ(r.err, "");
  }
  CliRun help = Cli({"--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_EQ(help.out.rfind("usage: policy <command>", 0), 0u);
  CliRun none = Cli({});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_EQ(none.err.rfind("error: missing command\n", 0), 0u);
  CliRun unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_EQ(unknown.err.rfind("error: unknown command 'frobnicate'\n", 0), 0u);
  CliRun lint_two = Cli({"lint", "a", "b"});
  EXPECT_EQ(lint_two.code, kExitUsage);
  EXPECT_EQ(lint_two.err.rfind("error: lint takes exactly one FILE\n", 0), 0u);
  CliRun test_one = Cli({"test", kGms});
  EXPECT_EQ(test_one.code, kExitUsage);
}

TEST(CliTest, NullHashFnIsUnhashed) {
  std::ostringstream out, err;
  int code = RunPolicyCommand(
      {"explain", kGms, "--from-role", "police", "--from-country", "TH", "--to-role", "shelter",
       "--to-country", "TH", "--kind", "referral_offer", "--date", "2024-03-01"},
      out, err, nullptr);
  EXPECT_EQ(code, kExitOk) << err.str();
  EXPECT_NE(out.str().find("\npolicy unhashed\n"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace nrm::policy
