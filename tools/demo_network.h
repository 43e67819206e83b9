// The processes of `nrm demo`: the GMS federation on disk (tools/federation_scenario.h), with one
// nrm-broker per country (TH, KH, MM, VN), each under its own authority, with its own signed
// directory, anchor, audit log and data directory, linked only under the bilateral agreements
// both authorities signed (TH-KH, TH-MM, KH-VN; none between MM and VN); two witnesses that
// cosign every broker's checkpoints; and the running agent of each agency (`nrm-agent run`),
// connected to its own country's broker, with the anchors of its country's partners installed.
// Thread-compatible; the destructor stops every process still running.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/json/json.h"
#include "tools/demo_witnesses.h"
#include "tools/federation_scenario.h"

namespace nrm::tools {

class DemoNetwork {
 public:
  explicit DemoNetwork(std::string dir) : dir_(std::move(dir)) {}
  ~DemoNetwork();

  // Writes the federation of GmsAgencies() under the directory, with the agreements of
  // GmsAgreements() (in force for a year), and starts the witnesses.
  Status Create();
  // Starts every country's broker and waits until each listens.
  Status StartBrokers();
  // Starts the agents of `agencies` together and waits until each is up.
  Status StartAgents(const std::vector<std::string>& agencies);
  Status StartAgent(const std::string& agency) { return StartAgents({agency}); }
  Status StopAgent(const std::string& agency);
  // Stops the agents, then the brokers, then the witnesses; names what did not stop cleanly.
  std::vector<std::string> StopAll();

  // Has both authorities of `spec` sign it (drafted from the policy), writes it in place of the
  // agreement of the same id, has both countries' brokers reload it (SIGHUP) and waits until
  // each has `spec`'s version in force.
  Status ReplaceAgreement(const AgreementSpec& spec);

  // Runs a command of `agency`'s agent; its output in Log(agency, what).
  Result<int> RunAgent(const std::string& agency, const std::vector<std::string>& args,
                       const std::string& what);
  // Starts `nrm ARGS`, its output in logs()/what.out; RunTool waits for its exit code.
  Result<pid_t> StartTool(std::vector<std::string> args, const std::string& what);
  Result<int> RunTool(std::vector<std::string> args, const std::string& what);
  // Country `cc`'s broker's link to `partner` (its data_dir/federation.json), or null.
  json::Json Link(const std::string& cc, const std::string& partner) const;

  const FederationSetup& fed() const { return fed_; }
  const DemoWitnesses& witnesses() const { return witnesses_; }
  // The vkey of country `cc`'s broker's audit log.
  const std::string& LogVkey(const std::string& cc) const { return log_vkeys_.at(cc); }
  std::vector<std::string> Countries() const;
  // (id, config) of each agency whose agent runs.
  std::vector<std::pair<std::string, std::string>> RunningAgents() const;
  std::string DataDir(const std::string& agency) const;
  std::string BrokerOutput(const std::string& cc) const;
  std::string Log(const std::string& agency, const std::string& what) const;
  std::string logs() const { return dir_ + "/logs"; }

 private:
  std::string dir_;
  FederationSetup fed_;
  DemoWitnesses witnesses_;
  std::map<std::string, std::string> log_vkeys_;  // by country
  std::map<std::string, pid_t> brokers_;          // by country
  std::map<std::string, pid_t> agents_;           // by agency; -1 once stopped
};

}  // namespace nrm::tools
