// Helpers shared by the policy tests: the shipped files, a small valid policy to mutate, queries.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/file_util.h"
#include "policy/policy.h"

namespace nrm::policy {

inline constexpr char kTestHash[] = "0123abcd-test-hash";

// The text of `relative` under the source tree (NRM_SOURCE_DIR comes from CMake).
inline std::string ReadSource(const std::string& relative) {
  Result<std::string> text = ReadFile(std::string(NRM_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : std::string();
}

// policy/rules/gms.toml parsed with kTestHash.
inline Result<Policy> ShippedPolicy() {
  return Policy::Parse(ReadSource("policy/rules/gms.toml"), "gms.toml", kTestHash);
}

// Declares `const Policy& var`, the shipped policy, or fails the test.
#define NRM_ASSERT_SHIPPED_POLICY(var)                                \
  Result<Policy> var##_result = ShippedPolicy();                      \
  ASSERT_TRUE(var##_result.ok()) << var##_result.status().ToString(); \
  const Policy& var = *var##_result

inline RouteQuery Query(std::string from_role, std::string from_country, std::string to_role,
                        std::string to_country, std::string kind, std::string date) {
  RouteQuery q;
  q.from.role = std::move(from_role);
  q.from.country = std::move(from_country);
  q.to.role = std::move(to_role);
  q.to.country = std::move(to_country);
  q.kind = std::move(kind);
  q.date = std::move(date);
  return q;
}

// Replaces the one occurrence of `from` in `text`; fails the test if there is not exactly one.
inline void ReplaceOnce(std::string& text, const std::string& from, const std::string& to) {
  size_t pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << "fixture lacks: " << from;
  ASSERT_EQ(text.find(from, pos + 1), std::string::npos) << "fixture has twice: " << from;
  text.replace(pos, from.size(), to);
}

// A small valid policy. Line numbers matter to lint_test.cc: keep it in sync when editing.
inline constexpr char kMinimalPolicy[] = R"(roles = ["police", "shelter", "monitor"]
countries = ["TH", "KH"]
kinds = ["referral_offer", "status_update"]
sections = ["case", "investigation"]
[handling.H0]
description = "zero"
[handling.H1]
description = "one"
[handling.H2]
description = "two"
onward_requires_approval = true
[handling.H3]
description = "three"
[fields]
police = ["case", "investigation"]
shelter = ["case"]
monitor = []
[[agreement]]
id = "th-kh"
countries = ["TH", "KH"]
roles = ["police", "shelter"]
kinds = ["status_update"]
from = 2003-05-31
[[rule]]
id = "r1"
from = "police"
to = "shelter"
kinds = ["referral_offer"]
scope = "domestic"
[[rule]]
id = "r2"
from = ["police"]
to = ["shelter"]
kinds = ["status_update"]
scope = "cross_border"
)";

}  // namespace nrm::policy
