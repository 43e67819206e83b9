// Erasure by destroying keys (docs/DATA.md, "Erasure"): `erase CASE --reason R` destroys the
// case's key and deletes its records here (AgentStore::Erase: one synced batch, then a
// compaction, leaving a tombstone: reference, when, who, why), and sends an erasure_request to
// every agency the case was shared with. The requests and their receipts are steps of the outbox
// like any other (agent/step_state.h: waiting to send, at the broker, delivered): submitted once,
// sent again when unanswered, followed until each receipt arrives. Each party erases the case
// the same way and answers with a signed receipt; the requester's tombstone (and `timeline
// CASE`) shows who confirmed and who has not. Whatever else arrives for an erased case is
// acknowledged and dropped. Thread-compatible: the daemon's one thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "common/json/json.h"

namespace nrm::agent {

// The `by` of an erasure by the retention rule (agent/retention.h). Its reason holds dates and
// days only, so the log line names it; a caseworker's reason is free text and is not logged.
inline constexpr std::string_view kRetentionRule = "retention rule";

// Erases case `c` here and asks its parties to erase it. `by` says who (a caseworker, the
// retention rule). Logs one line (metadata only). Returns the tombstone.
Result<Tombstone> EraseCase(Agent& agent, AgentStore& store, Outbox& outbox, const CaseRecord& c,
                            const std::string& by, const std::string& reason);

// What the inbox does with an erasure request, or with anything for a case erased here: true
// when `r` was handled (stored as metadata or dropped, and acknowledged), false when it is an
// ordinary delivery for OnDelivery. An erasure request is answered with a signed receipt
// (decision "erased") through the outbox, like any receipt; an erasure receipt for one of this
// agency's erasure requests is filed with it (Outbox::OnReceipt: the request ends delivered once
// every party confirmed) and on the tombstone; a step for an erased case is dropped and answered
// with a negative receipt; any other receipt is dropped.
Result<bool> HandleErasure(Agent& agent, AgentStore& store, Outbox& outbox, const Received& r);

// A repeat of `seen`, stored already, when its case was erased here: true when handled
// (acknowledged; an erasure request its sender sealed anew is confirmed again), false when the
// case was not erased here (an ordinary repeat for OnDelivery).
Result<bool> HandleErasedRepeat(Agent& agent, AgentStore& store, Outbox& outbox,
                                const MessageRecord& seen, const Received& r);

// The tombstone of the case `key` names (its reference or a 6+ digit prefix), or nullopt.
Result<std::optional<Tombstone>> FindTombstone(AgentStore& store, const std::string& key);

// For `timeline`: the tombstone for people, and as JSON.
std::string DescribeTombstone(const Tombstone& t);
json::Json TombstoneJson(const Tombstone& t);

}  // namespace nrm::agent
