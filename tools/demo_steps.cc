#include "tools/demo_steps.h"

#include <chrono>
#include <sstream>
#include <thread>

#include "agent/step_state.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "tools/demo_cases.h"

namespace nrm::tools {
namespace {

// The value of the first "key":"value" in the --json output of a command.
std::string JsonField(const std::string& line, const std::string& key) {
  const std::string open = "\"" + key + "\":\"";
  size_t at = line.find(open);
  if (at == std::string::npos) return "";
  at += open.size();
  return line.substr(at, line.find('"', at) - at);
}

}  // namespace

Result<DemoSteps::Step> DemoSteps::Take(const std::string& s, const std::string& from,
                                        std::vector<std::string> words, bool expect_accepted) {
  words.push_back("--json");
  const std::string what = words.front();
  NRM_ASSIGN_OR_RETURN(int code, net_.RunAgent(from, words, "step"));
  NRM_ASSIGN_OR_RETURN(std::string output, ReadFile(net_.Log(from, "step")));
  Step step;
  std::string kind, to, status;
  if (Result<json::Json> j = json::Parse(output); j.ok() && j->is_object()) {
    step.case_ref = j->value("case", "");
    const json::Json& m = (*j)["messages"].empty() ? json::Json::object() : (*j)["messages"][0];
    step.message_id = step.id = m.value("message_id", "");
    kind = m.value("kind", "");
    status = m.value("status", "");
    step.detail = m.value("detail", "");
    for (const json::Json& r : m.value("to", json::Json::array())) {
      to += (to.empty() ? "" : ",") + r.get<std::string>();
    }
  }
  const bool accepted = code == 0 && (status == agent::kAtTheBroker || status == agent::kDelivered);
  const bool refused = code == 1 && status == agent::kNotDelivered;
  std::string text = from + " " + what + " (" + kind + ") -> " + to + ": ";
  if (accepted) {
    text += status + ": " + from.substr(0, 2) +
            "'s broker accepted it (receipt verified), stored until acknowledged";
  } else if (refused) {
    text += "REFUSED: " + step.detail;
  } else {
    text += "FAILED: " + output;
  }
  Expect(s, expect_accepted ? accepted : refused, text);
  if (expect_accepted ? !accepted : !refused) {
    return Internal("unexpected outcome of " + from + " " + what + " (see " +
                    net_.Log(from, "step") + ")");
  }
  return step;
}

Status DemoSteps::Arrives(const std::string& s, const std::string& agency, const Step& step) {
  NRM_ASSIGN_OR_RETURN(std::string inbox,
                       Poll(agency, {"inbox", "--all", "--json"}, step.message_id));
  const std::string line = inbox.substr(inbox.find(step.message_id));
  Expect(s, true,
         agency + " received " + JsonField(line, "kind") + " from " + JsonField(line, "from") +
             ": verified, decrypted, checked against the policy, stored, acknowledged");
  return Status::Ok();
}

Status DemoSteps::Reaches(const std::string& s, const std::string& agency, const std::string& ref,
                          const std::string& state) {
  NRM_RETURN_IF_ERROR(Poll(agency, {"timeline", ref, "--json"},
                           "\"case\":\"" + ref + "\",\"state\":\"" + state + "\"")
                          .status());
  Expect(s, true, "the case is " + state + " at " + agency);
  return Status::Ok();
}

Result<std::string> DemoSteps::TimelineNote(const std::string& agency, const std::string& ref,
                                            const std::string& prefix) {
  NRM_ASSIGN_OR_RETURN(std::string timeline,
                       Poll(agency, {"timeline", ref, "--json"}, "\"note\":\"" + prefix));
  const size_t at = timeline.find("\"note\":\"" + prefix) + 8;
  return timeline.substr(at, timeline.find('"', at) - at);
}

Result<std::string> DemoSteps::Poll(const std::string& agency,
                                    const std::vector<std::string>& words,
                                    const std::string& want) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    NRM_ASSIGN_OR_RETURN(std::string out, Command(agency, words));
    if (out.find(want) != std::string::npos) return out;
    if (std::chrono::steady_clock::now() > deadline) {
      return Internal(agency + " never showed " + want + " (see " + net_.Log(agency, "poll") + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::string> DemoSteps::Command(const std::string& agency,
                                       const std::vector<std::string>& words) {
  NRM_RETURN_IF_ERROR(net_.RunAgent(agency, words, "poll").status());
  return ReadFile(net_.Log(agency, "poll"));
}

std::string DemoSteps::CaseFile(const std::string& json) {
  const std::string file = cases_dir_ + "/" + std::to_string(++files_) + ".json";
  (void)WriteFileAtomic(file, json, 0600);
  return file;
}

std::string DemoSteps::Offer(const std::string& name, const std::string& who) {
  canaries_.push_back(name + "-" + ToHex(crypto::RandomBytes(6)));
  return CaseFile(DemoOffer(canaries_.back(), who));
}

std::string DemoSteps::Repatriation(const std::string& name, const std::string& origin,
                                    const std::string& nationality) {
  canaries_.push_back(name + "-" + ToHex(crypto::RandomBytes(6)));
  return CaseFile(DemoRepatriationRequest(canaries_.back(), origin, nationality));
}

void DemoSteps::Say(const std::string& s, const std::string& text) {
  events_.push_back({s, text, true});
  if (!json_) out_ << "[" << s << "] " << text << "\n";
}

void DemoSteps::Expect(const std::string& s, bool ok, const std::string& text) {
  events_.push_back({s, text, ok});
  if (!json_) out_ << "[" << s << "] " << (ok ? "" : "FAILED: ") << text << "\n";
}

void DemoSteps::Show(const std::string& text, const std::string& who) {
  if (json_) return;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out_ << "    " << who << "| " << line << "\n";
}

bool DemoSteps::ok() const {
  for (const DemoEvent& e : events_) {
    if (!e.ok) return false;
  }
  return true;
}

}  // namespace nrm::tools
