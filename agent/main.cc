// nrm-agent --config FILE COMMAND: an agency's agent.
//   run: the long-running agent (agent/daemon.h) that owns the agency's store.
//   inbox, show, cases, timeline, offer, accept, ...: people's commands, passed to the running
//     agent over its control socket (see kUsage and docs/AGENT.md).
//   send, receive: one-shot, without the store (for scripts and the demo).
// Exit 0 on success, 1 when a step or the broker refused or nothing arrived in time, 2 on bad
// usage or configuration.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "agent/agent.h"
#include "agent/daemon.h"
#include "agent/key_file.h"
#include "common/args.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"

namespace {

using nrm::Status;

constexpr const char* kUsage =
    "usage: nrm-agent --config FILE COMMAND [options]\n"
    "commands:\n"
    "  send --to ID[,ID...] --kind KIND --file PAYLOAD.json [--case HEX32] [--handling H0]\n"
    "      Seal PAYLOAD.json (checked against schemas/payload.fbs) to the recipients, sign it\n"
    "      and send it through the broker. Prints the message id and case reference.\n"
    "  receive [--count N] [--timeout SECONDS] [--json]\n"
    "      Wait for N messages (default 1), verify and decrypt each, print it, acknowledge it.\n"
    "\n"
    "  protect-key --in ID.key --out ID.key.protected\n"
    "      Seal the secret key file under NRM_AGENT_PASSPHRASE (crypto_pwhash); an agent whose\n"
    "      key_file is protected needs the same variable to start.\n"
    "  run\n"
    "      The long-running agent: owns the store in data_dir (outbox, inbox, cases), resends\n"
    "      until the broker accepts, stores before acknowledging, answers the commands below.\n"
    "      NRM_AGENT_PASSPHRASE, when set, protects the store's local key (crypto_pwhash).\n"
    "commands for people (need `run`; --json for machine-readable output):\n"
    "  inbox [--all]                      new messages (--all: read ones too)\n"
    "  outbox                             what this agency sent, with broker and signed receipts\n"
    "  show ID                            one message (6+ hex digits of its id) with its payload\n"
    "  cases                              every case: state, parties, consent, next steps\n"
    "  timeline CASE                      every step of a case (CASE: reference, prefix or label)\n"
    "  offer --to AGENCY --file case.json [--case CASE] [--label L] [--override REASON]\n"
    "  accept ID [--note N]\n"
    "  decline ID --reason REASON         e.g. lack_of_capacity\n"
    "  confirm-handover ID\n"
    "  revoke ID --reason REASON\n"
    "  close CASE --outcome OUTCOME [--reason R] [--to AGENCY]   default: every party\n"
    "  request-repatriation --to AGENCY --file request.json [--case CASE] [--label L]\n"
    "  respond ID --family-found yes|no [--reception-agency AGENCY] [--file response.json]\n"
    "  share CASE --to AGENCY [--file F]  bring an agency into the case (status_update)\n"
    "  travel-documents CASE --to AGENCY --file docs.json\n"
    "  schedule-return CASE --to AGENCY --date YYYY-MM-DD --border-point P\n"
    "  complete-return CASE --to AGENCY[,AGENCY]\n"
    "  followup CASE --to AGENCY [--file F] [--note N]\n"
    "  revoke-consent CASE --reason R [--to AGENCY]\n"
    "  Steps that carry personal sections need the person's consent to cover each recipient;\n"
    "  --override REASON sends anyway, marked in the envelope and audited by the broker.\n";

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

const std::set<std::string> kPeopleCommands = {
    "inbox",           "outbox",          "show",
    "cases",           "timeline",        "offer",
    "accept",          "decline",         "confirm-handover",
    "revoke",          "close",           "request-repatriation",
    "respond",         "share",           "travel-documents",
    "schedule-return", "complete-return", "followup",
    "revoke-consent"};

int Fail(const std::string& what, int code) {
  std::cerr << "nrm-agent: " << what << "\n";
  return code;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

int Send(nrm::agent::Agent& agent, const nrm::Args& args) {
  auto to = args.Require("to");
  auto kind_name = args.Require("kind");
  auto file = args.Require("file");
  for (const auto* r : {&to, &kind_name, &file}) {
    if (!r->ok()) return Fail("send: " + r->status().message() + "\n" + kUsage, 2);
  }
  auto kind = nrm::wire::KindFromName(*kind_name);
  if (!kind) return Fail("send: " + kind.status().message(), 2);
  auto handling = nrm::wire::HandlingFromName(args.Get("handling").value_or("H0"));
  if (!handling) return Fail("send: " + handling.status().message(), 2);
  nrm::Bytes case_ref;
  if (auto hex = args.Get("case")) {
    auto b = nrm::FromHexExact(*hex, nrm::wire::kCaseRefBytes, "--case");
    if (!b) return Fail("send: " + b.status().message(), 2);
    case_ref = *b;
  } else {
    case_ref = nrm::crypto::RandomBytes(nrm::wire::kCaseRefBytes);  // a new case
  }
  auto json = nrm::ReadFile(*file);
  if (!json) return Fail(json.status().message(), 2);
  auto payload = nrm::wire::PayloadFromJson(*json);
  if (!payload) return Fail(*file + ": " + payload.status().message(), 2);

  auto outcomes = agent.Send(Split(*to, ','), *kind, nrm::ByteView(case_ref), *handling,
                             nrm::ByteView(*payload), 10000);
  if (!outcomes) return Fail("send: " + outcomes.status().message(), 1);
  bool all = true;
  for (const nrm::agent::SendOutcome& outcome : *outcomes) {
    std::cout << (outcome.accepted ? "accepted" : "REFUSED") << " message "
              << nrm::ToHex(outcome.message_id) << " case " << nrm::ToHex(case_ref) << " kind "
              << *kind_name;
    if (!outcome.accepted) std::cout << ": " << outcome.code << ": " << outcome.reason;
    if (outcome.receipt_leaf) {
      std::cout << "\n  receipt: audit leaf " << *outcome.receipt_leaf
                << ", in a tree head signed by the broker (verified)";
    }
    std::cout << "\n";
    all = all && outcome.accepted;
  }
  return all ? 0 : 1;
}

int Receive(nrm::agent::Agent& agent, const nrm::Args& args) {
  int count = 1, timeout_s = 30;
  try {
    count = std::stoi(args.Get("count").value_or("1"));
    timeout_s = std::stoi(args.Get("timeout").value_or("30"));
  } catch (const std::exception&) {
    return Fail("receive: --count and --timeout take whole numbers", 2);
  }
  const bool json = args.Has("json");
  int got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (got < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Fail("received " + std::to_string(got) + " of " + std::to_string(count) +
                      " messages before the timeout",
                  1);
    }
    auto r = agent.Receive(static_cast<int>(left.count()));
    if (!r) {
      std::cerr << "nrm-agent: " << r.status().ToString() << "\n";
      continue;
    }
    if (!*r) continue;
    const nrm::agent::Received& m = **r;
    if (m.type == nrm::agent::Received::Type::kExpiryNotice) {
      std::cout << "EXPIRED: message " << nrm::ToHex(m.message_id) << " was never acknowledged by "
                << m.recipients[0] << " and was removed from the broker\n";
      if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
      continue;
    }
    auto text = nrm::wire::PayloadToJson(m.payload.view());
    if (!text) {
      std::cerr << "nrm-agent: message " << nrm::ToHex(m.message_id) << ": "
                << text.status().ToString() << "\n";
    }
    if (json) {
      std::cout << "{\"message_id\":\"" << nrm::ToHex(m.message_id) << "\",\"sender\":\""
                << m.sender << "\",\"kind\":\"" << nrm::wire::KindName(m.kind) << "\",\"case\":\""
                << nrm::ToHex(m.case_ref) << "\",\"handling\":\""
                << nrm::wire::HandlingName(m.handling) << "\",\"created_at\":\""
                << nrm::FormatTimeUtc(m.created_at_ms)
                << "\",\"payload\":" << (text ? *text : "null") << "}\n";
    } else {
      std::cout << "message " << nrm::ToHex(m.message_id) << "\n"
                << "  from      " << m.sender << "\n"
                << "  kind      " << nrm::wire::KindName(m.kind) << "\n"
                << "  case      " << nrm::ToHex(m.case_ref) << "\n"
                << "  handling  " << nrm::wire::HandlingName(m.handling) << "\n"
                << "  created   " << nrm::FormatTimeUtc(m.created_at_ms) << "\n"
                << "  payload   " << (text ? *text : "(unreadable)") << "\n";
    }
    std::cout.flush();
    if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
    ++got;
  }
  return 0;
}

}  // namespace

