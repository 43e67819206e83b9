// nrm demo: every scenario of docs/DOMAIN.md on real processes. One nrm-broker and one nrm-agent
// process per step, for ten agencies across TH, KH, MM (and a VN shelter, and an oversight
// body); the shipped GMS policy; real CURVE sockets on 127.0.0.1 and real RocksDB.
//   1. a handover with a decline and a re-offer; both handovers confirmed;
//   2. a TH -> KH repatriation with immigration on both sides;
//   3. two routes the policy refuses (counselling notes to police; MM -> VN without agreement);
//   4. a provincial office offline while referrals wait for it, then delivered once;
//   5. the oversight body verifies the audit log and draws monthly counts from metadata only.
// Then checks that no person's name (canary strings) appears anywhere at the broker.
// Exit 0 only if every expected outcome happened.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "audit/audit_reader.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/commands.h"
#include "tools/process.h"
#include "tools/scenario.h"
#include "tools/stats.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: nrm demo [--workdir DIR] [--json]\n"
    "Runs every scenario of the GMS referral mechanism on real processes: one broker, ten\n"
    "agencies in TH, KH, MM and VN (police, shelters, NGOs, immigration, an oversight body),\n"
    "the shipped need-to-know policy. Prints a timeline of who sent what to whom and what the\n"
    "broker saw (metadata only), checks that no person's name reached the broker, and exits 0\n"
    "only if every expected outcome happened.\n"
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

