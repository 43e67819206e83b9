// How `nrm demo` drives the agents and tells what happened: each caseworker's command run as
// people type it (`nrm-agent --config ... offer ... --json`), waiting until a step arrives or a
// case reaches a state, and the timeline of events (printed as it goes, or kept for --json).
// Thread-compatible.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tools/demo_network.h"

namespace nrm::tools {

struct DemoEvent {
  std::string scenario;
  std::string text;  // what happened, for people
  bool ok;
};

class DemoSteps {
 public:
  struct Step {
    std::string message_id, case_ref;
    std::string id;      // the message id again, for commands that take it
    std::string detail;  // why the broker refused it, when it did
  };

  DemoSteps(DemoNetwork& net, std::string cases_dir, bool json, std::ostream& out)
      : net_(net), cases_dir_(std::move(cases_dir)), json_(json), out_(out) {}

  // Runs one caseworker's command of `from` with --json; `expect_accepted` says whether the
  // scenario needs the broker to accept it ("at the broker", or "delivered" already) or to
  // refuse it (exit 1, "not delivered: action needed"; agent/step_state.h).
  Result<Step> Take(const std::string& s, const std::string& from, std::vector<std::string> words,
                    bool expect_accepted = true);
  // Waits until `step` is in the inbox of `agency`'s agent: delivered, verified, decrypted,
  // stored and acknowledged.
  Status Arrives(const std::string& s, const std::string& agency, const Step& step);
  // Waits until case `ref` is in `state` at `agency`.
  Status Reaches(const std::string& s, const std::string& agency, const std::string& ref,
                 const std::string& state);
  // Waits until case `ref`'s timeline at `agency` holds a note that starts with `prefix`;
  // returns that note.
  Result<std::string> TimelineNote(const std::string& agency, const std::string& ref,
                                   const std::string& prefix);
  // The output of a command of `agency`'s agent once it holds `want` (20 s at most).
  Result<std::string> Poll(const std::string& agency, const std::vector<std::string>& words,
                           const std::string& want);
  // What a command of `agency`'s agent printed.
  Result<std::string> Command(const std::string& agency, const std::vector<std::string>& words);

  // A case file holding `json`, under the cases directory.
  std::string CaseFile(const std::string& json);
  // A case file (demo_cases.h) whose person's name is a fresh canary, remembered.
  std::string Offer(const std::string& name, const std::string& who);
  std::string Repatriation(const std::string& name, const std::string& origin,
                           const std::string& nationality);
  const std::vector<std::string>& canaries() const { return canaries_; }

  void Say(const std::string& s, const std::string& text);
  void Expect(const std::string& s, bool ok, const std::string& text);
  // `text` line by line, indented and prefixed with `who|`.
  void Show(const std::string& text, const std::string& who);
  std::ostream& out() { return out_; }
  bool json() const { return json_; }

  bool ok() const;
  const std::vector<DemoEvent>& events() const { return events_; }

 private:
  DemoNetwork& net_;
  std::string cases_dir_;
  bool json_;
  std::ostream& out_;
  int files_ = 0;
  std::vector<std::string> canaries_;
  std::vector<DemoEvent> events_;
};

}  // namespace nrm::tools
