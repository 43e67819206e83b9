// Small helpers for the lists of names the agent handles and shows: agency ids joined for
// people, comma-separated --to values split, a party added once, a message id shortened for a
// timeline line. Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace nrm::agent {

// "a, b, c" (or with another separator).
inline std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

// The non-empty parts of `s` between commas (or `sep`).
inline std::vector<std::string> Split(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// Appends `s` unless `v` holds it already.
inline void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

// The first 12 hex digits of an id, enough for people to tell messages apart.
inline std::string Short(const std::string& hex) { return hex.substr(0, 12); }

}  // namespace nrm::agent
