// Receiving: what the daemon does with each delivery from the broker. A message is stored
// (sealed, synced) before it is acknowledged, so a crash never loses one; a repeat of a stored
// message is only acknowledged again. The message moves its case on (agent/workflow.h: a step
// that would move it backwards is recorded, not applied), records the consent it carries or
// withdraws, and is confirmed to its sender with a signed receipt (Kind receipt, in_reply_to
// the step) through the outbox. A receipt is filed with the step it confirms; a broker's expiry
// notice is noted on the message that expired.
//
// Thread-compatible: the daemon's one thread calls it.
#pragma once

#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/store.h"

namespace nrm::agent {

// Stores, applies, acknowledges and confirms `r`. Errors of the store stop the daemon (nothing
// may be acknowledged that was not stored); see Survivable in agent/daemon.cc.
Status OnDelivery(Agent& agent, AgentStore& store, Outbox& outbox, Received r);

}  // namespace nrm::agent
