#include "agent/disclosure.h"

#include <algorithm>

#include "agent/words.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {

Result<std::vector<Disclosure>> PlanDisclosure(const Agent& agent, ByteView payload,
                                               const std::vector<std::string>& to,
                                               const std::optional<ConsentRecord>& consent) {
  NRM_ASSIGN_OR_RETURN(const payload::Payload* p, wire::VerifyPayload(payload));
  const std::vector<std::string> present = wire::PresentSections(*p);
  std::vector<Disclosure> out;
  for (const std::string& id : to) {
    const identity::Agency* a = agent.directory().Find(id);
    if (a == nullptr) return NotFound("recipient " + id + " is not in the directory");
    Disclosure d;
    d.agency = id;
    d.role = a->role;
    const std::vector<std::string> allowed = agent.SectionsFor(a->role);
    for (const std::string& s : present) {
      const bool sent = std::find(allowed.begin(), allowed.end(), s) != allowed.end();
      (sent ? d.sections : d.withheld).push_back(s);
    }
    d.consent = CheckConsent(consent, d.sections, id, a->role);
    out.push_back(std::move(d));
  }
  return out;
}

std::string DescribeSections(const std::vector<std::string>& sections,
                             const std::vector<std::string>& withheld) {
  std::string out = sections.empty() ? "no section" : Join(sections);
  if (!withheld.empty()) out += "; withheld by the policy: " + Join(withheld);
  return out;
}

}  // namespace nrm::agent
