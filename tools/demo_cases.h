// The case files of `nrm demo`: valid for the agent's checks (docs/DATA.md), each for a person
// whose name is a canary string the demo then looks for where it must never be. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace nrm::tools {

// A referral offer of the police: case, person (`who`: "child, 16" makes a child), context,
// needs, consent to share with shelters, and the investigation a shelter never receives.
std::string DemoOffer(const std::string& canary, const std::string& who);

// A repatriation request for a person of `nationality`: person, repatriation (`origin` for
// family tracing), consent to share with NGOs and immigration.
std::string DemoRepatriationRequest(const std::string& canary, const std::string& origin,
                                    const std::string& nationality);

// Reads every file under `roots` (files or folders) and adds to `leaks` each that holds one of
// `canaries`; returns how many files it read.
Result<size_t> ScanForCanaries(const std::vector<std::string>& roots,
                               const std::vector<std::string>& canaries,
                               std::vector<std::string>& leaks);

}  // namespace nrm::tools
