// `nrm policy lint|explain|test --help`, run as the real binary: each prints its own usage on
// stdout and exits 0, before any other argument is looked at (missing, wrong or unknown).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "tests/testing/temp_dir.h"

namespace nrm {
namespace {

struct Ran {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `nrm policy words...` (plain words: no quoting needed).
Ran NrmPolicy(const std::vector<std::string>& words) {
  testing::TempDir tmp;
  std::string command = "'" + testing::BinDir() + "/nrm' policy";
  for (const std::string& w : words) command += " " + w;
  command += " 2>'" + tmp.path() + "/err'";
  Ran r;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  Result<std::string> err = ReadFile(tmp.path() + "/err");
  r.err = err.ok() ? *err : "(no stderr file)";
  return r;
}

TEST(PolicyHelpTest, EachSubcommandPrintsItsOwnUsage) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"lint", {"lint", "--help"}},
      {"lint", {"lint", "-h"}},
      {"lint", {"lint", "missing.toml", "--help"}},
      {"lint", {"lint", "a.toml", "b.toml", "--bogus", "--help"}},
      {"explain", {"explain", "--help"}},
      {"explain", {"explain", "missing.toml", "--from-role", "--help"}},
      {"explain", {"explain", "missing.toml", "--from", "NOBODY", "-h"}},
      {"test", {"test", "--help"}},
      {"test", {"test", "only-one.toml", "-h"}},
  };
  for (const auto& [command, words] : cases) {
    std::string line = "nrm policy";
    for (const std::string& w : words) line += " " + w;
    Ran r = NrmPolicy(words);
    EXPECT_EQ(r.code, 0) << line << "\n" << r.out << r.err;
    EXPECT_EQ(r.out.rfind("usage: policy " + command + " ", 0), 0u) << line << "\n" << r.out;
    EXPECT_EQ(r.err, "") << line;
  }
}

TEST(PolicyHelpTest, ExplainHelpShowsBothForms) {
  Ran r = NrmPolicy({"explain", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--from-role ROLE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("usage: nrm policy explain FILE --from AGENCY"), std::string::npos) << r.out;
}

TEST(PolicyHelpTest, TheGroupPrintsItsUsage) {
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{"--help"}, {"-h"}, {"frobnicate", "--help"}}) {
    Ran r = NrmPolicy(words);
    EXPECT_EQ(r.code, 0) << words[0];
    EXPECT_EQ(r.out.rfind("usage: policy <command>", 0), 0u) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

}  // namespace
}  // namespace nrm
