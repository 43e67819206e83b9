#include "agent/web/local_time.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/file_util.h"

namespace nrm::agent::web {
namespace {

constexpr const char* kZoneInfo = "/usr/share/zoneinfo/";

// Big-endian reads from a TZif file; `ok` turns false past its end.
struct Reader {
  std::string_view data;
  size_t at = 0;
  bool ok = true;

  int64_t Int(size_t bytes) {
    if (at + bytes > data.size()) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
    at += bytes;
    if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
  }
  void Skip(size_t bytes) {
    if (at + bytes > data.size()) ok = false;
    at = std::min(data.size(), at + bytes);
  }
};

struct Counts {
  int64_t isut, isstd, leap, time, type, chars;
};

Counts ReadCounts(Reader& r) {
  Counts c{};
  c.isut = r.Int(4);
  c.isstd = r.Int(4);
  c.leap = r.Int(4);
  c.time = r.Int(4);
  c.type = r.Int(4);
  c.chars = r.Int(4);
  return c;
}

// The fixed offset of a POSIX TZ footer such as "<+07>-7" or "UTC0" (seconds east), or false
// when it has daylight-saving rules or does not parse.
bool FixedOffset(std::string_view tz, int32_t& out) {
  size_t i = 0;
  if (i < tz.size() && tz[i] == '<') {
    i = tz.find('>');
    if (i == std::string_view::npos) return false;
    ++i;
  } else {
    while (i < tz.size() && std::isalpha(static_cast<unsigned char>(tz[i]))) ++i;
  }
  int sign = 1;
  if (i < tz.size() && (tz[i] == '+' || tz[i] == '-')) {
    sign = tz[i] == '-' ? -1 : 1;
    ++i;
  }
  int parts[3] = {0, 0, 0};
  for (int p = 0; p < 3 && i < tz.size(); ++p) {
    auto [ptr, ec] = std::from_chars(tz.data() + i, tz.data() + tz.size(), parts[p]);
    if (ec != std::errc()) return false;
    i = static_cast<size_t>(ptr - tz.data());
    if (i < tz.size() && tz[i] == ':') ++i;
  }
  if (i != tz.size()) return false;  // a DST rule follows
  // POSIX offsets are west of UTC.
  out = -sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Result<TimeZone> TimeZone::Load(const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") return TimeZone();
  const bool safe = !name.empty() && name.find("..") == std::string::npos && name.front() != '/' &&
                    std::all_of(name.begin(), name.end(), [](char ch) {
                      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' ||
                             ch == '_' || ch == '-' || ch == '+';
                    });
  if (!safe) return InvalidArgument("time zone '" + name + "' is not a tz database name");
  Result<std::string> data = ReadFile(kZoneInfo + name);
  if (!data.ok()) {
    return InvalidArgument("unknown time zone '" + name + "' (no " + kZoneInfo + name +
                           "; is tzdata installed?)");
  }
  return Parse(name, *data);
}

Result<TimeZone> TimeZone::Parse(std::string_view name, std::string_view data) {
  Reader r{data};
  const std::string bad = "time zone '" + std::string(name) + "': not a TZif file";
  if (data.substr(0, 4) != "TZif") return InvalidArgument(bad);
  r.Skip(4);
  const char version = data.size() > 4 ? data[4] : 0;
  r.Skip(16);
  Counts c = ReadCounts(r);
  if (!r.ok) return InvalidArgument(bad);
  int time_bytes = 4;
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    r.Skip(static_cast<size_t>(c.time * 5 + c.type * 6 + c.chars + c.leap * 8 + c.isstd + c.isut));
    if (r.data.substr(r.at, 4) != "TZif") return InvalidArgument(bad);
    r.Skip(20);
    c = ReadCounts(r);
    time_bytes = 8;
  }
  if (!r.ok || c.type < 1 || c.type > 256 || c.time < 0 || c.time > 100000) {
    return InvalidArgument(bad);
  }
  TimeZone z;
  z.name_ = std::string(name);
  std::vector<int64_t> times;
  for (int64_t i = 0; i < c.time; ++i) times.push_back(r.Int(static_cast<size_t>(time_bytes)));
  std::vector<uint8_t> idx;
  for (int64_t i = 0; i < c.time; ++i) idx.push_back(static_cast<uint8_t>(r.Int(1)));
  std::vector<int32_t> type_offsets;
  for (int64_t i = 0; i < c.type; ++i) {
    type_offsets.push_back(static_cast<int32_t>(r.Int(4)));
    r.Skip(2);  // isdst, abbreviation index
  }
  r.Skip(static_cast<size_t>(c.chars + c.leap * (time_bytes + 4) + c.isstd + c.isut));
  if (!r.ok) return InvalidArgument(bad);
  for (size_t i = 0; i < times.size(); ++i) {
    if (idx[i] >= type_offsets.size()) return InvalidArgument(bad);
    z.transitions_.push_back(times[i]);
    z.offsets_.push_back(type_offsets[idx[i]]);
  }
  z.before_ = type_offsets[0];
  z.after_ = z.offsets_.empty() ? type_offsets[0] : z.offsets_.back();
  if (version >= '2' && r.at < data.size() && data[r.at] == '\n') {
    const size_t end = data.find('\n', r.at + 1);
    if (end != std::string_view::npos) {
      int32_t fixed = 0;
      if (FixedOffset(data.substr(r.at + 1, end - r.at - 1), fixed)) z.after_ = fixed;
    }
  }
  return z;
}

int64_t TimeZone::OffsetAt(int64_t unix_s) const {
  if (transitions_.empty()) return after_;
  if (unix_s < transitions_.front()) return before_;
  if (unix_s >= transitions_.back()) return after_;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_s);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

std::string FormatLocalTime(int64_t unix_ms, const TimeZone& zone, std::string_view language) {
  const int64_t s = FloorDiv(unix_ms, 1000);
  const int64_t local = s + zone.OffsetAt(s);
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(FloorDiv(local, 86400), y, m, d);
  const int64_t sec_of_day = local - FloorDiv(local, 86400) * 86400;
  char buf[64];
  if (language == "th") {
    std::snprintf(buf, sizeof(buf), "%02u/%02u/%lld %02lld:%02lld", d, m,
                  static_cast<long long>(y + 543), static_cast<long long>(sec_of_day / 3600),
                  static_cast<long long>(sec_of_day / 60 % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u %02lld:%02lld", static_cast<long long>(y), m,
                  d, static_cast<long long>(sec_of_day / 3600),
                  static_cast<long long>(sec_of_day / 60 % 60));
  }
  return buf;
}

std::string FormatDate(std::string_view iso_date, std::string_view language) {
  if (language != "th") return std::string(iso_date);
  int y = 0;
  auto [p, ec] = std::from_chars(iso_date.data(), iso_date.data() + iso_date.size(), y);
  if (ec != std::errc() || p - iso_date.data() != 4) return std::string(iso_date);
  const std::string_view rest = iso_date.substr(4);  // "", or "-MM-DD"
  if (rest.empty()) return std::to_string(y + 543);
  if (rest.size() != 6) return std::string(iso_date);
  return std::string(rest.substr(4, 2)) + "/" + std::string(rest.substr(1, 2)) + "/" +
         std::to_string(y + 543);
}

std::string LocalDate(int64_t unix_ms, const TimeZone& zone) {
  const int64_t s = FloorDiv(unix_ms, 1000);
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(FloorDiv(s + zone.OffsetAt(s), 86400), y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

}  // namespace nrm::agent::web
