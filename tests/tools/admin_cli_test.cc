// The nrm admin tool's error paths, run as a process: each error names what was wrong and
// exits non-zero (2 for usage and input errors, 1 for a check that failed). And its help: every
// subcommand prints its own usage on stdout and exits 0, whatever else the words say.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>

#include "common/file_util.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace nrm {
namespace {

class AdminCliTest : public ::testing::Test {
 protected:
  // Runs `nrm args...`; returns the exit code and what it printed (stdout and stderr).
  std::pair<int, std::string> Nrm(std::vector<std::string> args) {
    args.insert(args.begin(), testing::BinDir() + "/nrm");
    const std::string log = tmp_.path() + "/out." + std::to_string(++runs_);
    Result<pid_t> pid = tools::Spawn(args, log);
    EXPECT_TRUE(pid.ok());
    Result<int> code = tools::WaitExit(*pid, 60000);
    EXPECT_TRUE(code.ok());
    return {code.ok() ? *code : -1, ReadFile(log).ok() ? *ReadFile(log) : ""};
  }

  // Runs `nrm WORDS` (plain words, split at spaces by the shell); returns the exit code and
  // its stdout. Its stderr goes to the file Path("stderr").
  std::pair<int, std::string> NrmStdout(const std::string& words) {
    const std::string command =
        "'" + testing::BinDir() + "/nrm' " + words + " 2>'" + Path("stderr") + "'";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, ""};
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  std::string Path(const std::string& name) const { return tmp_.path() + "/" + name; }

  // An authority, a broker and one agency key, and a signed directory naming the agency.
  void MakeDirectory() {
    ASSERT_EQ(Nrm({"keygen", "--id", "TH.AUTHORITY.NRM", "--out", Path("keys")}).first, 0);
    ASSERT_EQ(Nrm({"keygen", "--id", "GMS.BROKER", "--out", Path("keys")}).first, 0);
    ASSERT_EQ(Nrm({"keygen", "--id", "TH.POLICE.CRI-ATU", "--out", Path("keys")}).first, 0);
    ASSERT_EQ(Nrm({"directory", "init", "--out", Path("draft.toml"), "--authority", "Test",
                   "--broker-pub", Path("keys/GMS.BROKER.pub")})
                  .first,
              0);
    ASSERT_EQ(
        Nrm({"directory", "add", Path("draft.toml"), "--pub", Path("keys/TH.POLICE.CRI-ATU.pub"),
             "--role", "police", "--country", "TH", "--name", "Chiang Rai ATU"})
            .first,
        0);
    auto [code, out] = Nrm({"directory", "sign", Path("draft.toml"), "--authority-key",
                            Path("keys/TH.AUTHORITY.NRM.key"), "--out", Path("directory.toml")});
    ASSERT_EQ(code, 0) << out;
  }

