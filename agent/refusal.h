// The agent's words for what stops a step, as Phrases (agent/validate.h), so that the web inbox
// shows them in its reader's language while the command line prints the same in English: the
// policy's reason for refusing a route, a broker's refusal of a step sent and what to do about
// it, the broker's receipt, and this agent's refusal of a step it received. Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "agent/agent.h"
#include "agent/store.h"
#include "policy/policy.h"

namespace nrm::agent {

// The policy's reason for a refusal: English(PolicyReason(d)) == d.reason. Empty for a
// decision without words (an allowed route).
Phrase PolicyReason(const policy::Decision& d);

// Why the broker refused `m` (its answer's code and reason), in English "refused by the broker:
// CODE: REASON". The reason is the policy's own words when this agent's policy refuses the same
// route in the same words (the broker quotes its policy), else the broker's text as it is.
Phrase BrokerRefusal(const Agent& agent, const MessageRecord& m, const std::string& code,
                     const std::string& reason);

// The broker's refusal with `code`, in English "refused by the broker: CODE: %1": words of
// its own for each code the broker gives (the catalog says what it means for a caseworker),
// with `why` (the broker's English detail) kept beside them.
Phrase RefusedByTheBroker(const std::string& code, MessageArg why);

// The broker asking to send a step again later (unavailable, resource_exhausted), in English
// "the broker asked to send it again later (CODE: REASON)", in words of its own for each code.
Phrase SendAgainLater(const std::string& code, const std::string& reason);

// What a caseworker can do about a refusal by the broker, by its code.
Phrase WhatToDo(const std::string& code);

// A delivery this agent refuses (`why`, for message `id_hex`), in English `why` with the context
// "refused delivery ID: ": its `words` when they are this agent's own (English(words) ==
// why's message), else why's message as a value.
Phrase RefusedDelivery(const std::string& id_hex, const Status& why, const Phrase& words = {});

// "payload holds the SECTION section, which a ROLE may not hold (need-to-know policy)".
Phrase MayNotHold(const std::string& section, const std::string& role);

// The timeline's note for a step refused here, "REFUSED here: " and its detail: the detail's
// words when it has them, else the detail as it is.
Phrase RefusedHere(const MessageRecord& m);

// "not applied here: " and the case state machine's reason, a value.
Phrase NotAppliedHere(const Status& why);

// The timeline's note for a step held until the sender's earlier one (`previous`, short)
// arrives: "held: waiting for the earlier step PREVIOUS".
Phrase HeldForEarlier(const std::string& previous);

// The timeline's note for a partner broker's relay receipt: "relayed to CC broker, receipt R".
Phrase RelayedTo(const std::string& country, const std::string& receipt);

// "audit leaf N, in a checkpoint signed by the broker and verified".
Phrase BrokerReceipt(uint64_t leaf);

}  // namespace nrm::agent
