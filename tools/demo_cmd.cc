// nrm demo: every scenario of docs/DOMAIN.md on real processes. One nrm-broker and one running
// nrm-agent per agency (`nrm-agent run`), for ten agencies across TH, KH, MM (and a VN
// shelter, and an oversight body), driven by the caseworker's commands (offer, accept,
// decline, ...) as people type them; the shipped GMS policy; real CURVE sockets on 127.0.0.1
// and real RocksDB.
//   1. a handover with a decline and a re-offer; both handovers confirmed;
//   2. a TH -> KH repatriation with immigration on both sides;
//   3. two routes the policy refuses (counselling notes to police; MM -> VN without agreement);
//   4. a provincial office offline while referrals wait for it, then delivered once;
//   5. the oversight body verifies the audit log and draws monthly counts from metadata only.
// Then checks that no person's name (canary strings) appears anywhere at the broker, nor in the
// clear in any agent's data directory. Exit 0 only if every expected outcome happened.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "agent/step_state.h"
#include "audit/audit_reader.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/commands.h"
#include "tools/demo_cases.h"
#include "tools/demo_witnesses.h"
#include "tools/process.h"
#include "tools/scenario.h"
#include "tools/stats.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: nrm demo [--workdir DIR] [--json]\n"
    "Runs every scenario of the GMS referral mechanism on real processes: one broker, two\n"
    "witnesses that cosign its checkpoints, and the running agents of ten agencies in TH, KH,\n"
    "MM and VN (police, shelters, NGOs, immigration, an oversight body), the caseworker's\n"
    "commands, the shipped need-to-know policy. Prints a timeline of who sent what to whom and\n"
    "what the broker saw (metadata only), checks that no person's name reached the broker, and\n"
    "exits 0 only if every expected outcome happened.\n"
    "  --workdir DIR  keep every key, directory, config, data directory and log in DIR\n"
    "                 (default: a temporary directory, removed afterwards)\n"
    "  --json         print the outcome as one JSON object instead of the timeline\n"
    "\n"
    "usage: nrm demo --web [--workdir DIR] [--port-base N] [--idle-logout S] [--json]\n"
    "Starts the broker and one agent per agency, each serving its web inbox, creates one user\n"
    "per agency with a one-time password, prints each inbox's URL, and runs until Ctrl-C.\n"
    "  --port-base N    the first agency's inbox on 127.0.0.1:N, the next on N+1, ...\n"
    "                   (default 8470; 0: any free ports)\n"
    "  --idle-logout S  sessions end after S seconds without a request (default 900)\n"
    "  --json           print the URLs, users and passwords as one JSON line\n";

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";
const std::string kShelterCmi = "TH.SHELTER.BAN-PING";
const std::string kThNgo = "TH.NGO.RETURN-CRI";
const std::string kThImm = "TH.IMMIGRATION.BKK";
const std::string kKhNgo = "KH.NGO.PP-CARE";
const std::string kKhImm = "KH.IMMIGRATION.POIPET";
const std::string kMmNgo = "MM.NGO.TACHILEIK";
const std::string kVnShelter = "VN.SHELTER.HANOI";

// The value of the first "key":"value" in the --json output of a command.
std::string JsonField(const std::string& line, const std::string& key) {
  const std::string open = "\"" + key + "\":\"";
  size_t at = line.find(open);
  if (at == std::string::npos) return "";
  at += open.size();
  return line.substr(at, line.find('"', at) - at);
}

struct Event {
  std::string scenario;
  std::string text;  // what happened, for people
  bool ok;
};

class Demo {
 public:
  Demo(std::string workdir, bool json, std::ostream& out)
      : dir_(std::move(workdir)), json_(json), out_(out) {}
  ~Demo() {
    for (auto& [id, pid] : agents_) {
      if (pid > 0) (void)Stop(pid, 3000);
    }
    if (broker_pid_ > 0) (void)Stop(broker_pid_, 3000);
  }

