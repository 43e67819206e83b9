#include "common/config/toml_util.h"

#include <ctime>
#include <sstream>

#include "common/config/toml_guard.h"
#include "common/file_util.h"

namespace nrm::config {
namespace {
std::string Quote(std::string_view key) { return "'" + std::string(key) + "'"; }

Status Missing(const toml::table& t, std::string_view key, const std::string& path,
               std::string_view type) {
  return InvalidArgument(Where(path, t) + ": missing key " + Quote(key) + " (expected " +
                         std::string(type) + ")");
}
Status WrongType(const toml::node& n, std::string_view key, const std::string& path,
                 std::string_view type) {
  return InvalidArgument(Where(path, n) + ": key " + Quote(key) + " must be " + std::string(type));
}
}  // namespace

Result<TomlDoc> ParseToml(std::string_view text, const std::string& path) {
  NRM_RETURN_IF_ERROR(CheckTomlSafe(text, path));  // toml++ 3.3.0 bugs: see toml_guard.h
  try {
    return TomlDoc{toml::parse(text, path), path};
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    return InvalidArgument(path + ":" + std::to_string(src.begin.line) + ":" +
                           std::to_string(src.begin.column) + ": " + std::string(e.description()));
  }
}

Result<TomlDoc> LoadToml(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseToml(text, path);
}

std::string Where(const std::string& path, const toml::node& node) {
  const auto& src = node.source();
  if (src.begin.line == 0) return path;
  return path + ":" + std::to_string(src.begin.line);
}

Result<std::string> GetString(const toml::table& t, std::string_view key, const std::string& path) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Missing(t, key, path, "a string");
  if (!n->is_string()) return WrongType(*n, key, path, "a string");
  return std::string(n->as_string()->get());
}

Result<std::optional<std::string>> GetOptionalString(const toml::table& t, std::string_view key,
                                                     const std::string& path) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::optional<std::string>();
  if (!n->is_string()) return WrongType(*n, key, path, "a string");
  return std::optional<std::string>(std::string(n->as_string()->get()));
}

Result<int64_t> GetInt(const toml::table& t, std::string_view key, const std::string& path,
                       std::optional<int64_t> fallback) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (fallback) return *fallback;
    return Missing(t, key, path, "an integer");
  }
  if (!n->is_integer()) return WrongType(*n, key, path, "an integer");
  return n->as_integer()->get();
}

Result<bool> GetBool(const toml::table& t, std::string_view key, const std::string& path,
                     std::optional<bool> fallback) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (fallback) return *fallback;
    return Missing(t, key, path, "true or false");
  }
  if (!n->is_boolean()) return WrongType(*n, key, path, "true or false");
  return n->as_boolean()->get();
}

Result<Bytes> GetHex(const toml::table& t, std::string_view key, size_t size,
                     const std::string& path) {
  NRM_ASSIGN_OR_RETURN(std::string hex, GetString(t, key, path));
  Result<Bytes> b = FromHexExact(hex, size, std::string(key));
  if (!b) return b.status().WithContext(Where(path, *t.get(key)));
  return b;
}

Result<int64_t> GetDateTimeMillis(const toml::table& t, std::string_view key,
                                  const std::string& path) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Missing(t, key, path, "a date-time such as 2027-01-01T00:00:00Z");
  if (!n->is_date_time()) {
    return WrongType(*n, key, path, "a date-time such as 2027-01-01T00:00:00Z");
  }
  const toml::date_time dt = n->as_date_time()->get();
  std::tm tm{};
  tm.tm_year = dt.date.year - 1900;
  tm.tm_mon = dt.date.month - 1;
  tm.tm_mday = dt.date.day;
  tm.tm_hour = dt.time.hour;
  tm.tm_min = dt.time.minute;
  tm.tm_sec = dt.time.second;
  int64_t secs = timegm(&tm);
  if (dt.offset) secs -= int64_t{dt.offset->minutes} * 60;
  return secs * 1000 + int64_t{dt.time.nanosecond} / 1'000'000;
}

Result<std::vector<std::string>> GetStringArray(const toml::table& t, std::string_view key,
                                                const std::string& path, bool required) {
  const toml::node* n = t.get(key);
  if (n == nullptr) {
    if (!required) return std::vector<std::string>();
    return Missing(t, key, path, "an array of strings");
  }
  const toml::array* a = n->as_array();
  if (a == nullptr) return WrongType(*n, key, path, "an array of strings");
  std::vector<std::string> out;
  for (const toml::node& e : *a) {
    if (!e.is_string()) return WrongType(e, key, path, "an array of strings");
    out.emplace_back(e.as_string()->get());
  }
  return out;
}

Status CheckKnownKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                      const std::string& path) {
  for (const auto& [k, v] : t) {
    bool known = false;
    for (std::string_view a : allowed) known = known || k.str() == a;
    if (!known) {
      std::ostringstream expected;
      for (std::string_view a : allowed) expected << (expected.tellp() > 0 ? ", " : "") << a;
      return InvalidArgument(Where(path, v) + ": unknown key " + Quote(k.str()) +
                             " (expected one of: " + expected.str() + ")");
    }
  }
  return Status::Ok();
}

}  // namespace nrm::config
