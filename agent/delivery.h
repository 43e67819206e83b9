// Receiving: what the daemon does with each delivery from the broker. A message is stored
// (sealed, synced) before it is acknowledged, so a crash never loses one; a repeat of a stored
// message id is only acknowledged again (and confirmed again when its sender sealed it anew:
// the sender did not get the receipt). A step moves its case on (agent/workflow.h), records the
// consent it carries or withdraws, and is confirmed to its sender with a signed receipt (Kind
// receipt, in_reply_to the step), written in the same batch as the step. A step this agency
// cannot accept (a section its role may not hold, a payload it cannot open, an implausible
// time, a step backwards in the workflow) is answered with a negative receipt that says why.
//
// Order: a step whose Header.previous names a step of its sender this agency has not seen is
// held ("waiting for an earlier step") and applied when that step arrives; held longer than
// earlier_step_wait, it flags its case. A receipt is filed with the step it confirms, only when
// it comes from one of that step's recipients; a signed expiry notice ends the step it names.
//
// Thread-compatible: the daemon's one thread calls these.
#pragma once

#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/store.h"

namespace nrm::agent {

// Stores, applies (or holds), acknowledges and confirms `r`. Errors of the store stop the daemon
// (nothing may be acknowledged that was not stored); see Survivable in agent/daemon.cc.
Status OnDelivery(Agent& agent, AgentStore& store, Outbox& outbox, Received r);

// Flags the cases of steps held longer than earlier_step_wait. Call it now and then.
Status CheckHeld(Agent& agent, AgentStore& store);

}  // namespace nrm::agent
