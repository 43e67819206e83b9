// Reading hand-edited TOML files (configs, key files, the directory, the policy) with errors
// that name the file, the line and what was expected. Thread-compatible.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::config {

// A parsed TOML document and the path it came from (for messages).
struct TomlDoc {
  toml::table root;
  std::string path;
};

// Parses `text`; kInvalidArgument "path:line:col: <what the parser expected>" on a syntax error.
Result<TomlDoc> ParseToml(std::string_view text, const std::string& path);
// Reads and parses the file at `path`.
Result<TomlDoc> LoadToml(const std::string& path);

// "path:line" for `node` (or just "path" when the node has no source position).
std::string Where(const std::string& path, const toml::node& node);

// Typed access to table `t` of the document from `path`. A missing required key or a value of
// the wrong type is kInvalidArgument naming the file, line, key and the expected type.
Result<std::string> GetString(const toml::table& t, std::string_view key, const std::string& path);
Result<std::optional<std::string>> GetOptionalString(const toml::table& t, std::string_view key,
                                                     const std::string& path);
Result<int64_t> GetInt(const toml::table& t, std::string_view key, const std::string& path,
                       std::optional<int64_t> fallback = std::nullopt);
Result<bool> GetBool(const toml::table& t, std::string_view key, const std::string& path,
                     std::optional<bool> fallback = std::nullopt);
// `size` bytes written as hex (e.g. a 32-byte key as 64 hex digits); `key` names it in errors.
Result<Bytes> GetHex(const toml::table& t, std::string_view key, size_t size,
                     const std::string& path);
// A TOML date-time (2027-01-01T00:00:00Z; a time without offset is read as UTC) in milliseconds
// since the Unix epoch. A date alone, or any other type, is kInvalidArgument.
Result<int64_t> GetDateTimeMillis(const toml::table& t, std::string_view key,
                                  const std::string& path);
Result<std::vector<std::string>> GetStringArray(const toml::table& t, std::string_view key,
                                                const std::string& path, bool required = true);

// kInvalidArgument naming the first key of `t` that is not in `allowed` (a typo must not be
// silently ignored in a security configuration).
Status CheckKnownKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                      const std::string& path);

}  // namespace nrm::config
