// Retention (agent/retention.h): the running agent erases a case closed longer ago than its
// config's retention_days_after_close, as `erase` does (tombstone, erasure requests to every
// party, nothing of the case left in any file), with one log line; a case closed more recently,
// an open case, and every case under "never" are kept; a due case waits for its steps still
// under way; `retention report` gives the dates; a nonsense setting is refused naming its file
// and line. Real nrm-broker and nrm-agent processes; the rule's clock is set through the
// test-only NRM_AGENT_RETENTION_NOW_FOR_TESTING (the agents' other clocks are the system's).
#include "agent/retention.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "agent/agent.h"
#include "common/json/json.h"
#include "tests/testing/erasure_fixture.h"

namespace nrm {
namespace {

using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using testing::kShelterB;

constexpr int64_t kDay = 24LL * 3600 * 1000;

std::string Day(int64_t ms) { return FormatTimeUtc(ms).substr(0, 10); }

// ---- The rule's pieces, without processes. ----

agent::TimelineStep At(int64_t ms, const std::string& kind, const std::string& state) {
  return {ms, "", kind, "", "", state, ""};
}

TEST(RetentionRuleTest, ACaseIsClosedFromWhenItLastBecameDone) {
  agent::CaseRecord c;
  c.state = "accepted";
  c.timeline = {At(1, "referral_offer", "offered"), At(2, "referral_accept", "accepted")};
  EXPECT_FALSE(agent::ClosedAt(c)) << "open";
  c.timeline.push_back(At(3, "handover_confirmed", "handover_confirmed"));
  c.timeline.push_back(At(10, "case_close", "done"));
  c.timeline.push_back(At(12, "receipt", "done"));
  c.state = "done";
  EXPECT_EQ(agent::ClosedAt(c), 10) << "the close, not the receipt after it";
  // The close was refused: the case went back, so it is not closed.
  c.timeline.push_back(At(20, "case_close", "handover_confirmed"));
  c.state = "handover_confirmed";
  EXPECT_FALSE(agent::ClosedAt(c)) << "reopened";
  // Closed again: from then.
  c.timeline.push_back(At(30, "case_close", "done"));
  c.state = "done";
  EXPECT_EQ(agent::ClosedAt(c), 30);
}

class RetentionConfigTest : public ::testing::Test {
 protected:
  // An agent config with `extra` as its line 7.
  std::string WriteConfig(const std::string& extra) {
    const std::string path = tmp_.path() + "/agent.toml";
    EXPECT_TRUE(WriteFileAtomic(path,
                                "agency = \"TH.SHELTER.BAN-PING\"\nkey_file = \"k.key\"\n"
                                "directory = \"directory.toml\"\npolicy = \"gms.toml\"\n"
                                "authority_key = \"" +
                                    std::string(64, 'a') + "\"\nbroker = \"tcp://127.0.0.1:1\"\n" +
                                    extra)
                    .ok());
    return path;
  }
  testing::TempDir tmp_;
};

TEST_F(RetentionConfigTest, MissingIsTheDefaultNeverIsExplicitAndNonsenseIsRefused) {
  Result<agent::AgentConfig> none = agent::LoadAgentConfig(WriteConfig(""));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->retention_days_after_close, 365);
  EXPECT_FALSE(none->retention_in_file);
  Result<agent::AgentConfig> days =
      agent::LoadAgentConfig(WriteConfig("retention_days_after_close = 30\n"));
  ASSERT_TRUE(days.ok()) << days.status().ToString();
  EXPECT_EQ(days->retention_days_after_close, 30);
  EXPECT_TRUE(days->retention_in_file);
  Result<agent::AgentConfig> never =
      agent::LoadAgentConfig(WriteConfig("retention_days_after_close = \"never\"\n"));
  ASSERT_TRUE(never.ok()) << never.status().ToString();
  EXPECT_FALSE(never->retention_days_after_close.has_value());
  EXPECT_NE(agent::DescribeRetention(*never).find("never"), std::string::npos);

