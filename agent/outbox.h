// Sending: how the agent takes a workflow step and gets it to the broker. A step is checked
// against the case's state (agent/workflow.h) and the person's consent (agent/consent.h),
// sealed to each recipient, and stored in the outbox together with the updated case in one
// synced write before the broker is tried; a message stays in the outbox (and is resent every
// round of the daemon) until the broker accepts or refuses it. A refusal puts the case back in
// the state it was in and says why in its timeline. Also here: building a step's payload.
//
// Thread-compatible: the daemon's one thread uses an Outbox.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/store.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {

// A payload: `base` (may be empty) with `edit` applied to its object form.
Result<Bytes> EditPayload(ByteView base, const std::function<void(payload::PayloadT&)>& edit);

// The payload's decision section, created when missing.
payload::DecisionSectionT& Decision(payload::PayloadT& t);

// One step to take on a case.
struct StepRequest {
  wire::Kind kind = wire::Kind::Unknown;
  std::vector<std::string> to;
  Bytes payload;
  std::string in_reply_to;  // hex
  std::string override_reason;
  wire::Handling handling = wire::Handling::H0;
  std::string note;  // for the timeline
  std::string by;    // who takes the step (a web inbox user), for the timeline
  bool check_state = true;
};

class Outbox {
 public:
  // Both must outlive the Outbox.
  Outbox(Agent& agent, AgentStore& store) : agent_(agent), store_(store) {}

  // Checks the transition and the consent, seals, stores in the outbox with the case, then
  // tries to hand each envelope to the broker. The case is updated in `c`. Returns the
  // messages as they are after the attempt (accepted, refused or still pending).
  Result<std::vector<MessageRecord>> TakeStep(CaseRecord& c, StepRequest r);

  // Hands one outbox message to the broker once. Not connected or no answer: it stays in the
  // outbox. Errors are only those of the store.
  Status TrySubmit(const std::string& id, int timeout_ms);

  // Tries every pending message once, stopping at the first the broker does not answer (the
  // rest wait for the next round, so that people's commands are answered meanwhile).
  Status Retry();

 private:
  Agent& agent_;
  AgentStore& store_;
  bool unanswered_ = false;  // the last Submit got no answer from the broker
};

}  // namespace nrm::agent