  testing::TempDir tmp_;
  int runs_ = 0;
};

TEST_F(AdminCliTest, UnknownCommandAndMissingArguments) {
  EXPECT_EQ(Nrm({}).first, 2);
  auto [code, out] = Nrm({"frobnicate"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  std::tie(code, out) = Nrm({"keygen", "--id", "TH.POLICE.X"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--out"), std::string::npos) << out;
  std::tie(code, out) = Nrm({"directory", "sign", "x.toml", "--bogus", "1"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown option --bogus"), std::string::npos) << out;
  for (const char* cmd : {"keygen", "directory", "policy", "audit", "demo"}) {
    EXPECT_EQ(Nrm({cmd, "--help"}).first, 0) << cmd;
  }
}

TEST_F(AdminCliTest, EverySubcommandPrintsItsOwnHelp) {
  for (const std::string command :
       {"keygen", "directory init", "directory add", "directory revoke", "directory sign",
        "directory show", "directory verify", "audit verify", "audit prove", "audit check-proof",
        "audit consistency", "audit stats", "demo", "bench"}) {
    // Help comes first: alone, as -h, after an unknown option or an option missing its value,
    // and before stray words.
    for (const std::string help :
         {"--help", "-h", "--no-such-option --help", "--out --help", "--help x y"}) {
      auto [code, out] = NrmStdout(command + " " + help);
      const std::string context = "nrm " + command + " " + help;
      EXPECT_EQ(code, 0) << context;
      EXPECT_EQ(out.rfind("usage: nrm " + command + " ", 0), 0u) << context << "\n" << out;
      EXPECT_EQ(out.find("COMMAND"), std::string::npos) << context << ": not the group's\n" << out;
      EXPECT_GE(std::count(out.begin(), out.end(), '\n'), 2) << context << ": what it does";
      EXPECT_EQ(*ReadFile(Path("stderr")), "") << context;
    }
  }
}

TEST_F(AdminCliTest, GroupHelpListsTheSubcommands) {
  for (const char* help : {"--help", "-h", "help"}) {
    auto [code, out] = NrmStdout(help);
    EXPECT_EQ(code, 0) << help;
    for (const char* cmd : {"keygen", "directory", "policy", "audit", "demo", "bench"}) {
      EXPECT_NE(out.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd << "\n" << out;
    }
  }
  auto [code, out] = NrmStdout("directory --help");
  EXPECT_EQ(code, 0);
  for (const char* cmd : {"init", "add", "revoke", "sign", "show", "verify"}) {
    EXPECT_NE(out.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd << "\n" << out;
  }
  std::tie(code, out) = NrmStdout("audit --help");
  EXPECT_EQ(code, 0);
  for (const char* cmd : {"verify", "prove", "check-proof", "consistency", "stats"}) {
    EXPECT_NE(out.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd << "\n" << out;
  }
  // A word that is no subcommand, with --help: the group's listing.
  std::tie(code, out) = NrmStdout("directory frobnicate --help");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out.rfind("usage: nrm directory COMMAND", 0), 0u) << out;
}

TEST_F(AdminCliTest, KeygenRefusesToOverwriteASecretKey) {
  ASSERT_EQ(Nrm({"keygen", "--id", "TH.POLICE.CRI-ATU", "--out", Path("k")}).first, 0);
  struct stat st {};
  ASSERT_EQ(::stat(Path("k/TH.POLICE.CRI-ATU.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto [code, out] = Nrm({"keygen", "--id", "TH.POLICE.CRI-ATU", "--out", Path("k")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("refusing to overwrite"), std::string::npos) << out;
}

TEST_F(AdminCliTest, DirectoryErrorsNameTheProblem) {
  MakeDirectory();
  // An unknown role is refused when added, naming the file and the line.
  ASSERT_EQ(Nrm({"keygen", "--id", "TH.SPY.X", "--out", Path("keys")}).first, 0);
  auto [code, out] =
      Nrm({"directory", "add", Path("draft.toml"), "--pub", Path("keys/TH.SPY.X.pub"), "--role",
           "spy", "--country", "TH", "--name", "x"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("draft.toml:"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown role 'spy'"), std::string::npos) << out;
  // The same key twice.
  std::tie(code, out) =
      Nrm({"directory", "add", Path("draft.toml"), "--pub", Path("keys/TH.POLICE.CRI-ATU.pub"),
           "--role", "police", "--country", "TH", "--name", "again"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("appears twice"), std::string::npos) << out;
  // A secret key others can read is refused.
  ASSERT_EQ(::chmod(Path("keys/TH.AUTHORITY.NRM.key").c_str(), 0644), 0);
  std::tie(code, out) = Nrm({"directory", "sign", Path("draft.toml"), "--authority-key",
                             Path("keys/TH.AUTHORITY.NRM.key"), "--out", Path("d2.toml")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("chmod 600"), std::string::npos) << out;
  // verify: a valid one passes; an altered one fails with 1; the wrong authority fails.
  EXPECT_EQ(Nrm({"directory", "verify", Path("directory.toml"), "--authority-key",
                 Path("keys/TH.AUTHORITY.NRM.pub")})
                .first,
            0);
  std::string text = *ReadFile(Path("directory.toml"));
  text.replace(text.find("Chiang Rai ATU"), 5, "Hacky");
  ASSERT_TRUE(WriteFileAtomic(Path("altered.toml"), text).ok());
  std::tie(code, out) = Nrm({"directory", "verify", Path("altered.toml"), "--authority-key",
                             Path("keys/TH.AUTHORITY.NRM.pub")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;
  EXPECT_EQ(Nrm({"directory", "verify", Path("directory.toml"), "--authority-key",
                 Path("keys/GMS.BROKER.pub")})
                .first,
            1);
}

TEST_F(AdminCliTest, PolicyErrors) {
  ASSERT_TRUE(WriteFileAtomic(Path("p.toml"), "roles = [\"police\", \"wizard\"]\n").ok());
  auto [code, out] = Nrm({"policy", "lint", Path("p.toml")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("p.toml:"), std::string::npos) << out;
  std::tie(code, out) = Nrm({"policy", "explain", Path("missing.toml"), "--from-role", "ngo"});
  EXPECT_NE(code, 0);
  std::tie(code, out) =
      Nrm({"policy", "explain", std::string(NRM_SOURCE_DIR) + "/policy/rules/gms.toml", "--from",
           "TH.POLICE.CRI-ATU", "--to", "TH.SHELTER.X", "--kind", "referral_offer"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("missing --directory"), std::string::npos) << out;
}

TEST_F(AdminCliTest, AuditErrors) {
  auto [code, out] = Nrm({"audit", "verify", Path("no-such-dir")});
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("no-such-dir"), std::string::npos) << out;
  std::tie(code, out) = Nrm({"audit", "stats"});
  EXPECT_EQ(code, 2);
  std::tie(code, out) = Nrm({"audit", "stats", Path("no-such-dir"), "--directory", "d.toml"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--authority-key"), std::string::npos) << out;
}

TEST_F(AdminCliTest, DemoRefusesANonEmptyWorkdir) {
  ASSERT_TRUE(MakeDirs(Path("w")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("w/file"), "x").ok());
  auto [code, out] = Nrm({"demo", "--workdir", Path("w")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;
}

}  // namespace
}  // namespace nrm
