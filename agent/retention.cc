#include "agent/retention.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "agent/erasure.h"
#include "agent/log.h"
#include "agent/words.h"

namespace nrm::agent {
namespace {

using json::Json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr char kTestClockVariable[] = "NRM_AGENT_RETENTION_NOW_FOR_TESTING";

// "2026-11-29": the day (UTC) of `ms`.
std::string Day(int64_t ms) { return FormatTimeUtc(ms).substr(0, 10); }

bool StoreFailed(const Status& s) {
  return s.code() == Code::kIOError || s.code() == Code::kCorruption ||
         s.code() == Code::kResourceExhausted;
}

// "case_close 0a1b2c3d4e5f at the broker, receipt 5e6f... waiting to send".
std::string DescribeSteps(const std::vector<MessageRecord>& steps) {
  std::vector<std::string> parts;
  for (const MessageRecord& m : steps) parts.push_back(m.kind + " " + Short(m.id) + " " + m.state);
  return Join(parts);
}

// The tombstone's reason for case `e`: dates and days only.
std::string Reason(const RetentionEntry& e, int64_t days) {
  return "closed on " + Day(e.closed_at_ms) + ", retention " + std::to_string(days) + " days";
}

Json EntryJson(const RetentionEntry& e, int64_t now_ms) {
  Json waiting = Json::array();
  for (const MessageRecord& m : e.waiting) {
    waiting.push_back({{"message_id", m.id}, {"kind", m.kind}, {"status", m.state}});
  }
  const bool due = e.erase_at_ms && *e.erase_at_ms <= now_ms;
  return {{"case", e.ref},
          {"label", e.label},
          {"closed_at", FormatTimeUtc(e.closed_at_ms)},
          {"closed_at_ms", e.closed_at_ms},
          {"erase_at", e.erase_at_ms ? Json(FormatTimeUtc(*e.erase_at_ms)) : Json()},
          {"erase_at_ms", e.erase_at_ms ? Json(*e.erase_at_ms) : Json()},
          {"due", due},
          {"waiting_for", waiting}};
}

std::string EntryLine(const RetentionEntry& e, int64_t now_ms) {
  std::string out = "  " + e.ref + (e.label.empty() ? "" : " (" + e.label + ")") + "  closed " +
                    FormatTimeUtc(e.closed_at_ms) + "  ";
  if (!e.erase_at_ms) return out + "kept (retention never)\n";
  if (*e.erase_at_ms > now_ms) return out + "erase due " + FormatTimeUtc(*e.erase_at_ms) + "\n";
  out += "DUE since " + FormatTimeUtc(*e.erase_at_ms);
  if (!e.waiting.empty()) {
    return out + ": waits for its steps still under way (" + DescribeSteps(e.waiting) +
           "); see outbox\n";
  }
  return out + ": erased at the next check\n";
}

}  // namespace

std::optional<int64_t> ClosedAt(const CaseRecord& c) {
  if (c.state != "done") return std::nullopt;
  std::optional<int64_t> at;
  for (const TimelineStep& s : c.timeline) {
    if (s.state != "done") {
      at.reset();
    } else if (!at) {
      at = s.at_ms;
    }
  }
  return at;
}

const Clock& RetentionClock() {
  static const Clock* const clock = []() -> const Clock* {
    const char* value = std::getenv(kTestClockVariable);
    if (value == nullptr || *value == '\0') return &SystemClock::Get();
    char* end = nullptr;
    const long long ms = std::strtoll(value, &end, 10);
    if (*end != '\0' || ms <= 0) {
      LogEvent(std::string("ignored ") + kTestClockVariable + "=" + value +
               ": not milliseconds since 1970; the retention rule reads the system clock");
      return &SystemClock::Get();
    }
    LogEvent(std::string("TEST ONLY: the retention rule takes the time to be ") +
             FormatTimeUtc(ms) + " (" + kTestClockVariable + "); never set it in production");
    return new FakeClock(ms);  // lives as long as the process
  }();
  return *clock;
}

std::optional<RetentionEntry> RetentionOf(const CaseRecord& c, const AgentConfig& config) {
  const std::optional<int64_t> closed = ClosedAt(c);
  if (!closed) return std::nullopt;
  RetentionEntry e;
  e.ref = c.ref;
  e.label = c.label;
  e.closed_at_ms = *closed;
  if (config.retention_days_after_close) {
    e.erase_at_ms = *closed + *config.retention_days_after_close * kDayMs;
  }
  return e;
}

namespace {

// The steps still under way, by case.
Result<std::map<std::string, std::vector<MessageRecord>>> UnderWay(AgentStore& store) {
  std::map<std::string, std::vector<MessageRecord>> under_way;
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> waiting, store.WaitingOutbox());
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> at_broker, store.AtTheBroker());
  waiting.insert(waiting.end(), at_broker.begin(), at_broker.end());
  for (const std::string& id : waiting) {
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, store.GetMessage(id));
    if (m) under_way[m->case_ref].push_back(std::move(*m));
  }
  return under_way;
}

// Adds case `c` to `plan`: an open case counted, a closed one with its steps under way.
void Plan(RetentionPlan& plan, const CaseRecord& c, const AgentConfig& config,
          const std::map<std::string, std::vector<MessageRecord>>& under_way) {
  std::optional<RetentionEntry> e = RetentionOf(c, config);
  if (!e) {
    ++plan.open_cases;
    return;
  }
  if (auto w = under_way.find(c.ref); w != under_way.end()) e->waiting = w->second;
  plan.closed.push_back(std::move(*e));
}

