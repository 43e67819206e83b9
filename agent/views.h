// The commands that show what the agent holds, and change nothing but a message's read mark:
// inbox, outbox, show, cases, timeline. Each prints text for people or, with --json, one JSON
// document on one line (docs/AGENT.md). Thread-compatible (agent/command.h).
#pragma once

#include <vector>

#include "agent/command.h"

namespace nrm::agent {

// Their usages and handlers, in the order `nrm-agent --help` lists them.
const std::vector<CommandSpec>& ViewCommands();

}  // namespace nrm::agent
