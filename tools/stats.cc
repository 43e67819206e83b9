#include "tools/stats.h"

#include "audit/audit_reader.h"
#include "common/clock.h"
#include "common/json/json.h"

namespace nrm::tools {
namespace {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

Result<std::map<StatKey, uint64_t>> ComputeAuditStats(const std::string& db_path,
                                                      const identity::Directory* directory) {
  std::map<StatKey, uint64_t> stats;
  std::map<Bytes, std::pair<std::string, std::string>> accepted;  // id -> (sender, kind)
  auto place = [&](const std::string& agency) {
    const identity::Agency* a = directory ? directory->Find(agency) : nullptr;
    if (a != nullptr) return std::pair{a->country, a->province.empty() ? "?" : a->province};
    return std::pair{agency.size() >= 2 ? agency.substr(0, 2) : std::string("?"), std::string("?")};
  };
  Status s = audit::ReadVerifiedRecords(db_path, [&](uint64_t, const audit::AuditRecord& r) {
    std::string sender = r.sender, kind = r.kind, outcome;
    switch (r.event) {
      case audit::AuditEvent::kAccepted:
        outcome = "accepted";
        accepted[r.message_id] = {r.sender, r.kind};
        break;
      case audit::AuditEvent::kRefused:
        if (r.kind.empty()) return;  // a malformed request, not a message
        outcome = "refused";
        break;
      case audit::AuditEvent::kExpired: {
        outcome = "expired";
        auto it = accepted.find(r.message_id);
        if (it != accepted.end()) kind = it->second.second;
        break;
      }
      default:
        return;
    }
    auto [country, province] = place(sender);
    stats[{FormatTimeUtc(r.time_ms).substr(0, 7), country, province, kind.empty() ? "?" : kind,
           outcome}]++;
  });
  if (!s.ok()) return s;
  return stats;
}

std::string ShowCount(uint64_t count) {
  return count < kMinimumCell ? "<" + std::to_string(kMinimumCell) : std::to_string(count);
}

std::string StatsCsv(const std::map<StatKey, uint64_t>& stats) {
  std::string out = "month,country,province,kind,outcome,count\n";
  for (const auto& [k, n] : stats) {
    out += k.month + "," + k.country + "," + CsvField(k.province) + "," + k.kind + "," + k.outcome +
           "," + ShowCount(n) + "\n";
  }
  return out;
}

std::string StatsJson(const std::map<StatKey, uint64_t>& stats) {
  std::string out = "{\"suppressed_below\":" + std::to_string(kMinimumCell) + ",\"cells\":[";
  bool first = true;
  for (const auto& [k, n] : stats) {
    out += std::string(first ? "" : ",") + "{\"month\":" + json::Quote(k.month) +
           ",\"country\":" + json::Quote(k.country) + ",\"province\":" + json::Quote(k.province) +
           ",\"kind\":" + json::Quote(k.kind) + ",\"outcome\":" + json::Quote(k.outcome) +
           ",\"count\":" + (n < kMinimumCell ? json::Quote(ShowCount(n)) : std::to_string(n)) + "}";
    first = false;
  }
  return out + "]}\n";
}

}  // namespace nrm::tools
