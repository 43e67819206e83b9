// A complete setup on disk for the demo and the integration tests: an authority, a broker and
// agencies with their own keys, a signed directory, and the config files of the broker and of
// each agency's agent. Everything lives under one directory.
#pragma once

#include <string>
#include <vector>

#include "common/identity/identity.h"

namespace nrm::tools {

struct ScenarioAgency {
  std::string id, role, country, province, name;
};

// The origin of the scenario broker's audit log (broker.toml log_origin; the directory's
// log_vkey names it).
inline constexpr char kScenarioLogOrigin[] = "nrm.gms/audit/v1";

// policy/rules/gms.toml, compiled in.
extern const char* const kGmsPolicy;

// The agencies of the default GMS scenario (docs/DOMAIN.md).
const std::vector<ScenarioAgency>& GmsAgencies();

struct Scenario {
  std::string dir;
  identity::KeySet authority;
  identity::KeySet broker;
  std::string broker_config;  // dir/broker.toml
  std::string policy;         // dir/policy.toml (the shipped GMS policy)
  std::string endpoint_file;  // written by the broker once it listens
  std::string broker_data;    // the broker's data directory
  std::string broker_log;

  // After the broker's first start on port 0: writes the port it got into broker.toml, so
  // that a restarted broker listens where the agents reconnect.
  Status PinBrokerEndpoint() const;

  // dir/agents/<ID>.toml
  std::string AgentConfig(const std::string& agency) const;
  std::string KeyFile(const std::string& agency) const;
};

// Writes the whole setup under `dir` (created if missing). `extra_broker_config` is appended
// to broker.toml (e.g. "freshness_window_s = 5\n").
Result<Scenario> CreateScenario(const std::string& dir, const std::vector<ScenarioAgency>& agencies,
                                const std::string& extra_broker_config = "");

}  // namespace nrm::tools
