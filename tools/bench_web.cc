// nrm bench --web: how fast an agency's web inbox answers with many cases in its store. The
// store of one shelter is filled with --cases cases (default 10,000), each a referral offer from
// the police (a real envelope sealed and signed by the police's agent; the payload with a person,
// needs and consent), the signed receipt sent back and the case record with its timeline,
// written straight into the agent's store (what the daemon would write on delivery; delivery
// itself is measured by `nrm bench`). Then a real `nrm-agent run` serves the inbox; a supervisor
// logs in over HTTP; the bench asks for the first page of the inbox, a page deep in its history,
// and case pages of random cases, one request at a time on a new connection, and reports the
// time to the last byte (p50, p99, max), the agent's start (index build) and its memory. The
// store also holds --erased erased cases (default 10,000: what erasure leaves, a tombstone each),
// and the supervisors' list of erased cases is asked for, its first page and one deep in it.
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <regex>

#include "agent/agent.h"
#include "agent/step_state.h"
#include "agent/store.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "schemas/wire/payload.h"
#include "tools/bench_measure.h"
#include "tools/commands.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;
using json::Json;

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";

struct HttpAnswer {
  int status = 0;
  std::string headers, body;
};

// One HTTP/1.1 request on a new connection to 127.0.0.1:`port`; the whole answer.
Result<HttpAnswer> Http(uint16_t port, const std::string& method, const std::string& path,
                        const std::string& cookie, const std::string& body = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) ::close(fd);
    return Unavailable("cannot connect to the inbox");
  }
  const std::string host = "127.0.0.1:" + std::to_string(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nConnection: close\r\nOrigin: http://" + host + "\r\n";
  if (!cookie.empty()) req += "Cookie: " + cookie + "\r\n";
  if (method == "POST") {
    req += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  std::string in;
  bool ok = ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  char buf[65536];
  for (ssize_t n; ok && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) in.append(buf, n);
  ::close(fd);
  const size_t end = in.find("\r\n\r\n");
  if (!ok || end == std::string::npos || in.size() < 12) return IOError("no HTTP answer");
  return HttpAnswer{std::atoi(in.c_str() + 9), in.substr(0, end), in.substr(end + 4)};
}

std::string Header(const HttpAnswer& a, const std::string& name) {
  std::smatch m;
  const std::regex re("\r\n" + name + ": ([^\r]*)", std::regex::icase);
  return std::regex_search(a.headers, m, re) ? m[1].str() : "";
}

std::string Csrf(const std::string& page, const std::string& action) {
  std::smatch m;
  const std::regex re("action=\"" + action +
                      "\"[^>]*>\\s*<input type=\"hidden\" name=\"csrf\" value=\"([0-9a-f]+)\"");
  return std::regex_search(page, m, re) ? m[1].str() : "";
}

// Writes `cases` cases of `shelter` into its store, as delivered offers from the police.
Status FillStore(const Scenario& s, int cases, int erased, std::ostream& err) {
  NRM_ASSIGN_OR_RETURN(agent::AgentConfig police_config,
                       agent::LoadAgentConfig(s.AgentConfig(kPolice)));
  NRM_ASSIGN_OR_RETURN(agent::AgentConfig shelter_config,
                       agent::LoadAgentConfig(s.AgentConfig(kShelter)));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<agent::Agent> police,
                       agent::Agent::Load(police_config, SystemClock::Get()));
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                       agent::LoadOrCreateLocalKey(shelter_config.data_dir, ""));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<agent::AgentStore> store,
                       agent::AgentStore::Open(shelter_config.data_dir, std::move(key)));
  const char* kRisk[] = {"Low", "Medium", "High"};
  const int64_t start = SystemClock::Get().NowMillis() - int64_t{cases} * 60000;
  std::vector<agent::MessageRecord> messages;
  std::vector<agent::CaseRecord> records;
  for (int i = 0; i < cases; ++i) {
    const json::Json j = {
        {"case", {{"status", "Active"}, {"reason_for_referral", "identified in a raid"}}},
        {"person",
         {{"first_name", "Bench" + std::to_string(i)},
          {"birth_date", "2001-02-03"},
          {"nationality", "MM"},
          {"languages", {"my"}}}},
        {"needs", {{"immediate_needs", {"Medical"}}, {"risk_to_person", kRisk[i % 3]}}},
        {"consent",
         {{"share_sections", {"person", "needs"}},
          {"share_with_roles", {"shelter"}},
          {"purpose", "protection"},
          {"date", "2026-11-29"},
          {"recorded_by", "bench"}}}};
    NRM_ASSIGN_OR_RETURN(Bytes payload, wire::PayloadFromJson(j.dump()));
    const Bytes ref = crypto::RandomBytes(16);
    NRM_ASSIGN_OR_RETURN(std::vector<wire::Sealed> sealed,
                         police->SealStep({kShelter}, wire::Kind::ReferralOffer, ref,
                                          wire::Handling::H1, payload, {}));
    const int64_t at = start + int64_t{i} * 60000;
    agent::MessageRecord offer;
    offer.id = ToHex(sealed[0].message_id);
    offer.direction = "in";
    offer.kind = "referral_offer";
    offer.from = kPolice;
    offer.to = {kShelter};
    offer.case_ref = ToHex(ref);
    offer.created_at_ms = at;
    offer.state = std::string(i % 7 == 0 ? agent::kNew : agent::kRead);
    offer.received_at_ms = at;
    offer.frame = sealed[0].frame;
    offer.payload = payload;
    agent::MessageRecord receipt = offer;
    receipt.id = ToHex(crypto::RandomBytes(16));
    receipt.direction = "out";
    receipt.kind = "receipt";
    receipt.from = kShelter;
    receipt.to = {kPolice};
    receipt.in_reply_to = offer.id;
    receipt.state = std::string(agent::kAtTheBroker);  // a receipt is done once the broker holds it
    receipt.broker_receipt = "audit leaf " + std::to_string(2 * i + 1);
    receipt.payload.clear();
    agent::CaseRecord c;
    c.ref = offer.case_ref;
    c.state = "offered";
    c.parties = {kPolice};
    c.consent = agent::ConsentOf(payload);
    c.timeline = {{at, offer.id, offer.kind, kPolice, kShelter, "offered", ""},
                  {at + 50, receipt.id, "receipt", kShelter, kPolice, "offered", "signed receipt"}};
    messages.push_back(std::move(offer));
    messages.push_back(std::move(receipt));
    records.push_back(std::move(c));
    if (records.size() == 500 || i + 1 == cases) {
      NRM_RETURN_IF_ERROR(store->Write(messages, records));
      messages.clear();
      records.clear();
      err << "\rnrm bench --web: " << (i + 1) << " cases written" << std::flush;
    }
  }
  err << "\n";
  // Erased cases: tombstones alone, as erasure leaves them once every party confirmed and the
  // store was compacted.
  for (int i = 0; i < erased; ++i) {
    agent::Tombstone t;
    t.ref = ToHex(crypto::RandomBytes(16));
    t.at_ms = start + int64_t{i} * 60000;
    t.erased_by = "bench";
    t.reason = "erased for the bench";
    t.asked = {kPolice};
    t.confirmed = {kPolice + " at " + FormatTimeUtc(t.at_ms + 1000)};
    t.compacted = true;  // else the agent's start rewrites each (FinishErasures), synced
    NRM_RETURN_IF_ERROR(store->WriteTombstone(t, {}));
    if ((i + 1) % 500 == 0 || i + 1 == erased) {
      err << "\rnrm bench --web: " << (i + 1) << " erased cases written" << std::flush;
    }
  }
  if (erased > 0) err << "\n";
  return store->Close();
}

}  // namespace

