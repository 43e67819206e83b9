// `--help` on nrm-agent and on each of its commands: the real binary, with no configuration
// file and no running agent, answers each with the command's own usage on standard output and
// exits 0. Also checks that the command table (agent/command_table.h) holds every command, and
// that the options each side parses are the ones it always took.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent/command_table.h"
#include "tests/testing/temp_dir.h"

namespace nrm {
namespace {

// Every command of nrm-agent, written out independently of the table.
const std::vector<std::string> kLocal = {"send", "receive", "protect-key", "run"};
const std::vector<std::string> kServed = {"inbox",
                                          "outbox",
                                          "show",
                                          "cases",
                                          "timeline",
                                          "offer",
                                          "accept",
                                          "decline",
                                          "confirm-handover",
                                          "revoke",
                                          "close",
                                          "request-repatriation",
                                          "respond",
                                          "share",
                                          "travel-documents",
                                          "schedule-return",
                                          "complete-return",
                                          "followup",
                                          "counselling-notes",
                                          "revoke-consent",
                                          "relabel",
                                          "export",
                                          "import",
                                          "erase",
                                          "retention",
                                          "status",
                                          "backup",
                                          "clear-alarm",
                                          "prove"};
// The people of the web inbox (agent/web/users.h).
const std::vector<std::string> kServedUsers = {"user"};

struct Ran {
  int code = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs nrm-agent with `args` in `dir`, stdout and stderr kept apart.
Ran Agent(const std::string& dir, const std::vector<std::string>& args) {
  const std::string out = dir + "/out", err = dir + "/err";
  std::vector<std::string> argv = {testing::BinDir() + "/nrm-agent"};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0 || ::chdir(dir.c_str()) != 0) {
      ::_exit(127);
    }
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  Ran r;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    r.code = WEXITSTATUS(status);
  }
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

TEST(AgentHelpTest, EveryCommandAnswersHelpWithItsOwnUsageWithoutConfigOrAgent) {
  testing::TempDir tmp;
  const std::string missing = tmp.path() + "/no-such-agent.toml";
  std::vector<std::string> all = kLocal;
  all.insert(all.end(), kServed.begin(), kServed.end());
  all.insert(all.end(), kServedUsers.begin(), kServedUsers.end());
  for (const std::string& cmd : all) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {cmd, "--help"},
             {cmd, "-h"},
             {"--config", missing, cmd, "--help"},
             {"--config", missing, cmd, "--to", "X", "--bogus", "--help"}}) {
      const Ran r = Agent(tmp.path(), args);
      const std::string what = cmd + " (" + args.back() + ", " + std::to_string(args.size()) + ")";
      EXPECT_EQ(r.code, 0) << what << "\n" << r.out << r.err;
      EXPECT_EQ(r.err, "") << what;
      const std::string synopsis = "usage: nrm-agent --config FILE " + cmd;
      ASSERT_EQ(r.out.rfind(synopsis, 0), 0u) << what << "\n" << r.out;
      const char next = r.out[synopsis.size()];
      EXPECT_TRUE(next == ' ' || next == '\n') << what << "\n" << r.out;
      EXPECT_NE(r.out.find("options:\n"), std::string::npos) << what << "\n" << r.out;
      EXPECT_NE(r.out.find("-h, --help"), std::string::npos) << what << "\n" << r.out;
    }
  }
  // Nothing was created: no data directory, no control socket.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp.path()),
                          std::filesystem::directory_iterator()),
            2);  // out, err
}

TEST(AgentHelpTest, TopLevelHelpListsEveryCommand) {
  testing::TempDir tmp;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"--config", "x.toml", "--help"}}) {
    const Ran r = Agent(tmp.path(), args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("usage: nrm-agent --config FILE COMMAND", 0), 0u) << r.out;
    for (const std::vector<std::string>* list : {&kLocal, &kServed, &kServedUsers}) {
      for (const std::string& cmd : *list) {
        const bool listed = r.out.find("\n  " + cmd + " ") != std::string::npos ||
                            r.out.find("\n  " + cmd + "\n") != std::string::npos;
        EXPECT_TRUE(listed) << cmd << " missing from\n" << r.out;
      }
    }
  }
}

TEST(AgentHelpTest, TableHoldsEveryCommandAndTheOptionsEachSideAlwaysTook) {
  std::set<std::string> served, local;
  for (const agent::CommandSpec& c : agent::Commands()) {
    (c.handler ? served : local).emplace(c.name);
    EXPECT_FALSE(c.summary.empty()) << c.name;
  }
  std::set<std::string> all_served(kServed.begin(), kServed.end());
  all_served.insert(kServedUsers.begin(), kServedUsers.end());
  EXPECT_EQ(served, all_served);
  EXPECT_EQ(local, std::set<std::string>(kLocal.begin(), kLocal.end()));
  for (const std::string& cmd : all_served) EXPECT_TRUE(agent::IsServed(cmd)) << cmd;
  for (const std::string& cmd : kLocal) EXPECT_FALSE(agent::IsServed(cmd)) << cmd;
  const agent::OptionNames s = agent::ServedOptions();
  EXPECT_EQ(s.valued,
            (std::set<std::string>{"to", "file", "case", "label", "override", "handling", "reason",
                                   "outcome", "note", "family-found", "reception-agency", "date",
                                   "border-point", "max-offline", "format", "out",
                                   // user add|password
                                   "role", "password-hash"}));
  EXPECT_EQ(s.flags, (std::set<std::string>{"json", "all", "preview", "new-case", "forget",
                                            "one-time-password"}));
  const agent::OptionNames l = agent::LocalOptions();
  EXPECT_EQ(l.valued, (std::set<std::string>{"to", "kind", "file", "case", "handling", "count",
                                             "timeout", "in", "out"}));
  EXPECT_EQ(l.flags, (std::set<std::string>{"json"}));
}

}  // namespace
}  // namespace nrm
