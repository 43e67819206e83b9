// Decision tables: a TOML list of queries with the decision each must get, so that officials can
// state what the policy must allow and refuse, and CI can check that it does.
// policy/rules/gms_cases.toml is the shipped table; its header documents the format:
//
//   [[case]]
//   name = "police offers a victim to a shelter (scenario 1)"
//   from = { role = "police", country = "TH", id = "th-police-chiangrai" }  # id optional
//   to = { role = "shelter", country = "TH" }
//   kind = "referral_offer"
//   date = 2024-03-01          # optional; a TOML date or a string (passed as written)
//   expect = "allow"           # or "deny"
//   expect_rule = "dom-referral-offer"     # optional, with allow
//   expect_agreement = "th-kh-2003"        # optional, with allow
//   expect_reason = "no agreement between" # optional substring of the reason, with deny
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "policy/policy.h"

namespace nrm::policy {

struct CaseResult {
  std::string where;  // "path:line" of the [[case]]
  std::string name;
  RouteQuery query;
  Decision decision;  // what the policy decided
  bool passed = false;
  std::string failure;  // when !passed: what was expected and what happened
};

// Runs every [[case]] of `cases_text` (read from `path`) against `policy`, in file order.
// Returns kInvalidArgument "path:line: ..." if the table itself is malformed (syntax, unknown
// keys, a missing field, expect not "allow"/"deny"); a case that fails is a CaseResult with
// passed == false, not an error.
Result<std::vector<CaseResult>> RunCases(const Policy& policy, std::string_view cases_text,
                                         const std::string& path);

}  // namespace nrm::policy
