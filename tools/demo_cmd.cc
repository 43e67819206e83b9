// nrm demo: every scenario of docs/DOMAIN.md on real processes. One nrm-broker per country (TH,
// KH, MM, VN), each under its own authority and directory, linked only under the bilateral
// agreements both authorities signed; one running nrm-agent per agency (`nrm-agent run`) on its
// own country's broker, driven by the caseworker's commands (offer, accept, decline, ...) as
// people type them; the shipped GMS policy; real CURVE sockets and real RocksDB
// (tools/demo_network.h).
//   1. a handover with a decline and a re-offer; both handovers confirmed;
//   2. a TH -> KH repatriation with immigration on both sides, across the two brokers (and a
//      family tracing request to Myanmar under the TH-MM agreement);
//   3. routes refused: counselling notes to police (policy); MM -> VN (no agreement between MM
//      and VN); TH -> MM once the TH-MM agreement has expired (its two authorities sign a
//      version that ends a moment later, and both brokers reload it);
//   4. a provincial office offline while referrals wait for it, then delivered once;
//   5. the oversight body verifies every broker's audit log and draws monthly counts from
//      metadata only.
// Then checks that no person's name (canary strings) appears anywhere at any broker, nor in the
// clear in any agent's data directory. Exit 0 only if every expected outcome happened.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "audit/audit_reader.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/commands.h"
#include "tools/demo_cases.h"
#include "tools/demo_network.h"
#include "tools/demo_steps.h"
#include "tools/process.h"
#include "tools/stats.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: nrm demo [--workdir DIR] [--json]\n"
    "Runs every scenario of the GMS referral mechanism on real processes: one broker per country\n"
    "(TH, KH, MM, VN), each under its own authority and directory, linked only where both\n"
    "authorities signed a bilateral agreement; two witnesses that cosign every broker's\n"
    "checkpoints; the running agents of ten agencies (police, shelters, NGOs, immigration, an\n"
    "oversight body), the caseworker's commands, the shipped need-to-know policy. Prints a\n"
    "timeline of who sent what to whom and what the brokers saw (metadata only), checks that no\n"
    "person's name reached a broker, and exits 0 only if every expected outcome happened.\n"
    "  --workdir DIR  keep every key, directory, config, data directory and log in DIR\n"
    "                 (default: a temporary directory, removed afterwards)\n"
    "  --json         print the outcome as one JSON object instead of the timeline\n"
    "\n"
    "usage: nrm demo --web [--workdir DIR] [--port-base N] [--idle-logout S] [--json]\n"
    "Starts one broker (for every country) and one agent per agency, each serving its web\n"
    "inbox, creates one user per agency with a one-time password, prints each inbox's URL, and\n"
    "runs until Ctrl-C.\n"
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

// What the oversight found in one country's broker's log.
struct BrokerAudit {
  std::string country;
  bool intact = false;
  uint64_t records = 0;
};

class Demo {
 public:
  Demo(std::string workdir, bool json, std::ostream& out)
      : dir_(std::move(workdir)), net_(dir_), steps_(net_, dir_ + "/cases", json, out) {}

