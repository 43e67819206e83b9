// nrm demo: the default GMS scenario on real processes. Creates an authority, a broker and
// agencies with their own keys, signs a directory, starts nrm-broker and runs nrm-agent for a
// police unit in Chiang Rai and a shelter, sends a referral offer whose person's name is a
// unique canary, prints what the shelter decrypted, and checks that the canary appears
// nowhere at the broker (its data directory and its log). Exit 0 only if all of that held.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "tools/commands.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: nrm demo [--workdir DIR]\n"
    "Runs the GMS referral scenario on real processes (one broker, a police unit in Chiang Rai,\n"
    "a shelter) and checks that the broker never held the person's name. --workdir keeps every\n"
    "key, directory, data directory and log it made in DIR (default: a temporary directory,\n"
    "removed afterwards).\n";

const ScenarioAgency& Police() { return GmsAgencies()[0]; }
const ScenarioAgency& Shelter() { return GmsAgencies()[1]; }

class Demo {
 public:
  Demo(std::string workdir, std::ostream& out) : dir_(std::move(workdir)), out_(out) {}
  ~Demo() {
    if (broker_pid_ > 0) (void)Stop(broker_pid_, 3000);
  }

  Status Run() {
    const auto start = std::chrono::steady_clock::now();
    NRM_ASSIGN_OR_RETURN(scenario_, CreateScenario(dir_, GmsAgencies()));
    Step("keys: a national authority, the broker, " + Police().id + ", " + Shelter().id);
    Step("directory signed by the authority: directory.toml (" +
         std::to_string(GmsAgencies().size()) + " agencies)");

    const std::string bin = SelfDirectory();
    NRM_ASSIGN_OR_RETURN(broker_pid_,
                         Spawn({bin + "/nrm-broker", "--config", scenario_.broker_config},
                               dir_ + "/logs/broker.out"));
    NRM_RETURN_IF_ERROR(WaitForFile(scenario_.endpoint_file, 10000)
                            .WithContext("the broker did not start (see logs/broker.out)"));
    NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(scenario_.endpoint_file));
    Step("broker started (pid " + std::to_string(broker_pid_) + ") on " +
         endpoint.substr(0, endpoint.size() - 1) + ", CURVE + ZAP against the directory");

    // The canary: a name no one has, so finding it anywhere at the broker is a leak.
    const std::string canary = "Canary-" + ToHex(crypto::RandomBytes(8));
    NRM_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/case.json", CaseJson(canary), 0600));
    Step("a raid in Chiang Rai: the police record a presumed victim, person's name \"" + canary +
         "\"");

    NRM_ASSIGN_OR_RETURN(
        int sent, RunAgent(Police(), {"send", "--to", Shelter().id, "--kind", "referral_offer",
                                      "--file", dir_ + "/case.json", "--handling", "H1"}));
    Show(dir_ + "/logs/police.out", "police");
    if (sent != 0) return Internal("the police agent could not send the offer");
    Step("broker saw: envelope " + Police().id + " -> " + Shelter().id +
         ", kind referral_offer, handling H1; stored ciphertext until the shelter acknowledges");

    NRM_ASSIGN_OR_RETURN(int received,
                         RunAgent(Shelter(), {"receive", "--count", "1", "--timeout", "20"}));
    Step("the shelter's agent verified the signature and decrypted:");
    Show(dir_ + "/logs/shelter.out", "shelter");
    if (received != 0) return Internal("the shelter did not receive the offer");
    NRM_ASSIGN_OR_RETURN(std::string shelter_out, ReadFile(dir_ + "/logs/shelter.out"));
    if (shelter_out.find(canary) == std::string::npos) {
      return Internal("the shelter's decrypted offer does not hold the person's name");
    }

    NRM_ASSIGN_OR_RETURN(int broker_exit, Stop(broker_pid_, 5000));
    broker_pid_ = -1;
    if (broker_exit != 0) return Internal("the broker exited with " + std::to_string(broker_exit));
    Step("broker stopped cleanly");

