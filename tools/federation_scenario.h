// A federation on disk, for the demo, the integration tests and the bench: one authority, one
// national directory, one trust anchor and one broker per country, bilateral agreements drafted
// from the shipped policy and signed by both authorities (or by those named), and each broker's
// config with its [[partner]] tables. Brokers and agents talk over ipc:// sockets under `dir`,
// so every path is known before anything starts.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/identity/identity.h"
#include "federation/agreement.h"
#include "policy/policy.h"
#include "tools/scenario.h"

namespace nrm::tools {

// An agreement of the shipped policy between two countries, as both authorities sign it.
struct AgreementSpec {
  std::string id;    // the policy's [[agreement]] id, e.g. "th-kh-2003"
  std::string a, b;  // the two countries
  std::string mou;   // e.g. "TH–KH MOU 2003"
  int64_t valid_until_ms = 0;
  std::vector<std::string> signers;  // empty: both
  wire::Handling max_handling = wire::Handling::H2;
  int64_t version = 1;
};

struct NationalSetup {
  std::string country;
  identity::KeySet authority;
  identity::KeySet broker;
  std::string dir;            // DIR/CC
  std::string broker_config;  // DIR/CC/broker.toml
  std::string directory;      // DIR/CC/directory.toml
  std::string anchor;         // DIR/CC/anchor.toml
  std::string endpoint;       // ipc://DIR/CC/broker.sock: for its agents and its partners
  std::string endpoint_file;  // written by the broker once it listens
  std::string broker_data;
  std::string broker_log;
  std::string log_origin;  // its audit log's origin, "nrm.th/audit/v1" (the directory's log_vkey)
};

struct FederationSetup {
  std::string dir;
  std::string policy;  // DIR/policy.toml (the shipped GMS policy)
  std::map<std::string, NationalSetup> countries;
  std::map<std::string, std::string> agreements;  // id -> DIR/agreements/ID.toml

  // DIR/CC/agents/<ID>.toml and DIR/CC/keys/<ID>.key of an agency (CC: its id's first two).
  std::string AgentConfig(const std::string& agency) const;
  std::string KeyFile(const std::string& agency) const;
  const NationalSetup& Of(const std::string& agency) const;
};

// Writes the federation of `agencies`' countries under `dir`; `agreements` link pairs of them
// (each pair becomes partners of each other). `extra_broker_config` goes into every broker.toml.
Result<FederationSetup> CreateFederation(const std::string& dir,
                                         const std::vector<ScenarioAgency>& agencies,
                                         const std::vector<AgreementSpec>& agreements,
                                         const std::string& extra_broker_config = "");

// Drafts `spec` from `policy`'s [[agreement]] of the same id, has the authorities of its
// signers (of `f`) sign it, and writes it to `path`: what the two authorities do to conclude,
// renew or end an agreement.
Status WriteSignedAgreement(const FederationSetup& f, const policy::Policy& policy,
                            const AgreementSpec& spec, const std::string& path);

// The GMS scenario's agreements between TH, KH, MM and VN (docs/DOMAIN.md): TH–KH, TH–MM and
// KH–VN, in force for `valid_days`; none between MM and VN.
std::vector<AgreementSpec> GmsAgreements(int64_t now_ms, int64_t valid_days = 365);

// The routes of `policy`'s [[agreement]] `agreement_id` between `terms.countries`: each
// cross-border rule within the agreement's roles and kinds, in both directions. Fills in the
// title and valid_from from the policy when `terms` leaves them empty.
Result<federation::AgreementTerms> AgreementTermsFromPolicy(const policy::Policy& policy,
                                                            const std::string& agreement_id,
                                                            federation::AgreementTerms terms);

// "2027-12-31" (midnight UTC) or a TOML date-time such as 2027-12-31T08:00:00Z, in ms;
// kInvalidArgument naming `what`.
Result<int64_t> ParseTimeValue(const std::string& value, const std::string& what);

// Signs `country`'s directory again after `edit` of its body (e.g. a revocation) and writes it
// in place: what that country's authority does before its broker reloads.
Status ResignDirectory(const NationalSetup& country, const std::function<void(std::string&)>& edit);

}  // namespace nrm::tools
