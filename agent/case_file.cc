#include "agent/case_file.h"

#include <cstdlib>
#include <regex>

#include "schemas/wire/payload.h"

namespace nrm::agent {
namespace {

// The offset of line `line` (1-based), column `col` (1-based) in `text`, clamped to its size.
size_t OffsetOf(std::string_view text, long line, long col) {
  size_t at = 0;
  for (long l = 1; l < line && at < text.size(); ++l) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) return text.size();
    at = nl + 1;
  }
  return std::min(text.size(), at + static_cast<size_t>(std::max(0L, col)));
}

}  // namespace

Result<Bytes> ParseCaseFile(std::string_view json, const std::string& path) {
  Result<Bytes> payload = wire::PayloadFromJson(json);
  if (payload.ok()) return payload;
  const std::string message = payload.status().message();
  // flatc's parser reports "error: <line>: <col>: error: <what>"; the field is the last key
  // before that position (the parser stops just after the offending value or name).
  std::smatch m;
  static const std::regex kPosition(R"((\d+):\s*(\d+):\s*error:\s*(.*))");
  if (!std::regex_search(message, m, kPosition)) {
    return InvalidArgument(path + ": " + message);
  }
  const long line = std::strtol(m[1].str().c_str(), nullptr, 10);
  const long col = std::strtol(m[2].str().c_str(), nullptr, 10);
  std::string what = m[3].str();
  while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
  const std::string before(json.substr(0, OffsetOf(json, line, col)));
  static const std::regex kKey(R"re("([A-Za-z_][A-Za-z0-9_]*)"\s*:)re");
  std::string field;
  for (auto it = std::sregex_iterator(before.begin(), before.end(), kKey);
       it != std::sregex_iterator(); ++it) {
    field = (*it)[1].str();
  }
  // A scalar of the wrong type is reported only at the end of its table, with its value:
  // find the key that holds that value.
  static const std::regex kInvalidNumber(R"(invalid number: (.+))");
  std::smatch v;
  if (std::regex_search(what, v, kInvalidNumber)) {
    const std::string value = v[1].str();
    const std::string text(json);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kKey);
         it != std::sregex_iterator(); ++it) {
      const size_t after = static_cast<size_t>(it->position() + it->length());
      const size_t start = text.find_first_not_of(" \t\r\n", after);
      if (start != std::string::npos && text.compare(start, value.size(), value) == 0) {
        field = (*it)[1].str();
        break;
      }
    }
    what += " (a number, or true/false, was expected)";
  }
  std::string out = path + ": line " + std::to_string(line) + ": ";
  if (!field.empty()) out += "field '" + field + "': ";
  return InvalidArgument(out + what);
}

}  // namespace nrm::agent
