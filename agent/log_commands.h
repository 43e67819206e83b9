// The commands about the broker's audit log (agent/log_watch.h): `clear-alarm`, an operator's
// decision after an alarm, and `prove MESSAGE`, the inclusion proof of one of this agency's
// messages against the checkpoint it verified, which anyone holding the log's vkey checks with
// `nrm audit check-proof`. And the lines `status` shows about the log.
// Thread-compatible (the daemon's thread runs them).
#pragma once

#include <string>
#include <vector>

#include "agent/command.h"
#include "agent/log_watch.h"

namespace nrm::agent {

const std::vector<CommandSpec>& LogCommands();

// For `status`: the log as this agent checked it, for people, and as JSON.
std::string LogStatusText(const LogWatch& watch);
json::Json LogStatusJson(const LogWatch& watch);

}  // namespace nrm::agent