void SortClosed(RetentionPlan& plan) {
  std::sort(plan.closed.begin(), plan.closed.end(),
            [](const auto& a, const auto& b) { return a.closed_at_ms < b.closed_at_ms; });
}

}  // namespace

Result<RetentionPlan> PlanRetention(AgentStore& store, const AgentConfig& config) {
  NRM_ASSIGN_OR_RETURN(auto under_way, UnderWay(store));
  RetentionPlan plan;
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> cases, store.Cases());
  for (const CaseRecord& c : cases) Plan(plan, c, config, under_way);
  SortClosed(plan);
  NRM_ASSIGN_OR_RETURN(std::vector<Tombstone> tombs, store.Tombstones());
  for (Tombstone& t : tombs) {
    if (t.erased_by == kRetentionRule) plan.erased.push_back(std::move(t));
  }
  std::sort(plan.erased.begin(), plan.erased.end(),
            [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
  return plan;
}

Result<RetentionPlan> PlanRetentionOf(AgentStore& store, const AgentConfig& config,
                                      const std::vector<std::string>& refs) {
  NRM_ASSIGN_OR_RETURN(auto under_way, UnderWay(store));
  RetentionPlan plan;
  for (const std::string& ref : refs) {
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store.GetCase(ref));
    if (c) Plan(plan, *c, config, under_way);
  }
  SortClosed(plan);
  return plan;
}

Status ApplyRetention(Agent& agent, AgentStore& store, Outbox& outbox, int64_t now_ms) {
  const std::optional<int64_t> days = agent.config().retention_days_after_close;
  if (!days) return Status::Ok();
  NRM_ASSIGN_OR_RETURN(RetentionPlan plan, PlanRetention(store, agent.config()));
  for (const RetentionEntry& e : plan.closed) {
    if (!e.erase_at_ms || *e.erase_at_ms > now_ms) continue;
    const std::string reason = Reason(e, *days);
    if (!e.waiting.empty()) {
      LogEvent("retention: case " + Short(e.ref) + " is due for erasure (" + reason +
               ") but waits for its steps still under way: " + DescribeSteps(e.waiting));
      continue;
    }
    NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> c, store.GetCase(e.ref));
    if (!c) continue;
    Result<Tombstone> t = EraseCase(agent, store, outbox, *c, std::string(kRetentionRule), reason);
    if (!t.ok()) {
      if (StoreFailed(t.status())) return t.status();
      LogEvent("retention: case " + Short(e.ref) + " is due for erasure (" + reason +
               ") but could not be erased: " + t.status().message() + "; tried again in an hour");
    }
  }
  return Status::Ok();
}

std::string DescribeRetention(const AgentConfig& config) {
  const std::string source =
      config.retention_in_file ? "retention_days_after_close in the config" : "the default";
  if (!config.retention_days_after_close) {
    return "never: closed cases are kept until `erase CASE --reason TEXT` (" + source + ")";
  }
  return "a closed case is erased " + std::to_string(*config.retention_days_after_close) +
         " days after it was closed (" + source + ")";
}

CommandOutput RetentionCommand(const CommandContext& ctx, const Args& args) {
  if (args.positional().size() != 2 || args.positional()[1] != "report") {
    return Usage("retention takes one subcommand: retention report [--json]");
  }
  const AgentConfig& config = ctx.agent.config();
  Result<RetentionPlan> plan = PlanRetention(ctx.store, config);
  if (!plan.ok()) return Refused(plan.status());
  const int64_t now = RetentionClock().NowMillis();
  if (ctx.json) {
    Json closed = Json::array(), erased = Json::array();
    for (const RetentionEntry& e : plan->closed) closed.push_back(EntryJson(e, now));
    for (const Tombstone& t : plan->erased) erased.push_back(TombstoneJson(t));
    const auto& days = config.retention_days_after_close;
    return {0,
            JsonLine({{"retention_days_after_close", days ? Json(*days) : Json("never")},
                      {"setting", config.retention_in_file ? "config" : "default"},
                      {"check_every_s", kRetentionCheckEveryMs / 1000},
                      {"now", FormatTimeUtc(now)},
                      {"closed", closed},
                      {"open_cases", plan->open_cases},
                      {"erased", erased}}),
            ""};
  }
  std::string out = "retention: " + DescribeRetention(config) + "\n" +
                    "  checked when the agent starts and every hour; now " + FormatTimeUtc(now) +
                    "\n" + "closed cases (" + std::to_string(plan->closed.size()) + "):\n";
  for (const RetentionEntry& e : plan->closed) out += EntryLine(e, now);
  out += "open cases (not erased by the rule until closed): " + std::to_string(plan->open_cases) +
         "\n" + "erased by the rule (" + std::to_string(plan->erased.size()) + "):\n";
  for (const Tombstone& t : plan->erased) {
    out += "  " + t.ref + "  erased " + FormatTimeUtc(t.at_ms) + "  " + t.reason +
           "; parties confirmed " + std::to_string(t.confirmed.size()) + " of " +
           std::to_string(t.asked.size()) + "\n";
  }
  return {0, out, ""};
}

}  // namespace nrm::agent
