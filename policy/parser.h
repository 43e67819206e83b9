// The reader of a policy file, private to nrm_policy: it turns the TOML document into a Policy
// and collects every problem with its line instead of stopping at the first, so that `lint` can
// show an official all of them at once. parse.cc reads each table (types, names, dates, ids);
// lint.cc holds the checks against what the file declares (unknown keys and names, duplicates,
// rules that can never match). Policy::Parse() keeps the first problem, Lint() returns them all.
//
// Thread-compatible: one parser reads one document.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/toml_util.h"
#include "policy/policy.h"

namespace nrm::policy {

inline int64_t LineOf(const toml::node& n) { return static_cast<int64_t>(n.source().begin.line); }

// Where a key's value is, or the table itself when the key is missing.
inline const toml::node& NodeOf(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  return n != nullptr ? *n : t;
}

// A string taken from the file, with the node it came from (for the line in messages).
struct Named {
  std::string value;
  const toml::node* node;
};

class PolicyParser {
 public:
  explicit PolicyParser(const std::string& path) : path_(path) {}

  // Fills policy_ and problems_ (sorted by line).
  void Run(std::string_view text);

  Policy policy_;
  std::vector<std::string> problems_;

 private:
  void Add(const toml::node& n, const std::string& what) {
    raw_.push_back({LineOf(n), config::Where(path_, n) + ": " + what});
  }
  void Add(const toml::node& n, const Status& s) { raw_.push_back({LineOf(n), s.message()}); }

  // parse.cc: reading each table.
  // A string or an array of strings at t[key]; reports a missing key or wrong type.
  std::vector<Named> Names(const toml::table& t, std::string_view key, bool accept_single);
  std::optional<std::string> String(const toml::table& t, std::string_view key);
  std::optional<std::string> Date(const toml::table& t, std::string_view key, bool required);
  // Declares the names of `key` (roles, countries...): non-empty, well-formed, no duplicates.
  std::vector<std::string> Declared(const toml::table& root, std::string_view key,
                                    bool (*well_formed)(std::string_view), std::string_view form);
  void ParseHandling(const toml::table& root);
  void ParseFields(const toml::table& root);
  void ParseAgreements(const toml::table& root);
  void ParseRules(const toml::table& root);
  const toml::array* TableArray(const toml::table& root, std::string_view key);

  // lint.cc: checks against what the file declares.
  void CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 std::string_view where);
  // Reports every entry of `names` that is not in `known`, as "unknown <what>".
  void CheckKnown(const std::vector<Named>& names, const std::vector<std::string>& known,
                  std::string_view what);
  void CheckNoDuplicates(const std::vector<Named>& names, std::string_view owner);
  // After everything is read: rules that no query could ever match.
  void CheckRulesCanMatch();

  struct Problem {
    int64_t line;
    std::string message;
  };
  const std::string& path_;
  std::vector<Problem> raw_;
  std::vector<const toml::node*> rule_nodes_;  // parallel to policy_.rules_
};

}  // namespace nrm::policy
