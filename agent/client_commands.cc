#include "agent/client_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "agent/command.h"
#include "agent/command_table.h"
#include "agent/consent.h"
#include "agent/key_file.h"
#include "agent/validate.h"
#include "agent/words.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "common/transport/control.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {

int Fail(const std::string& what, int code) {
  std::cerr << "nrm-agent: " << what << "\n";
  return code;
}

int Send(Agent& agent, const Args& args) {
  auto to = args.Require("to");
  auto kind_name = args.Require("kind");
  auto file = args.Require("file");
  for (const auto* r : {&to, &kind_name, &file}) {
    if (!r->ok()) return Fail("send: " + r->status().message() + "\n" + Overview(), 2);
  }
  auto kind = wire::KindFromName(*kind_name);
  if (!kind) return Fail("send: " + kind.status().message(), 2);
  auto handling = wire::HandlingFromName(args.Get("handling").value_or("H0"));
  if (!handling) return Fail("send: " + handling.status().message(), 2);
  Bytes case_ref;
  if (auto hex = args.Get("case")) {
    auto b = FromHexExact(*hex, wire::kCaseRefBytes, "--case");
    if (!b) return Fail("send: " + b.status().message(), 2);
    case_ref = *b;
  } else {
    case_ref = crypto::RandomBytes(wire::kCaseRefBytes);  // a new case
  }
  // No side door: what send seals goes to no store, no consent check and no workflow, so it
  // carries no personal data (docs/AGENT.md); the caseworker's commands do all three.
  static constexpr wire::Kind kPersonalKinds[] = {
      wire::Kind::ReferralOffer, wire::Kind::RepatriationRequest, wire::Kind::TravelDocuments,
      wire::Kind::CounsellingNotes, wire::Kind::InterviewRequest};
  const std::string use =
      ": send is a low-level tool for tests and interop, without the consent check, the records "
      "and the workflow of the running agent; use its commands (offer, request-repatriation, "
      "travel-documents, share, ...: nrm-agent --help)";
  if (std::find(std::begin(kPersonalKinds), std::end(kPersonalKinds), *kind) !=
      std::end(kPersonalKinds)) {
    return Fail("send: " + *kind_name + " carries personal data" + use, 2);
  }
  auto json = ReadFile(*file);
  if (!json) return Fail(json.status().message(), 2);
  ValidateOptions options;
  options.kind = *kind;
  options.now_ms = SystemClock::Get().NowMillis();
  auto payload = CaseFromJson(*json, *file, agent.directory(), options);
  if (!payload) return Fail(payload.status().message(), 2);
  for (const std::string& section : wire::PresentSections(**wire::VerifyPayload(*payload))) {
    if (IsPersonalSection(section)) {
      return Fail("send: the " + section + " section is personal data" + use, 2);
    }
  }

  auto outcomes =
      agent.Send(Split(*to, ','), *kind, ByteView(case_ref), *handling, ByteView(*payload), 10000);
  if (!outcomes) return Fail("send: " + outcomes.status().message(), 1);
  bool all = true;
  for (const SendOutcome& outcome : *outcomes) {
    std::cout << (outcome.accepted ? "accepted" : "REFUSED") << " message "
              << ToHex(outcome.message_id) << " case " << ToHex(case_ref) << " kind " << *kind_name;
    if (!outcome.accepted) std::cout << ": " << outcome.code << ": " << outcome.reason;
    if (outcome.receipt_leaf) {
      std::cout << "\n  receipt: audit leaf " << *outcome.receipt_leaf
                << ", in a checkpoint signed by the broker (verified)";
    }
    std::cout << "\n";
    all = all && outcome.accepted;
  }
  return all ? 0 : 1;
}

