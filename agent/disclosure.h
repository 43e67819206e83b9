// What each recipient of a step will receive: the payload's sections its role may hold under the
// need-to-know policy, the sections the policy withholds from it, and whether the person's
// consent covers it. The sender is told this before sending (`--preview`), with every step it
// takes, and again by `outbox` and `show`. Thread-compatible (reads the agent's directory and
// policy).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/consent.h"

namespace nrm::agent {

struct Disclosure {
  std::string agency, role;
  std::vector<std::string> sections;  // in the payload, and for this role: sent
  std::vector<std::string> withheld;  // in the payload, not for this role: left out
  Status consent;                     // OK, or why the consent does not cover a sent section
};

// One Disclosure per recipient of `to`, in order. kNotFound for a recipient not in the
// directory; kInvalidArgument when `payload` does not verify.
Result<std::vector<Disclosure>> PlanDisclosure(const Agent& agent, ByteView payload,
                                               const std::vector<std::string>& to,
                                               const std::optional<ConsentRecord>& consent);

// "case, person, needs; withheld by the policy: investigation" (or "nothing" when no section).
std::string DescribeSections(const std::vector<std::string>& sections,
                             const std::vector<std::string>& withheld);

}  // namespace nrm::agent
