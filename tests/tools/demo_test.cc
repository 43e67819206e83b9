// `nrm demo` as a user runs it: one broker per country, and the cross-border scenarios cross
// brokers. Checked from its --json outcome and from the brokers' own audit logs in --workdir.
#include <gtest/gtest.h>

#include <algorithm>

#include "audit/audit_reader.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace nrm {
namespace {

// The audit records of country `cc`'s broker in the demo's workdir, verified.
std::vector<audit::AuditRecord> AuditOf(const std::string& workdir, const std::string& cc) {
  std::vector<audit::AuditRecord> out;
  Status s =
      audit::ReadVerifiedRecords(workdir + "/" + cc + "/broker-data/store",
                                 [&](uint64_t, const audit::AuditRecord& r) { out.push_back(r); });
  EXPECT_TRUE(s.ok()) << cc << ": " << s.ToString();
  return out;
}

TEST(DemoTest, RunsABrokerPerCountryAndCrossesThemOnlyUnderAgreements) {
  testing::TempDir tmp;
  const std::string workdir = tmp.path() + "/w";
  Result<pid_t> pid = tools::Spawn(
      {testing::BinDir() + "/nrm", "demo", "--json", "--workdir", workdir}, tmp.path() + "/out");
  ASSERT_TRUE(pid.ok());
  Result<int> code = tools::WaitExit(*pid, 180000);
  ASSERT_TRUE(code.ok());
  Result<std::string> out = ReadFile(tmp.path() + "/out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(*code, 0) << *out;
  Result<json::Json> doc = json::Parse(out->substr(0, out->find('\n')));
  ASSERT_TRUE(doc.ok() && doc->is_object()) << *out;
  EXPECT_EQ((*doc)["ok"], true);
  std::vector<std::string> countries;
  for (const json::Json& b : (*doc)["brokers"]) {
    countries.push_back(b["country"].get<std::string>());
    EXPECT_EQ(b["audit"]["intact"], true) << b.dump();
  }
  std::sort(countries.begin(), countries.end());
  EXPECT_EQ(countries, (std::vector<std::string>{"KH", "MM", "TH", "VN"}));
  std::string steps;
  for (const json::Json& s : (*doc)["steps"]) {
    EXPECT_EQ(s["ok"], true) << s.dump();
    steps += s["what"].get<std::string>() + "\n";
  }
  EXPECT_NE(steps.find("no signed agreement between MM and VN is installed"), std::string::npos)
      << steps;
  EXPECT_NE(steps.find("agreement th-mm-2009 v2 (TH–MM MOU 2009) expired at"), std::string::npos)
      << steps;
  // The sender's agent verified and recorded the Cambodian broker's relay receipt.
  EXPECT_NE(
      steps.find("TH.NGO.RETURN-CRI's timeline: relayed to KH broker, receipt KH.BROKER leaf "),
      std::string::npos)
      << steps;

  // Scenario 2 crossed from the Thai broker to the Cambodian one: accepted at TH for @KH, relay
  // receipted by KH.BROKER, and accepted at KH as a relay from @TH.
  bool receipted = false;
  for (const audit::AuditRecord& r : AuditOf(workdir, "TH")) {
    receipted = receipted || (r.event == audit::AuditEvent::kDelivered &&
                              r.rule == "relay-receipt" && r.recipients.size() == 1 &&
                              r.recipients[0] == "@KH" && r.reason.starts_with("KH.BROKER leaf "));
  }
  EXPECT_TRUE(receipted) << "the Thai broker audits the Cambodian broker's relay receipts";
  bool relayed = false;
  for (const audit::AuditRecord& r : AuditOf(workdir, "KH")) {
    relayed =
        relayed || (r.event == audit::AuditEvent::kAccepted && r.kind == "repatriation_request" &&
                    r.sender == "TH.NGO.RETURN-CRI" && r.rule.starts_with("relay from @TH: "));
  }
  EXPECT_TRUE(relayed) << "the Cambodian broker took the request as a relay from @TH";
  // Each country's directory names its own agencies only.
  for (const std::string& cc : countries) {
    Result<std::string> dir = ReadFile(workdir + "/" + cc + "/directory.toml");
    ASSERT_TRUE(dir.ok());
    for (const std::string& other : countries) {
      if (other == cc) continue;
      EXPECT_EQ(dir->find("id = \"" + other + "."), std::string::npos) << cc << " names " << other;
    }
  }
}

}  // namespace
}  // namespace nrm
