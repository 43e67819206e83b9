// Real nrm-agent daemons for a test, over a real broker (BrokerFixture): the agencies of
// scenarios 1 and 2 (docs/AGENT.md), starting, stopping and killing their agents, running
// their commands as a person would (`nrm-agent --config FILE COMMAND ...`), and small helpers
// to read what the commands print and to scan data directories.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "tests/testing/broker_fixture.h"

namespace nrm::testing {

inline const std::string kPolice = "TH.POLICE.CRI-ATU";
inline const std::string kShelterA = "TH.SHELTER.KREDTRAKARN";
inline const std::string kShelterB = "TH.SHELTER.CHIANGRAI";
inline const std::string kThNgo = "TH.NGO.FRIENDS";
inline const std::string kKhNgo = "KH.NGO.RECEPTION";
inline const std::string kThImm = "TH.IMMIGRATION.MAESAI";
inline const std::string kKhImm = "KH.IMMIGRATION.POIPET";

struct Cli {
  int code = -1;
  std::string out;
};

class AgentDaemonTest : public BrokerFixture {
 protected:
  std::vector<tools::ScenarioAgency> Agencies() const override {
    return {{kPolice, "police", "TH", "Chiang Rai", "Chiang Rai ATU"},
            {kShelterA, "shelter", "TH", "Nonthaburi", "Kredtrakarn shelter"},
            {kShelterB, "shelter", "TH", "Chiang Rai", "Chiang Rai shelter"},
            {kThNgo, "ngo", "TH", "Bangkok", "Thai return NGO"},
            {kKhNgo, "ngo", "KH", "Banteay Meanchey", "Cambodian reception NGO"},
            {kThImm, "immigration", "TH", "Sa Kaeo", "Thai immigration"},
            {kKhImm, "immigration", "KH", "Banteay Meanchey", "Cambodian immigration"}};
  }

  void TearDown() override {
    for (auto& [id, pid] : agents_) {
      if (pid > 0) (void)tools::Stop(pid, 5000);
    }
    BrokerFixture::TearDown();
  }

  std::string DataDir(const std::string& id) { return scenario_.dir + "/agents/" + id + "-data"; }

  // Appends `lines` to the agent's config file (e.g. "confirm_after_s = 2\n").
  void AddToAgentConfig(const std::string& id, const std::string& lines) {
    std::ofstream(scenario_.AgentConfig(id), std::ios::app) << lines;
  }

  void StartAgent(const std::string& id) {
    Result<pid_t> pid = tools::Spawn(
        {testing::BinDir() + "/nrm-agent", "--config", scenario_.AgentConfig(id), "run"},
        tmp_.path() + "/logs/" + id + ".log");
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    agents_[id] = *pid;
    const std::string control = DataDir(id) + "/control";
    ASSERT_TRUE(PollUntil([&] {
      struct stat st {};
      return ::stat(control.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
    })) << Log(id);
  }

  void StopAgent(const std::string& id) {
    Result<int> code = tools::Stop(agents_[id], 5000);
    EXPECT_TRUE(code.ok() && *code == 0) << id << " did not stop cleanly\n" << Log(id);
    agents_[id] = -1;
  }

  void KillAgent(const std::string& id) {
    ASSERT_EQ(::kill(agents_[id], SIGKILL), 0);
    ASSERT_TRUE(tools::WaitExit(agents_[id], 5000).ok());
    agents_[id] = -1;
  }

  std::string Log(const std::string& id) {
    Result<std::string> s = ReadFile(tmp_.path() + "/logs/" + id + ".log");
    return s.ok() ? *s : "";
  }

  static bool PollUntil(const std::function<bool()>& done, int timeout_ms = 15000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // Runs `nrm-agent --config <id's config> words...` and returns its exit code and output.
  Cli Run(const std::string& id, const std::vector<std::string>& words) {
    const std::string out = tmp_.path() + "/logs/cli-" + std::to_string(++calls_) + ".out";
    std::vector<std::string> argv = {testing::BinDir() + "/nrm-agent", "--config",
                                     scenario_.AgentConfig(id)};
    argv.insert(argv.end(), words.begin(), words.end());
    Cli r;
    Result<pid_t> pid = tools::Spawn(argv, out);
    if (!pid.ok()) return r;
    Result<int> code = tools::WaitExit(*pid, 40000);
    r.code = code.ok() ? *code : -1;
    Result<std::string> text = ReadFile(out);
    r.out = text.ok() ? *text : "";
    std::filesystem::remove(out);
    return r;
  }

  // Polls `words` until its output contains `want` (up to `timeout_ms`).
  Cli WaitFor(const std::string& id, const std::vector<std::string>& words, const std::string& want,
              int timeout_ms = 15000) {
    Cli r;
    PollUntil(
        [&] {
          r = Run(id, words);
          return r.out.find(want) != std::string::npos;
        },
        timeout_ms);
    return r;
  }

  std::string WriteJson(const std::string& name, const std::string& json) {
    const std::string path = tmp_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, json).ok());
    return path;
  }

  // The `nth` value of string field `name` in `json`, or "".
  static std::string Field(const std::string& json, const std::string& name, int nth = 0) {
    std::regex re("\"" + name + "\":\"([^\"]*)\"");
    auto it = std::sregex_iterator(json.begin(), json.end(), re);
    for (int i = 0; i < nth && it != std::sregex_iterator(); ++i) ++it;
    return it == std::sregex_iterator() ? "" : (*it)[1].str();
  }

  // How many times `needle` occurs in `text`.
  static size_t Occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  static std::string VictimFile(const std::string& name, const std::string& roles) {
    return R"({
  "case": {"status": "Active", "reason_for_referral": "identified in a raid"},
  "person": {"first_name": ")" +
           name + R"(", "nationality": "MM", "languages": ["my"]},
  "needs": {"immediate_needs": ["Medical", "Psychosocial"], "risk_to_person": "High"},
  "consent": {"share_sections": ["person", "needs", "context", "repatriation"],
              "share_with_roles": [)" +
           roles + R"(], "purpose": "protection and return",
              "date": "2026-11-29", "recorded_by": "case worker 12"}
})";
  }

  // Every file under `dir`, read whole, checked for `needle`.
  static std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
    std::vector<std::string> hits;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (data.find(needle) != std::string::npos) hits.push_back(e.path().string());
    }
    return hits;
  }

  std::map<std::string, pid_t> agents_;
  int calls_ = 0;
};

// The name the delivery tests use.
using DaemonFixture = AgentDaemonTest;

}  // namespace nrm::testing
