#include "policy/policy.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "common/config/toml_util.h"

namespace nrm::policy {
namespace {

using config::Where;

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

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

int64_t LineOf(const toml::node& n) { return static_cast<int64_t>(n.source().begin.line); }

// Where a key's value is, or the table itself when the key is missing.
const toml::node& NodeOf(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  return n != nullptr ? *n : t;
}

// A string taken from the file, with the node it came from (for the line in messages).
struct Named {
  std::string value;
  const toml::node* node;
};

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

// Reads a policy document into a Policy, collecting every problem instead of stopping at the
// first, so that `lint` can show an official all of them at once.
class PolicyParser {
 public:
  explicit PolicyParser(const std::string& path) : path_(path) {}

  // Fills policy_ and problems_ (sorted by line).
  void Run(std::string_view text);

  Policy policy_;
  std::vector<std::string> problems_;

 private:
  void Add(const toml::node& n, const std::string& what) {
    raw_.push_back({LineOf(n), Where(path_, n) + ": " + what});
  }
  void Add(const toml::node& n, const Status& s) { raw_.push_back({LineOf(n), s.message()}); }

  void CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 std::string_view where);
  // A string or an array of strings at t[key]; reports a missing key or wrong type.
  std::vector<Named> Names(const toml::table& t, std::string_view key, bool accept_single);
  std::optional<std::string> String(const toml::table& t, std::string_view key);
  std::optional<std::string> Date(const toml::table& t, std::string_view key, bool required);
  // Declares the names of `key` (roles, countries...): non-empty, well-formed, no duplicates.
  std::vector<std::string> Declared(const toml::table& root, std::string_view key,
                                    bool (*well_formed)(std::string_view), std::string_view form);
  // Reports every entry of `names` that is not in `known`, as "unknown <what>".
  void CheckKnown(const std::vector<Named>& names, const std::vector<std::string>& known,
                  std::string_view what);
  void CheckNoDuplicates(const std::vector<Named>& names, std::string_view owner);

  void ParseHandling(const toml::table& root);
  void ParseFields(const toml::table& root);
  void ParseAgreements(const toml::table& root);
  void ParseRules(const toml::table& root);
  // After everything is read: rules that no query could ever match.
  void CheckRulesCanMatch();
  const toml::array* TableArray(const toml::table& root, std::string_view key);

  struct Problem {
    int64_t line;
    std::string message;
  };
  const std::string& path_;
  std::vector<Problem> raw_;
  std::vector<const toml::node*> rule_nodes_;  // parallel to policy_.rules_
};

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

// ---------------------------------------------------------------------------------------------

Result<Policy> Policy::Parse(std::string_view text, const std::string& path,
                             std::string policy_hash) {
  PolicyParser parser(path);
  parser.Run(text);
  if (!parser.problems_.empty()) return InvalidArgument(parser.problems_.front());
  Policy p = std::move(parser.policy_);
  p.hash_ = std::move(policy_hash);
  return p;
}

std::vector<std::string> Lint(std::string_view text, const std::string& path) {
  PolicyParser parser(path);
  parser.Run(text);
  return std::move(parser.problems_);
}

std::vector<std::string> Policy::SectionsFor(std::string_view role) const {
  for (const auto& [r, sections] : fields_) {
    if (r == role) return sections;
  }
  return {};
}

bool Policy::MayReceive(std::string_view role, std::string_view section) const {
  for (const auto& [r, sections] : fields_) {
    if (r == role) return Contains(sections, section);
  }
  return false;
}

bool Policy::KnowsKind(std::string_view kind) const { return Contains(kinds_, kind); }
bool Policy::KnowsRole(std::string_view role) const { return Contains(roles_, role); }
bool Policy::KnowsCountry(std::string_view c) const { return Contains(countries_, c); }
bool Policy::KnowsSection(std::string_view s) const { return Contains(sections_, s); }

const HandlingCode* Policy::Handling(std::string_view code) const {
  for (const HandlingCode& h : handling_) {
    if (h.code == code) return &h;
  }
  return nullptr;
}

namespace {

bool CoversPair(const Agreement& a, const RouteQuery& q) {
  return Contains(a.countries, q.from.country) && Contains(a.countries, q.to.country);
}
bool CoversRolesAndKind(const Agreement& a, const RouteQuery& q) {
  return Contains(a.roles, q.from.role) && Contains(a.roles, q.to.role) &&
         Contains(a.kinds, q.kind);
}
bool InForce(const Agreement& a, const std::string& date) {
  // "YYYY-MM-DD" strings order like the dates they name.
  return a.from <= date && (a.until.empty() || date < a.until);
}
// Unknown values come from a peer's message and end up in audit records and logs: quote them
// printable and short, so that a crafted role cannot forge a log line.
std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    out += (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '\'') ? s[i] : '?';
  }
  if (s.size() > kMax) out += "...";
  return out + "'";
}

}  // namespace