int BenchWebCommand(const Words& words, std::ostream& out, std::ostream& err) {
  auto a = Args::Parse(words, {"cases", "erased", "requests", "workdir"}, {"web", "json"});
  if (!a || !a->positional().empty()) {
    err << "nrm bench --web: " << (a ? "unexpected argument" : a.status().message()) << "\n";
    return 2;
  }
  const int cases = std::atoi(a->Get("cases").value_or("10000").c_str());
  const int erased = std::atoi(a->Get("erased").value_or("10000").c_str());
  const int requests = std::atoi(a->Get("requests").value_or("300").c_str());
  if (cases < 1 || requests < 1 || erased < 0) {
    err << "nrm bench --web: --cases and --requests take positive numbers, --erased a number\n";
    return 2;
  }
  const bool temporary = !a->Get("workdir").has_value();
  Result<std::string> workdir = DemoWorkdir(a->Get("workdir"), "nrm-bench-web");
  if (!workdir.ok()) {
    err << "nrm bench --web: " << workdir.status().message() << "\n";
    return workdir.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  const std::string dir = *workdir;
  auto fail = [&](const Status& s) {
    err << "nrm bench --web: " << s.ToString() << " (kept in " << dir << ")\n";
    return 1;
  };
  const std::vector<ScenarioAgency> agencies = {
      {kPolice, "police", "TH", "Chiang Rai", "Chiang Rai ATU"},
      {kShelter, "shelter", "TH", "Nonthaburi", "Kredtrakarn shelter"}};
  Result<Scenario> s = CreateScenario(dir, agencies);
  if (!s.ok()) return fail(s.status());
  // No broker: the inbox reads the store; the agent keeps trying to connect meanwhile.
  if (Status st = WriteFileAtomic(s->endpoint_file, "tcp://127.0.0.1:9\n"); !st.ok()) {
    return fail(st);
  }
  const auto fill_start = std::chrono::steady_clock::now();
  if (Status st = FillStore(*s, cases, erased, err); !st.ok()) return fail(st);
  const double fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
  Result<std::string> config = ReadFile(s->AgentConfig(kShelter));
  if (!config.ok()) return fail(config.status());
  if (Status st =
          WriteFileAtomic(s->AgentConfig(kShelter), *config + "\n[web]\nlisten = \"127.0.0.1:0\"\n"
                                                              "time_zone = \"Asia/Bangkok\"\n");
      !st.ok()) {
    return fail(st);
  }
  const std::string data_dir = dir + "/agents/" + kShelter + "-data";
  const int64_t t0 = bench::NowNs();
  Result<pid_t> agent =
      Spawn({SelfDirectory() + "/nrm-agent", "--config", s->AgentConfig(kShelter), "run"},
            dir + "/logs/agent.out");
  if (!agent.ok()) return fail(agent.status());
  Status up = WaitForFile(data_dir + "/web.url", 120000);
  const double start_s = static_cast<double>(bench::NowNs() - t0) / 1e9;
  auto finish = [&](int code) {
    (void)Stop(*agent, 5000);
    if (temporary && code == 0) fs::remove_all(dir);
    return code;
  };
  if (!up.ok()) return finish(fail(up));
  Result<std::string> url = ReadFile(data_dir + "/web.url");
  const uint16_t port = static_cast<uint16_t>(std::atoi(url->substr(url->rfind(':') + 1).c_str()));

  // A supervisor, logged in (a one-time password, then their own).
  Result<std::string> password =
      AddInboxUser(s->AgentConfig(kShelter), "bench", "supervisor", dir + "/logs/user.out");
  if (!password.ok()) return finish(fail(password.status()));
  Result<HttpAnswer> login = Http(port, "POST", "/login", "", "user=bench&password=" + *password);
  if (!login.ok()) return finish(fail(login.status()));
  const std::string set = Header(*login, "Set-Cookie");
  const std::string cookie = set.substr(0, set.find(';'));
  Result<HttpAnswer> form = Http(port, "GET", "/password", cookie);
  if (!form.ok()) return finish(fail(form.status()));
  const std::string fresh = "bench-password-1";
  Result<HttpAnswer> changed =
      Http(port, "POST", "/password", cookie,
           "csrf=" + Csrf(form->body, "/password") + "&current_password=" + *password +
               "&new_password=" + fresh + "&new_password_again=" + fresh);
  if (!changed.ok() || changed->status != 303) {
    return finish(fail(Internal("could not log in to the inbox")));
  }

  // The case references, from the deepest inbox page's links and the first's.
  std::vector<std::string> refs;
  const std::regex kRef("/case/([0-9a-f]{32})");
  for (const char* page : {"/inbox", "/inbox?page=100", "/inbox?page=300"}) {
    Result<HttpAnswer> p = Http(port, "GET", page, cookie);
    if (!p.ok() || p->status != 200) return finish(fail(Internal("no inbox page")));
    for (auto it = std::sregex_iterator(p->body.begin(), p->body.end(), kRef);
         it != std::sregex_iterator(); ++it) {
      refs.push_back((*it)[1].str());
    }
  }
  std::mt19937 rng(7);
  struct Target {
    std::string name, path;
    std::vector<int64_t> ns;
    size_t bytes = 0;
  };
  std::vector<Target> targets = {{"inbox", "/inbox", {}},
                                 {"inbox page 200", "/inbox?page=200", {}},
                                 {"case page", "", {}},
                                 {"erased cases", "/erased", {}},
                                 {"erased cases page 100", "/erased?page=100", {}}};
  for (int i = 0; i < requests; ++i) {
    for (Target& t : targets) {
      const std::string path = t.path.empty() ? "/case/" + refs[rng() % refs.size()] : t.path;
      const int64_t begin = bench::NowNs();
      Result<HttpAnswer> r = Http(port, "GET", path, cookie);
      const int64_t took = bench::NowNs() - begin;
      if (!r.ok() || r->status != 200) {
        return finish(fail(Internal("GET " + path + " failed")));
      }
      t.ns.push_back(took);
      t.bytes = r->body.size();
    }
  }
  const bench::ProcSample mem = bench::SampleProcess(*agent);
  if (a->Has("json")) {
    Json j = {{"cases", cases},   {"erased", erased},         {"requests", requests},
              {"fill_s", fill_s}, {"agent_start_s", start_s}, {"agent_rss_mib", mem.rss_mib}};
    for (const Target& t : targets) {
      const bench::Percentiles p = bench::Summarize(t.ns);
      j[t.name] = {{"p50_ms", p.p50_us / 1000},
                   {"p99_ms", p.p99_us / 1000},
                   {"max_ms", p.max_us / 1000},
                   {"bytes", t.bytes},
                   {"requests", t.ns.size()}};
    }
    out << j.dump() << "\n";
  } else {
    out << "web inbox of a shelter with " << cases << " cases (" << 2 * cases << " messages) and "
        << erased << " erased cases in its store; " << requests
        << " requests of each kind, one at a time\n"
        << "  agent start, index built:  " << start_s << " s; resident memory " << mem.rss_mib
        << " MiB\n";
    for (const Target& t : targets) {
      const bench::Percentiles p = bench::Summarize(t.ns);
      out << "  " << t.name << std::string(24 - std::min<size_t>(23, t.name.size()), ' ') << "p50 "
          << p.p50_us / 1000 << " ms   p99 " << p.p99_us / 1000 << " ms   max " << p.max_us / 1000
          << " ms   (" << t.bytes << " bytes, " << t.ns.size() << " requests)\n";
    }
  }
  return finish(0);
}

}  // namespace nrm::tools