  const std::pair<std::string, std::string> bad[] = {
      {"0", "would erase a case as soon as it is closed"},
      {"-30", "not a length of time"},
      {"0.5", "must be whole days"},
      {"36501", "more than 100 years"},
      {"\"365\"", "write the number without quotes, retention_days_after_close = 365"},
      {"\"a year\"", "expected a number of days"},
      {"true", "must be a number of days"}};
  for (const auto& [value, why] : bad) {
    const std::string path = WriteConfig("retention_days_after_close = " + value + "\n");
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(path);
    ASSERT_FALSE(c.ok()) << value;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << value;
    const std::string m = c.status().message();
    EXPECT_EQ(m.rfind(path + ":7", 0), 0u) << value << ": " << m;
    EXPECT_NE(m.find("retention_days_after_close"), std::string::npos) << m;
    EXPECT_NE(m.find(why), std::string::npos) << value << ": " << m;
    if (value != "\"365\"") {  // that one says exactly what to write
      EXPECT_NE(m.find("or \"never\""), std::string::npos) << value << ": " << m;
    }
  }
}

// ---- Real agents. ----

class RetentionTest : public testing::ErasureFixture {
 protected:
  // Sets retention_days_after_close in `id`'s config to `value` (a TOML value).
  void SetRetention(const std::string& id, const std::string& value) {
    std::ifstream in(scenario_.AgentConfig(id));
    std::stringstream kept;
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("retention_days_after_close")) kept << line << "\n";
    }
    kept << "retention_days_after_close = " << value << "\n";
    ASSERT_TRUE(WriteFileAtomic(scenario_.AgentConfig(id), kept.str()).ok());
  }

  // Starts `id`'s agent with the retention rule's clock at `now_ms` (test only).
  void StartWithRuleClock(const std::string& id, int64_t now_ms) {
    ::setenv("NRM_AGENT_RETENTION_NOW_FOR_TESTING", std::to_string(now_ms).c_str(), 1);
    StartAgent(id);
    ::unsetenv("NRM_AGENT_RETENTION_NOW_FOR_TESTING");
  }

  json::Json Report(const std::string& id) {
    Cli r = Run(id, {"retention", "report", "--json"});
    EXPECT_EQ(r.code, 0) << r.out;
    Result<json::Json> j = json::Parse(r.out);
    EXPECT_TRUE(j.ok()) << r.out;
    return j.ok() ? *j : json::Json::object();
  }

  // A person offered by the police to shelter `to`, accepted and handed over: the case ref.
  std::string HandOver(const std::string& to, const std::string& name, const std::string& label) {
    const std::string o = Offer(to, name, label);
    const std::string ref = Field(o, "case"), offer = Field(o, "message_id");
    WaitFor(to, {"inbox", "--json"}, offer);
    EXPECT_EQ(Run(to, {"accept", offer}).code, 0);
    WaitFor(kPolice, {"cases", "--json"}, "\"label\":\"" + label + "\",\"state\":\"accepted\"");
    EXPECT_EQ(Run(to, {"confirm-handover", offer}).code, 0);
    Cli c = WaitFor(kPolice, {"cases", "--json"},
                    "\"label\":\"" + label + "\",\"state\":\"handover_confirmed\"");
    EXPECT_NE(c.out.find("\"label\":\"" + label + "\",\"state\":\"handover_confirmed\""),
              std::string::npos)
        << c.out;
    return ref;
  }

  // The police close case `label`: the case_close's message id.
  std::string Close(const std::string& label) {
    Cli c = Run(kPolice, {"close", label, "--outcome", "success", "--json"});
    EXPECT_EQ(c.code, 0) << c.out;
    return Field(c.out, "message_id");
  }

  // Report entry of `ref` in `list` ("closed" or "erased"), or null.
  static json::Json Entry(const json::Json& report, const std::string& list,
                          const std::string& ref) {
    if (!report.contains(list)) return json::Json();
    for (const json::Json& e : report[list]) {
      if (e.value("case", "") == ref) return e;
    }
    return json::Json();
  }

  // A piece of each record of case `ref` in `id`'s store now (the agent must be stopped).
  std::vector<std::string> Pieces(const std::string& id, const std::string& ref) {
    std::vector<std::string> out;
    for (const std::string& r : Records(id, ref)) out.push_back(r.substr(r.size() / 2, 32));
    return out;
  }
};

