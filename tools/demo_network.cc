#include "tools/demo_network.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>

#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "policy/policy_file.h"
#include "tools/process.h"

namespace nrm::tools {

DemoNetwork::~DemoNetwork() { (void)StopAll(); }

Status DemoNetwork::Create() {
  NRM_RETURN_IF_ERROR(MakeDirs(logs()));
  const std::vector<AgreementSpec> agreements = GmsAgreements(SystemClock::Get().NowMillis());
  NRM_ASSIGN_OR_RETURN(fed_, CreateFederation(dir_, GmsAgencies(), agreements));
  // Each agency installs the anchors of its country's partners. The Myanmar NGO also has Viet
  // Nam's anchor and directory (both public), so that it can try the route no agreement opens.
  std::map<std::string, std::set<std::string>> partners;
  for (const AgreementSpec& a : agreements) {
    partners[a.a].insert(a.b);
    partners[a.b].insert(a.a);
  }
  std::vector<std::string> broker_configs, agent_configs, vkeys;
  for (const auto& [cc, n] : fed_.countries) {
    broker_configs.push_back(n.broker_config);
    NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey key,
                         audit::LogVerifierKey(n.log_origin, n.broker.sign_public));
    log_vkeys_[cc] = audit::note::FormatVerifierKey(key);
    vkeys.push_back(log_vkeys_[cc]);
  }
  for (const ScenarioAgency& a : GmsAgencies()) {
    std::set<std::string> anchors = partners[a.country];
    if (a.id == "MM.NGO.TACHILEIK") {
      anchors.insert("VN");
      NRM_RETURN_IF_ERROR(MakeDirs(DataDir(a.id) + "/partners"));
      NRM_ASSIGN_OR_RETURN(std::string vn, ReadFile(fed_.countries.at("VN").directory));
      NRM_RETURN_IF_ERROR(WriteFileAtomic(DataDir(a.id) + "/partners/VN.directory.toml", vn, 0600));
    }
    std::string list;
    for (const std::string& cc : anchors) {
      list += (list.empty() ? "\"../../" : ", \"../../") + cc + "/anchor.toml\"";
    }
    const std::string config = fed_.AgentConfig(a.id);
    NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(config));
    NRM_RETURN_IF_ERROR(WriteFileAtomic(config, text + "partner_anchors = [" + list + "]\n"));
    agent_configs.push_back(config);
  }
  return witnesses_.Start(dir_ + "/witnesses", vkeys, broker_configs, agent_configs,
                          SelfDirectory(), logs());
}

Status DemoNetwork::StartBrokers() {
  for (const auto& [cc, n] : fed_.countries) {
    NRM_ASSIGN_OR_RETURN(
        brokers_[cc],
        Spawn({SelfDirectory() + "/nrm-broker", "--config", n.broker_config}, BrokerOutput(cc)));
  }
  for (const auto& [cc, n] : fed_.countries) {
    NRM_RETURN_IF_ERROR(
        WaitForFile(n.endpoint_file, 10000)
            .WithContext("the broker of " + cc + " did not start (see " + BrokerOutput(cc) + ")"));
  }
  return Status::Ok();
}

