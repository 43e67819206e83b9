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
