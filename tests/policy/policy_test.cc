// The shipped GMS policy and its decision table, deny-by-default, fail-closed queries, field
// rules, and robustness of Parse()/Lint() against garbage.
#include "policy/policy.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/file_util.h"
#include "policy/cases.h"
#include "tests/policy/policy_test_util.h"

namespace nrm::policy {
namespace {

TEST(ShippedPolicyTest, LintsClean) {
  std::string text = ReadSource("policy/rules/gms.toml");
  EXPECT_EQ(Lint(text, "gms.toml"), std::vector<std::string>{});
}

TEST(ShippedPolicyTest, DecisionTablePasses) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  std::string cases = ReadSource("policy/rules/gms_cases.toml");
  Result<std::vector<CaseResult>> results = RunCases(p, cases, "gms_cases.toml");
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  int allowed = 0, denied = 0;
  for (const CaseResult& r : *results) {
    EXPECT_TRUE(r.passed) << r.where << ": " << r.name << ": " << r.failure;
    (r.decision.allowed ? allowed : denied)++;
    // Every decision says why: a rule when allowed, a reason when not.
    EXPECT_EQ(r.decision.allowed, !r.decision.rule_id.empty()) << r.where;
    EXPECT_FALSE(r.decision.reason.empty()) << r.where;
    EXPECT_EQ(r.decision.policy_hash, kTestHash) << r.where;
    if (!r.decision.allowed) {
      // A refusal's reason is its fixed words with its values (the web inbox translates the
      // words and shows the values in them).
      std::string filled = r.decision.reason_words;
      for (size_t i = r.decision.reason_values.size(); i > 0; --i) {
        const std::string mark = "%" + std::to_string(i);
        for (size_t at; (at = filled.find(mark)) != std::string::npos;) {
          filled.replace(at, mark.size(), r.decision.reason_values[i - 1].text);
        }
      }
      EXPECT_EQ(filled, r.decision.reason) << r.where;
    }
  }
  EXPECT_GE(results->size(), 40u);
  EXPECT_GE(allowed, 15);
  EXPECT_GE(denied, 15);
}

// RunCases must be able to fail, or the test above proves nothing.
TEST(ShippedPolicyTest, DecisionTableDetectsWrongExpectations) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  const std::string cases = R"(
[[case]]
name = "wrong: this is allowed"
from = { role = "police", country = "TH" }
to = { role = "shelter", country = "TH" }
kind = "referral_offer"
expect = "deny"

[[case]]
name = "wrong rule"
from = { role = "police", country = "TH" }
to = { role = "shelter", country = "TH" }
kind = "referral_offer"
expect = "allow"
expect_rule = "xb-referral"

[[case]]
name = "wrong reason"
from = { role = "shelter", country = "TH" }
to = { role = "police", country = "TH" }
kind = "counselling_notes"
expect = "deny"
expect_reason = "unknown"
)";
  Result<std::vector<CaseResult>> results = RunCases(p, cases, "t.toml");
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 3u);
  for (const CaseResult& r : *results) EXPECT_FALSE(r.passed) << r.name;
  EXPECT_EQ((*results)[0].where, "t.toml:2");
  EXPECT_NE((*results)[1].failure.find("expected rule xb-referral, got rule dom-referral-offer"),
            std::string::npos);
}

TEST(ShippedPolicyTest, MalformedCaseTableIsAnError) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  Result<std::vector<CaseResult>> r = RunCases(p, R"([[case]]
name = "x"
from = { role = "police", country = "TH" }
to = { role = "shelter", country = "TH" }
kind = "referral_offer"
expect = "maybe"
)",
                                               "t.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "t.toml:6: bad expect 'maybe' (expected \"allow\" or \"deny\")");
}

TEST(RouteTest, DomainScenarioThreeIsDenied) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  Decision d = p.Route(Query("shelter", "TH", "police", "TH", "counselling_notes", "2024-03-01"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no rule allows shelter -> police for counselling_notes within TH");
  d = p.Route(Query("ngo", "MM", "shelter", "VN", "referral_offer", "2024-03-01"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "no agreement between MM and VN covers ngo -> shelter for referral_offer "
            "(agreements between them: commit-2004)");
}

TEST(RouteTest, CrossBorderBeforeAgreementIsDeniedAfterIsAllowed) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  Decision before =
      p.Route(Query("police", "TH", "police", "MM", "interview_request", "2009-04-23"));
  EXPECT_FALSE(before.allowed);
  EXPECT_EQ(before.reason,
            "agreement th-mm-2009 between TH and MM covers police -> police for interview_request "
            "only from 2009-04-24 (message dated 2009-04-23)");
  Decision on = p.Route(Query("police", "TH", "police", "MM", "interview_request", "2009-04-24"));
  EXPECT_TRUE(on.allowed) << on.reason;
  EXPECT_EQ(on.rule_id, "xb-police-cooperation");
  EXPECT_EQ(on.agreement_id, "th-mm-2009");
}

TEST(RouteTest, DecisionsCarryRuleIdAndHash) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  EXPECT_EQ(p.hash(), kTestHash);
  Decision allowed = p.Route(Query("police", "TH", "shelter", "TH", "referral_offer", ""));
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.rule_id, "dom-referral-offer");
  EXPECT_EQ(allowed.agreement_id, "");
  EXPECT_EQ(allowed.policy_hash, kTestHash);
  Decision denied = p.Route(Query("police", "TH", "ngo", "TH", "counselling_notes", ""));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.rule_id, "");
  EXPECT_EQ(denied.policy_hash, kTestHash);
}