int Run(const nrm::agent::AgentConfig& config) {
  const char* pass = std::getenv("NRM_AGENT_PASSPHRASE");
  auto daemon = nrm::agent::Daemon::Open(config, pass ? pass : "");
  if (!daemon) return Fail(daemon.status().ToString(), 2);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::cerr << "nrm-agent: " << config.agency << " running; control socket "
            << nrm::agent::ControlPath(config) << "\n";
  Status s = (*daemon)->Run(g_stop);
  if (!s.ok()) return Fail(s.ToString(), 1);
  return 0;
}

// Passes a person's command to the running agent and prints its answer.
int Call(const nrm::agent::AgentConfig& config, std::vector<std::string> words) {
  const std::string path = nrm::agent::ControlPath(config);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return Fail("the agent of " + config.agency + " is not running (no " + path +
                    "); start it with: nrm-agent --config FILE run",
                1);
  }
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "--file") {  // the daemon has another working directory
      std::error_code ec;
      words[i + 1] = std::filesystem::absolute(words[i + 1], ec).string();
    }
  }
  nrm::transport::Frames request;
  for (const std::string& w : words) request.push_back(nrm::transport::Frame(w));
  auto answer = nrm::transport::ControlCall(path, request, 30000);
  if (!answer) return Fail(answer.status().message(), 1);
  if (answer->size() != 3) return Fail("the agent gave a malformed answer", 1);
  std::cout << nrm::transport::FrameText((*answer)[1]);
  std::cerr << nrm::transport::FrameText((*answer)[2]);
  const std::string_view code = nrm::transport::FrameText((*answer)[0]);
  return code == "0" ? 0 : code == "2" ? 2 : 1;
}

