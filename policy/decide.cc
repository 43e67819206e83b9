// Deciding: Route() answers one message (sender and recipient roles and countries, kind, date)
// from the rules in file order and, across a border, the agreements in force on its date,
// failing closed on anything the policy does not know; and the policy's lookups (sections a
// role may receive, known names, handling codes). Pure: reads only the parsed Policy.
#include <string>
#include <utility>

#include "policy/names.h"
#include "policy/policy.h"

namespace nrm::policy {

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

ReasonValue Text(std::string s) { return {ReasonValue::Kind::kText, std::move(s)}; }
ReasonValue Role(std::string s) { return {ReasonValue::Kind::kRole, std::move(s)}; }
ReasonValue Country(std::string s) { return {ReasonValue::Kind::kCountry, std::move(s)}; }
ReasonValue KindOf(std::string s) { return {ReasonValue::Kind::kKind, std::move(s)}; }

// A refusal: its words (a msgid of the web inbox's catalogs, found there by this function's
// name), its values, and the two filled in as its reason.
Decision Refused(const std::string& hash, const char* words, std::vector<ReasonValue> values) {
  Decision d;
  d.policy_hash = hash;
  for (const char* c = words; *c != '\0'; ++c) {
    const size_t n = c[0] == '%' && c[1] >= '1' && c[1] <= '9' ? size_t(c[1] - '1') : values.size();
    if (n < values.size()) {
      d.reason += values[n].text;
      ++c;
    } else {
      d.reason += *c;
    }
  }
  d.reason_words = words;
  d.reason_values = std::move(values);
  return d;
}

}  // namespace

const Agreement* Policy::AgreementFor(const RouteQuery& q) const {
  for (const Agreement& a : agreements_) {
    if (CoversPair(a, q) && CoversRolesAndKind(a, q) && InForce(a, q.date)) return &a;
  }
  return nullptr;
}

Decision Policy::NoAgreementReason(const RouteQuery& q) const {
  std::vector<std::string> for_pair;
  for (const Agreement& a : agreements_) {
    if (!CoversPair(a, q)) continue;
    if (CoversRolesAndKind(a, q)) {
      // It covers everything but the date.
      std::vector<ReasonValue> v = {Text(a.id),
                                    Country(q.from.country),
                                    Country(q.to.country),
                                    Role(q.from.role),
                                    Role(q.to.role),
                                    KindOf(q.kind),
                                    Text(q.date < a.from ? a.from : a.until),
                                    Text(q.date)};
      return q.date < a.from ? Refused(hash_,
                                       "agreement %1 between %2 and %3 covers %4 -> %5 for %6 "
                                       "only from %7 (message dated %8)",
                                       std::move(v))
                             : Refused(hash_,
                                       "agreement %1 between %2 and %3 covered %4 -> %5 for %6 "
                                       "only until %7 (message dated %8)",
                                       std::move(v));
    }
    for_pair.push_back(a.id);
  }
  std::vector<ReasonValue> v = {Country(q.from.country), Country(q.to.country), Role(q.from.role),
                                Role(q.to.role), KindOf(q.kind)};
  if (for_pair.empty())
    return Refused(hash_, "no agreement between %1 and %2 covers %3 -> %4 for %5", v);
  v.push_back(Text(Join(for_pair)));
  return Refused(hash_,
                 "no agreement between %1 and %2 covers %3 -> %4 for %5 (agreements between them: "
                 "%6)",
                 std::move(v));
}

Decision Policy::Route(const RouteQuery& q) const {
  Decision d;
  d.policy_hash = hash_;
  auto deny = [this](const char* words, std::vector<ReasonValue> values) {
    return Refused(hash_, words, std::move(values));
  };
  // Fail closed on anything the policy does not know.
  if (!KnowsRole(q.from.role)) return deny("unknown sender role %1", {Text(Quoted(q.from.role))});
  if (!KnowsRole(q.to.role)) return deny("unknown recipient role %1", {Text(Quoted(q.to.role))});
  if (!KnowsCountry(q.from.country)) {
    return deny("unknown sender country %1", {Text(Quoted(q.from.country))});
  }
  if (!KnowsCountry(q.to.country)) {
    return deny("unknown recipient country %1", {Text(Quoted(q.to.country))});
  }
  if (!KnowsKind(q.kind)) return deny("unknown message kind %1", {Text(Quoted(q.kind))});
  if (!q.date.empty() && !IsValidDate(q.date)) {
    return deny("bad message date %1 (expected YYYY-MM-DD)", {Text(Quoted(q.date))});
  }
  // Lint() refuses rules to such a role; this keeps the promise even if that check changes.
  if (SectionsFor(q.to.role).empty()) {
    return deny("the %1 role may receive no payload section, so nothing may be sent to it",
                {Role(q.to.role)});
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
      return deny("a cross-border message needs its date (YYYY-MM-DD) to check agreements", {});
    }
    // Which agreement applies does not depend on the rule, so the first matching rule decides.
    const Agreement* a = AgreementFor(q);
    if (a == nullptr) return NoAgreementReason(q);
    d.allowed = true;
    d.rule_id = r.id;
    d.agreement_id = a->id;
    d.reason = "rule " + r.id + " allows " + what + " from " + q.from.country + " to " +
               q.to.country + " under agreement " + a->id;
    return d;
  }
  const std::vector<ReasonValue> v = {Role(q.from.role), Role(q.to.role), KindOf(q.kind),
                                      Country(q.from.country), Country(q.to.country)};
  if (domestic) return deny("no rule allows %1 -> %2 for %3 within %4", v);
  return deny("no cross-border rule allows %1 -> %2 for %3 (%4 -> %5)", v);
}

}  // namespace nrm::policy
