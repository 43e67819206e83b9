// nrm-agent --config FILE COMMAND: an agency's agent.
//   send --to ID[,ID...] --kind KIND --file PAYLOAD.json [--case HEX] [--handling H0..H3]
//   receive [--count N] [--timeout SECONDS] [--json]
// Exit 0 on success, 1 when the broker refused or nothing arrived in time, 2 on bad usage or
// configuration.
#include <chrono>
#include <iostream>
#include <sstream>

#include "agent/agent.h"
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
    "      Wait for N messages (default 1), verify and decrypt each, print it, acknowledge it.\n";

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

int main(int argc, char** argv) try {
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = nrm::Args::Parse(
      words, {"config", "to", "kind", "file", "case", "handling", "count", "timeout"},
      {"json", "help"});
  if (!args) return Fail(args.status().message() + "\n" + kUsage, 2);
  if (args->Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  auto config_path = args->Require("config");
  if (!config_path || args->positional().size() != 1) return Fail(kUsage, 2);
  const std::string command = args->positional()[0];
  if (command != "send" && command != "receive") {
    return Fail("unknown command '" + command + "'\n" + kUsage, 2);
  }
  if (!nrm::crypto::InitCrypto().ok()) return Fail("libsodium failed to start", 1);
  auto config = nrm::agent::LoadAgentConfig(*config_path);
  if (!config) return Fail(config.status().message(), 2);
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
