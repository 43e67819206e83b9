#include "tools/demo_witnesses.h"

#include <filesystem>

#include "audit/checkpoint.h"
#include "audit/witness/witness.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "tools/process.h"

namespace nrm::tools {

DemoWitnesses::~DemoWitnesses() { (void)Stop(); }

Result<std::string> DemoWitnesses::Launch(const Scenario& s, const std::string& bin_dir,
                                          const std::string& logs_dir) {
  NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey log_key,
                       audit::LogVerifierKey(kScenarioLogOrigin, s.broker.sign_public));
  log_vkey_ = audit::note::FormatVerifierKey(log_key);
  (void)Stop();
  witnesses_.clear();
  std::string broker_lines;
  agent_vkeys_.clear();
  std::error_code ec;
  std::filesystem::remove_all(s.dir + "/witnesses", ec);  // a fresh log meets fresh witnesses
  for (const char* name : {"witness.nrm.kh", "witness.nrm.la"}) {
    Witness w{name, s.dir + "/witnesses/" + name, -1};
    NRM_RETURN_IF_ERROR(MakeDirs(w.dir));
    const crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
    NRM_RETURN_IF_ERROR(
        audit::witness::WriteWitnessKeyFile(w.dir + "/witness.key", name, kp.secret_key));
    NRM_ASSIGN_OR_RETURN(
        audit::note::VerifierKey key,
        audit::note::MakeVerifierKey(name, audit::note::kTypeCosignatureV1, kp.public_key));
    const std::string vkey = audit::note::FormatVerifierKey(key);
    NRM_RETURN_IF_ERROR(WriteFileAtomic(
        w.dir + "/witness.toml",
        "key_file = \"witness.key\"\nlisten = \"127.0.0.1:0\"\ndata_dir = \"data\"\n"
        "endpoint_file = \"url\"\nlog_file = \"witness.log\"\nlogs = [\"" +
            log_vkey_ + "\"]\n"));
    NRM_ASSIGN_OR_RETURN(w.pid,
                         Spawn({bin_dir + "/nrm", "witness", "--config", w.dir + "/witness.toml"},
                               logs_dir + "/" + w.name + ".out"));
    witnesses_.push_back(w);
    NRM_RETURN_IF_ERROR(WaitForFile(w.dir + "/url", 10000)
                            .WithContext("witness " + w.name + " did not start (see " + logs_dir +
                                         "/" + w.name + ".out)"));
    NRM_ASSIGN_OR_RETURN(std::string url, ReadFile(w.dir + "/url"));
    while (!url.empty() && url.back() == '\n') url.pop_back();
    broker_lines += "\n[[witness]]\nurl = \"" + url + "\"\nvkey = \"" + vkey + "\"\n";
    agent_vkeys_ += (agent_vkeys_.empty() ? "\"" : ", \"") + vkey + "\"";
  }
  return broker_lines;
}

Status DemoWitnesses::Start(const Scenario& s, const std::string& bin_dir,
                            const std::string& logs_dir) {
  NRM_ASSIGN_OR_RETURN(std::string broker_lines, Launch(s, bin_dir, logs_dir));
  // Appended: the broker's [[witness]] tables after its keys; the agents' files have no table.
  NRM_ASSIGN_OR_RETURN(std::string broker, ReadFile(s.broker_config));
  NRM_RETURN_IF_ERROR(WriteFileAtomic(s.broker_config, broker + broker_lines));
  for (const ScenarioAgency& a : GmsAgencies()) {
    NRM_ASSIGN_OR_RETURN(std::string agent, ReadFile(s.AgentConfig(a.id)));
    NRM_RETURN_IF_ERROR(
        WriteFileAtomic(s.AgentConfig(a.id),
                        agent + "witnesses = [" + agent_vkeys_ + "]\nwitnesses_required = 2\n"));
  }
  return Status::Ok();
}

std::vector<std::string> DemoWitnesses::Stop() {
  std::vector<std::string> unclean;
  for (Witness& w : witnesses_) {
    if (w.pid <= 0) continue;
    Result<int> code = tools::Stop(w.pid, 5000);
    w.pid = -1;
    if (!code.ok() || *code != 0) unclean.push_back(w.name);
  }
  return unclean;
}

Result<std::vector<DemoWitnesses::Kept>> DemoWitnesses::Latest(const std::string& bin_dir,
                                                               const std::string& logs_dir) const {
  std::vector<Kept> out;
  for (const Witness& w : witnesses_) {
    Kept k;
    k.name = w.name;
    k.file = logs_dir + "/" + w.name + "-latest.out";
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn({bin_dir + "/nrm", "witness", "latest", "--config",
                                           w.dir + "/witness.toml", "--origin", kScenarioLogOrigin},
                                          k.file));
    NRM_ASSIGN_OR_RETURN(int code, WaitExit(pid, 30000));
    NRM_ASSIGN_OR_RETURN(std::string note, ReadFile(k.file));
    const size_t size_line = note.find('\n') + 1;  // origin, then the tree size
    k.ok = code == 0;
    k.size = note.substr(size_line, note.find('\n', size_line) - size_line);
    out.push_back(std::move(k));
  }
  return out;
}

Result<LogAsSeen> AgentsOnTheLog(const Scenario& s, const std::vector<std::string>& agencies,
                                 const std::string& shown, const std::string& bin_dir,
                                 const std::string& logs_dir) {
  LogAsSeen seen;
  for (const std::string& id : agencies) {
    const std::string out = logs_dir + "/" + id + ".status.out";
    NRM_ASSIGN_OR_RETURN(
        pid_t pid, Spawn({bin_dir + "/nrm-agent", "--config", s.AgentConfig(id), "status"}, out));
    NRM_ASSIGN_OR_RETURN(int code, WaitExit(pid, 30000));
    NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(out));
    if (code != 0) ++seen.alarms;
    const size_t at = text.find("broker log");
    if (id == shown && at != std::string::npos) {
      seen.shown = id + ": " + text.substr(at, text.find('\n', at) - at);
    }
  }
  return seen;
}

}  // namespace nrm::tools
