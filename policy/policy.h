// The need-to-know policy: who may send which kind of message to whom, across which border under
// which agreement, and which payload sections each recipient role may receive.
//
// A policy is one hand-edited TOML file (policy/rules/gms.toml is the shipped one; its comments
// document the format). Everything is denied unless a [[rule]] allows it: a domestic rule between
// two agencies of the same country, or a cross-border rule between two countries that an
// [[agreement]] in force at the message's date covers for both roles and the kind.
//
// Pure logic: no I/O, no clock, no crypto. The caller reads the file and supplies its hash.
// A Policy is immutable after Parse(); const methods are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace nrm::policy {

// One end of a message. `id` is the agency id (for messages only; decisions use role and country).
struct Party {
  std::string id;
  std::string role;     // e.g. "police"
  std::string country;  // ISO 3166-1 alpha-2, e.g. "TH"
};

struct RouteQuery {
  Party from;
  Party to;
  std::string kind;  // e.g. "referral_offer"
  // "YYYY-MM-DD", the message's created-at date (UTC). Agreements apply from their `from` date;
  // a cross-border query without a valid date is refused.
  std::string date;
};

// A value a decision's reason names, and what it is, so that a reader in another language can be
// shown it (a role or a kind in words, a country by its name).
struct ReasonValue {
  enum class Kind { kText, kRole, kCountry, kKind };
  Kind kind = Kind::kText;
  std::string text;
};

struct Decision {
  bool allowed = false;
  std::string rule_id;       // the rule that allowed it; empty when refused
  std::string agreement_id;  // the agreement that opened the border; empty if domestic or refused
  // When refused: why, in words an official can act on, e.g. "no agreement between MM and VN
  // covers ngo -> shelter for referral_offer". When allowed: a one-line summary.
  std::string reason;
  // When refused, the same reason as its words with %1, %2, ... where `reason_values` go, in
  // order (`reason` is them filled in): the words are fixed, so they can be translated.
  std::string reason_words;
  std::vector<ReasonValue> reason_values;
  std::string policy_hash;  // the hash of the policy file that decided
};

// A handling code (after Europol SIENA) and what it permits the recipient to do.
struct HandlingCode {
  std::string code;  // "H0".."H3"
  std::string description;
  // H2: the recipient may not pass the message on without the provider's permission. The broker
  // enforces this (h2_approval); the policy only carries the flag and the text.
  bool onward_requires_approval = false;
};

struct Agreement {
  std::string id;                      // e.g. "th-kh-2003"
  std::string title;                   // free text for people
  std::vector<std::string> countries;  // two or more; covers every pair of distinct members
  std::vector<std::string> roles;      // roles that may exchange messages, on either side
  std::vector<std::string> kinds;
  std::string from;   // "YYYY-MM-DD", first day in force
  std::string until;  // "YYYY-MM-DD", first day no longer in force; empty = open-ended
};

enum class Scope { kDomestic, kCrossBorder };

struct Rule {
  std::string id;
  std::string description;
  std::vector<std::string> from;  // sender roles
  std::vector<std::string> to;    // recipient roles
  std::vector<std::string> kinds;
  Scope scope = Scope::kDomestic;
};

class Policy {
 public:
  // Parses and checks the whole file. `path` names the file in messages. `policy_hash` (the hex
  // SHA-256 of the file bytes, computed by the caller) is carried into every Decision.
  // Returns kInvalidArgument "path:line: what is wrong (what was expected)" for the first
  // problem Lint() would report. Never aborts, whatever the input.
  static Result<Policy> Parse(std::string_view text, const std::string& path,
                              std::string policy_hash);

  // Decides one message. Rules are tried in file order and the first that allows wins; for a
  // cross-border rule, the first agreement in file order that covers the query. Unknown roles,
  // countries or kinds, a malformed date, or a recipient that may receive no section: refused.
  Decision Route(const RouteQuery& q) const;

  // Payload sections a recipient of `role` may receive, in the order of the `sections` list
  // (empty for an unknown role or one that may receive nothing, such as monitor).
  std::vector<std::string> SectionsFor(std::string_view role) const;
  bool MayReceive(std::string_view role, std::string_view section) const;

  bool KnowsKind(std::string_view kind) const;
  bool KnowsRole(std::string_view role) const;
  bool KnowsCountry(std::string_view country) const;
  bool KnowsSection(std::string_view section) const;

  // The handling code `code` ("H2"), or nullptr if the policy does not define it.
  const HandlingCode* Handling(std::string_view code) const;

  const std::string& hash() const { return hash_; }
  const std::vector<std::string>& sections() const { return sections_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<Agreement>& agreements() const { return agreements_; }
  const std::vector<HandlingCode>& handling_codes() const { return handling_; }

 private:
  friend class PolicyParser;
  Policy() = default;

  // The first agreement covering the query's pair, roles and kind that is in force on q.date,
  // or nullptr.
  const Agreement* AgreementFor(const RouteQuery& q) const;
  // The reason a cross-border query that some rule would allow is refused for want of an
  // agreement (none covers it, or not yet / no longer in force on the date).
  Decision NoAgreementReason(const RouteQuery& q) const;

  std::string hash_;
  std::vector<std::string> roles_;
  std::vector<std::string> countries_;
  std::vector<std::string> kinds_;
  std::vector<std::string> sections_;
  std::vector<std::pair<std::string, std::vector<std::string>>> fields_;  // role -> sections
  std::vector<HandlingCode> handling_;
  std::vector<Agreement> agreements_;
  std::vector<Rule> rules_;
};

// Every problem in the policy file, in line order, each "path:line: what is wrong (what was
// expected)": TOML syntax, unknown or missing keys, unknown role, country, kind or section, an
// agreement naming a country twice, a rule that can never match (empty from/to/kinds, a
// recipient that may receive nothing, a cross-border rule no agreement covers), duplicate ids,
// bad dates. Empty when the file is good. Never aborts, whatever the input.
std::vector<std::string> Lint(std::string_view text, const std::string& path);

// True if `date` is a real calendar date written "YYYY-MM-DD", year 1900 or later.
bool IsValidDate(std::string_view date);

}  // namespace nrm::policy