  Status Run() {
    const auto start = std::chrono::steady_clock::now();
    NRM_RETURN_IF_ERROR(MakeDirs(dir_ + "/cases"));
    NRM_RETURN_IF_ERROR(net_.Create());
    steps_.Say("setup",
               "four countries (KH, MM, TH, VN), each with its own authority, signed directory, "
               "trust anchor, broker, audit log and data directory; " +
                   std::to_string(GmsAgencies().size()) +
                   " agencies, each in its own country's directory; the shipped GMS policy");
    steps_.Say("setup",
               "bilateral agreements drafted from the policy and signed by both authorities, "
               "in force for a year: th-kh-2003 (TH-KH MOU 2003), th-mm-2009 (TH-MM MOU 2009), "
               "kh-vn-2005 (KH-VN Agreement 2005); none between MM and VN");
    steps_.Say("setup",
               "two witnesses (witness.nrm.kh, witness.nrm.la) cosign every broker's "
               "checkpoints (C2SP tlog-witness); every agent requires both cosignatures");
    NRM_RETURN_IF_ERROR(net_.StartBrokers());
    steps_.Say("setup",
               "brokers started: TH.BROKER, KH.BROKER, MM.BROKER, VN.BROKER (CURVE, ZAP against "
               "their own directory, RocksDB store and audit log); links only under an agreement: "
               "TH-KH, TH-MM, KH-VN");
    std::vector<std::string> agencies;
    for (const ScenarioAgency& a : GmsAgencies()) {
      if (a.role != "monitor") agencies.push_back(a.id);
    }
    NRM_RETURN_IF_ERROR(net_.StartAgents(agencies));
    steps_.Say("setup",
               "the running agent of each agency started on its own country's broker, with the "
               "anchors of its country's partners: their directories come through its broker, "
               "verified against those anchors");
    NRM_RETURN_IF_ERROR(Handover());
    NRM_RETURN_IF_ERROR(Repatriation());
    NRM_RETURN_IF_ERROR(Denied());
    NRM_RETURN_IF_ERROR(OfflineOffice());
    // Every agent checked its broker's log through the checkpoints of its receipts.
    NRM_ASSIGN_OR_RETURN(LogAsSeen seen, AgentsOnTheLog(net_.RunningAgents(), kPolice,
                                                        SelfDirectory(), net_.logs()));
    steps_.Expect("5 oversight", seen.alarms == 0,
                  seen.alarms == 0
                      ? "no agent raised an alarm about its broker's log; " + seen.shown
                      : std::to_string(seen.alarms) + " agent(s) raised an alarm about it");
    const std::vector<std::string> unclean = net_.StopAll();
    steps_.Expect("setup", unclean.empty(),
                  unclean.empty() ? "the agents, the four brokers and the witnesses stopped cleanly"
                                  : unclean[0] + " did not stop cleanly");
    NRM_RETURN_IF_ERROR(NoNameAtTheBrokers());
    NRM_RETURN_IF_ERROR(Oversight());
    elapsed_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    return Status::Ok();
  }

  bool ok() const { return steps_.ok(); }

  void PrintJson(std::ostream& out) const {
    out << "{\"ok\":" << (ok() ? "true" : "false") << ",\"elapsed_ms\":" << elapsed_ms_
        << ",\"agencies\":" << GmsAgencies().size() << ",\"brokers\":[";
    for (size_t i = 0; i < audits_.size(); ++i) {
      out << (i ? "," : "") << "{\"country\":\"" << audits_[i].country
          << "\",\"audit\":{\"intact\":" << (audits_[i].intact ? "true" : "false")
          << ",\"records\":" << audits_[i].records << "}}";
    }
    out << "],\"steps\":[";
    const std::vector<DemoEvent>& events = steps_.events();
    for (size_t i = 0; i < events.size(); ++i) {
      out << (i ? "," : "") << "{\"scenario\":\"" << events[i].scenario
          << "\",\"ok\":" << (events[i].ok ? "true" : "false")
          << ",\"what\":" << json::Quote(events[i].text) << "}";
    }
    // "audit" is the Thai broker's, where the oversight body is.
    out << "],\"audit\":{\"intact\":"
        << (audits_.empty() ? "false"
            : Th().intact   ? "true"
                            : "false")
        << ",\"records\":" << (audits_.empty() ? 0 : Th().records) << "},\"stats\":" << stats_json_
        << "}\n";
  }

  int64_t elapsed_ms() const { return elapsed_ms_; }

 private:
  using Step = DemoSteps::Step;

  // --- the scenarios ------------------------------------------------------------------------

