// Where a step is, as the web inbox shows it: the words of agent/step_state.h, the same as
// `nrm-agent inbox`, `outbox`, `show` and --json give (their Thai in the catalogs), with a class
// for the style sheet and whether the step needs a person. A step sent is waiting to send, at the
// broker, delivered (every recipient's signed receipt) or not delivered: action needed; a step
// received is new, read, waiting for an earlier step (held until the sender's previous step on
// the case arrives) or refused (this agency could not accept it and told the sender). Pure;
// thread-safe.
#pragma once

#include <string_view>

#include "agent/store.h"

namespace nrm::agent::web {

enum class Delivery {
  kWaiting,       // sent: waiting to send
  kAtBroker,      // sent: at the broker
  kDelivered,     // sent: delivered
  kActionNeeded,  // sent: not delivered: action needed
  kNew,           // received: new
  kRead,          // received: read
  kHeld,          // received: waiting for an earlier step
  kRefusedHere,   // received: refused
};

Delivery DeliveryOf(const MessageRecord& m);
// The words (msgids): agent/step_state.h's, "waiting to send", "at the broker", ...
std::string_view DeliveryWords(Delivery d);
// A short stable name for style sheets and tests: "waiting", "broker", "delivered", "action",
// "new", "read", "held", "refused".
std::string_view DeliveryClass(Delivery d);
// A person must act: a step not delivered, or one received that waits for an earlier step.
bool NeedsAction(Delivery d);

}  // namespace nrm::agent::web
