// Consent: what the person agreed to share, with which roles or agencies, for what purpose,
// when, recorded by whom. It travels with the case (the payload's consent section) and the
// agent checks it before it seals a personal section to a recipient. Pure logic; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/validate.h"
#include "common/bytes.h"
#include "common/status.h"

namespace nrm::agent {

// Sections that identify or describe the person. case, consent and decision are not personal.
bool IsPersonalSection(const std::string& section);

struct ConsentRecord {
  std::vector<std::string> share_sections;
  std::vector<std::string> share_with_roles;
  std::vector<std::string> share_with_agencies;
  std::string purpose, date, recorded_by;
  bool revoked = false;  // a consent_revoke was sent or received for the case
  std::string revoked_reason;
};

// The consent section of a verified payload, or nullopt when it has none.
std::optional<ConsentRecord> ConsentOf(ByteView payload);

// OK when `consent` covers sending every personal section in `sections` to `agency` of `role`.
// kPermissionDenied naming the section and the recipient otherwise (including when there is no
// consent, or it was revoked).
Status CheckConsent(const std::optional<ConsentRecord>& consent,
                    const std::vector<std::string>& sections, const std::string& agency,
                    const std::string& role);
// The same as a Phrase, for the web inbox to show in its reader's language (agent/validate.h):
// empty when the consent covers it; CheckConsent's message is English() of it.
Phrase ConsentProblem(const std::optional<ConsentRecord>& consent,
                      const std::vector<std::string>& sections, const std::string& agency,
                      const std::string& role);

// `payload` with its consent section replaced by `consent`, with `override_reason` set (may be
// empty). Keeps every other section.
Result<Bytes> WithConsent(ByteView payload, const ConsentRecord& consent,
                          const std::string& override_reason);

}  // namespace nrm::agent
