// Reading a policy file: the TOML document, then each table ([handling], [fields],
// [[agreement]], [[rule]] and the declared names) with its types, names, dates and ids checked
// as it is read; Policy::Parse() refuses the file on the first problem found (see parser.h).
#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "policy/names.h"
#include "policy/parser.h"

namespace nrm::policy {
namespace {

bool IsSnakeName(std::string_view s) {
  if (s.empty() || s.front() < 'a' || s.front() > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsCountryCode(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

// Ids end up in audit records and log lines: keep them to a safe, printable alphabet.
bool IsId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::vector<std::string> Values(const std::vector<Named>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const Named& n : v) out.push_back(n.value);
  return out;
}

}  // namespace

bool IsValidDate(std::string_view date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (date[i] < '0' || date[i] > '9') return false;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (date[i] - '0');
    return v;
  };
  int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int max_day = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= max_day;
}

void PolicyParser::Run(std::string_view text) {
  Result<config::TomlDoc> doc = config::ParseToml(text, path_);
  if (!doc.ok()) {
    problems_.push_back(doc.status().message());
    return;
  }
  const toml::table& root = doc->root;
  CheckKeys(root,
            {"title", "roles", "countries", "kinds", "sections", "handling", "fields", "agreement",
             "rule"},
            "at the top level");
  if (root.get("title") != nullptr) String(root, "title");
  policy_.roles_ = Declared(root, "roles", IsSnakeName, "snake_case names");
  policy_.countries_ = Declared(root, "countries", IsCountryCode, "two capital letters, e.g. TH");
  policy_.kinds_ = Declared(root, "kinds", IsSnakeName, "snake_case names");
  policy_.sections_ = Declared(root, "sections", IsSnakeName, "snake_case names");
  ParseHandling(root);
  ParseFields(root);
  ParseAgreements(root);
  ParseRules(root);
  CheckRulesCanMatch();

  std::stable_sort(raw_.begin(), raw_.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  for (Problem& p : raw_) problems_.push_back(std::move(p.message));
  // The nodes point into `doc`, which dies here.
  rule_nodes_.clear();
}

std::vector<Named> PolicyParser::Names(const toml::table& t, std::string_view key,
                                       bool accept_single) {
  std::vector<Named> out;
  const toml::node* n = t.get(key);
  std::string expected = accept_single ? "a string or an array of strings" : "an array of strings";
  if (n == nullptr) {
    Add(t, "missing key '" + std::string(key) + "' (expected " + expected + ")");
    return out;
  }
  if (accept_single && n->is_string()) {
    out.push_back({std::string(n->as_string()->get()), n});
    return out;
  }
  const toml::array* a = n->as_array();
  if (a == nullptr) {
    Add(*n, "key '" + std::string(key) + "' must be " + expected);
    return out;
  }
  for (const toml::node& e : *a) {
    if (!e.is_string()) {
      Add(e, "key '" + std::string(key) + "' must be " + expected);
      continue;
    }
    out.push_back({std::string(e.as_string()->get()), &e});
  }
  return out;
}

std::optional<std::string> PolicyParser::String(const toml::table& t, std::string_view key) {
  Result<std::string> s = config::GetString(t, key, path_);
  if (!s.ok()) {
    Add(NodeOf(t, key), s.status());
    return std::nullopt;
  }
  return *s;
}

std::optional<std::string> PolicyParser::Date(const toml::table& t, std::string_view key,
                                              bool required) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (required)
      Add(t, "missing key '" + std::string(key) + "' (expected a date like 2003-05-31)");
    return std::nullopt;
  }
  std::string text;
  if (const toml::value<toml::date>* d = n->as_date()) {
    // toml++ has already checked the calendar; only the year range is left to us.
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", unsigned{d->get().year},
                  unsigned{d->get().month}, unsigned{d->get().day});
    text = buf;
  } else if (n->is_string()) {
    text = n->as_string()->get();
  } else {
    Add(*n,
        "bad date in '" + std::string(key) + "' (expected a date like 2003-05-31, without a time)");
    return std::nullopt;
  }
  if (!IsValidDate(text)) {
    Add(*n, "bad date '" + text + "' in '" + std::string(key) +
                "' (expected a real calendar date YYYY-MM-DD from 1900 on)");
    return std::nullopt;
  }
  return text;
}

