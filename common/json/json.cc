#include "common/json/json.h"

#include <optional>
#include <set>
#include <vector>

namespace nrm::json {
namespace {

// "line L, column C" of byte offset `pos` (nlohmann counts the byte it stopped at, from 1).
std::string Where(std::string_view text, size_t pos) {
  const size_t end = pos == 0 ? 0 : std::min(pos - 1, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// nlohmann's messages start "[json.exception.parse_error.101] parse error at line 1, column 2: "
// and may end "; last read: '<the input>'": keep only what says what was wrong, never the
// input, which can be a person's data.
std::string What(const std::string& message) {
  const size_t colon = message.find(": ");
  std::string what = colon == std::string::npos ? message : message.substr(colon + 2);
  const size_t echo = what.find("; last read");
  if (echo != std::string::npos) what.resize(echo);
  return what;
}

}  // namespace

Result<Json> Parse(std::string_view text, const ParseOptions& options) {
  // The callback sees every structural event; it tracks the keys of each open object (to refuse
  // duplicates, which nlohmann would silently merge) and the nesting depth.
  std::vector<std::optional<std::set<std::string>>> open;  // nullopt for an array
  std::string problem;  // the callback does not see byte offsets: these errors name no line
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (!problem.empty()) return false;
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (static_cast<size_t>(depth) >= options.max_depth) {
          problem = "nesting deeper than " + std::to_string(options.max_depth) + " levels";
          return false;
        }
        if (event == Json::parse_event_t::object_start) {
          open.emplace_back(std::set<std::string>());
        } else {
          open.emplace_back(std::nullopt);
        }
        return true;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        return true;
      case Json::parse_event_t::key:
        if (!open.empty() && open.back() && !open.back()->insert(parsed.get<std::string>()).second) {
          problem = "duplicate key " + Quote(parsed.get<std::string>());
          return false;
        }
        return true;
      case Json::parse_event_t::value:
        return true;
    }
    return true;
  };
  try {
    Json value = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
    if (!problem.empty()) return InvalidArgument("JSON: " + problem);
    return value;
  } catch (const Json::parse_error& e) {
    return InvalidArgument("JSON: " + Where(text, e.byte) + ": " + What(e.what()));
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("JSON: ") + What(e.what()));
  }
}

std::string Dump(const Json& value) {
  return value.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string Quote(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace nrm::json