int Receive(Agent& agent, const Args& args) {
  int count = 1, timeout_s = 30;
  try {
    count = std::stoi(args.Get("count").value_or("1"));
    timeout_s = std::stoi(args.Get("timeout").value_or("30"));
  } catch (const std::exception&) {
    return Fail("receive: --count and --timeout take whole numbers", 2);
  }
  const bool json = args.Has("json");
  int got = 0;
  // The broker delivers again what was not acknowledged on an earlier connection, and a
  // misbehaving one may repeat anything: each message is shown once, by its id.
  std::set<Bytes> shown;
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
    const Received& m = **r;
    if (m.type == Received::Type::kRelayReceipt) {  // verified; it has the step's id
      std::cout << "RELAYED: message " << ToHex(m.message_id) << " to " << m.recipients[0]
                << ", receipt " << m.relay_receipt << "\n";
      if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
      continue;
    }
    if (!shown.insert(m.message_id).second) {
      if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
      continue;
    }
    if (m.type == Received::Type::kExpiryNotice) {
      std::cout << "EXPIRED: message " << ToHex(m.message_id) << " was never acknowledged by "
                << m.recipients[0] << " and was removed from the broker\n";
      if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
      continue;
    }
    auto text = wire::PayloadToJson(m.payload.view());
    if (!text) {
      std::cerr << "nrm-agent: message " << ToHex(m.message_id) << ": " << text.status().ToString()
                << "\n";
    }
    if (json) {
      std::cout << JsonLine({{"message_id", ToHex(m.message_id)},
                             {"sender", m.sender},
                             {"kind", std::string(wire::KindName(m.kind))},
                             {"case", ToHex(m.case_ref)},
                             {"handling", std::string(wire::HandlingName(m.handling))},
                             {"created_at", FormatTimeUtc(m.created_at_ms)}},
                            "payload", text ? *text : "null");
    } else {
      std::cout << "message " << ToHex(m.message_id) << "\n"
                << "  from      " << m.sender << "\n"
                << "  kind      " << wire::KindName(m.kind) << "\n"
                << "  case      " << ToHex(m.case_ref) << "\n"
                << "  handling  " << wire::HandlingName(m.handling) << "\n"
                << "  created   " << FormatTimeUtc(m.created_at_ms) << "\n"
                << "  payload   " << (text ? *text : "(unreadable)") << "\n";
    }
    std::cout.flush();
    if (Status s = agent.Acknowledge(m.message_id); !s.ok()) return Fail(s.ToString(), 1);
    ++got;
  }
  return 0;
}

int ProtectKey(const Args& args) {
  auto in = args.Require("in");
  auto out = args.Require("out");
  if (!in || !out) return Fail("protect-key: give --in ID.key --out ID.key.protected", 2);
  if (!crypto::InitCrypto().ok()) return Fail("libsodium failed to start", 1);
  const char* pass = std::getenv("NRM_AGENT_PASSPHRASE");
  Status s = ProtectKeyFile(*in, *out, pass ? pass : "");
  if (!s.ok()) return Fail(s.ToString(), 2);
  std::cout << "wrote " << *out << ": point key_file at it and delete " << *in << "\n";
  return 0;
}

int CallAgent(const AgentConfig& config, std::vector<std::string> words) {
  const std::string path = ControlPath(config);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return Fail("the agent of " + config.agency + " is not running (no " + path +
                    "); start it with: nrm-agent --config FILE run",
                1);
  }
  if (words.size() > 1 && words[0] == "import" && !words[1].starts_with("-")) {
    std::error_code ec;  // the daemon has another working directory
    words[1] = std::filesystem::absolute(words[1], ec).string();
  }
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "--file" || words[i] == "--out") {  // the daemon's directory is another
      std::error_code ec;
      words[i + 1] = std::filesystem::absolute(words[i + 1], ec).string();
    }
  }
  transport::Frames request;
  for (const std::string& w : words) request.push_back(transport::Frame(w));
  auto answer = transport::ControlCall(path, request, 30000);
  if (!answer) return Fail(answer.status().message(), 1);
  if (answer->size() != 3) return Fail("the agent gave a malformed answer", 1);
  std::cout << transport::FrameText((*answer)[1]);
  std::cerr << transport::FrameText((*answer)[2]);
  const std::string_view code = transport::FrameText((*answer)[0]);
  return code == "0" ? 0 : code == "2" ? 2 : 1;
}

}  // namespace nrm::agent