const Agreement* Policy::AgreementFor(const RouteQuery& q) const {
  for (const Agreement& a : agreements_) {
    if (CoversPair(a, q) && CoversRolesAndKind(a, q) && InForce(a, q.date)) return &a;
  }
  return nullptr;
}

std::string Policy::NoAgreementReason(const RouteQuery& q) const {
  std::string what = q.from.role + " -> " + q.to.role + " for " + q.kind;
  std::string pair = q.from.country + " and " + q.to.country;
  std::vector<std::string> for_pair;
  for (const Agreement& a : agreements_) {
    if (!CoversPair(a, q)) continue;
    if (CoversRolesAndKind(a, q)) {
      // It covers everything but the date.
      if (q.date < a.from) {
        return "agreement " + a.id + " between " + pair + " covers " + what + " only from " +
               a.from + " (message dated " + q.date + ")";
      }
      return "agreement " + a.id + " between " + pair + " covered " + what + " only until " +
             a.until + " (message dated " + q.date + ")";
    }
    for_pair.push_back(a.id);
  }
  std::string reason = "no agreement between " + pair + " covers " + what;
  if (!for_pair.empty()) reason += " (agreements between them: " + Join(for_pair) + ")";
  return reason;
}

Decision Policy::Route(const RouteQuery& q) const {
  Decision d;
  d.policy_hash = hash_;
  auto deny = [&d](std::string reason) {
    d.allowed = false;
    d.reason = std::move(reason);
    return d;
  };
  // Fail closed on anything the policy does not know.
  if (!KnowsRole(q.from.role)) return deny("unknown sender role " + Quoted(q.from.role));
  if (!KnowsRole(q.to.role)) return deny("unknown recipient role " + Quoted(q.to.role));
  if (!KnowsCountry(q.from.country)) {
    return deny("unknown sender country " + Quoted(q.from.country));
  }
  if (!KnowsCountry(q.to.country)) {
    return deny("unknown recipient country " + Quoted(q.to.country));
  }
  if (!KnowsKind(q.kind)) return deny("unknown message kind " + Quoted(q.kind));
  if (!q.date.empty() && !IsValidDate(q.date)) {
    return deny("bad message date " + Quoted(q.date) + " (expected YYYY-MM-DD)");
  }
  // Lint() refuses rules to such a role; this keeps the promise even if that check changes.
  if (SectionsFor(q.to.role).empty()) {
    return deny("the " + q.to.role +
                " role may receive no payload section, so nothing may be sent to it");
  }

  const bool domestic = q.from.country == q.to.country;
  const Scope scope = domestic ? Scope::kDomestic : Scope::kCrossBorder;
  const std::string what = q.from.role + " -> " + q.to.role + " for " + q.kind;
  for (const Rule& r : rules_) {
    if (r.scope != scope || !Contains(r.from, q.from.role) || !Contains(r.to, q.to.role) ||
        !Contains(r.kinds, q.kind)) {
      continue;
    }
    if (domestic) {
      d.allowed = true;
      d.rule_id = r.id;
      d.reason = "rule " + r.id + " allows " + what + " within " + q.from.country;
      return d;
    }
    if (q.date.empty()) {
      return deny("a cross-border message needs its date (YYYY-MM-DD) to check agreements");
    }
    // Which agreement applies does not depend on the rule, so the first matching rule decides.
    const Agreement* a = AgreementFor(q);
    if (a == nullptr) return deny(NoAgreementReason(q));
    d.allowed = true;
    d.rule_id = r.id;
    d.agreement_id = a->id;
    d.reason = "rule " + r.id + " allows " + what + " from " + q.from.country + " to " +
               q.to.country + " under agreement " + a->id;
    return d;
  }
  if (domestic) return deny("no rule allows " + what + " within " + q.from.country);
  return deny("no cross-border rule allows " + what + " (" + q.from.country + " -> " +
              q.to.country + ")");
}

}  // namespace nrm::policy
