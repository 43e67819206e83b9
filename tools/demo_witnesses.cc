#include "tools/demo_witnesses.h"

#include "audit/checkpoint.h"
#include "audit/witness/witness.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "tools/process.h"

namespace nrm::tools {

DemoWitnesses::~DemoWitnesses() { (void)Stop(); }

Status DemoWitnesses::Start(const std::string& dir, const std::vector<std::string>& log_vkeys,
                            const std::vector<std::string>& broker_configs,
                            const std::vector<std::string>& agent_configs,
                            const std::string& bin_dir, const std::string& logs_dir) {
  std::string logs;
  for (const std::string& v : log_vkeys) logs += (logs.empty() ? "\"" : ", \"") + v + "\"";
  std::vector<std::string> witness_vkeys;
  for (const char* name : {"witness.nrm.kh", "witness.nrm.la"}) {
    Witness w{name, dir + "/" + name, -1};
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
        "endpoint_file = \"url\"\nlog_file = \"witness.log\"\nlogs = [" +
            logs + "]\n"));
    NRM_ASSIGN_OR_RETURN(w.pid,
                         Spawn({bin_dir + "/nrm", "witness", "--config", w.dir + "/witness.toml"},
                               logs_dir + "/" + w.name + ".out"));
    witnesses_.push_back(w);
    witness_vkeys.push_back(vkey);
  }
  // Both started together; their URLs once each listens.
  std::string broker_lines, vkeys;
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    const Witness& w = witnesses_[i];
    NRM_RETURN_IF_ERROR(WaitForFile(w.dir + "/url", 10000)
                            .WithContext("witness " + w.name + " did not start (see " + logs_dir +
                                         "/" + w.name + ".out)"));
    NRM_ASSIGN_OR_RETURN(std::string url, ReadFile(w.dir + "/url"));
    while (!url.empty() && url.back() == '\n') url.pop_back();
    broker_lines += "\n[[witness]]\nurl = \"" + url + "\"\nvkey = \"" + witness_vkeys[i] + "\"\n";
    vkeys += (vkeys.empty() ? "\"" : ", \"") + witness_vkeys[i] + "\"";
  }
  // Appended: the brokers' [[witness]] tables after their own; the agents' files have no table.
  for (const std::string& config : broker_configs) {
    NRM_ASSIGN_OR_RETURN(std::string broker, ReadFile(config));
    NRM_RETURN_IF_ERROR(WriteFileAtomic(config, broker + broker_lines));
  }
  for (const std::string& config : agent_configs) {
    NRM_ASSIGN_OR_RETURN(std::string agent, ReadFile(config));
    NRM_RETURN_IF_ERROR(
        WriteFileAtomic(config, agent + "witnesses = [" + vkeys + "]\nwitnesses_required = 2\n"));
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

Result<std::vector<DemoWitnesses::Kept>> DemoWitnesses::Latest(const std::string& origin,
                                                               const std::string& tag,
                                                               const std::string& bin_dir,
                                                               const std::string& logs_dir) const {
  // Both asked at once.
  std::vector<Kept> out;
  std::vector<pid_t> pids;
  for (const Witness& w : witnesses_) {
    Kept k;
    k.name = w.name;
    k.file = logs_dir + "/" + w.name + "." + tag + ".latest.out";
    std::remove(k.file.c_str());
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn({bin_dir + "/nrm", "witness", "latest", "--config",
                                           w.dir + "/witness.toml", "--origin", origin},
                                          k.file));
    pids.push_back(pid);
    out.push_back(std::move(k));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    NRM_ASSIGN_OR_RETURN(int code, WaitExit(pids[i], 30000));
    NRM_ASSIGN_OR_RETURN(std::string note, ReadFile(out[i].file));
    const size_t size_line = note.find('\n') + 1;  // origin, then the tree size
    out[i].ok = code == 0;
    out[i].size = note.substr(size_line, note.find('\n', size_line) - size_line);
  }
  return out;
}

Result<LogAsSeen> AgentsOnTheLog(const std::vector<std::pair<std::string, std::string>>& agencies,
                                 const std::string& shown, const std::string& bin_dir,
                                 const std::string& logs_dir) {
  LogAsSeen seen;
  // All at once: each asks its own broker.
  std::vector<std::pair<std::string, pid_t>> running;
  for (const auto& [id, config] : agencies) {
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn({bin_dir + "/nrm-agent", "--config", config, "status"},
                                          logs_dir + "/" + id + ".status.out"));
    running.emplace_back(id, pid);
  }
  for (const auto& [id, pid] : running) {
    NRM_ASSIGN_OR_RETURN(int code, WaitExit(pid, 30000));
    NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(logs_dir + "/" + id + ".status.out"));
    if (code != 0) ++seen.alarms;
    const size_t at = text.find("broker log");
    if (id == shown && at != std::string::npos) {
      seen.shown = id + ": " + text.substr(at, text.find('\n', at) - at);
    }
  }
  return seen;
}

}  // namespace nrm::tools