  Status Run() {
    const auto start = std::chrono::steady_clock::now();
    NRM_ASSIGN_OR_RETURN(scenario_, CreateScenario(dir_, GmsAgencies()));
    NRM_RETURN_IF_ERROR(MakeDirs(dir_ + "/cases"));
    Say("setup", "keys for a national authority, the broker and " +
                     std::to_string(GmsAgencies().size()) +
                     " agencies; directory signed by the authority; the shipped GMS policy");
    NRM_RETURN_IF_ERROR(witnesses_.Start(scenario_, SelfDirectory(), dir_ + "/logs"));
    Say("setup", "two witnesses (witness.nrm.kh, witness.nrm.la) cosign the broker's "
                 "checkpoints (C2SP tlog-witness); every agent requires both cosignatures");
    NRM_RETURN_IF_ERROR(StartBroker());
    for (const ScenarioAgency& a : GmsAgencies()) {
      if (a.role != "monitor") NRM_RETURN_IF_ERROR(StartAgent(a.id));
    }
    Say("setup", "the running agent of each agency started: its store, its connection");
    NRM_RETURN_IF_ERROR(Handover());
    NRM_RETURN_IF_ERROR(Repatriation());
    NRM_RETURN_IF_ERROR(Denied());
    NRM_RETURN_IF_ERROR(OfflineOffice());
    // Every agent checked the broker's log through the checkpoints of its receipts.
    std::vector<std::string> running;
    for (const auto& [id, pid] : agents_) running.push_back(id);
    NRM_ASSIGN_OR_RETURN(LogAsSeen seen, AgentsOnTheLog(scenario_, running, kPolice,
                                                        SelfDirectory(), dir_ + "/logs"));
    Expect("5 oversight", seen.alarms == 0,
           seen.alarms == 0 ? "no agent raised an alarm about the broker's log; " + seen.shown
                            : std::to_string(seen.alarms) + " agent(s) raised an alarm about it");

    for (auto& [id, pid] : agents_) {
      NRM_ASSIGN_OR_RETURN(int agent_exit, Stop(pid, 5000));
      if (agent_exit != 0) Expect("setup", false, "the agent of " + id + " did not stop cleanly");
      pid = -1;
    }
    NRM_ASSIGN_OR_RETURN(int broker_exit, Stop(broker_pid_, 5000));
    broker_pid_ = -1;
    Expect("setup", broker_exit == 0, "the broker stopped cleanly");
    const std::vector<std::string> unclean = witnesses_.Stop();
    Expect("setup", unclean.empty(),
           unclean.empty() ? "the witnesses stopped cleanly"
                           : "witness " + unclean[0] + " did not stop cleanly");
    NRM_RETURN_IF_ERROR(NoNameAtTheBroker());
    NRM_RETURN_IF_ERROR(Oversight());
    elapsed_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    return Status::Ok();
  }

  bool ok() const {
    for (const Event& e : events_) {
      if (!e.ok) return false;
    }
    return true;
  }

  void PrintJson() const {
    out_ << "{\"ok\":" << (ok() ? "true" : "false") << ",\"elapsed_ms\":" << elapsed_ms_
         << ",\"agencies\":" << GmsAgencies().size() << ",\"steps\":[";
    for (size_t i = 0; i < events_.size(); ++i) {
      out_ << (i ? "," : "") << "{\"scenario\":\"" << events_[i].scenario
           << "\",\"ok\":" << (events_[i].ok ? "true" : "false")
           << ",\"what\":" << json::Quote(events_[i].text) << "}";
    }
    out_ << "],\"audit\":{\"intact\":" << (audit_intact_ ? "true" : "false")
         << ",\"records\":" << audit_records_ << "},\"stats\":" << stats_json_ << "}\n";
  }

  int64_t elapsed_ms() const { return elapsed_ms_; }

 private:
  // --- the scenarios ------------------------------------------------------------------------