int main(int argc, char** argv) try {
  std::vector<std::string> words(argv + 1, argv + argc);
  // --config FILE may come first; everything after the command goes to the running agent.
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "--config" || words[i] == "--help") {
      ++i;
      continue;
    }
    if (kPeopleCommands.count(words[i]) == 0) break;
    std::vector<std::string> head(words.begin(), words.begin() + static_cast<long>(i));
    auto args = nrm::Args::Parse(head, {"config"}, {"help"});
    if (!args) return Fail(args.status().message() + "\n" + kUsage, 2);
    auto config_path = args->Require("config");
    if (!config_path) return Fail(kUsage, 2);
    auto config = nrm::agent::LoadAgentConfig(*config_path);
    if (!config) return Fail(config.status().message(), 2);
    return Call(*config,
                std::vector<std::string>(words.begin() + static_cast<long>(i), words.end()));
  }
  auto args = nrm::Args::Parse(
      words, {"config", "to", "kind", "file", "case", "handling", "count", "timeout", "in", "out"},
      {"json", "help"});
  if (!args) return Fail(args.status().message() + "\n" + kUsage, 2);
  if (args->Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  auto config_path = args->Require("config");
  if (!config_path || args->positional().size() != 1) return Fail(kUsage, 2);
  const std::string command = args->positional()[0];
  if (command == "protect-key") {
    auto in = args->Require("in");
    auto out = args->Require("out");
    if (!in || !out) return Fail("protect-key: give --in ID.key --out ID.key.protected", 2);
    if (!nrm::crypto::InitCrypto().ok()) return Fail("libsodium failed to start", 1);
    const char* pass = std::getenv("NRM_AGENT_PASSPHRASE");
    Status s = nrm::agent::ProtectKeyFile(*in, *out, pass ? pass : "");
    if (!s.ok()) return Fail(s.ToString(), 2);
    std::cout << "wrote " << *out << ": point key_file at it and delete " << *in << "\n";
    return 0;
  }
  if (command != "send" && command != "receive" && command != "run") {
    return Fail("unknown command '" + command + "'\n" + kUsage, 2);
  }
  if (!nrm::crypto::InitCrypto().ok()) return Fail("libsodium failed to start", 1);
  auto config = nrm::agent::LoadAgentConfig(*config_path);
  if (!config) return Fail(config.status().message(), 2);
  if (const char* pass = std::getenv("NRM_AGENT_PASSPHRASE")) config->key_passphrase = pass;
  if (command == "run") return Run(*config);
  auto agent = nrm::agent::Agent::Open(*config, nrm::SystemClock::Get());
  if (!agent)
    return Fail(agent.status().ToString(),
                agent.status().code() == nrm::Code::kUnavailable ||
                        agent.status().code() == nrm::Code::kUnauthenticated
                    ? 1
                    : 2);
  return command == "send" ? Send(**agent, *args) : Receive(**agent, *args);
} catch (const std::exception& e) {
  return Fail(std::string("fatal: ") + e.what(), 1);
}