// The value of "key":"value" in one line of `nrm-agent receive --json`.
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
    if (broker_pid_ > 0) (void)Stop(broker_pid_, 3000);
  }

  Status Run() {
    const auto start = std::chrono::steady_clock::now();
    NRM_ASSIGN_OR_RETURN(scenario_, CreateScenario(dir_, GmsAgencies()));
    NRM_RETURN_IF_ERROR(MakeDirs(dir_ + "/cases"));
    Say("setup", "keys for a national authority, the broker and " +
                     std::to_string(GmsAgencies().size()) +
                     " agencies; directory signed by the authority; the shipped GMS policy");
    NRM_RETURN_IF_ERROR(StartBroker());

    NRM_RETURN_IF_ERROR(Handover());
    NRM_RETURN_IF_ERROR(Repatriation());
    NRM_RETURN_IF_ERROR(Denied());
    NRM_RETURN_IF_ERROR(OfflineOffice());

    NRM_ASSIGN_OR_RETURN(int broker_exit, Stop(broker_pid_, 5000));
    broker_pid_ = -1;
    Expect("setup", broker_exit == 0, "the broker stopped cleanly");
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
    NRM_ASSIGN_OR_RETURN(Sent a, Send(s, kPolice, {kShelter}, "referral_offer",
                                      CaseJson("Nang", "child, 16"), "", "H1", true));
    NRM_ASSIGN_OR_RETURN(Sent b, Send(s, kPolice, {kShelter}, "referral_offer",
                                      CaseJson("Mya", "adult, 23"), "", "H1", true));
    NRM_RETURN_IF_ERROR(Receive(s, kShelter, 2));
    NRM_RETURN_IF_ERROR(Send(s, kShelter, {kPolice}, "referral_accept", Decision("accepted", ""),
                             a.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Send(s, kShelter, {kPolice}, "referral_decline",
                             Decision("rejected", "lack_of_capacity"), b.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Receive(s, kPolice, 2));
    Say(s, "the police re-offer the second person to the Chiang Mai shelter");
    NRM_RETURN_IF_ERROR(Send(s, kPolice, {kShelterCmi}, "referral_offer",
                             CaseJson("Mya", "adult, 23"), b.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Receive(s, kShelterCmi, 1));
    for (const auto& [shelter, case_ref] :
         {std::pair{kShelter, a.case_ref}, std::pair{kShelterCmi, b.case_ref}}) {
      if (shelter == kShelterCmi) {
        NRM_RETURN_IF_ERROR(Send(s, shelter, {kPolice}, "referral_accept", Decision("accepted", ""),
                                 case_ref, "H1", true)
                                .status());
      }
      NRM_RETURN_IF_ERROR(Send(s, shelter, {kPolice}, "handover_confirmed",
                               Decision("handover_confirmed", ""), case_ref, "H1", true)
                              .status());
    }
    return Receive(s, kPolice, 3);
  }

  Status Repatriation() {
    const std::string s = "2 repatriation";
    Say(s,
        "the Kredtrakarn shelter's NGO partner asks a Cambodian NGO, under the TH-KH MOU, "
        "to trace a family and prepare reception");
    NRM_ASSIGN_OR_RETURN(
        Sent req, Send(s, kThNgo, {kKhNgo}, "repatriation_request",
                       RepatriationJson("Sokha", "Battambang, Ek Phnom district"), "", "H1", true));
    NRM_RETURN_IF_ERROR(Receive(s, kKhNgo, 1));
    NRM_RETURN_IF_ERROR(Send(s, kKhNgo, {kThNgo}, "repatriation_response",
                             R"({"repatriation": {"family_found": true,
                                 "reception_agency": "KH.NGO.PP-CARE"}})",
                             req.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Receive(s, kThNgo, 1));
    NRM_RETURN_IF_ERROR(Send(s, kThImm, {kKhImm}, "travel_documents",
                             R"({"repatriation": {"travel_documents": ["TD-2026-0042"]}})",
                             req.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Send(s, kKhImm, {kThImm}, "travel_documents",
                             R"({"repatriation": {"travel_documents": ["KH-ENTRY-7781"]}})",
                             req.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Receive(s, kKhImm, 1));
    NRM_RETURN_IF_ERROR(Receive(s, kThImm, 1));
    NRM_RETURN_IF_ERROR(Send(s, kThNgo, {kKhNgo}, "return_scheduled",
                             R"({"repatriation": {"proposed_date": "2026-12-15",
                                 "border_point": "Aranyaprathet-Poipet"}})",
                             req.case_ref, "H1", true)
                            .status());
    NRM_RETURN_IF_ERROR(Receive(s, kKhNgo, 1));
    NRM_RETURN_IF_ERROR(Send(s, kKhNgo, {kThNgo}, "return_completed",
                             R"({"decision": {"decision": "done", "outcome": "success"}})",
                             req.case_ref, "H1", true)
                            .status());
    return Receive(s, kThNgo, 1);
  }

  Status Denied() {
    const std::string s = "3 denied";
    NRM_RETURN_IF_ERROR(Send(s, kShelter, {kPolice}, "counselling_notes",
                             R"({"counselling": {"notes": "sessions 1-3"}})", "", "H1", false)
                            .status());
    return Send(s, kMmNgo, {kVnShelter}, "referral_offer", CaseJson("Aye", "adult, 30"), "", "H1",
                false)
        .status();
  }

  Status OfflineOffice() {
    const std::string s = "4 offline office";
    Say(s, "the Chiang Mai shelter's connection is down (simulated: its agent is not running)");
    NRM_ASSIGN_OR_RETURN(Sent x, Send(s, kPolice, {kShelterCmi}, "referral_offer",
                                      CaseJson("Lin", "child, 15"), "", "H2", true));
    NRM_RETURN_IF_ERROR(Send(s, kThNgo, {kShelterCmi}, "status_update",
                             R"({"case": {"status": "FollowUp"}})", "", "H1", true)
                            .status());
    Say(s, "the broker holds both, on disk, until the shelter acknowledges them");
    (void)x;
    NRM_RETURN_IF_ERROR(Receive(s, kShelterCmi, 2));
    // Back again later: nothing is delivered twice.
    NRM_ASSIGN_OR_RETURN(
        int again,
        RunAgent(kShelterCmi, {"receive", "--count", "1", "--timeout", "1", "--json"}, "again"));
    Expect(s, again != 0, kShelterCmi + " reconnects: nothing is delivered a second time");
    return Status::Ok();
  }

  Status Oversight() {
    const std::string s = "5 oversight";
    const std::string monitor = "TH.MONITOR.NRM-OVERSIGHT";
    Say(s, monitor + " verifies the audit log (metadata only: no payload is ever in it)");
    NRM_ASSIGN_OR_RETURN(int verified,
                         RunTool({"audit", "verify", scenario_.broker_data, "--broker-key",
                                  ToHex(scenario_.broker.sign_public)},
                                 "audit-verify"));
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
    size_t scanned = 0;
    std::vector<std::string> leaks;
    for (const std::string& root :
         {scenario_.broker_data, scenario_.broker_log, dir_ + "/logs/broker.out"}) {
      for (const std::string& file : Files(root)) {
        NRM_ASSIGN_OR_RETURN(std::string data, ReadFile(file));
        ++scanned;
        for (const std::string& canary : canaries_) {
          if (data.find(canary) != std::string::npos) leaks.push_back(file);
        }
      }
    }
    Expect("privacy", leaks.empty(),
           leaks.empty() ? "none of the " + std::to_string(canaries_.size()) +
                               " persons' names appears in any of the broker's " +
                               std::to_string(scanned) + " files (data directory and logs)"
                         : "a person's name leaked to the broker in " + leaks[0]);
    return Status::Ok();
  }

  // --- steps ---------------------------------------------------------------------------------

  struct Sent {
    std::string message_id, case_ref;
  };

  // One `nrm-agent send`; `expect_accepted` says which outcome the scenario needs.
  Result<Sent> Send(const std::string& s, const std::string& from,
                    const std::vector<std::string>& to, const std::string& kind,
                    const std::string& json, const std::string& case_ref,
                    const std::string& handling, bool expect_accepted) {
    const std::string file = dir_ + "/cases/" + std::to_string(++files_) + ".json";
    NRM_RETURN_IF_ERROR(WriteFileAtomic(file, json, 0600));
    std::string recipients;
    for (const std::string& r : to) recipients += (recipients.empty() ? "" : ",") + r;
    std::vector<std::string> args = {"send",   "--to", recipients,   "--kind", kind,
                                     "--file", file,   "--handling", handling};
    if (!case_ref.empty()) args.insert(args.end(), {"--case", case_ref});
    NRM_ASSIGN_OR_RETURN(int code, RunAgent(from, args, "send"));
    NRM_ASSIGN_OR_RETURN(std::string output, ReadFile(Log(from, "send")));
    Sent sent;
    std::istringstream lines(output);
    std::string verdict;
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string first, word;
      words >> first;
      if (first != "accepted" && first != "REFUSED") continue;
      verdict = line;
      words >> word >> sent.message_id >> word >> sent.case_ref;
    }
    const bool accepted = code == 0;
    std::string text = from + " -> " + recipients + " " + kind + ": ";
    if (accepted) {
      text += "accepted, stored until acknowledged; receipt verified";
    } else {
      size_t colon = verdict.find(": ");
      text += "REFUSED" + (colon == std::string::npos ? "" : verdict.substr(colon));
    }
    Expect(s, accepted == expect_accepted, text);
    if (accepted != expect_accepted) {
      return Internal("unexpected outcome for " + from + " -> " + recipients + " " + kind +
                      " (see " + Log(from, "send") + ")");
    }
    return sent;
  }

  // One `nrm-agent receive --count N`: the agency fetches what waits for it.
  Status Receive(const std::string& s, const std::string& agency, int count) {
    NRM_ASSIGN_OR_RETURN(
        int code,
        RunAgent(agency, {"receive", "--count", std::to_string(count), "--timeout", "20", "--json"},
                 "receive"));
    NRM_ASSIGN_OR_RETURN(std::string output, ReadFile(Log(agency, "receive")));
    std::istringstream lines(output);
    int got = 0;
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("{")) continue;
      ++got;
      Expect(s, true,
             agency + " received " + JsonField(line, "kind") + " from " +
                 JsonField(line, "sender") + ", verified and decrypted; stored and acknowledged");
    }
    Expect(s, code == 0 && got == count,
           agency + " received " + std::to_string(got) + " of " + std::to_string(count));
    if (code != 0 || got != count) return Internal(agency + " did not receive what it should");
    return Status::Ok();
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

  // A referral offer; the person's name is a fresh canary that must never reach the broker.
  std::string CaseJson(const std::string& name, const std::string& who) {
    const std::string canary = name + "-" + ToHex(crypto::RandomBytes(6));
    canaries_.push_back(canary);
    const bool child = who.starts_with("child");
    std::string json = R"({"case": {"status": "Active", "referral_date": "2026-11-29", )";
    json += R"("reason_for_referral": "Presumed victim identified in a raid, )" + who + "\"},";
    json += R"( "person": {"first_name": ")" + canary + R"(", "gender": "female", )";
    json += R"("nationality": "MM", "languages": ["my", "th"], "is_child": )";
    json += std::string(child ? "true" : "false") + R"(},)";
    json += R"( "context": {"recruitment_methods": ["FalsePromise"], )"
            R"("control_methods": ["DebtBondage"], "exploitation_types": ["Labour"]},)"
            R"( "needs": {"immediate_needs": ["Medical", "Interpretation"], )"
            R"("risk_to_person": "High"},)"
            R"( "consent": {"share_sections": ["case", "person", "context", "needs"], )"
            R"("share_with_roles": ["shelter"], "purpose": "protection", "date": "2026-11-29", )"
            R"("recorded_by": "case officer"},)"
            R"( "investigation": {"perpetrator_roles": ["Recruiter"], )"
            R"("evidence_refs": ["CRI-2026-0412"], "testimony_available": true}})";
    return json;
  }

  std::string RepatriationJson(const std::string& name, const std::string& origin) {
    const std::string canary = name + "-" + ToHex(crypto::RandomBytes(6));
    canaries_.push_back(canary);
    return R"({"person": {"first_name": ")" + canary + R"(", "nationality": "KH"},
  "repatriation": {"origin_address": ")" +
           origin + R"(", "reception_needs": "family mediation"}})";
  }

  static std::string Decision(const std::string& decision, const std::string& reason) {
    return R"({"decision": {"decision": ")" + decision + R"(", "reason": ")" + reason + R"("}})";
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

  static std::vector<std::string> Files(const std::string& root) {
    std::vector<std::string> out;
    if (fs::is_regular_file(root)) return {root};
    if (!fs::exists(root)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) out.push_back(e.path().string());
    }
    return out;
  }

  std::string dir_;
  bool json_;
  std::ostream& out_;
  Scenario scenario_;
  pid_t broker_pid_ = -1;
  int files_ = 0;
  std::vector<std::string> canaries_;
  std::vector<Event> events_;
  bool audit_intact_ = false;
  uint64_t audit_records_ = 0;
  std::string stats_json_ = "null";
  int64_t elapsed_ms_ = 0;
};

}  // namespace

Result<std::string> DemoWorkdir(const std::optional<std::string>& workdir,
                                const std::string& prefix) {
  if (workdir) {
    const std::string dir = fs::absolute(*workdir).string();
    if (fs::exists(dir) && !fs::is_empty(dir)) {
      return InvalidArgument(dir + " is not empty; give a new or empty directory");
    }
    return dir;
  }
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return IOError("cannot create a temporary directory");
  return tmpl;
}

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
