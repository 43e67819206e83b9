#include "policy/cases.h"

#include <cstdio>
#include <optional>

#include "common/config/toml_util.h"

namespace nrm::policy {
namespace {

using config::Where;

Result<Party> ReadParty(const toml::table& c, std::string_view key, const std::string& path) {
  const toml::node* n = c.get(key);
  if (n == nullptr) {
    return InvalidArgument(Where(path, c) + ": missing key '" + std::string(key) +
                           "' (expected { role = \"...\", country = \"..\" })");
  }
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    return InvalidArgument(Where(path, *n) + ": '" + std::string(key) +
                           "' must be a table { role = \"...\", country = \"..\" }");
  }
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(*t, {"role", "country", "id"}, path));
  Party p;
  NRM_ASSIGN_OR_RETURN(p.role, config::GetString(*t, "role", path));
  NRM_ASSIGN_OR_RETURN(p.country, config::GetString(*t, "country", path));
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> id, config::GetOptionalString(*t, "id", path));
  if (id) p.id = *id;
  return p;
}

// A TOML date as "YYYY-MM-DD", or a string exactly as written (so a table can check that a
// malformed date is refused).
Result<std::string> ReadDate(const toml::table& c, const std::string& path) {
  const toml::node* n = c.get("date");
  if (n == nullptr) return std::string();
  if (const toml::value<toml::date>* d = n->as_date()) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04u-%02u-%02u", unsigned{d->get().year},
                  unsigned{d->get().month}, unsigned{d->get().day});
    return std::string(buf);
  }
  if (n->is_string()) return std::string(n->as_string()->get());
  return InvalidArgument(Where(path, *n) + ": 'date' must be a date like 2024-03-01");
}

Result<CaseResult> RunCase(const Policy& policy, const toml::table& c, const std::string& path) {
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(c,
                                             {"name", "from", "to", "kind", "date", "expect",
                                              "expect_rule", "expect_agreement", "expect_reason"},
                                             path));
  CaseResult r;
  r.where = Where(path, c);
  NRM_ASSIGN_OR_RETURN(r.name, config::GetString(c, "name", path));
  NRM_ASSIGN_OR_RETURN(r.query.from, ReadParty(c, "from", path));
  NRM_ASSIGN_OR_RETURN(r.query.to, ReadParty(c, "to", path));
  NRM_ASSIGN_OR_RETURN(r.query.kind, config::GetString(c, "kind", path));
  NRM_ASSIGN_OR_RETURN(r.query.date, ReadDate(c, path));
  NRM_ASSIGN_OR_RETURN(std::string expect, config::GetString(c, "expect", path));
  if (expect != "allow" && expect != "deny") {
    return InvalidArgument(Where(path, *c.get("expect")) + ": bad expect '" + expect +
                           "' (expected \"allow\" or \"deny\")");
  }
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> rule,
                       config::GetOptionalString(c, "expect_rule", path));
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> agreement,
                       config::GetOptionalString(c, "expect_agreement", path));
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> reason,
                       config::GetOptionalString(c, "expect_reason", path));
  const bool want_allow = expect == "allow";
  if (!want_allow && (rule || agreement)) {
    return InvalidArgument(r.where +
                           ": expect_rule and expect_agreement go with expect = \"allow\"");
  }
  if (want_allow && reason) {
    return InvalidArgument(r.where + ": expect_reason goes with expect = \"deny\"");
  }

  r.decision = policy.Route(r.query);
  const Decision& d = r.decision;
  if (d.allowed != want_allow) {
    r.failure = want_allow ? "expected allow, got deny: " + d.reason
                           : "expected deny, got allow by rule " + d.rule_id;
  } else if (rule && d.rule_id != *rule) {
    r.failure = "expected rule " + *rule + ", got rule " + d.rule_id;
  } else if (agreement && d.agreement_id != *agreement) {
    r.failure = "expected agreement " + (agreement->empty() ? "(none)" : *agreement) + ", got " +
                (d.agreement_id.empty() ? "(none)" : d.agreement_id);
  } else if (reason && d.reason.find(*reason) == std::string::npos) {
    r.failure = "expected a reason containing '" + *reason + "', got: " + d.reason;
  }
  r.passed = r.failure.empty();
  return r;
}

}  // namespace

Result<std::vector<CaseResult>> RunCases(const Policy& policy, std::string_view cases_text,
                                         const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::ParseToml(cases_text, path));
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(doc.root, {"case"}, path));
  const toml::node* n = doc.root.get("case");
  if (n == nullptr) return InvalidArgument(path + ": no [[case]] (expected at least one)");
  const toml::array* cases = n->as_array();
  if (cases == nullptr || !cases->is_array_of_tables()) {
    return InvalidArgument(Where(path, *n) + ": 'case' must be written as [[case]] tables");
  }
  std::vector<CaseResult> out;
  for (const toml::node& c : *cases) {
    NRM_ASSIGN_OR_RETURN(CaseResult r, RunCase(policy, *c.as_table(), path));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace nrm::policy
