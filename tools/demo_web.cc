// nrm demo --web: the demo's setup (one broker and one agent per agency, as real processes) with
// every agent serving its web inbox, one user per agency with a one-time password, and the URL
// of each inbox printed; then it waits until Ctrl-C (or SIGTERM, or its parent going away) and
// stops every process it started. A newcomer walks scenario 1 in the browser; the browser
// tests (tests/web/) drive the same setup with --json.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include "common/args.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "tools/commands.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm::tools {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

// The agency's local time zone for its inbox.
std::string ZoneOf(const std::string& country) {
  static const std::map<std::string, std::string> kZones = {
      {"TH", "Asia/Bangkok"},   {"KH", "Asia/Phnom_Penh"},  {"MM", "Asia/Yangon"},
      {"LA", "Asia/Vientiane"}, {"VN", "Asia/Ho_Chi_Minh"}, {"CN", "Asia/Shanghai"}};
  auto it = kZones.find(country);
  return it == kZones.end() ? "UTC" : it->second;
}

struct Inbox {
  ScenarioAgency agency;
  std::string url, user, password, data_dir;
  pid_t pid = -1;
};

class WebDemo {
 public:
  WebDemo(std::string dir, int port_base, int idle_logout_s)
      : dir_(std::move(dir)), port_base_(port_base), idle_logout_s_(idle_logout_s) {}
  ~WebDemo() { (void)StopAll(); }

  Status Start() {
    NRM_ASSIGN_OR_RETURN(scenario_, CreateScenario(dir_, GmsAgencies()));
    int i = 0;
    for (const ScenarioAgency& a : GmsAgencies()) {
      if (a.role == "monitor") continue;  // it reads audit figures, never cases
      Inbox box;
      box.agency = a;
      box.data_dir = dir_ + "/agents/" + a.id + "-data";
      const std::string port = port_base_ == 0 ? "0" : std::to_string(port_base_ + i);
      NRM_ASSIGN_OR_RETURN(std::string config, ReadFile(scenario_.AgentConfig(a.id)));
      config += "\n[web]\nlisten = \"127.0.0.1:" + port + "\"\ntime_zone = \"" + ZoneOf(a.country) +
                "\"\nidle_logout_s = " + std::to_string(idle_logout_s_) + "\n";
      NRM_RETURN_IF_ERROR(WriteFileAtomic(scenario_.AgentConfig(a.id), config));
      inboxes_.push_back(box);
      ++i;
    }
    NRM_ASSIGN_OR_RETURN(
        broker_, Spawn({SelfDirectory() + "/nrm-broker", "--config", scenario_.broker_config},
                       dir_ + "/logs/broker.out"));
    NRM_RETURN_IF_ERROR(WaitForFile(scenario_.endpoint_file, 10000)
                            .WithContext("the broker did not start (see logs/broker.out)"));
    NRM_RETURN_IF_ERROR(scenario_.PinBrokerEndpoint());
    for (Inbox& box : inboxes_) {
      NRM_ASSIGN_OR_RETURN(box.pid, Spawn({SelfDirectory() + "/nrm-agent", "--config",
                                           scenario_.AgentConfig(box.agency.id), "run"},
                                          Log(box, "agent")));
    }
    for (Inbox& box : inboxes_) {
      NRM_RETURN_IF_ERROR(WaitForFile(box.data_dir + "/web.url", 20000)
                              .WithContext(box.agency.id + "'s agent did not start (see " +
                                           Log(box, "agent") + ")"));
      NRM_ASSIGN_OR_RETURN(box.url, ReadFile(box.data_dir + "/web.url"));
      while (!box.url.empty() && box.url.back() == '\n') box.url.pop_back();
      NRM_RETURN_IF_ERROR(AddUser(box));
    }
    return Status::Ok();
  }

  void Print(std::ostream& out, bool as_json) const {
    if (as_json) {
      json::Json list = json::Json::array();
      for (const Inbox& b : inboxes_) {
        list.push_back({{"id", b.agency.id},
                        {"name", b.agency.name},
                        {"role", b.agency.role},
                        {"country", b.agency.country},
                        {"url", b.url},
                        {"user", b.user},
                        {"password", b.password},
                        {"config", scenario_.AgentConfig(b.agency.id)},
                        {"data_dir", b.data_dir}});
      }
      out << json::Json({{"workdir", dir_},
                         {"broker_data", scenario_.broker_data},
                         {"broker_pid", broker_},
                         {"logs", dir_ + "/logs"},
                         {"agencies", list}})
                 .dump()
          << std::endl;
      return;
    }
    out << "The web inbox of each agency (log in with the user and the one-time password; you\n"
           "choose your own password at the first login):\n\n";
    for (const Inbox& b : inboxes_) {
      out << "  " << b.agency.name << " (" << b.agency.id << ", " << b.agency.role << ")\n"
          << "    " << b.url << "   user: " << b.user << "   one-time password: " << b.password
          << "\n";
    }
    out << "\nScenario 1 (docs/AGENT.md): log in as the police, make a new referral to the\n"
           "Kredtrakarn shelter; log in as the shelter in another browser and decline it; the\n"
           "police offer it to the Baan Ping shelter, which accepts and, when the person arrives,\n"
           "confirms the handover; the police print the handover record and close the case.\n"
           "Everything is in "
        << dir_ << ". Ctrl-C stops every process.\n"
        << std::flush;
  }

