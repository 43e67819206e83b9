// nrm_json: the one way nrm reads and writes JSON (nlohmann::json from Debian's
// nlohmann-json3-dev, kept in insertion order so that output is in the order it was built).
// Parse is the one boundary where hostile text enters: it never throws or aborts, whatever the
// input, refuses duplicate object keys and nesting deeper than a limit, and names the line and
// column of the first error. Dump writes indented JSON with a final newline; invalid UTF-8 in
// a string is written as U+FFFD rather than aborting.
//
// Functions are thread-safe; a Json value is thread-compatible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace nrm::json {

using Json = nlohmann::ordered_json;

struct ParseOptions {
  size_t max_depth = 32;  // objects and arrays nested deeper are refused
};

// The document in `text`, or kInvalidArgument "JSON: line L, column C: WHAT" (line and column
// count from 1; the column counts bytes) for malformed JSON, a duplicate key or deep nesting.
Result<Json> Parse(std::string_view text, const ParseOptions& options = {});

// `value` as indented JSON (two spaces a level, `"key": value`) with a final newline.
std::string Dump(const Json& value);

// `s` as a JSON string literal, quotes included.
std::string Quote(std::string_view s);

}  // namespace nrm::json