  Status Handover() {
    const std::string s = "1 handover";
    DemoSteps& d = steps_;
    d.Say(s, "a raid in Chiang Rai: " + kPolice + " identifies two presumed victims");
    NRM_ASSIGN_OR_RETURN(
        Step a,
        d.Take(s, kPolice, {"offer", "--to", kShelter, "--file", d.Offer("Nang", "child, 16")}));
    const std::string mya = d.Offer("Mya", "adult, 23");
    NRM_ASSIGN_OR_RETURN(Step b, d.Take(s, kPolice, {"offer", "--to", kShelter, "--file", mya}));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kShelter, a));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kShelter, b));
    NRM_RETURN_IF_ERROR(d.Take(s, kShelter, {"accept", a.id}).status());
    NRM_RETURN_IF_ERROR(
        d.Take(s, kShelter, {"decline", b.id, "--reason", "lack_of_capacity"}).status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kPolice, b.case_ref, "rejected"));
    d.Say(s, "the police re-offer the second person to the Chiang Mai shelter");
    NRM_ASSIGN_OR_RETURN(
        Step c,
        d.Take(s, kPolice, {"offer", "--to", kShelterCmi, "--case", b.case_ref, "--file", mya}));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kShelterCmi, c));
    NRM_RETURN_IF_ERROR(d.Take(s, kShelterCmi, {"accept", c.id}).status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kPolice, a.case_ref, "accepted"));
    NRM_RETURN_IF_ERROR(d.Take(s, kShelter, {"confirm-handover", a.id}).status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kPolice, b.case_ref, "accepted"));
    NRM_RETURN_IF_ERROR(d.Take(s, kShelterCmi, {"confirm-handover", c.id}).status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kPolice, a.case_ref, "handover_confirmed"));
    handover_case_ = a.case_ref;
    return d.Reaches(s, kPolice, b.case_ref, "handover_confirmed");
  }

  Status Repatriation() {
    const std::string s = "2 repatriation";
    DemoSteps& d = steps_;
    d.Say(s,
          "the Kredtrakarn shelter's NGO partner asks a Cambodian NGO, under the TH-KH MOU, "
          "to trace a family and prepare reception: the Thai broker relays it to the Cambodian "
          "broker, which checks it again and delivers it");
    NRM_ASSIGN_OR_RETURN(Step req, d.Take(s, kThNgo,
                                          {"request-repatriation", "--to", kKhNgo, "--file",
                                           d.Repatriation("Sokha", "Battambang, Ek Phnom", "KH")}));
    const std::string sokha = d.canaries().back();
    const std::string ref = req.case_ref;
    repatriation_case_ = ref;
    NRM_RETURN_IF_ERROR(d.Arrives(s, kKhNgo, req));
    NRM_ASSIGN_OR_RETURN(std::string relayed,
                         d.TimelineNote(kThNgo, ref, "relayed to KH broker, receipt "));
    d.Expect(s, true,
             kThNgo + "'s timeline: " + relayed +
                 " (the Cambodian broker's signed checkpoint, passed on by the Thai broker, "
                 "verified with the log key of KH's directory)");
    NRM_RETURN_IF_ERROR(
        d.Take(s, kKhNgo,
               {"respond", req.id, "--family-found", "yes", "--reception-agency", kKhNgo})
            .status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kThNgo, ref, "responded"));
    d.Say(s,
          "the Thai NGO also asks the Myanmar NGO in Tachileik, under the TH-MM MOU, to "
          "trace the family of a Myanmar victim");
    NRM_ASSIGN_OR_RETURN(Step mm, d.Take(s, kThNgo,
                                         {"request-repatriation", "--to", kMmNgo, "--file",
                                          d.Repatriation("Hla", "Shan, Tachileik", "MM")}));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kMmNgo, mm));
    d.Say(s, "the Thai NGO brings Thai immigration into the case");
    NRM_RETURN_IF_ERROR(d.Take(s, kThNgo,
                               {"share", ref, "--to", kThImm, "--file",
                                d.CaseFile(R"({"person": {"first_name": ")" + sokha +
                                           R"(", "nationality": "KH"}})")})
                            .status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kThImm, ref, "responded"));
    NRM_RETURN_IF_ERROR(
        d.Take(s, kThImm,
               {"travel-documents", ref, "--to", kKhImm, "--file",
                d.CaseFile(R"({"repatriation": {"travel_documents": ["TD-2026-0042"]}})")})
            .status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kKhImm, ref, "travel_documents"));
    NRM_RETURN_IF_ERROR(
        d.Take(s, kKhImm,
               {"travel-documents", ref, "--to", kThImm, "--file",
                d.CaseFile(R"({"repatriation": {"travel_documents": ["KH-ENTRY-7781"]}})")})
            .status());
    NRM_RETURN_IF_ERROR(d.Take(s, kKhImm,
                               {"schedule-return", ref, "--to", kThImm + "," + kKhNgo, "--date",
                                "2026-12-15", "--border-point", "Aranyaprathet-Poipet"})
                            .status());
    NRM_RETURN_IF_ERROR(d.Reaches(s, kThImm, ref, "return_scheduled"));
    NRM_RETURN_IF_ERROR(
        d.Take(s, kThImm, {"complete-return", ref, "--to", kKhImm + "," + kKhNgo + "," + kThNgo})
            .status());
    return d.Reaches(s, kKhNgo, ref, "return_completed");
  }

  Status Denied() {
    const std::string s = "3 denied";
    DemoSteps& d = steps_;
    NRM_RETURN_IF_ERROR(d.Take(s, kShelter,
                               {"counselling-notes", handover_case_, "--to", kPolice, "--file",
                                d.CaseFile(R"({"counselling": {"notes": "sessions 1-3"}})")},
                               false)
                            .status());
    d.Say(s,
          "the Myanmar NGO holds Viet Nam's anchor and directory (both public) and tries to "
          "refer a person to a Vietnamese shelter");
    NRM_ASSIGN_OR_RETURN(
        Step vn,
        d.Take(s, kMmNgo, {"offer", "--to", kVnShelter, "--file", d.Offer("Aye", "adult, 30")},
               false));
    d.Expect(s, vn.detail.find("no signed agreement between MM and VN") != std::string::npos,
             "the Myanmar broker refuses it: no agreement between MM and VN is installed");
    // The two authorities end their agreement together: a version 2 that both sign, valid
    // until the next whole second (an agreement's times are in seconds).
    const int64_t now = SystemClock::Get().NowMillis();
    AgreementSpec ending;
    for (const AgreementSpec& a : GmsAgreements(now)) {
      if (a.id == "th-mm-2009") ending = a;
    }
    ending.version = 2;
    ending.valid_until_ms = (now / 1000 + 1) * 1000;
    NRM_RETURN_IF_ERROR(net_.ReplaceAgreement(ending));
    d.Say(s, "the authorities of TH and MM both sign version 2 of th-mm-2009, valid until " +
                 FormatTimeUtcSeconds(ending.valid_until_ms) +
                 "; the Thai and the Myanmar broker reload it (SIGHUP)");
    // The brokers' clocks are this machine's.
    const int64_t wait = ending.valid_until_ms - SystemClock::Get().NowMillis();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait + 20));
    d.Say(s,
          "th-mm-2009 has expired; the Thai NGO sends the Myanmar NGO another tracing "
          "request");
    NRM_ASSIGN_OR_RETURN(Step late, d.Take(s, kThNgo,
                                           {"request-repatriation", "--to", kMmNgo, "--file",
                                            d.Repatriation("Thida", "Shan, Kengtung", "MM")},
                                           false));
    d.Expect(s,
             late.detail.find("th-mm-2009") != std::string::npos &&
                 late.detail.find("expired") != std::string::npos,
             "the Thai broker refuses it: th-mm-2009 v2 has expired");
    return Status::Ok();
  }

  Status OfflineOffice() {
    const std::string s = "4 offline office";
    DemoSteps& d = steps_;
    d.Say(s, "the Chiang Mai shelter's connection is down (simulated: its agent is stopped)");
    NRM_RETURN_IF_ERROR(net_.StopAgent(kShelterCmi));
    NRM_ASSIGN_OR_RETURN(Step x, d.Take(s, kPolice,
                                        {"offer", "--to", kShelterCmi, "--handling", "H2", "--file",
                                         d.Offer("Lin", "child, 15")}));
    NRM_ASSIGN_OR_RETURN(Step y, d.Take(s, kThNgo,
                                        {"share", repatriation_case_, "--to", kShelterCmi, "--note",
                                         "return completed"}));
    d.Say(s, "the Thai broker holds both, on disk, until the shelter acknowledges them");
    NRM_RETURN_IF_ERROR(net_.StartAgent(kShelterCmi));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kShelterCmi, x));
    NRM_RETURN_IF_ERROR(d.Arrives(s, kShelterCmi, y));
    // Back again later: nothing is delivered twice.
    NRM_RETURN_IF_ERROR(net_.StopAgent(kShelterCmi));
    NRM_RETURN_IF_ERROR(net_.StartAgent(kShelterCmi));
    NRM_ASSIGN_OR_RETURN(std::string all, d.Command(kShelterCmi, {"inbox", "--all", "--json"}));
    size_t copies = 0;
    for (size_t at = all.find(x.id); at != std::string::npos; at = all.find(x.id, at + 1)) {
      ++copies;
    }
    d.Expect(s, copies == 1, kShelterCmi + " reconnects: nothing is delivered a second time");
    return Status::Ok();
  }

  Status Oversight() {
    const std::string s = "5 oversight";
    DemoSteps& d = steps_;
    const std::string monitor = "TH.MONITOR.NRM-OVERSIGHT";
    d.Say(s, monitor +
                 " verifies the Thai broker's audit log (metadata only: no payload is "
                 "ever in it) against the checkpoints each witness kept; each country's "
                 "log is verified the same way");
    std::vector<std::string> countries = net_.Countries();
    std::stable_partition(countries.begin(), countries.end(),
                          [](const std::string& cc) { return cc == "TH"; });  // its own first
    // Every log checked at once; the counts drawn meanwhile.
    const NationalSetup& th = net_.fed().countries.at("TH");
    NRM_ASSIGN_OR_RETURN(
        pid_t counting,
        net_.StartTool({"audit", "stats", th.broker_data, "--directory", th.directory,
                        "--authority-key", ToHex(th.authority.sign_public)},
                       "audit-stats"));
    std::vector<std::pair<std::string, pid_t>> verifying;
    std::map<std::string, std::string> cosigned;
    for (const std::string& cc : countries) {
      const NationalSetup& n = net_.fed().countries.at(cc);
      std::vector<std::string> verify = {"audit", "verify", n.broker_data, "--broker-key",
                                         net_.LogVkey(cc)};
      NRM_ASSIGN_OR_RETURN(auto kept,
                           net_.witnesses().Latest(n.log_origin, cc, SelfDirectory(), net_.logs()));
      bool all_kept = true;
      for (const DemoWitnesses::Kept& k : kept) {
        all_kept = all_kept && k.ok;
        cosigned[cc] += (cosigned[cc].empty() ? "" : ", ") + k.name + " up to " + k.size;
        verify.insert(verify.end(), {"--checkpoint", k.file});
      }
      if (!all_kept) cosigned[cc] = "FAILED: " + cosigned[cc];
      NRM_ASSIGN_OR_RETURN(pid_t pid, net_.StartTool(verify, "audit-verify-" + cc));
      verifying.emplace_back(cc, pid);
    }
    for (const auto& [cc, pid] : verifying) {
      const NationalSetup& n = net_.fed().countries.at(cc);
      d.Expect(s, !cosigned[cc].starts_with("FAILED"),
               n.broker.id + "'s log cosigned by " + cosigned[cc]);
      NRM_ASSIGN_OR_RETURN(int verified, WaitExit(pid, 60000));
      NRM_ASSIGN_OR_RETURN(std::string out, ReadFile(net_.logs() + "/audit-verify-" + cc + ".out"));
      d.Expect(s, verified == 0, n.broker.id + ": " + out.substr(0, out.find('\n')));
      BrokerAudit audit{cc, verified == 0, 0};
      const bool show = cc == "TH" && !d.json();
      if (show) d.out() << "    what the Thai broker saw (its audit log, metadata only):\n";
      NRM_RETURN_IF_ERROR(audit::ReadVerifiedRecords(
          n.broker_data + "/store", [&](uint64_t index, const audit::AuditRecord& r) {
            ++audit.records;
            const bool receipt = r.rule == "relay-receipt";
            if (!show || (!receipt && (r.event == audit::AuditEvent::kDelivered ||
                                       r.event == audit::AuditEvent::kAcknowledged))) {
              return;  // deliveries and acknowledgements: counted, not printed
            }
            std::string to;
            for (const std::string& id : r.recipients) to += (to.empty() ? "" : ",") + id;
            // A relay receipt's reason ends with the partner's checkpoint (base64): left out.
            const std::string what =
                receipt ? r.reason.substr(0, r.reason.find(" checkpoint ")) : r.rule;
            d.out() << "    #" << index << " " << audit::EventName(r.event) << " "
                    << (r.sender.empty() ? "-" : r.sender) << " -> " << (to.empty() ? "-" : to)
                    << " " << (r.kind.empty() ? "" : r.kind + " ")
                    << (receipt ? "relay receipt: " : "") << what << "\n";
          }));
      audits_.push_back(audit);
    }
    NRM_ASSIGN_OR_RETURN(int counted, WaitExit(counting, 60000));
    d.Expect(s, counted == 0,
             "monthly counts at the Thai broker by province, kind and outcome (cells under 5: "
             "<5):");
    NRM_ASSIGN_OR_RETURN(std::string csv, ReadFile(net_.logs() + "/audit-stats.out"));
    d.Show(csv, "stats");
    NRM_ASSIGN_OR_RETURN(auto stats, ComputeAuditStats(th.broker_data + "/store", nullptr));
    stats_json_ = StatsJson(stats);
    while (!stats_json_.empty() && stats_json_.back() == '\n') stats_json_.pop_back();
    return Status::Ok();
  }

  Status NoNameAtTheBrokers() {
    std::vector<std::string> leaks;
    std::vector<std::string> brokers, agents;
    for (const auto& [cc, n] : net_.fed().countries) {
      brokers.insert(brokers.end(), {n.broker_data, n.broker_log, net_.BrokerOutput(cc)});
    }
    for (const ScenarioAgency& a : GmsAgencies()) agents.push_back(net_.DataDir(a.id));
    const std::vector<std::string>& canaries = steps_.canaries();
    NRM_ASSIGN_OR_RETURN(size_t at_brokers, ScanForCanaries(brokers, canaries, leaks));
    NRM_ASSIGN_OR_RETURN(size_t stores, ScanForCanaries(agents, canaries, leaks));
    steps_.Expect("privacy", leaks.empty(),
                  leaks.empty()
                      ? "none of the " + std::to_string(canaries.size()) +
                            " persons' names appears in any of the four brokers' " +
                            std::to_string(at_brokers) +
                            " files (data directories and logs), nor in the clear in any of "
                            "the agents' " +
                            std::to_string(stores) + " files"
                      : "a person's name is in the clear in " + leaks[0]);
    return Status::Ok();
  }

  const BrokerAudit& Th() const {
    for (const BrokerAudit& a : audits_) {
      if (a.country == "TH") return a;
    }
    return audits_.front();
  }

  std::string dir_;
  DemoNetwork net_;
  DemoSteps steps_;
  std::string handover_case_, repatriation_case_;
  std::vector<BrokerAudit> audits_;
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
      demo.PrintJson(out);
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
