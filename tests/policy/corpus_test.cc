// Replays the policy fuzz corpus (tests/fuzz/corpus/policy) through Parse() and Lint(), so the
// seeds run in CI without libFuzzer. Same property as the fuzz target: no crash, and Parse()
// fails exactly when Lint() reports a problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "policy/policy.h"

namespace nrm::policy {
namespace {

TEST(PolicyCorpusTest, EverySeedParsesOrLintsConsistently) {
  const std::filesystem::path dir =
      std::filesystem::path(NRM_SOURCE_DIR) / "tests/fuzz/corpus/policy";
  std::vector<std::filesystem::path> seeds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) seeds.push_back(entry.path());
  }
  ASSERT_FALSE(ec) << dir << ": " << ec.message();
  std::sort(seeds.begin(), seeds.end());
  ASSERT_GE(seeds.size(), 5u) << "seed corpus missing from " << dir;
  int valid = 0;
  for (const auto& seed : seeds) {
    Result<std::string> text = ReadFile(seed.string());
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    Result<Policy> p = Policy::Parse(*text, seed.filename().string(), "h");
    std::vector<std::string> problems = Lint(*text, seed.filename().string());
    EXPECT_EQ(p.ok(), problems.empty()) << seed;
    if (!p.ok() && !problems.empty()) {
      EXPECT_EQ(p.status().message(), problems.front()) << seed;
    }
    valid += p.ok() ? 1 : 0;
  }
  // The corpus holds both valid policies (to reach Route) and broken ones (to reach Lint).
  EXPECT_GE(valid, 1);
  EXPECT_LT(valid, static_cast<int>(seeds.size()));
}

}  // namespace
}  // namespace nrm::policy
