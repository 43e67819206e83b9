// Reading the JSON files people give the agent (a case, a repatriation request, a response),
// checked against schemas/payload.fbs. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::agent {

// The payload in `json` (read from `path`, for messages). kInvalidArgument
// "path: line L: field 'F': <what the schema expected>" naming the field nearest the error,
// e.g. an unknown field or a value of the wrong type.
Result<Bytes> ParseCaseFile(std::string_view json, const std::string& path);

}  // namespace nrm::agent