  Status Handover() {
    const std::string s = "1 handover";
    Say(s, "a raid in Chiang Rai: " + kPolice + " identifies two presumed victims");
    NRM_ASSIGN_OR_RETURN(Step a, Take(s, kPolice,
                                      {"offer", "--to", kShelter, "--file",
                                       CaseFile(CaseJson("Nang", "child, 16"))}));
    const std::string mya = CaseFile(CaseJson("Mya", "adult, 23"));
    NRM_ASSIGN_OR_RETURN(Step b, Take(s, kPolice, {"offer", "--to", kShelter, "--file", mya}));
    NRM_RETURN_IF_ERROR(Arrives(s, kShelter, a));
    NRM_RETURN_IF_ERROR(Arrives(s, kShelter, b));
    NRM_RETURN_IF_ERROR(Take(s, kShelter, {"accept", a.id}).status());
    NRM_RETURN_IF_ERROR(
        Take(s, kShelter, {"decline", b.id, "--reason", "lack_of_capacity"}).status());
    NRM_RETURN_IF_ERROR(Reaches(s, kPolice, b.case_ref, "rejected"));
    Say(s, "the police re-offer the second person to the Chiang Mai shelter");
    NRM_ASSIGN_OR_RETURN(
        Step c,
        Take(s, kPolice, {"offer", "--to", kShelterCmi, "--case", b.case_ref, "--file", mya}));
    NRM_RETURN_IF_ERROR(Arrives(s, kShelterCmi, c));
    NRM_RETURN_IF_ERROR(Take(s, kShelterCmi, {"accept", c.id}).status());
    NRM_RETURN_IF_ERROR(Reaches(s, kPolice, a.case_ref, "accepted"));
    NRM_RETURN_IF_ERROR(Take(s, kShelter, {"confirm-handover", a.id}).status());
    NRM_RETURN_IF_ERROR(Reaches(s, kPolice, b.case_ref, "accepted"));
    NRM_RETURN_IF_ERROR(Take(s, kShelterCmi, {"confirm-handover", c.id}).status());
    NRM_RETURN_IF_ERROR(Reaches(s, kPolice, a.case_ref, "handover_confirmed"));
    handover_case_ = a.case_ref;
    return Reaches(s, kPolice, b.case_ref, "handover_confirmed");
  }

