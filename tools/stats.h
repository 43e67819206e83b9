// Aggregate referral statistics from the audit log's metadata alone (no payload is ever read),
// with small cells suppressed so that no person can be singled out. Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/identity/identity.h"
#include "common/status.h"

namespace nrm::tools {

// Cells counting fewer than this are shown as "<5".
inline constexpr uint64_t kMinimumCell = 5;

struct StatKey {
  std::string month;     // "2026-11", from the broker's clock at the event
  std::string country;   // of the sending agency
  std::string province;  // of the sending agency, from the directory ("?" when unknown)
  std::string kind;      // message kind, e.g. referral_offer
  std::string outcome;   // accepted, refused or expired
  auto operator<=>(const StatKey&) const = default;
};

// Counts accepted, refused and expired messages in the audit log at `db_path` (the broker's
// RocksDB directory) by month, sending country and province, kind and outcome. The log must
// verify first (kCorruption otherwise). `directory` supplies countries and provinces; without
// it the country is taken from the agency id and the province is "?".
Result<std::map<StatKey, uint64_t>> ComputeAuditStats(const std::string& db_path,
                                                      const identity::Directory* directory);

// "12", or "<5" for a cell under kMinimumCell.
std::string ShowCount(uint64_t count);
std::string StatsCsv(const std::map<StatKey, uint64_t>& stats);
std::string StatsJson(const std::map<StatKey, uint64_t>& stats);

}  // namespace nrm::tools
