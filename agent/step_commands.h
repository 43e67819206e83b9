// The commands that take a workflow step on a case (docs/AGENT.md): offer and
// request-repatriation start or re-offer a case with a case file; accept, decline,
// confirm-handover, revoke and respond answer (or withdraw) a message, to the other side of it;
// close, share, travel-documents, schedule-return, complete-return, followup and revoke-consent
// act on a case, to --to or to every party. Each builds the step's payload from its options
// (and --file), hands it to the outbox (agent/outbox.h) and prints the case's new state and
// what the broker said of each message. Thread-compatible (agent/command.h).
#pragma once

#include <vector>

#include "agent/command.h"

namespace nrm::agent {

// Their usages and handlers, in the order `nrm-agent --help` lists them.
const std::vector<CommandSpec>& StepCommands();

}  // namespace nrm::agent
