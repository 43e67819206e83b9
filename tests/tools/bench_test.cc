// `nrm bench --only federation` as a user runs it, with few messages: it runs both brokers and
// every run to the end, and its --json names what it measured. Speed is never asserted here
// (docs/BENCHMARKS.md holds the figures); that every message arrived, and every relay came back
// with a receipt audited by the Thai broker, is.
#include <gtest/gtest.h>

#include <sstream>

#include "audit/audit_reader.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tests/testing/temp_dir.h"
#include "tools/commands.h"
#include "tools/process.h"

namespace nrm {
namespace {

TEST(BenchTest, ANumberThatIsNotOneIsRefusedNamingTheFlagBeforeAnythingStarts) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--federation-rate", "abc"}, "--federation-rate takes messages per second"},
      {{"--federation-rate", "0"}, "not '0'"},
      {{"--messages", "12x"}, "--messages takes a whole number of at least 1, not '12x'"},
      {{"--window", "0"}, "--window takes a whole number of at least 1"},
      {{"--agencies", "-1"}, "--agencies takes a whole number of 0 or more"},
      {{"--rates", "2000,,5000"}, "--rates takes messages per second"},
  };
  for (const auto& [args, expected] : cases) {
    std::ostringstream out, err;
    std::vector<std::string> words = {"--only", "federation"};
    words.insert(words.end(), args.begin(), args.end());
    EXPECT_EQ(tools::BenchCommand(words, out, err), 2) << args[0] << " " << args[1];
    EXPECT_NE(err.str().find(expected), std::string::npos) << err.str();
    EXPECT_TRUE(out.str().empty()) << out.str();
  }
}

TEST(BenchTest, FederationPhaseRunsAndReportsItsFigures) {
  testing::TempDir tmp;
  const std::string workdir = tmp.path() + "/w";
  Result<pid_t> pid = tools::Spawn(
      {testing::BinDir() + "/nrm", "bench", "--only", "federation", "--quick", "--messages", "100",
       "--federation-rate", "100", "--json", "--workdir", workdir},
      tmp.path() + "/out");
  ASSERT_TRUE(pid.ok());
  Result<int> code = tools::WaitExit(*pid, 180000);
  ASSERT_TRUE(code.ok());
  Result<std::string> out = ReadFile(tmp.path() + "/out");
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(*code, 0) << *out;
  // Progress went to stderr, into the same file: the report is the line that is one object.
  std::string line;
  std::istringstream lines(*out);
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("{\"machine\"", 0) == 0) line = l;
  }
  Result<json::Json> doc = json::Parse(line);
  ASSERT_TRUE(doc.ok() && doc->is_object()) << *out;
  EXPECT_TRUE((*doc)["phases"].empty()) << "--only federation runs no other phase";
  ASSERT_TRUE(doc->contains("federation")) << line;
  const json::Json& f = (*doc)["federation"];
  EXPECT_EQ(f["error"], "");
  for (const char* key :
       {"offered_per_s", "cross_border_flat_out_per_s", "domestic_p99_us", "cross_border_p99_us",
        "p99_ratio", "goal_flat_out_per_s", "goal_p99_ratio", "elapsed_s"}) {
    EXPECT_TRUE(f.contains(key) && f[key].is_number()) << key << ": " << f.dump();
  }
  EXPECT_TRUE(f["goals_met"].is_boolean());
  ASSERT_EQ(f["runs"].size(), 3u) << f.dump();
  size_t crossed = 0;
  for (const json::Json& r : f["runs"]) {
    const std::string context = r.dump();
    EXPECT_EQ(r["error"], "") << context;
    EXPECT_EQ(r["refused"], 0) << context;
    EXPECT_EQ(r["accepted"], r["messages"]) << context;
    EXPECT_EQ(r["delivered"], r["accepted"]) << context;
    EXPECT_EQ(r["latency_us"]["samples"], r["delivered"]) << context;
    EXPECT_GT(r["envelope_bytes"].get<int>(), 1900) << context;
    for (const char* key :
         {"end_to_end_per_s", "sending_broker_cpu_us_per_msg", "partner_broker_cpu_us_per_msg"}) {
      EXPECT_TRUE(r.contains(key) && r[key].is_number()) << key << ": " << context;
    }
    if (r["cross_border"] == true) {
      EXPECT_EQ(r["relay_receipts"], r["accepted"]) << context;
      crossed += r["accepted"].get<size_t>();
    } else {
      EXPECT_EQ(r["relay_receipts"], 0) << context;
    }
  }
  EXPECT_EQ(f["runs"][0]["cross_border"], false);
  EXPECT_EQ(f["runs"][0]["offered_per_s"], f["runs"][1]["offered_per_s"]);
  EXPECT_EQ(crossed, 300u);  // 200 at 100/s for 2 s, 100 flat out

  // Both audit logs verify, and the Thai one holds a relay receipt for every message that crossed
  // (the warm-up's included).
  size_t receipts = 0;
  for (const std::string cc : {"TH", "KH"}) {
    Status s = audit::ReadVerifiedRecords(workdir + "/federation/" + cc + "/broker-data/store",
                                          [&](uint64_t, const audit::AuditRecord& r) {
                                            if (cc == "TH" && r.rule == "relay-receipt") ++receipts;
                                          });
    EXPECT_TRUE(s.ok()) << cc << ": " << s.ToString();
  }
  EXPECT_GE(receipts, crossed);
}

}  // namespace
}  // namespace nrm