TEST(RouteTest, UnknownRoleCountryOrKindIsDenied) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  const std::string date = "2024-03-01";
  struct Bad {
    RouteQuery q;
    std::string reason;
  };
  for (const Bad& b : std::vector<Bad>{
           {Query("judge", "TH", "shelter", "TH", "referral_offer", date),
            "unknown sender role 'judge'"},
           {Query("police", "TH", "", "TH", "referral_offer", date), "unknown recipient role ''"},
           {Query("police", "th", "shelter", "th", "referral_offer", date),
            "unknown sender country 'th'"},
           {Query("ngo", "TH", "ngo", "MY", "repatriation_request", date),
            "unknown recipient country 'MY'"},
           {Query("police", "TH", "shelter", "TH", "referral_offerx", date),
            "unknown message kind 'referral_offerx'"},
           {Query("police\nTH: allowed", "TH", "shelter", "TH", "referral_offer", date),
            "unknown sender role 'police?TH: allowed'"},
           {Query("police", "TH", "shelter", "TH", std::string(100, 'k'), date),
            "unknown message kind '" + std::string(40, 'k') + "...'"},
           {Query("police", "TH", "shelter", "TH", "referral_offer", "2024-3-1"),
            "bad message date '2024-3-1' (expected YYYY-MM-DD)"},
       }) {
    Decision d = p.Route(b.q);
    EXPECT_FALSE(d.allowed) << b.reason;
    EXPECT_EQ(d.reason, b.reason);
    EXPECT_EQ(d.policy_hash, kTestHash);
  }
  EXPECT_TRUE(p.KnowsRole("police"));
  EXPECT_FALSE(p.KnowsRole("judge"));
  EXPECT_TRUE(p.KnowsCountry("KH"));
  EXPECT_FALSE(p.KnowsCountry("MY"));
  EXPECT_TRUE(p.KnowsKind("h2_approval"));
  EXPECT_FALSE(p.KnowsKind("gossip"));
}

// The minimal policy of policy_test_util.h with its rules removed: nothing may pass.
TEST(RouteTest, EmptyRuleListDeniesEverything) {
  std::string text = kMinimalPolicy;
  text = text.substr(0, text.find("[[rule]]"));
  Result<Policy> p = Policy::Parse(text, "norules.toml", "h");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->rules().empty());
  int queries = 0;
  for (const char* from : {"police", "shelter", "monitor"}) {
    for (const char* to : {"police", "shelter", "monitor"}) {
      for (const char* kind : {"referral_offer", "status_update"}) {
        for (const char* country : {"TH", "KH"}) {
          Decision d = p->Route(Query(from, "TH", to, country, kind, "2024-03-01"));
          EXPECT_FALSE(d.allowed) << from << "->" << to << " " << kind << " " << country;
          EXPECT_FALSE(d.reason.empty());
          ++queries;
        }
      }
    }
  }
  EXPECT_EQ(queries, 36);
  // With the rules back, the same policy does allow something: the denials above are the rules'
  // absence, not a broken fixture.
  Result<Policy> full = Policy::Parse(kMinimalPolicy, "full.toml", "h");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_TRUE(full->Route(Query("police", "TH", "shelter", "TH", "referral_offer", "")).allowed);
}