  Status Repatriation() {
    const std::string s = "2 repatriation";
    Say(s,
        "the Kredtrakarn shelter's NGO partner asks a Cambodian NGO, under the TH-KH MOU, "
        "to trace a family and prepare reception");
    NRM_ASSIGN_OR_RETURN(Step req,
                         Take(s, kThNgo,
                              {"request-repatriation", "--to", kKhNgo, "--file",
                               CaseFile(RepatriationJson("Sokha", "Battambang, Ek Phnom"))}));
    const std::string ref = req.case_ref;
    repatriation_case_ = ref;
    NRM_RETURN_IF_ERROR(Arrives(s, kKhNgo, req));
    NRM_RETURN_IF_ERROR(
        Take(s, kKhNgo, {"respond", req.id, "--family-found", "yes", "--reception-agency", kKhNgo})
            .status());
    NRM_RETURN_IF_ERROR(Reaches(s, kThNgo, ref, "responded"));
    Say(s, "the Thai NGO brings Thai immigration into the case");
    NRM_RETURN_IF_ERROR(Take(s, kThNgo,
                             {"share", ref, "--to", kThImm, "--file",
                              CaseFile(R"({"person": {"first_name": ")" + canaries_.back() +
                                       R"(", "nationality": "KH"}})")})
                            .status());
    NRM_RETURN_IF_ERROR(Reaches(s, kThImm, ref, "responded"));
    NRM_RETURN_IF_ERROR(
        Take(s, kThImm,
             {"travel-documents", ref, "--to", kKhImm, "--file",
              CaseFile(R"({"repatriation": {"travel_documents": ["TD-2026-0042"]}})")})
            .status());
    NRM_RETURN_IF_ERROR(Reaches(s, kKhImm, ref, "travel_documents"));
    NRM_RETURN_IF_ERROR(
        Take(s, kKhImm,
             {"travel-documents", ref, "--to", kThImm, "--file",
              CaseFile(R"({"repatriation": {"travel_documents": ["KH-ENTRY-7781"]}})")})
            .status());
    NRM_RETURN_IF_ERROR(Take(s, kKhImm,
                             {"schedule-return", ref, "--to", kThImm + "," + kKhNgo, "--date",
                              "2026-12-15", "--border-point", "Aranyaprathet-Poipet"})
                            .status());
    NRM_RETURN_IF_ERROR(Reaches(s, kThImm, ref, "return_scheduled"));
    NRM_RETURN_IF_ERROR(
        Take(s, kThImm, {"complete-return", ref, "--to", kKhImm + "," + kKhNgo + "," + kThNgo})
            .status());
    return Reaches(s, kKhNgo, ref, "return_completed");
  }

  Status Denied() {
    const std::string s = "3 denied";
    NRM_RETURN_IF_ERROR(Take(s, kShelter,
                             {"counselling-notes", handover_case_, "--to", kPolice, "--file",
                              CaseFile(R"({"counselling": {"notes": "sessions 1-3"}})")},
                             false)
                            .status());
    return Take(s, kMmNgo,
                {"offer", "--to", kVnShelter, "--file", CaseFile(CaseJson("Aye", "adult, 30"))},
                false)
        .status();
  }

  Status OfflineOffice() {
    const std::string s = "4 offline office";
    Say(s, "the Chiang Mai shelter's connection is down (simulated: its agent is stopped)");
    NRM_RETURN_IF_ERROR(StopAgent(kShelterCmi));
    NRM_ASSIGN_OR_RETURN(Step x, Take(s, kPolice,
                                      {"offer", "--to", kShelterCmi, "--handling", "H2", "--file",
                                       CaseFile(CaseJson("Lin", "child, 15"))}));
    NRM_ASSIGN_OR_RETURN(Step y, Take(s, kThNgo,
                                      {"share", repatriation_case_, "--to", kShelterCmi, "--note",
                                       "return completed"}));
    Say(s, "the broker holds both, on disk, until the shelter acknowledges them");
    NRM_RETURN_IF_ERROR(StartAgent(kShelterCmi));
    NRM_RETURN_IF_ERROR(Arrives(s, kShelterCmi, x));
    NRM_RETURN_IF_ERROR(Arrives(s, kShelterCmi, y));
    // Back again later: nothing is delivered twice.
    NRM_RETURN_IF_ERROR(StopAgent(kShelterCmi));
    NRM_RETURN_IF_ERROR(StartAgent(kShelterCmi));
    NRM_ASSIGN_OR_RETURN(std::string all, Command(kShelterCmi, {"inbox", "--all", "--json"}));
    size_t copies = 0;
    for (size_t at = all.find(x.id); at != std::string::npos; at = all.find(x.id, at + 1)) {
      ++copies;
    }
    Expect(s, copies == 1, kShelterCmi + " reconnects: nothing is delivered a second time");
    return Status::Ok();
  }

  Status Oversight() {
    const std::string s = "5 oversight";
    const std::string monitor = "TH.MONITOR.NRM-OVERSIGHT";
    Say(s, monitor + " verifies the audit log (metadata only: no payload is ever in it), also "
               "against the checkpoints each witness kept");
    std::vector<std::string> verify = {"audit", "verify", scenario_.broker_data, "--broker-key",
                                       witnesses_.log_vkey()};
    NRM_ASSIGN_OR_RETURN(auto kept, witnesses_.Latest(SelfDirectory(), dir_ + "/logs"));
    for (const DemoWitnesses::Kept& k : kept) {
      Expect(s, k.ok, k.name + " cosigned the log up to size " + k.size);
      verify.insert(verify.end(), {"--checkpoint", k.file});
    }
    NRM_ASSIGN_OR_RETURN(int verified, RunTool(verify, "audit-verify"));
    NRM_ASSIGN_OR_RETURN(std::string verify_out, ReadFile(dir_ + "/logs/audit-verify.out"));
    Expect(s, verified == 0, verify_out.substr(0, verify_out.find('\n')));
    audit_intact_ = verified == 0;

    if (!json_) out_ << "    what the broker saw (the audit log, metadata only):\n";
    Status read = audit::ReadVerifiedRecords(
        scenario_.broker_data + "/store", [&](uint64_t index, const audit::AuditRecord& r) {
          ++audit_records_;
          if (json_ || r.event == audit::AuditEvent::kDelivered ||
              r.event == audit::AuditEvent::kAcknowledged) {
            return;  // deliveries and acknowledgements: counted, not printed
          }
          std::string to;
          for (const std::string& id : r.recipients) to += (to.empty() ? "" : ",") + id;
          out_ << "    #" << index << " " << audit::EventName(r.event) << " "
               << (r.sender.empty() ? "-" : r.sender) << " -> " << (to.empty() ? "-" : to) << " "
               << (r.kind.empty() ? "" : r.kind + " ") << r.rule << "\n";
        });
    NRM_RETURN_IF_ERROR(read);

    NRM_ASSIGN_OR_RETURN(
        int counted,
        RunTool({"audit", "stats", scenario_.broker_data, "--directory", dir_ + "/directory.toml",
                 "--authority-key", ToHex(scenario_.authority.sign_public)},
                "audit-stats"));
    Expect(s, counted == 0, "monthly counts by province, kind and outcome (cells under 5: <5):");
    NRM_ASSIGN_OR_RETURN(std::string csv, ReadFile(dir_ + "/logs/audit-stats.out"));
    Show(csv, "stats");
    NRM_ASSIGN_OR_RETURN(auto stats, ComputeAuditStats(scenario_.broker_data + "/store", nullptr));
    stats_json_ = StatsJson(stats);
    while (!stats_json_.empty() && stats_json_.back() == '\n') stats_json_.pop_back();
    return Status::Ok();
  }

  Status NoNameAtTheBroker() {
    std::vector<std::string> leaks;
    auto scan = [&](const std::vector<std::string>& roots) {
      return ScanForCanaries(roots, canaries_, leaks);
    };
    NRM_ASSIGN_OR_RETURN(size_t broker, scan({scenario_.broker_data, scenario_.broker_log,
                                              dir_ + "/logs/broker.out"}));
    std::vector<std::string> agents;
    for (const ScenarioAgency& a : GmsAgencies()) agents.push_back(DataDir(a.id));
    NRM_ASSIGN_OR_RETURN(size_t stores, scan(agents));
    Expect("privacy", leaks.empty(),
           leaks.empty()
               ? "none of the " + std::to_string(canaries_.size()) +
                     " persons' names appears in any of the broker's " + std::to_string(broker) +
                     " files (data directory and logs), nor in the clear in any of "
                     "the agents' " +
                     std::to_string(stores) + " files"
               : "a person's name is in the clear in " + leaks[0]);
    return Status::Ok();
  }

  // --- steps ---------------------------------------------------------------------------------

  struct Step {
    std::string message_id, case_ref;
    std::string id;  // the message id again, for commands that take it
  };

  // Runs one caseworker's command of `from` with --json; `expect_accepted` says whether the
  // scenario needs the broker to accept it ("at the broker", or "delivered" already) or to
  // refuse it (exit 1, "not delivered: action needed"; agent/step_state.h).
  Result<Step> Take(const std::string& s, const std::string& from, std::vector<std::string> words,
                    bool expect_accepted = true) {
    words.push_back("--json");
    const std::string what = words.front();
    NRM_ASSIGN_OR_RETURN(int code, RunAgent(from, words, "step"));
    NRM_ASSIGN_OR_RETURN(std::string output, ReadFile(Log(from, "step")));
    Step step;
    std::string kind, to, status, detail;
    if (Result<json::Json> j = json::Parse(output); j.ok() && j->is_object()) {
      step.case_ref = j->value("case", "");
      const json::Json& m = (*j)["messages"].empty() ? json::Json::object() : (*j)["messages"][0];
      step.message_id = step.id = m.value("message_id", "");
      kind = m.value("kind", "");
      status = m.value("status", "");
      detail = m.value("detail", "");
      for (const json::Json& r : m.value("to", json::Json::array())) {
        to += (to.empty() ? "" : ",") + r.get<std::string>();
      }
    }
    const bool accepted =
        code == 0 && (status == agent::kAtTheBroker || status == agent::kDelivered);
    const bool refused = code == 1 && status == agent::kNotDelivered;
    std::string text = from + " " + what + " (" + kind + ") -> " + to + ": ";
    if (accepted) {
      text += status + ": the broker accepted it (receipt verified), stored until acknowledged";
    } else if (refused) {
      text += "REFUSED: " + detail;
    } else {
      text += "FAILED: " + output;
    }
    Expect(s, expect_accepted ? accepted : refused, text);
    if (expect_accepted ? !accepted : !refused) {
      return Internal("unexpected outcome of " + from + " " + what + " (see " + Log(from, "step") +
                      ")");
    }
    return step;
  }

  // Waits until `step` is in the inbox of `agency`'s agent: delivered, verified, decrypted,
  // stored and acknowledged.
  Status Arrives(const std::string& s, const std::string& agency, const Step& step) {
    NRM_ASSIGN_OR_RETURN(std::string inbox,
                         Poll(agency, {"inbox", "--all", "--json"}, step.message_id));
    const std::string line = inbox.substr(inbox.find(step.message_id));
    Expect(s, true,
           agency + " received " + JsonField(line, "kind") + " from " + JsonField(line, "from") +
               ": verified, decrypted, checked against the policy, stored, acknowledged");
    return Status::Ok();
  }

  // Waits until case `ref` is in `state` at `agency`.
  Status Reaches(const std::string& s, const std::string& agency, const std::string& ref,
                 const std::string& state) {
    NRM_RETURN_IF_ERROR(Poll(agency, {"timeline", ref, "--json"},
                             "\"case\":\"" + ref + "\",\"state\":\"" + state + "\"")
                            .status());
    Expect(s, true, "the case is " + state + " at " + agency);
    return Status::Ok();
  }

  // The output of `words` once it holds `want` (20 s at most).
  Result<std::string> Poll(const std::string& agency, const std::vector<std::string>& words,
                           const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      NRM_ASSIGN_OR_RETURN(std::string out, Command(agency, words));
      if (out.find(want) != std::string::npos) return out;
      if (std::chrono::steady_clock::now() > deadline) {
        return Internal(agency + " never showed " + want + " (see " + Log(agency, "poll") + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // What a command of `agency`'s agent printed.
  Result<std::string> Command(const std::string& agency, const std::vector<std::string>& words) {
    NRM_RETURN_IF_ERROR(RunAgent(agency, words, "poll").status());
    return ReadFile(Log(agency, "poll"));
  }

  std::string DataDir(const std::string& agency) const {
    return dir_ + "/agents/" + agency + "-data";
  }

  Status StartAgent(const std::string& agency) {
    NRM_ASSIGN_OR_RETURN(agents_[agency], Spawn({SelfDirectory() + "/nrm-agent", "--config",
                                                 scenario_.AgentConfig(agency), "run"},
                                                Log(agency, "run")));
    // Started once its control socket is there (a socket: WaitForFile wants a non-empty file).
    const std::string control = DataDir(agency) + "/control";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (struct stat st{}; ::stat(control.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode);) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Unavailable("the agent of " + agency + " did not start (see " + Log(agency, "run") +
                           ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Status::Ok();
  }

  Status StopAgent(const std::string& agency) {
    NRM_ASSIGN_OR_RETURN(int code, Stop(agents_[agency], 5000));
    agents_[agency] = -1;
    if (code != 0) return Internal("the agent of " + agency + " did not stop cleanly");
    return Status::Ok();
  }

  std::string CaseFile(const std::string& json) {
    const std::string file = dir_ + "/cases/" + std::to_string(++files_) + ".json";
    (void)WriteFileAtomic(file, json, 0600);
    return file;
  }

  std::string Log(const std::string& agency, const std::string& what) const {
    return dir_ + "/logs/" + agency + "." + what + ".out";
  }

  Result<int> RunAgent(const std::string& agency, std::vector<std::string> args,
                       const std::string& what) {
    std::vector<std::string> argv = {SelfDirectory() + "/nrm-agent", "--config",
                                     scenario_.AgentConfig(agency)};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = Log(agency, what);
    std::remove(log.c_str());
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, log));
    return WaitExit(pid, 30000);
  }

  Result<int> RunTool(std::vector<std::string> args, const std::string& what) {
    args.insert(args.begin(), SelfDirectory() + "/nrm");
    NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn(args, dir_ + "/logs/" + what + ".out"));
    return WaitExit(pid, 60000);
  }

  Status StartBroker() {
    NRM_ASSIGN_OR_RETURN(
        broker_pid_, Spawn({SelfDirectory() + "/nrm-broker", "--config", scenario_.broker_config},
                           dir_ + "/logs/broker.out"));
    NRM_RETURN_IF_ERROR(WaitForFile(scenario_.endpoint_file, 10000)
                            .WithContext("the broker did not start (see logs/broker.out)"));
    NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(scenario_.endpoint_file));
    Say("setup", "broker started (pid " + std::to_string(broker_pid_) + ") on " +
                     endpoint.substr(0, endpoint.size() - 1) +
                     ": CURVE, ZAP against the directory, RocksDB store and audit log");
    return Status::Ok();
  }

  // --- payloads ------------------------------------------------------------------------------

  // A case file (demo_cases.h) whose person's name is a fresh canary, remembered.
  std::string CaseJson(const std::string& name, const std::string& who) {
    canaries_.push_back(name + "-" + ToHex(crypto::RandomBytes(6)));
    return DemoOffer(canaries_.back(), who);
  }
  std::string RepatriationJson(const std::string& name, const std::string& origin) {
    canaries_.push_back(name + "-" + ToHex(crypto::RandomBytes(6)));
    return DemoRepatriationRequest(canaries_.back(), origin);
  }

  // --- output --------------------------------------------------------------------------------

  void Say(const std::string& s, const std::string& text) {
    events_.push_back({s, text, true});
    if (!json_) out_ << "[" << s << "] " << text << "\n";
  }
  void Expect(const std::string& s, bool ok, const std::string& text) {
    events_.push_back({s, text, ok});
    if (!json_) out_ << "[" << s << "] " << (ok ? "" : "FAILED: ") << text << "\n";
  }
  void Show(const std::string& text, const std::string& who) {
    if (json_) return;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out_ << "    " << who << "| " << line << "\n";
  }

  std::string dir_;
  bool json_;
  std::ostream& out_;
  Scenario scenario_;
  pid_t broker_pid_ = -1;
  DemoWitnesses witnesses_;
  int files_ = 0;
  std::vector<std::string> canaries_;
  std::map<std::string, pid_t> agents_;
  std::string handover_case_, repatriation_case_;
  std::vector<Event> events_;
  bool audit_intact_ = false;
  uint64_t audit_records_ = 0;
  std::string stats_json_ = "null";
  int64_t elapsed_ms_ = 0;
};

}  // namespace

int DemoCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kUsage;
    return 0;
  }
  if (std::find(words.begin(), words.end(), "--web") != words.end()) {
    return DemoWebCommand(words, out, err);
  }
  auto a = Args::Parse(words, {"workdir"}, {"json"});
  if (!a || !a->positional().empty()) {
    err << "nrm demo: " << (a ? "unexpected argument" : a.status().message()) << "\n" << kUsage;
    return 2;
  }
  const bool keep = a->Get("workdir").has_value();
  Result<std::string> workdir = DemoWorkdir(a->Get("workdir"), "nrm-demo");
  if (!workdir.ok()) {
    err << "nrm demo: " << workdir.status().message() << "\n";
    return workdir.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  const std::string dir = *workdir;
  Status s;
  bool ok = false;
  {
    Demo demo(dir, a->Has("json"), out);
    s = demo.Run();
    ok = s.ok() && demo.ok();
    if (a->Has("json")) {
      demo.PrintJson();
    } else if (ok) {
      out << "demo: OK, every expected outcome happened, in " << demo.elapsed_ms() << " ms\n";
    }
  }
  if (!ok) {
    err << "nrm demo: FAILED: " << (s.ok() ? "an expected outcome did not happen" : s.message())
        << " (everything is kept in " << dir << ")\n";
    return 1;
  }
  if (keep) {
    if (!a->Has("json")) out << "everything the demo made is in " << dir << "\n";
  } else {
    fs::remove_all(dir);
  }
  return 0;
}

}  // namespace nrm::tools
