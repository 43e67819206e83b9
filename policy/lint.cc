// Linting a policy file: the checks against what the file declares (keys each table may have,
// names it never declared, names given twice, rules that no message could ever match), and
// Lint(), which reads the whole file and returns every problem in line order (see parser.h).
#include <algorithm>
#include <set>
#include <utility>

#include "policy/names.h"
#include "policy/parser.h"

namespace nrm::policy {

void PolicyParser::CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                             std::string_view where) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
    std::string expected;
    for (std::string_view a : allowed) expected += (expected.empty() ? "" : ", ") + std::string(a);
    Add(v, "unknown key '" + std::string(k.str()) + "' " + std::string(where) +
               " (expected one of: " + expected + ")");
  }
}

void PolicyParser::CheckKnown(const std::vector<Named>& names,
                              const std::vector<std::string>& known, std::string_view what) {
  for (const Named& n : names) {
    if (!Contains(known, n.value)) {
      Add(*n.node, "unknown " + std::string(what) + " '" + n.value +
                       "' (expected one of: " + Join(known) + ")");
    }
  }
}

void PolicyParser::CheckNoDuplicates(const std::vector<Named>& names, std::string_view owner) {
  std::set<std::string> seen;
  for (const Named& n : names) {
    if (!seen.insert(n.value).second) {
      Add(*n.node, std::string(owner) + " names '" + n.value + "' twice");
    }
  }
}

void PolicyParser::CheckRulesCanMatch() {
  for (size_t i = 0; i < policy_.rules_.size(); ++i) {
    const Rule& r = policy_.rules_[i];
    const toml::table& t = *rule_nodes_[i]->as_table();
    std::string never = "rule '" + r.id + "' can never match: ";
    bool empty = false;
    for (auto [key, list] :
         {std::pair<const char*, const std::vector<std::string>*>{"from", &r.from},
          {"to", &r.to},
          {"kinds", &r.kinds}}) {
      if (list->empty() && t.get(key) != nullptr) {
        Add(NodeOf(t, key), never + "'" + key + "' is empty (expected at least one name)");
        empty = true;
      }
    }
    if (empty) continue;
    for (const std::string& role : r.to) {
      if (Contains(policy_.roles_, role) && policy_.SectionsFor(role).empty()) {
        Add(NodeOf(t, "to"), never + "'" + role +
                                 "' may receive no payload section (see [fields]); remove it "
                                 "from 'to' or give it sections");
      }
    }
    if (r.scope != Scope::kCrossBorder) continue;
    bool covered = false;
    for (const Agreement& a : policy_.agreements_) {
      bool kind = std::any_of(r.kinds.begin(), r.kinds.end(),
                              [&](const std::string& k) { return Contains(a.kinds, k); });
      bool from = std::any_of(r.from.begin(), r.from.end(),
                              [&](const std::string& k) { return Contains(a.roles, k); });
      bool to = std::any_of(r.to.begin(), r.to.end(),
                            [&](const std::string& k) { return Contains(a.roles, k); });
      covered = covered || (kind && from && to);
    }
    if (!covered) {
      Add(*rule_nodes_[i], never +
                               "no [[agreement]] covers any of its roles and kinds across a "
                               "border (expected an agreement naming a 'from' role, a 'to' "
                               "role and one of its kinds)");
    }
  }
}

std::vector<std::string> Lint(std::string_view text, const std::string& path) {
  PolicyParser parser(path);
  parser.Run(text);
  return std::move(parser.problems_);
}

}  // namespace nrm::policy