TEST(RouteTest, AgreementUntilEndsIt) {
  std::string text = kMinimalPolicy;
  ReplaceOnce(text, "from = 2003-05-31\n", "from = 2003-05-31\nuntil = 2010-01-01\n");
  Result<Policy> p = Policy::Parse(text, "t.toml", "h");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(
      p->Route(Query("police", "TH", "shelter", "KH", "status_update", "2009-12-31")).allowed);
  Decision d = p->Route(Query("police", "TH", "shelter", "KH", "status_update", "2010-01-01"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "agreement th-kh between TH and KH covered police -> shelter for status_update only "
            "until 2010-01-01 (message dated 2010-01-01)");
}

TEST(FieldRulesTest, NeedToKnowSections) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  EXPECT_FALSE(p.MayReceive("police", "counselling"));
  EXPECT_TRUE(p.MayReceive("police", "investigation"));
  EXPECT_FALSE(p.MayReceive("shelter", "investigation"));
  EXPECT_TRUE(p.MayReceive("shelter", "counselling"));
  EXPECT_FALSE(p.MayReceive("ngo", "investigation"));
  EXPECT_FALSE(p.MayReceive("immigration", "counselling"));
  EXPECT_FALSE(p.MayReceive("immigration", "needs"));
  EXPECT_TRUE(p.MayReceive("immigration", "repatriation"));
  EXPECT_FALSE(p.MayReceive("io", "person"));
  EXPECT_FALSE(p.MayReceive("ministry", "investigation"));
  EXPECT_FALSE(p.MayReceive("ministry", "counselling"));
  for (const std::string& s : p.sections()) {
    EXPECT_FALSE(p.MayReceive("monitor", s)) << s;
    EXPECT_FALSE(p.MayReceive("stranger", s)) << s;
  }
  EXPECT_TRUE(p.SectionsFor("monitor").empty());
  EXPECT_TRUE(p.SectionsFor("stranger").empty());
  EXPECT_FALSE(p.MayReceive("police", "no_such_section"));
  // In the order of the `sections` list.
  EXPECT_EQ(p.SectionsFor("io"),
            (std::vector<std::string>{"case", "needs", "consent", "repatriation", "decision"}));
  EXPECT_EQ(p.SectionsFor("police"),
            (std::vector<std::string>{"case", "person", "context", "needs", "consent",
                                      "investigation", "decision"}));
}

TEST(HandlingTest, OnlyH2NeedsApprovalToPassOn) {
  NRM_ASSERT_SHIPPED_POLICY(p);
  ASSERT_EQ(p.handling_codes().size(), 4u);
  for (const char* code : {"H0", "H1", "H3"}) {
    ASSERT_NE(p.Handling(code), nullptr) << code;
    EXPECT_FALSE(p.Handling(code)->onward_requires_approval) << code;
  }
  ASSERT_NE(p.Handling("H2"), nullptr);
  EXPECT_TRUE(p.Handling("H2")->onward_requires_approval);
  EXPECT_EQ(p.Handling("H2")->description,
            "Not to be passed on without the provider's permission.");
  EXPECT_EQ(p.Handling("H4"), nullptr);
}

TEST(IsValidDateTest, CalendarRules) {
  EXPECT_TRUE(IsValidDate("2024-02-29"));
  EXPECT_TRUE(IsValidDate("2000-02-29"));
  EXPECT_FALSE(IsValidDate("1900-02-29"));
  EXPECT_FALSE(IsValidDate("2023-02-29"));
  EXPECT_FALSE(IsValidDate("2024-04-31"));
  EXPECT_FALSE(IsValidDate("2024-13-01"));
  EXPECT_FALSE(IsValidDate("2024-00-10"));
  EXPECT_FALSE(IsValidDate("2024-1-10"));
  EXPECT_FALSE(IsValidDate("2024-01-10T00:00"));
  EXPECT_FALSE(IsValidDate("２０２４-01-10"));
  EXPECT_FALSE(IsValidDate(""));
}

// Parse() and Lint() agree (Parse fails exactly when Lint reports something) and neither
// aborts, on every prefix of the shipped file, on byte flips of it, and on random bytes.
TEST(RobustnessTest, GarbageNeverCrashes) {
  const std::string good = ReadSource("policy/rules/gms.toml");
  auto check = [](const std::string& text) {
    Result<Policy> p = Policy::Parse(text, "g.toml", "h");
    std::vector<std::string> problems = Lint(text, "g.toml");
    EXPECT_EQ(p.ok(), problems.empty()) << text.substr(0, 200);
    if (!p.ok()) {
      EXPECT_EQ(p.status().message(), problems.front());
    }
    if (p.ok()) {
      (void)p->Route(Query("ngo", "TH", "ngo", "KH", "repatriation_request", "2024-01-01"));
    }
  };
  for (size_t n = 0; n < good.size(); n += 37) check(good.substr(0, n));
  std::mt19937 rng(20240301);
  for (int i = 0; i < 300; ++i) {
    std::string mutated = good;
    for (int j = 0; j < 4; ++j) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng() % 256);
    }
    check(mutated);
  }
  for (int i = 0; i < 300; ++i) {
    std::string random(rng() % 400, '\0');
    for (char& c : random) c = static_cast<char>(rng() % 256);
    check(random);
  }
}

}  // namespace
}  // namespace nrm::policy
