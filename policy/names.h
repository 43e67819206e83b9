// Lists of names (roles, countries, kinds, sections, ids) as the policy holds them: membership
// and joining them for messages. Private to nrm_policy.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace nrm::policy {

inline bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

inline std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace nrm::policy
