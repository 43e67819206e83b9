// The two workflows a case goes through, as a table of steps: the referral (states after
// Primero) and the repatriation. Pure logic; thread-safe (immutable tables).
//
//   referral:      (new) -offer-> offered -accept-> accepted -confirm-handover-> handover_confirmed
//                  offered -decline-> rejected (with a reason); rejected/revoked -offer-> offered
//                  offered|accepted -revoke-> revoked; handover_confirmed -close-> done
//   repatriation:  (new)|handover_confirmed -request-> requested -respond-> responded
//                  -travel-documents-> travel_documents (repeatable: both sides exchange them)
//                  -schedule-return-> return_scheduled -complete-return-> return_completed
//                  -followup-> reintegration_followup (repeatable) -close-> done
//
// status_update (share), consent_revoke and receipt change no state. A sender takes a step only
// from a state that allows it. A receiver applies a step that is allowed, or that moves the case
// forward (a party that joins a case midway, e.g. immigration at travel documents); it records a
// step that would move the case backwards without applying it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "schemas/wire/envelope.h"

namespace nrm::agent {

// Every state, in workflow order. "new" is a case this agent has not yet seen a step of.
const std::vector<std::string_view>& WorkflowStates();

// The kinds that are workflow steps (change a state), in workflow order.
const std::vector<wire::Kind>& WorkflowSteps();

// True for kinds that never change the state (status_update, consent_revoke, receipt...).
bool IsStatelessKind(wire::Kind kind);

// The state after taking `kind` from `state`, or kFailedPrecondition-like kInvalidArgument
// "the case is <state>; <kind> is allowed only from <states>; from <state> you may: <kinds>".
Result<std::string> NextState(std::string_view state, wire::Kind kind);

// The steps allowed from `state` (kind names), for messages and `cases` output.
std::vector<std::string> AllowedFrom(std::string_view state);

// What a receiver does with a step from `state`: the new state, or the same state when the step
// would move the case backwards (then `applied` is false).
struct Applied {
  std::string state;
  bool applied = false;
};
Applied ApplyReceived(std::string_view state, wire::Kind kind);

}  // namespace nrm::agent
