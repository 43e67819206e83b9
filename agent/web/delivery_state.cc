#include "agent/web/delivery_state.h"

#include "agent/step_state.h"
#include "agent/web/i18n.h"

namespace nrm::agent::web {
namespace {

// The msgids below are step_state.h's words: the catalogs translate them where they are written.
static_assert(kWaitingToSend == "waiting to send" && kAtTheBroker == "at the broker" &&
              kDelivered == "delivered" && kNotDelivered == "not delivered: action needed" &&
              kNew == "new" && kRead == "read" && kHeld == "waiting for an earlier step" &&
              kRefusedHere == "refused");

}  // namespace

Delivery DeliveryOf(const MessageRecord& m) {
  const std::string state = CurrentStateWord(m.direction, m.state);
  if (m.direction == "out") {
    if (state == kWaitingToSend) return Delivery::kWaiting;
    if (state == kAtTheBroker) return Delivery::kAtBroker;
    if (state == kDelivered) return Delivery::kDelivered;
    return Delivery::kActionNeeded;  // not delivered, or a state this version does not know
  }
  if (state == kHeld) return Delivery::kHeld;
  if (state == kRefusedHere) return Delivery::kRefusedHere;
  if (state == kNew) return Delivery::kNew;
  return Delivery::kRead;
}

std::string_view DeliveryWords(Delivery d) {
  switch (d) {
    case Delivery::kWaiting:
      return Msg("waiting to send");
    case Delivery::kAtBroker:
      return Msg("at the broker");
    case Delivery::kDelivered:
      return Msg("delivered");
    case Delivery::kActionNeeded:
      return Msg("not delivered: action needed");
    case Delivery::kNew:
      return Msg("new");
    case Delivery::kRead:
      return Msg("read");
    case Delivery::kHeld:
      return Msg("waiting for an earlier step");
    case Delivery::kRefusedHere:
      return Msg("refused");
  }
  return "";
}

std::string_view DeliveryClass(Delivery d) {
  switch (d) {
    case Delivery::kWaiting:
      return "waiting";
    case Delivery::kAtBroker:
      return "broker";
    case Delivery::kDelivered:
      return "delivered";
    case Delivery::kActionNeeded:
      return "action";
    case Delivery::kNew:
      return "new";
    case Delivery::kRead:
      return "read";
    case Delivery::kHeld:
      return "held";
    case Delivery::kRefusedHere:
      return "refused";
  }
  return "";
}

bool NeedsAction(Delivery d) { return d == Delivery::kActionNeeded || d == Delivery::kHeld; }

}  // namespace nrm::agent::web