  // Until Ctrl-C or SIGTERM, or the parent goes away, or a process dies.
  Status Wait() {
    const pid_t parent = ::getppid();
    while (!g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      // Ctrl-C in a terminal reaches the agents too: stopping then is no failure.
      if (g_stop.load() || ::getppid() != parent) break;
      for (const Inbox& b : inboxes_) {
        if (WaitExit(b.pid, 0).ok()) {
          return Internal(b.agency.id + "'s agent stopped (see " + Log(b, "agent") + ")");
        }
      }
      if (WaitExit(broker_, 0).ok()) return Internal("the broker stopped (see logs/broker.out)");
    }
    return Status::Ok();
  }

  Status StopAll() {
    bool clean = true;
    for (Inbox& b : inboxes_) {
      if (b.pid > 0) {
        Result<int> code = Stop(b.pid, 5000);
        clean = clean && code.ok() && *code == 0;
        b.pid = -1;
      }
    }
    if (broker_ > 0) {
      Result<int> code = Stop(broker_, 5000);
      clean = clean && code.ok() && *code == 0;
      broker_ = -1;
    }
    return clean ? Status::Ok()
                 : Internal("a process did not stop cleanly (see " + dir_ + "/logs)");
  }

 private:
  std::string Log(const Inbox& b, const std::string& what) const {
    return dir_ + "/logs/" + b.agency.id + "." + what + ".out";
  }

  Status AddUser(Inbox& box) {
    box.user = "supervisor";
    NRM_ASSIGN_OR_RETURN(box.password, AddInboxUser(scenario_.AgentConfig(box.agency.id), box.user,
                                                    "supervisor", Log(box, "user")));
    return Status::Ok();
  }

  std::string dir_;
  int port_base_;
  int idle_logout_s_;
  Scenario scenario_;
  pid_t broker_ = -1;
  std::vector<Inbox> inboxes_;
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

Result<std::string> AddInboxUser(const std::string& config, const std::string& user,
                                 const std::string& role, const std::string& log) {
  NRM_ASSIGN_OR_RETURN(pid_t pid, Spawn({SelfDirectory() + "/nrm-agent", "--config", config, "user",
                                         "add", user, "--role", role, "--one-time-password"},
                                        log));
  NRM_ASSIGN_OR_RETURN(int code, WaitExit(pid, 30000));
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(log));
  const std::string mark = "one-time password for " + user + ": ";
  const size_t at = text.find(mark);
  if (code != 0 || at == std::string::npos) {
    return Internal("could not add the user " + user + " (" + config + "): " + text);
  }
  return text.substr(at + mark.size(), text.find('\n', at) - at - mark.size());
}

int DemoWebCommand(const Words& words, std::ostream& out, std::ostream& err) {
  auto a = Args::Parse(words, {"workdir", "port-base", "idle-logout"}, {"web", "json"});
  if (!a || !a->positional().empty()) {
    err << "nrm demo --web: " << (a ? "unexpected argument" : a.status().message()) << "\n";
    return 2;
  }
  const int port_base = std::atoi(a->Get("port-base").value_or("8470").c_str());
  const int idle = std::atoi(a->Get("idle-logout").value_or("900").c_str());
  if (port_base < 0 || port_base > 65000 || idle < 1) {
    err << "nrm demo --web: --port-base takes 0 (any free ports) or 1-65000; --idle-logout "
           "takes seconds\n";
    return 2;
  }
  const bool keep = a->Get("workdir").has_value();
  Result<std::string> workdir = DemoWorkdir(a->Get("workdir"), "nrm-demo-web");
  if (!workdir.ok()) {
    err << "nrm demo --web: " << workdir.status().message() << "\n";
    return workdir.status().code() == Code::kInvalidArgument ? 2 : 1;
  }
  const std::string dir = *workdir;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int rc = 0;
  {
    WebDemo demo(dir, port_base, idle);
    Status s = demo.Start();
    if (!s.ok()) {
      err << "nrm demo --web: " << s.message() << " (everything is kept in " << dir << ")\n";
      return 1;
    }
    demo.Print(out, a->Has("json"));
    s = demo.Wait();
    Status stopped = demo.StopAll();
    if (!s.ok() || !stopped.ok()) {
      err << "nrm demo --web: " << (s.ok() ? stopped : s).message() << "\n";
      rc = 1;
    }
  }
  if (!keep && rc == 0) fs::remove_all(dir);
  if (!a->Has("json")) out << "demo --web: stopped\n";
  return rc;
}

}  // namespace nrm::tools
