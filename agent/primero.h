// A case's referrals as Primero transitions (UNICEF's case management system): one transition
// per referral_offer or repatriation_request of the case, sent or received, with the status its
// answers gave it (pending, accepted, rejected, revoked, in_progress, done) and Primero's field
// names: type, status, record_type, record_id, transitioned_by, transitioned_to_agency,
// rejected_reason, consent_overridden, created_at, responded_at, service, notes. docs/DATA.md
// says how each is filled. Pure function; thread-safe.
#pragma once

#include <vector>

#include "agent/store.h"
#include "common/json/json.h"

namespace nrm::agent {

// {"record_type": "case", "record_id": <ref>, "transitions": [...]}, from `messages` (any
// order; those of other cases and receipts are ignored).
json::Json PrimeroTransitions(const CaseRecord& c, std::vector<MessageRecord> messages);

}  // namespace nrm::agent
