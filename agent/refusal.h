// The agent's words for what stops a step, as Phrases (agent/validate.h), so that the web inbox
// shows them in its reader's language while the command line prints the same in English: the
// policy's reason for refusing a route, a broker's refusal of a step sent and what to do about
// it, and the broker's receipt. Pure functions; thread-safe.
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

// What a caseworker can do about a refusal by the broker, by its code.
Phrase WhatToDo(const std::string& code);

// "audit leaf N, in a checkpoint signed by the broker and verified".
Phrase BrokerReceipt(uint64_t leaf);

}  // namespace nrm::agent