Status DemoNetwork::ReplaceAgreement(const AgreementSpec& spec) {
  NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(fed_.policy));
  NRM_RETURN_IF_ERROR(WriteSignedAgreement(fed_, policy, spec, fed_.agreements.at(spec.id)));
  for (const std::string& cc : {spec.a, spec.b}) {
    if (::kill(brokers_.at(cc), SIGHUP) != 0) return Internal("the broker of " + cc + " is gone");
  }
  // Each broker writes its status file at once after a reload.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const auto& [cc, partner] : {std::pair{spec.a, spec.b}, std::pair{spec.b, spec.a}}) {
    for (;;) {
      const json::Json link = Link(cc, partner);
      bool loaded = false;
      if (link.is_object() && link.contains("agreements") && link["agreements"].is_array()) {
        for (const json::Json& a : link["agreements"]) {
          loaded = loaded || (a.is_object() && a.value("id", "") == spec.id &&
                              a.value("version", int64_t{0}) == spec.version);
        }
      }
      if (loaded) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return Unavailable("the broker of " + cc + " did not put " + spec.id + " v" +
                           std::to_string(spec.version) + " in force (see " + BrokerOutput(cc) +
                           ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return Status::Ok();
}

Status DemoNetwork::StartAgents(const std::vector<std::string>& agencies) {
  for (const std::string& agency : agencies) {
    NRM_ASSIGN_OR_RETURN(agents_[agency], Spawn({SelfDirectory() + "/nrm-agent", "--config",
                                                 fed_.AgentConfig(agency), "run"},
                                                Log(agency, "run")));
  }
  // Each is up once its control socket is there (a socket: WaitForFile wants a non-empty file).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const std::string& agency : agencies) {
    const std::string control = DataDir(agency) + "/control";
    for (struct stat st{}; ::stat(control.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode);) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Unavailable("the agent of " + agency + " did not start (see " + Log(agency, "run") +
                           ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return Status::Ok();
}

Status DemoNetwork::StopAgent(const std::string& agency) {
  NRM_ASSIGN_OR_RETURN(int code, Stop(agents_[agency], 5000));
  agents_[agency] = -1;
  if (code != 0) return Internal("the agent of " + agency + " did not stop cleanly");
  return Status::Ok();
}

std::vector<std::string> DemoNetwork::StopAll() {
  std::vector<std::string> unclean;
  // Each group is told at once (SIGTERM), then waited for.
  auto stop = [&](std::map<std::string, pid_t>& pids, const std::string& what) {
    for (const auto& [name, pid] : pids) {
      if (pid > 0) ::kill(pid, SIGTERM);
    }
    for (auto& [name, pid] : pids) {
      if (pid <= 0) continue;
      Result<int> code = Stop(pid, 5000);
      pid = -1;
      if (!code.ok() || *code != 0) unclean.push_back(what + " " + name);
    }
  };
  stop(agents_, "the agent of");
  stop(brokers_, "the broker of");
  for (const std::string& w : witnesses_.Stop()) unclean.push_back("witness " + w);
  return unclean;
}

Result<int> DemoNetwork::RunAgent(const std::string& agency, const std::vector<std::string>& args,
                                  const std::string& what) {
  std::vector<std::string> argv = {SelfDirectory() + "/nrm-agent", "--config",
                                   fed_.AgentConfig(agency)};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = Log(agency, what);
  std::remove(log.c_str());
  NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log));
  return WaitExit(pid, 30000);
}

Result<pid_t> DemoNetwork::StartTool(std::vector<std::string> args, const std::string& what) {
  args.insert(args.begin(), SelfDirectory() + "/nrm");
  const std::string log = logs() + "/" + what + ".out";
  std::remove(log.c_str());
  return Spawn(args, log);
}

Result<int> DemoNetwork::RunTool(std::vector<std::string> args, const std::string& what) {
  NRM_ASSIGN_OR_RETURN(pid_t pid, StartTool(std::move(args), what));
  return WaitExit(pid, 60000);
}

json::Json DemoNetwork::Link(const std::string& cc, const std::string& partner) const {
  Result<std::string> text = ReadFile(fed_.countries.at(cc).broker_data + "/federation.json");
  if (!text.ok()) return nullptr;
  Result<json::Json> doc = json::Parse(*text);
  if (!doc.ok() || !doc->is_object()) return nullptr;
  for (const json::Json& l : (*doc).value("links", json::Json::array())) {
    if (l.is_object() && l.value("country", "") == partner) return l;
  }
  return nullptr;
}

std::vector<std::string> DemoNetwork::Countries() const {
  std::vector<std::string> out;
  for (const auto& [cc, n] : fed_.countries) out.push_back(cc);
  return out;
}

std::vector<std::pair<std::string, std::string>> DemoNetwork::RunningAgents() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, pid] : agents_) {
    if (pid > 0) out.emplace_back(id, fed_.AgentConfig(id));
  }
  return out;
}

std::string DemoNetwork::DataDir(const std::string& agency) const {
  return fed_.dir + "/" + agency.substr(0, 2) + "/agents/" + agency + "-data";
}
std::string DemoNetwork::BrokerOutput(const std::string& cc) const {
  return dir_ + "/" + cc + "/logs/broker.out";
}
std::string DemoNetwork::Log(const std::string& agency, const std::string& what) const {
  return logs() + "/" + agency + "." + what + ".out";
}

}  // namespace nrm::tools
