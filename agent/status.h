// `nrm-agent status`: whether the running agent reaches its broker and since when, the broker's
// endpoint and id, the directory's serial and expiry, how many steps are in each state
// (agent/step_state.h), the oldest step waiting to send and the last delivery. It exits 1 when
// the agent has not been connected for longer than --max-offline seconds (default 300), so that
// monitoring can run it. Thread-compatible (the daemon's thread runs it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/command.h"

namespace nrm::agent {

class BrokerLink;

// What `status` says of the broker link, and the web inbox with it: connected or not, and since
// when (for an agent that never connected: since it started).
struct LinkStatus {
  bool connected = false;
  bool ever_connected = false;
  int64_t since_ms = 0;
  std::string broker_id, endpoint, last_error;
};
LinkStatus LinkStatusOf(const BrokerLink& link, const Agent& agent);

const std::vector<CommandSpec>& StatusCommands();

}  // namespace nrm::agent
