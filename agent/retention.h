// Retention (docs/DATA.md, "Retention"): the running agent erases each case closed longer ago
// than the config's retention_days_after_close (AgentConfig; default 365 days, or "never"),
// the same way `erase` does (agent/erasure.h: the case key destroyed, the records deleted and
// compacted, a tombstone, an erasure_request to every party), with by = "retention rule" and
// reason "closed on DATE, retention N days", and one log line per case. It checks when it
// starts and every hour (kRetentionCheckEveryMs).
//
// A case counts as closed while its state is `done`, from the time it last became done (its
// timeline); a case that is not done, or no longer done, is never erased by the rule. A case
// due for erasure whose own steps are still waiting to send or at the broker (the close itself
// until every party's receipt came, a receipt not yet sent) waits until they are delivered or
// not delivered: its parties learn of the close before they are asked to erase. The wait is
// logged at each check and shown by `retention report`.
//
// `nrm-agent retention report [--json]` lists the setting in force, every closed case with its
// close time and when it will be erased (or what it waits for), how many cases are open, and
// the cases the rule erased (from their tombstones).
//
// Thread-compatible: the daemon's one thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/command.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "common/clock.h"

namespace nrm::agent {

// How often the running agent applies the rule (and once when it starts).
inline constexpr int64_t kRetentionCheckEveryMs = 3600 * 1000;

// When case `c` was closed: the time of the timeline entry with which it last became `done`;
// nullopt when it is not done now.
std::optional<int64_t> ClosedAt(const CaseRecord& c);

// The clock the rule and its report read. The system clock, except under the test-only
// environment variable NRM_AGENT_RETENTION_NOW_FOR_TESTING (milliseconds since 1970): then that
// fixed time, announced in the log. Never set it in production.
const Clock& RetentionClock();

// One closed case, as the rule sees it.
struct RetentionEntry {
  std::string ref, label;
  int64_t closed_at_ms = 0;
  std::optional<int64_t> erase_at_ms;  // nullopt: retention "never"
  // The case's own steps still waiting to send or at the broker: the erasure waits for them.
  std::vector<MessageRecord> waiting;
};

// Case `c` as the rule sees it under `config` (without `waiting`, which the outbox gives);
// nullopt when the case is not closed.
std::optional<RetentionEntry> RetentionOf(const CaseRecord& c, const AgentConfig& config);

struct RetentionPlan {
  std::vector<RetentionEntry> closed;  // every closed case, the earliest closed first
  size_t open_cases = 0;               // cases not closed: never erased by the rule
  std::vector<Tombstone> erased;       // cases the rule erased here, the earliest first
};

// What the rule would do under `config`.
Result<RetentionPlan> PlanRetention(AgentStore& store, const AgentConfig& config);
// The same for the cases `refs` alone (those a caller knows to be closed), without `erased`:
// what a page needs that shows the closed cases beside a count of the open ones it keeps.
Result<RetentionPlan> PlanRetentionOf(AgentStore& store, const AgentConfig& config,
                                      const std::vector<std::string>& refs);

// Erases every closed case due at `now_ms` (EraseCase), unless it waits for its steps. An error
// of the store stops it and is returned; one case that cannot be erased is logged and skipped.
Status ApplyRetention(Agent& agent, AgentStore& store, Outbox& outbox, int64_t now_ms);

// "a closed case is erased 365 days after it was closed (the default)" and the like.
std::string DescribeRetention(const AgentConfig& config);

// `retention report [--json]`.
CommandOutput RetentionCommand(const CommandContext& ctx, const Args& args);

}  // namespace nrm::agent
