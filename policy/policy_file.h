// Loading a policy file with its hash (the hex SHA-256 of its bytes, which every Decision
// carries). Kept apart from nrm_policy so that the engine itself stays free of libsodium.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "policy/policy.h"

namespace nrm::policy {

// The hex SHA-256 of `bytes`.
std::string PolicyHash(std::string_view bytes);

// Reads and parses the file; kNotFound / kInvalidArgument "path:line: ..." otherwise.
Result<Policy> LoadPolicyFile(const std::string& path);

}  // namespace nrm::policy
