#include "agent/status.h"

#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "agent/connection.h"
#include "agent/log_commands.h"
#include "agent/step_state.h"
#include "agent/words.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/http/metrics.h"

namespace nrm::agent {
namespace {

using json::Json;

constexpr int64_t kDefaultMaxOfflineS = 300;

std::string Duration(int64_t ms) {
  const int64_t s = ms / 1000;
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

CommandOutput Status(const CommandContext& ctx, const Args& args) {
  int64_t max_offline_s = kDefaultMaxOfflineS;
  if (auto v = args.Get("max-offline")) {
    try {
      max_offline_s = std::stoll(*v);
    } catch (const std::exception&) {
      return Usage("--max-offline takes whole seconds");
    }
  }
  if (ctx.link == nullptr) return Refused(Internal("status needs the running agent"));
  const BrokerLink& link = *ctx.link;
  const int64_t now = SystemClock::Get().NowMillis();
  Result<StepSummary> summary = SummarizeSteps(ctx.store);
  if (!summary.ok()) return Refused(summary.status());
  std::map<std::string_view, int>& counts = summary->sent;
  const std::optional<MessageRecord>& oldest = summary->oldest_waiting;
  const std::optional<MessageRecord>& last = summary->last_received;
  const LinkStatus ls = LinkStatusOf(link, ctx.agent);
  const bool connected = ls.connected;
  const int64_t for_ms = now - ls.since_ms;
  const bool offline = !connected && for_ms > max_offline_s * 1000;
  const bool alarm = offline || ctx.agent.log_watch().alarmed();
  const identity::Directory& dir = ctx.agent.directory();
  std::string broker_line;
  if (connected) {
    broker_line = "connected since " + FormatTimeUtc(ls.since_ms) + " (" + Duration(for_ms) +
                  ") to " + ls.broker_id + " at " + ls.endpoint;
  } else if (!ls.ever_connected) {
    broker_line = "NOT CONNECTED: never connected since the agent started " + Duration(for_ms) +
                  " ago (" + ls.endpoint + (ls.last_error.empty() ? "" : ": " + ls.last_error) +
                  ")";
  } else {
    broker_line = "NOT CONNECTED since " + FormatTimeUtc(ls.since_ms) + " (" + Duration(for_ms) +
                  ") to " + ls.broker_id + " at " + ls.endpoint;
  }
  if (ctx.json) {
    Json steps = Json::object();
    for (const auto& [state, n] : counts) steps[std::string(state)] = n;
    Json j = {{"connected", connected},
              {"never_connected", !link.ever_connected()},
              {"since", FormatTimeUtc(link.since_ms())},
              {"seconds", for_ms / 1000},
              {"endpoint", ctx.agent.endpoint()},
              {"broker_id", link.broker_id()},
              {"broker_directory_serial", link.broker_serial()},
              {"last_error", link.last_error()},
              {"directory_serial", dir.serial()},
              {"directory_expires", FormatTimeUtc(dir.expires_ms())},
              {"steps", steps},
              {"oldest_waiting", nullptr},
              {"last_delivery", nullptr},
              {"alarm", alarm},
              {"broker_log", LogStatusJson(ctx.agent.log_watch())}};
    if (oldest) {
      j["oldest_waiting"] = {{"message_id", oldest->id},
                             {"kind", oldest->kind},
                             {"since", FormatTimeUtc(oldest->taken_at_ms)}};
    }
    if (last) {
      j["last_delivery"] = {{"message_id", last->id},
                            {"kind", last->kind},
                            {"from", last->from},
                            {"at", FormatTimeUtc(last->received_at_ms)}};
    }
    return {alarm ? 1 : 0, JsonLine(j), ""};
  }
  std::ostringstream out;
  out << "broker          " << broker_line << "\n"
      << "directory       serial " << dir.serial() << ", expires "
      << FormatTimeUtc(dir.expires_ms())
      << (link.broker_serial() > 0
              ? " (the broker's: serial " + std::to_string(link.broker_serial()) + ")"
              : "")
      << "\n"
      << "steps sent      ";
  bool first = true;
  for (std::string_view s : kSentStates) {
    out << (first ? "" : ", ") << s << " " << counts[s];
    first = false;
  }
  out << "\noldest waiting  ";
  if (oldest) {
    out << oldest->kind << " " << oldest->id << " since " << FormatTimeUtc(oldest->taken_at_ms)
        << " (" << Duration(now - oldest->taken_at_ms) << ")\n";
  } else {
    out << "none\n";
  }
  out << "last delivery   ";
  if (last) {
    out << FormatTimeUtc(last->received_at_ms) << "  " << last->kind << " from " << last->from
        << "\n";
  } else {
    out << "none\n";
  }
  out << LogStatusText(ctx.agent.log_watch());
  if (offline) {
    out << "ALARM: not connected for longer than " << max_offline_s << " s\n";
  }
  return {alarm ? 1 : 0, out.str(), ""};
}

// backup --out DEST: the store checkpointed to DEST/store while the agent runs, its local key
// beside it (the records are sealed under it; under a passphrase when it is), and a manifest.
CommandOutput Backup(const CommandContext& ctx, const Args& args) {
  const std::string dest = args.Get("out").value_or("");
  if (dest.empty() || dest.front() != '/') {
    return {2, "", "backup needs --out DEST (a new folder the running agent may write)\n"};
  }
  if (std::filesystem::exists(dest)) {
    return {1, "", "backup: " + dest + " exists: a backup goes to a new folder\n"};
  }
  Result<std::vector<CaseRecord>> cases = ctx.store.Cases();
  Result<std::vector<MessageRecord>> messages = ctx.store.Messages();
  if (!cases.ok()) return Refused(cases.status());
  if (!messages.ok()) return Refused(messages.status());
  const std::string key_file = ctx.agent.config().data_dir + "/local.key";
  Result<std::string> key = ReadFile(key_file);
  nrm::Status s = key.status();
  if (s.ok()) s = MakeDirs(dest);
  if (s.ok()) s = ctx.store.Checkpoint(dest + "/store");
  if (s.ok()) s = WriteFileAtomic(dest + "/local.key", *key, 0600);
  const Json manifest = {{"what", "nrm agent backup"},
                         {"agency", ctx.agent.agency()},
                         {"created_at", FormatTimeUtc(SystemClock::Get().NowMillis())},
                         {"cases", cases->size()},
                         {"messages", messages->size()}};
  if (s.ok()) s = WriteFileAtomic(dest + "/manifest.json", json::Dump(manifest), 0600);
  if (!s.ok()) return Refused(s);
  if (ctx.json) return {0, JsonLine(manifest), ""};
  return {0,
          "backup of " + ctx.agent.agency() + " in " + dest + ": " + std::to_string(cases->size()) +
              " cases, " + std::to_string(messages->size()) +
              " messages, and the store's local key\n",
          ""};
}

}  // namespace

Result<StepSummary> SummarizeSteps(AgentStore& store) {
  NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> all, store.Messages());
  StepSummary s;
  for (std::string_view state : kSentStates) s.sent[state] = 0;
  for (MessageRecord& m : all) {
    if (m.kind == "receipt") continue;
    if (m.direction == "out") {
      s.sent[m.state]++;
      if (m.state == kWaitingToSend &&
          (!s.oldest_waiting || m.taken_at_ms < s.oldest_waiting->taken_at_ms)) {
        s.oldest_waiting = m;
      }
    } else if (!s.last_received || m.received_at_ms > s.last_received->received_at_ms) {
      s.last_received = m;
    }
  }
  return s;
}

Result<std::string> AgentMetrics(const Agent& agent, AgentStore& store, const BrokerLink& link,
                                 const DeliveryCounts& delivered, int64_t now_ms) {
  NRM_ASSIGN_OR_RETURN(StepSummary s, SummarizeSteps(store));
  const LinkStatus ls = LinkStatusOf(link, agent);
  MetricsText m;
  m.BuildInfo("nrm-agent");
  m.Gauge("nrm_agent_connected", "1 while the agent is connected to its broker, else 0.",
          ls.connected ? 1 : 0);
  m.Gauge("nrm_agent_offline_seconds",
          "How long the agent has not been connected (since it started when it never was); 0 "
          "while connected.",
          ls.connected ? 0 : static_cast<double>(now_ms - ls.since_ms) / 1000.0);
  for (const auto& [state, n] : s.sent) {
    std::string label;  // "not delivered: action needed" -> not_delivered_action_needed
    for (char c : state) {
      if (std::isalnum(static_cast<unsigned char>(c))) {
        label += c;
      } else if (!label.empty() && label.back() != '_') {
        label += '_';
      }
    }
    m.Gauge("nrm_agent_steps", "Steps this agency sent, by delivery state (docs/AGENT.md).", n,
            {{"state", label}});
  }
  m.Gauge(
      "nrm_agent_oldest_waiting_step_age_seconds",
      "How long the oldest step waiting to send has waited; 0 when none waits.",
      s.oldest_waiting ? static_cast<double>(now_ms - s.oldest_waiting->taken_at_ms) / 1000.0 : 0);
  m.Counter("nrm_agent_deliveries_total",
            "What the broker delivered since the agent started, by type.",
            static_cast<double>(delivered.envelopes), {{"type", "envelope"}});
  m.Counter("nrm_agent_deliveries_total",
            "What the broker delivered since the agent started, by type.",
            static_cast<double>(delivered.expiry_notices), {{"type", "expiry_notice"}});
  m.Counter("nrm_agent_deliveries_total",
            "What the broker delivered since the agent started, by type.",
            static_cast<double>(delivered.relay_receipts), {{"type", "relay_receipt"}});
  if (s.last_received) {
    m.Gauge("nrm_agent_last_delivery_timestamp_seconds",
            "When the last step from another agency arrived (Unix time).",
            static_cast<double>(s.last_received->received_at_ms) / 1000.0);
  }
  m.Gauge("nrm_agent_log_alarm",
          "1 while the broker's audit log raised an alarm (nrm-agent status), else 0.",
          agent.log_watch().alarmed() ? 1 : 0);
  const identity::Directory& dir = agent.directory();
  m.Gauge("nrm_agent_directory_serial", "The serial of the directory in force.",
          static_cast<double>(dir.serial()));
  m.Gauge("nrm_agent_directory_expiry_timestamp_seconds",
          "When the directory in force expires (Unix time).",
          static_cast<double>(dir.expires_ms()) / 1000.0);
  return m.Text();
}

LinkStatus LinkStatusOf(const BrokerLink& link, const Agent& agent) {
  return {link.live(),      link.ever_connected(), link.since_ms(),
          link.broker_id(), agent.endpoint(),      link.last_error()};
}

const std::vector<CommandSpec>& StatusCommands() {
  static const std::vector<CommandSpec> kCommands = {
      {"status",
       "[--max-offline SECONDS]",
       "Whether the agent reaches its broker, the directory, and how many steps are where.",
       {{"--max-offline SECONDS",
         "exit 1 when not connected for longer than this (default 300), for monitoring"},
        kJsonOption},
       Status,
       "Shows: connected or not and since when (\"never connected\" when it never was), the\n"
       "broker's endpoint and id, the directory's serial and expiry, the steps sent per state,\n"
       "the oldest step waiting to send, the last delivery, and the broker's audit log as this\n"
       "agent checked it (the checkpoint verified, the witnesses' cosignatures, an ALARM).\n"
       "Exits 1 on an alarm (offline too long, or the broker's log)."},
      {"backup",
       "--out DEST",
       "A consistent copy of this agency's store while the agent runs.",
       {{"--out DEST", "a new folder the running agent may write"}, kJsonOption},
       Backup,
       "Writes DEST/store (a RocksDB checkpoint), DEST/local.key (the key the records are\n"
       "sealed under: keep the backup as safe as the agent) and DEST/manifest.json. To restore:\n"
       "stop the agent, copy DEST/store and DEST/local.key into an empty data_dir, start it."},
  };
  return kCommands;
}

}  // namespace nrm::agent
