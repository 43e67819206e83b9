// `nrm-agent status`: whether the running agent reaches its broker and since when, the broker's
// endpoint and id, the directory's serial and expiry, how many steps are in each state
// (agent/step_state.h), the oldest step waiting to send and the last delivery. It exits 1 when
// the agent has not been connected for longer than --max-offline seconds (default 300), so that
// monitoring can run it. Thread-compatible (the daemon's thread runs it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/command.h"
#include "agent/store.h"

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

// What status and the metrics say of the steps in the store: the steps sent per state (every
// state of kSentStates, 0 or more), the oldest waiting to send, the last one received.
struct StepSummary {
  std::map<std::string_view, int> sent;
  std::optional<MessageRecord> oldest_waiting, last_received;
};
Result<StepSummary> SummarizeSteps(AgentStore& store);

// The running agent's metrics (docs/OPERATIONS.md, "Metrics"), Prometheus text: the link, the
// steps per state, the oldest waiting, deliveries (`delivered`: envelopes, expiry notices and
// relay receipts the daemon received since it started), the log alarm, the directory. No case,
// label or person.
struct DeliveryCounts {
  uint64_t envelopes = 0;
  uint64_t expiry_notices = 0;
  uint64_t relay_receipts = 0;
};
Result<std::string> AgentMetrics(const Agent& agent, AgentStore& store, const BrokerLink& link,
                                 const DeliveryCounts& delivered, int64_t now_ms);

const std::vector<CommandSpec>& StatusCommands();

}  // namespace nrm::agent