    size_t scanned = 0;
    NRM_ASSIGN_OR_RETURN(
        std::vector<std::string> leaks,
        FindCanary(canary, {scenario_.broker_data, scenario_.broker_log, dir_ + "/logs/broker.out"},
                   &scanned));
    if (!leaks.empty()) return Internal("the person's name leaked to the broker in " + leaks[0]);
    Step("checked " + std::to_string(scanned) +
         " files of the broker (data directory and logs): the name appears in none");
    NRM_ASSIGN_OR_RETURN(pid_t verify,
                         Spawn({SelfDirectory() + "/nrm", "audit", "verify", scenario_.broker_data},
                               dir_ + "/logs/audit.out"));
    NRM_ASSIGN_OR_RETURN(int verified, WaitExit(verify, 30000));
    Step("an auditor checks the broker's audit log (metadata only) with nrm audit verify:");
    Show(dir_ + "/logs/audit.out", "audit");
    if (verified != 0) return Internal("the audit log does not verify");
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    out_ << "demo: OK in " << ms << " ms\n";
    return Status::Ok();
  }

 private:
  void Step(const std::string& what) { out_ << "[" << ++step_ << "] " << what << "\n"; }

  void Show(const std::string& path, const std::string& who) {
    auto text = ReadFile(path);
    if (!text) return;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) out_ << "    " << who << "| " << line << "\n";
  }

  Result<int> RunAgent(const ScenarioAgency& a, std::vector<std::string> args) {
    std::vector<std::string> argv = {SelfDirectory() + "/nrm-agent", "--config",
                                     scenario_.AgentConfig(a.id)};
    argv.insert(argv.end(), args.begin(), args.end());
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, dir_ + "/logs/" + a.role + ".out"));
    return WaitExit(pid, 30000);
  }

  static std::string CaseJson(const std::string& canary) {
    return R"({
  "case": {"status": "Active", "reason_for_referral": "Presumed victim identified in a raid",
           "referral_date": "2026-11-29", "referring_organisation": "TH.POLICE.CRI-ATU",
           "referred_organisation": "TH.SHELTER.KREDTRAKARN"},
  "person": {"first_name": ")" +
           canary + R"(", "second_name": "Demo", "birth_date": "2008",
             "gender": "female", "nationality": "MM", "languages": ["my", "th"],
             "is_child": true, "guardian": "to be appointed"},
  "context": {"recruitment_methods": ["FalsePromise"], "control_methods": ["DebtBondage",
              "WithholdsDocuments"], "exploitation_types": ["Labour"], "labour_sector": "Domestic",
              "places": [{"stage": "exploitation", "location": "Mueang Chiang Rai", "country": "TH",
                          "date": "2026-11-27"}]},
  "needs": {"immediate_needs": ["Medical", "Interpretation"], "risk_to_person": "High",
            "risk_from": "recruiter", "transport_constraints": "escort required"},
  "consent": {"share_sections": ["case", "person", "context", "needs"],
              "share_with_roles": ["shelter"], "purpose": "protection and shelter",
              "date": "2026-11-29", "recorded_by": "CRI-ATU case officer"},
  "investigation": {"perpetrator_roles": ["Recruiter"], "evidence_refs": ["CRI-2026-0412"],
                    "testimony_available": true}
}
)";
  }

  // Every file under `roots` holding the canary's bytes.
  static Result<std::vector<std::string>> FindCanary(const std::string& canary,
                                                     const std::vector<std::string>& roots,
                                                     size_t* scanned) {
    std::vector<std::string> hits;
    auto check = [&](const fs::path& p) -> Status {
      NRM_ASSIGN_OR_RETURN(std::string data, ReadFile(p.string()));
      ++*scanned;
      if (data.find(canary) != std::string::npos) hits.push_back(p.string());
      return Status::Ok();
    };
    for (const std::string& root : roots) {
      if (fs::is_regular_file(root)) {
        NRM_RETURN_IF_ERROR(check(root));
        continue;
      }
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file()) NRM_RETURN_IF_ERROR(check(e.path()));
      }
    }
    return hits;
  }

  std::string dir_;
  Scenario scenario_;
  std::ostream& out_;
  int step_ = 0;
  pid_t broker_pid_ = -1;
};

}  // namespace

int DemoCommand(const Words& words, std::ostream& out, std::ostream& err) {
  auto a = Args::Parse(words, {"workdir"}, {"help"});
  if (!a || !a->positional().empty()) {
    err << "nrm demo: " << (a ? "unexpected argument" : a.status().message()) << "\n" << kUsage;
    return 2;
  }
  if (a->Has("help")) {
    out << kUsage;
    return 0;
  }
  const bool keep = a->Get("workdir").has_value();
  std::string dir;
  if (keep) {
    dir = fs::absolute(*a->Get("workdir")).string();
    if (fs::exists(dir) && !fs::is_empty(dir)) {
      err << "nrm demo: " << dir << " is not empty; give a new or empty directory\n";
      return 2;
    }
  } else {
    char tmpl[] = "/tmp/nrm-demo-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      err << "nrm demo: cannot create a temporary directory\n";
      return 1;
    }
    dir = tmpl;
  }
  Status s;
  {
    Demo demo(dir, out);
    s = demo.Run();
  }
  if (!s.ok()) {
    err << "nrm demo: FAILED: " << s.message() << " (everything is kept in " << dir << ")\n";
    return 1;
  }
  if (keep) {
    out << "everything the demo made is in " << dir << "\n";
  } else {
    fs::remove_all(dir);
  }
  return 0;
}

}  // namespace nrm::tools
