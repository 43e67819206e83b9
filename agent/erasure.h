// Erasure by destroying keys (docs/DATA.md, "Erasure"): `erase CASE --reason R` destroys the
// case's key and deletes its records here (AgentStore::Erase: one synced batch, then a
// compaction, leaving a tombstone: reference, when, who, why), and sends an erasure_request to
// every agency the case was shared with. Each of them erases it the same way and answers with a
// signed receipt; the requester's tombstone (and `timeline CASE`) shows who confirmed and who has
// not. Whatever else arrives for an erased case is acknowledged and dropped. Thread-compatible:
// the daemon's one thread.
#pragma once

#include <optional>
#include <string>

#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "common/json/json.h"

namespace nrm::agent {

// Erases case `c` here and asks its parties to erase it. `by` says who (a caseworker, the
// retention rule). Returns the tombstone.
Result<Tombstone> EraseCase(Agent& agent, AgentStore& store, Outbox& outbox, const CaseRecord& c,
                            const std::string& by, const std::string& reason);

// What the inbox does with an erasure request, or with anything for a case erased here: true
// when `r` was handled (stored as metadata or dropped, and acknowledged), false when it is an
// ordinary delivery for OnDelivery.
Result<bool> HandleErasure(Agent& agent, AgentStore& store, Outbox& outbox, const Received& r);

// The tombstone of the case `key` names (its reference or a 6+ digit prefix), or nullopt.
Result<std::optional<Tombstone>> FindTombstone(AgentStore& store, const std::string& key);

// For `timeline`: the tombstone for people, and as JSON.
std::string DescribeTombstone(const Tombstone& t);
json::Json TombstoneJson(const Tombstone& t);

}  // namespace nrm::agent
