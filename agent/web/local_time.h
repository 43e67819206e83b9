// Times shown in the agency's time zone, read from the system's tz database (Debian's tzdata,
// /usr/share/zoneinfo): offsets from the zone's transitions and, after the last one, from the
// rule at the end of the file when it is a fixed offset (every zone of the Mekong region is).
// A zone whose future holds daylight-saving rules keeps the offset of its last transition.
// Thai dates are written in the Buddhist era (the year + 543). Immutable after Load; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace nrm::agent::web {

class TimeZone {
 public:
  // "UTC", or a tz database name such as "Asia/Bangkok". kInvalidArgument for a name that is
  // not one (or that tries to leave the zoneinfo folder), or a file that is not TZif.
  static Result<TimeZone> Load(const std::string& name);
  // The zone in the TZif bytes `data`, for tests. kInvalidArgument when malformed.
  static Result<TimeZone> Parse(std::string_view name, std::string_view data);

  // Seconds east of UTC at `unix_s`.
  int64_t OffsetAt(int64_t unix_s) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;  // unix seconds, ascending
  std::vector<int32_t> offsets_;      // the offset from each transition on
  int32_t before_ = 0;                // the offset before the first transition
  int32_t after_ = 0;                 // the offset after the last transition
};

// "2026-11-29 16:44" in `zone`; for Thai ("th"), "29/11/2569 16:44" (Buddhist era).
std::string FormatLocalTime(int64_t unix_ms, const TimeZone& zone, std::string_view language);
// A calendar date "YYYY-MM-DD" as people of `language` read it: "29/11/2569" in Thai.
std::string FormatDate(std::string_view iso_date, std::string_view language);
// Today's date "YYYY-MM-DD" in `zone`.
std::string LocalDate(int64_t unix_ms, const TimeZone& zone);

}  // namespace nrm::agent::web