std::vector<std::string> PolicyParser::Declared(const toml::table& root, std::string_view key,
                                                bool (*well_formed)(std::string_view),
                                                std::string_view form) {
  std::vector<Named> names = Names(root, key, /*accept_single=*/false);
  if (root.get(key) != nullptr && root.get(key)->is_array() && names.empty()) {
    Add(*root.get(key), "'" + std::string(key) + "' is empty (expected at least one name)");
  }
  std::vector<std::string> out;
  for (const Named& n : names) {
    if (!well_formed(n.value)) {
      Add(*n.node, "bad name '" + n.value + "' in '" + std::string(key) + "' (expected " +
                       std::string(form) + ")");
    } else if (Contains(out, n.value)) {
      Add(*n.node, "'" + n.value + "' is listed twice in '" + std::string(key) + "'");
    } else {
      out.push_back(n.value);
    }
  }
  return out;
}

const toml::array* PolicyParser::TableArray(const toml::table& root, std::string_view key) {
  const toml::node* n = root.get(key);
  if (n == nullptr) return nullptr;
  const toml::array* a = n->as_array();
  if (a == nullptr || !a->is_array_of_tables()) {
    Add(*n, "'" + std::string(key) + "' must be written as [[" + std::string(key) + "]] tables");
    return nullptr;
  }
  return a;
}

void PolicyParser::ParseHandling(const toml::table& root) {
  const toml::node* n = root.get("handling");
  if (n == nullptr) {
    Add(root, "missing [handling] table (expected [handling.H0] to [handling.H3])");
    return;
  }
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    Add(*n, "'handling' must be a table (expected [handling.H0] to [handling.H3])");
    return;
  }
  CheckKeys(*t, {"H0", "H1", "H2", "H3"}, "in [handling]");
  for (std::string_view code : {"H0", "H1", "H2", "H3"}) {
    const toml::node* c = t->get(code);
    if (c == nullptr) {
      Add(*t, "missing handling code " + std::string(code) + " (expected [handling." +
                  std::string(code) + "] with a description)");
      continue;
    }
    const toml::table* ct = c->as_table();
    if (ct == nullptr) {
      Add(*c, "handling code " + std::string(code) + " must be a table");
      continue;
    }
    CheckKeys(*ct, {"description", "onward_requires_approval"}, "in a handling code");
    HandlingCode h;
    h.code = code;
    if (std::optional<std::string> d = String(*ct, "description")) h.description = *d;
    Result<bool> onward = config::GetBool(*ct, "onward_requires_approval", path_, false);
    if (!onward.ok()) {
      Add(NodeOf(*ct, "onward_requires_approval"), onward.status());
    } else {
      h.onward_requires_approval = *onward;
    }
    policy_.handling_.push_back(std::move(h));
  }
}

void PolicyParser::ParseFields(const toml::table& root) {
  const toml::node* n = root.get("fields");
  if (n == nullptr) {
    // Not an error in itself (nobody receives anything), but every rule will then be flagged.
    return;
  }
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    Add(*n, "'fields' must be a table of role = [sections]");
    return;
  }
  for (const auto& [k, v] : *t) {
    std::string role(k.str());
    if (!Contains(policy_.roles_, role)) {
      Add(v, "unknown role '" + role + "' in [fields] (expected one of: " + Join(policy_.roles_) +
                 ")");
      continue;
    }
    std::vector<Named> sections = Names(*t, role, /*accept_single=*/false);
    CheckKnown(sections, policy_.sections_, "section");
    CheckNoDuplicates(sections, "[fields] " + role);
    // Kept in the order of the `sections` list, so SectionsFor() is stable whatever the file.
    std::vector<std::string> allowed;
    for (const std::string& s : policy_.sections_) {
      for (const Named& x : sections) {
        if (x.value == s) {
          allowed.push_back(s);
          break;
        }
      }
    }
    policy_.fields_.emplace_back(role, std::move(allowed));
  }
}

