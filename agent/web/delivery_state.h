// The delivery state of a step, as the inbox shows it: one function, so that the states of
// issue 14 (delivery guarantees: `waiting to send`, `at the broker`, `delivered`, `not
// delivered: action needed`) replace what it reads today in one place. Today it reads the
// outbox's record: pending (waiting to send), accepted by the broker (at the broker), accepted
// and confirmed by a signed receipt from every recipient (delivered), refused by the broker or
// expired before a recipient took it (not delivered: action needed). Pure; thread-safe.
#pragma once

#include <string_view>

#include "agent/store.h"

namespace nrm::agent::web {

enum class Delivery {
  kReceived,      // a message that came in: nothing to deliver
  kWaiting,       // waiting to send
  kAtBroker,      // at the broker
  kDelivered,     // delivered (signed receipts)
  kActionNeeded,  // not delivered: action needed
};

Delivery DeliveryOf(const MessageRecord& m);
// The English words (msgids): "waiting to send", "at the broker", ...
std::string_view DeliveryWords(Delivery d);
// A short stable name for style sheets and tests: "waiting", "broker", "delivered", "action".
std::string_view DeliveryClass(Delivery d);

}  // namespace nrm::agent::web
