// The commands that act on a case held here rather than take a workflow step: relabel (the
// local label), export and import (HTCDS 2.0, Primero transitions: agent/htcds.h,
// agent/primero.h), erase (agent/erasure.h) and retention report (agent/retention.h). Each prints
// text for people or, with --json, one JSON document on one line. Thread-compatible
// (agent/command.h).
#pragma once

#include <vector>

#include "agent/command.h"

namespace nrm::agent {

// Their usages and handlers, in the order `nrm-agent --help` lists them.
const std::vector<CommandSpec>& CaseCommands();

}  // namespace nrm::agent