void PolicyParser::ParseAgreements(const toml::table& root) {
  const toml::array* arr = TableArray(root, "agreement");
  if (arr == nullptr) return;
  std::set<std::string> ids;
  // A flawed agreement is still kept (with its known names only): Parse() refuses the file
  // anyway, and keeping it stops one typo from also flagging every rule it would have covered.
  for (const toml::node& node : *arr) {
    const toml::table& t = *node.as_table();
    CheckKeys(t, {"id", "title", "countries", "roles", "kinds", "from", "until"},
              "in [[agreement]]");
    Agreement a;
    if (std::optional<std::string> id = String(t, "id")) {
      a.id = *id;
      if (!IsId(a.id)) {
        Add(NodeOf(t, "id"), "bad agreement id '" + a.id + "' (expected letters, digits, - _ .)");
      } else if (!ids.insert(a.id).second) {
        Add(NodeOf(t, "id"), "duplicate agreement id '" + a.id + "'");
      }
    }
    if (t.get("title") != nullptr) {
      if (std::optional<std::string> title = String(t, "title")) a.title = *title;
    }
    const std::string owner = "agreement '" + a.id + "'";
    std::vector<Named> countries = Names(t, "countries", false);
    std::vector<Named> roles = Names(t, "roles", false);
    std::vector<Named> kinds = Names(t, "kinds", false);
    CheckKnown(countries, policy_.countries_, "country");
    CheckNoDuplicates(countries, owner);
    CheckKnown(roles, policy_.roles_, "role");
    CheckKnown(kinds, policy_.kinds_, "kind");
    std::set<std::string> distinct;
    for (const Named& c : countries) distinct.insert(c.value);
    if (distinct.size() < 2 && t.get("countries") != nullptr) {
      Add(NodeOf(t, "countries"), owner + " must name at least two different countries");
    }
    if (roles.empty() && t.get("roles") != nullptr) {
      Add(NodeOf(t, "roles"), owner + " names no role (expected at least one)");
    }
    if (kinds.empty() && t.get("kinds") != nullptr) {
      Add(NodeOf(t, "kinds"), owner + " names no kind (expected at least one)");
    }
    for (const std::string& c : distinct) {
      if (Contains(policy_.countries_, c)) a.countries.push_back(c);
    }
    for (const Named& r : roles) {
      if (Contains(policy_.roles_, r.value)) a.roles.push_back(r.value);
    }
    for (const Named& k : kinds) {
      if (Contains(policy_.kinds_, k.value)) a.kinds.push_back(k.value);
    }
    std::optional<std::string> from = Date(t, "from", /*required=*/true);
    std::optional<std::string> until = Date(t, "until", /*required=*/false);
    if (from) a.from = *from;
    if (until) {
      a.until = *until;
      if (from && *until <= *from) {
        Add(NodeOf(t, "until"),
            "bad date: " + owner + " ends (" + *until + ") before it starts (" + *from + ")");
      }
    }
    policy_.agreements_.push_back(std::move(a));
  }
}

void PolicyParser::ParseRules(const toml::table& root) {
  const toml::array* arr = TableArray(root, "rule");
  if (arr == nullptr) return;  // no rules: everything is denied, which is a valid policy
  std::set<std::string> ids;
  for (const toml::node& node : *arr) {
    const toml::table& t = *node.as_table();
    CheckKeys(t, {"id", "description", "from", "to", "kinds", "scope"}, "in [[rule]]");
    Rule r;
    if (std::optional<std::string> id = String(t, "id")) {
      r.id = *id;
      if (!IsId(r.id)) {
        Add(NodeOf(t, "id"), "bad rule id '" + r.id + "' (expected letters, digits, - _ .)");
      } else if (!ids.insert(r.id).second) {
        Add(NodeOf(t, "id"), "duplicate rule id '" + r.id + "'");
      }
    }
    if (t.get("description") != nullptr) {
      if (std::optional<std::string> d = String(t, "description")) r.description = *d;
    }
    std::vector<Named> from = Names(t, "from", true);
    std::vector<Named> to = Names(t, "to", true);
    std::vector<Named> kinds = Names(t, "kinds", true);
    CheckKnown(from, policy_.roles_, "role");
    CheckKnown(to, policy_.roles_, "role");
    CheckKnown(kinds, policy_.kinds_, "kind");
    r.from = Values(from);
    r.to = Values(to);
    r.kinds = Values(kinds);
    if (std::optional<std::string> scope = String(t, "scope")) {
      if (*scope == "domestic") {
        r.scope = Scope::kDomestic;
      } else if (*scope == "cross_border") {
        r.scope = Scope::kCrossBorder;
      } else {
        Add(NodeOf(t, "scope"),
            "unknown scope '" + *scope + "' (expected \"domestic\" or \"cross_border\")");
      }
    }
    policy_.rules_.push_back(std::move(r));
    rule_nodes_.push_back(&node);
  }
}

Result<Policy> Policy::Parse(std::string_view text, const std::string& path,
                             std::string policy_hash) {
  PolicyParser parser(path);
  parser.Run(text);
  if (!parser.problems_.empty()) return InvalidArgument(parser.problems_.front());
  Policy p = std::move(parser.policy_);
  p.hash_ = std::move(policy_hash);
  return p;
}

}  // namespace nrm::policy