TEST_F(RetentionTest, ErasesAClosedCasePastItsRetentionAndKeepsTheRest) {
  SetRetention(kPolice, "\"never\"");
  for (const std::string& id : {kPolice, kShelterA}) StartAgent(id);
  // alpha closed, bravo closed more than a second later, charlie open.
  const std::string alpha = HandOver(kShelterA, "CanaryAlphaRet901", "alpha");
  const std::string alpha_close = Close("alpha");
  WaitFor(kPolice, {"show", alpha_close, "--json"}, "\"status\":\"delivered\"");
  ::usleep(1500 * 1000);
  const std::string bravo = HandOver(kShelterA, "CanaryBravoRet902", "bravo");
  WaitFor(kPolice, {"show", Close("bravo"), "--json"}, "\"status\":\"delivered\"");
  const std::string charlie = Field(Offer(kShelterA, "CanaryCharlieRet903", "charlie"), "case");
  WaitFor(kShelterA, {"cases", "--json"}, charlie);

  // The report under "never": both closed cases, their close times, no erasure date.
  json::Json r = Report(kPolice);
  EXPECT_EQ(r["retention_days_after_close"], "never") << r.dump();
  EXPECT_EQ(r["setting"], "config");
  ASSERT_EQ(r["closed"].size(), 2u) << r.dump();
  EXPECT_EQ(r["open_cases"], 1);
  const int64_t closed_a = Entry(r, "closed", alpha)["closed_at_ms"].get<int64_t>();
  const int64_t closed_b = Entry(r, "closed", bravo)["closed_at_ms"].get<int64_t>();
  ASSERT_GT(closed_b - closed_a, 1000) << r.dump();
  EXPECT_TRUE(Entry(r, "closed", alpha)["erase_at"].is_null()) << r.dump();
  // The shelter's copy: closed there too, under the default of 365 days.
  json::Json s = Report(kShelterA);
  EXPECT_EQ(s["retention_days_after_close"], 365) << s.dump();
  EXPECT_EQ(s["setting"], "default");
  const json::Json at_shelter = Entry(s, "closed", alpha);
  ASSERT_TRUE(at_shelter.is_object()) << s.dump();
  EXPECT_EQ(at_shelter["erase_at_ms"].get<int64_t>(),
            at_shelter["closed_at_ms"].get<int64_t>() + 365 * kDay);
  EXPECT_EQ(at_shelter["due"], false);

  // Control: "never" keeps every closed case, a hundred years on.
  StopAgent(kPolice);
  StartWithRuleClock(kPolice, closed_a + 36500 * kDay);
  EXPECT_EQ(Report(kPolice)["closed"].size(), 2u);
  EXPECT_EQ(Run(kPolice, {"timeline", "alpha"}).code, 0);
  EXPECT_EQ(Log(kPolice).find("erased here"), std::string::npos) << Log(kPolice);

  // What the stores hold of alpha and bravo before the rule runs.
  StopAgent(kPolice);
  StopAgent(kShelterA);
  const std::vector<std::string> police_alpha = Records(kPolice, alpha);
  const std::vector<std::string> shelter_alpha = Records(kShelterA, alpha);
  StartAgent(kShelterA);

  // 30 days, and the rule's clock just past alpha's 30 days but not bravo's.
  SetRetention(kPolice, "30");
  const int64_t now = closed_a + 30 * kDay + 1000;
  StartWithRuleClock(kPolice, now);
  const std::string line = "case " + alpha.substr(0, 12) +
                           " erased here (retention rule: closed on " + Day(closed_a) +
                           ", retention 30 days); erasure requests to " + kShelterA;
  EXPECT_TRUE(PollUntil([&] { return Log(kPolice).find(line) != std::string::npos; }))
      << Log(kPolice);
  EXPECT_EQ(Occurrences(Log(kPolice), "erased here"), 1u) << "one case, one line";
  // The party erases its copy and confirms with a signed receipt.
  Cli tl = WaitFor(kPolice, {"timeline", alpha}, kShelterA + ": erased, signed receipt");
  EXPECT_NE(tl.out.find("by retention rule: closed on " + Day(closed_a) + ", retention 30 days"),
            std::string::npos)
      << tl.out;
  Cli there = WaitFor(kShelterA, {"timeline", alpha}, "ERASED");
  EXPECT_NE(there.out.find("erasure request of " + kPolice), std::string::npos) << there.out;

  // The report: alpha erased by the rule, bravo due on its own date, charlie still open.
  r = Report(kPolice);
  EXPECT_EQ(r["retention_days_after_close"], 30) << r.dump();
  ASSERT_EQ(r["closed"].size(), 1u) << r.dump();
  const json::Json b = Entry(r, "closed", bravo);
  ASSERT_TRUE(b.is_object()) << r.dump();
  EXPECT_EQ(b["label"], "bravo");
  EXPECT_EQ(b["erase_at_ms"].get<int64_t>(), closed_b + 30 * kDay);
  EXPECT_EQ(b["erase_at"], FormatTimeUtc(closed_b + 30 * kDay));
  EXPECT_EQ(b["due"], false);
  EXPECT_EQ(r["open_cases"], 1);
  const json::Json a = Entry(r, "erased", alpha);
  ASSERT_TRUE(a.is_object()) << r.dump();
  EXPECT_EQ(a["erased_by"], "retention rule");
  EXPECT_EQ(a["reason"], "closed on " + Day(closed_a) + ", retention 30 days");
  Cli text = Run(kPolice, {"retention", "report"});
  EXPECT_NE(text.out.find("a closed case is erased 30 days after it was closed"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find(bravo + " (bravo)  closed " + FormatTimeUtc(closed_b) + "  erase due " +
                          FormatTimeUtc(closed_b + 30 * kDay)),
            std::string::npos)
      << text.out;
  EXPECT_EQ(Run(kPolice, {"retention"}).code, 2);

  // bravo and charlie are untouched, here and at the shelter.
  EXPECT_EQ(Run(kPolice, {"timeline", "bravo"}).code, 0);
  EXPECT_EQ(Run(kPolice, {"timeline", "charlie"}).code, 0);
  EXPECT_EQ(Run(kShelterA, {"timeline", bravo}).code, 0);
  EXPECT_EQ(Run(kShelterA, {"timeline", charlie}).code, 0);
  // The log names cases by reference only: no label, no name.
  for (const char* word : {"alpha", "bravo", "CanaryAlphaRet901"}) {
    EXPECT_EQ(Log(kPolice).find(word), std::string::npos) << word;
  }

  // Nothing of alpha in any file of either agent; bravo's records are still there (the same
  // scan finds them).
  for (const std::string& id : {kPolice, kShelterA}) StopAgent(id);
  ExpectNothingLeft(kPolice, alpha, "CanaryAlphaRet901", police_alpha);
  ExpectNothingLeft(kShelterA, alpha, "CanaryAlphaRet901", shelter_alpha);
  for (const std::string& piece : Pieces(kPolice, bravo)) {
    EXPECT_FALSE(FilesHolding(DataDir(kPolice), piece).empty()) << "the scan finds bravo";
  }
}

TEST_F(RetentionTest, ADueCaseWaitsForItsStepsStillUnderWay) {
  SetRetention(kPolice, "30");
  for (const std::string& id : {kPolice, kShelterB}) StartAgent(id);
  const std::string ref = HandOver(kShelterB, "CanaryDeltaRet904", "delta");
  // The shelter is offline when the case is closed: the close waits at the broker.
  StopAgent(kShelterB);
  const std::string close = Close("delta");
  WaitFor(kPolice, {"show", close, "--json"}, "\"status\":\"at the broker\"");
  const int64_t closed = Entry(Report(kPolice), "closed", ref)["closed_at_ms"].get<int64_t>();

  // Due, but its close has not reached the shelter: kept, logged, reported.
  StopAgent(kPolice);
  StartWithRuleClock(kPolice, closed + 31 * kDay);
  const std::string waits = "retention: case " + ref.substr(0, 12) +
                            " is due for erasure (closed on " + Day(closed) +
                            ", retention 30 days) but waits for its steps still under way: "
                            "case_close " +
                            close.substr(0, 12) + " at the broker";
  EXPECT_TRUE(PollUntil([&] { return Log(kPolice).find(waits) != std::string::npos; }))
      << Log(kPolice);
  json::Json e = Entry(Report(kPolice), "closed", ref);
  EXPECT_EQ(e["due"], true) << e.dump();
  ASSERT_EQ(e["waiting_for"].size(), 1u) << e.dump();
  EXPECT_EQ(e["waiting_for"][0]["kind"], "case_close");
  EXPECT_EQ(e["waiting_for"][0]["status"], "at the broker");
  Cli text = Run(kPolice, {"retention", "report"});
  EXPECT_NE(text.out.find("DUE since " + FormatTimeUtc(closed + 30 * kDay) +
                          ": waits for its steps still under way"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(Run(kPolice, {"timeline", "delta"}).code, 0) << "kept";
  EXPECT_EQ(Log(kPolice).find("erased here"), std::string::npos);

  // The shelter takes the close and confirms it; at the next check the case is erased, and the
  // shelter is asked to erase its copy.
  StartAgent(kShelterB);
  WaitFor(kPolice, {"show", close, "--json"}, "\"status\":\"delivered\"");
  StopAgent(kPolice);
  StartWithRuleClock(kPolice, closed + 31 * kDay);
  EXPECT_TRUE(PollUntil([&] {
    return Log(kPolice).find("case " + ref.substr(0, 12) + " erased here (retention rule") !=
           std::string::npos;
  })) << Log(kPolice);
  WaitFor(kPolice, {"timeline", ref}, kShelterB + ": erased, signed receipt");
  WaitFor(kShelterB, {"timeline", ref}, "ERASED");
  StopAgent(kShelterB);
  EXPECT_TRUE(FilesHolding(DataDir(kShelterB), "CanaryDeltaRet904").empty());
}

TEST_F(RetentionTest, ANonsenseSettingIsRefusedByEveryCommandAndByRun) {
  SetRetention(kPolice, "0");
  const std::string config = scenario_.AgentConfig(kPolice);
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{"retention", "report"}, {"run"}}) {
    Cli r = Run(kPolice, words);
    EXPECT_EQ(r.code, 2) << words[0] << ": " << r.out;
    EXPECT_NE(r.out.find(config + ":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("retention_days_after_close is 0, which would erase a case as soon as "
                         "it is closed"),
              std::string::npos)
        << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(DataDir(kPolice) + "/store")) << "never started";
}

}  // namespace
}  // namespace nrm
