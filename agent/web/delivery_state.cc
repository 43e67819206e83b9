#include "agent/web/delivery_state.h"

#include "agent/web/i18n.h"

namespace nrm::agent::web {

Delivery DeliveryOf(const MessageRecord& m) {
  if (m.direction != "out") return Delivery::kReceived;
  if (m.state == "refused" || m.note.starts_with("EXPIRED")) return Delivery::kActionNeeded;
  if (m.state == "pending") return Delivery::kWaiting;
  if (m.state == "accepted") {
    return m.receipts.size() >= m.to.size() ? Delivery::kDelivered : Delivery::kAtBroker;
  }
  return Delivery::kActionNeeded;  // a state this version does not know
}

std::string_view DeliveryWords(Delivery d) {
  switch (d) {
    case Delivery::kReceived:
      return Msg("received");
    case Delivery::kWaiting:
      return Msg("waiting to send");
    case Delivery::kAtBroker:
      return Msg("at the broker");
    case Delivery::kDelivered:
      return Msg("delivered");
    case Delivery::kActionNeeded:
      return Msg("not delivered: action needed");
  }
  return "";
}

std::string_view DeliveryClass(Delivery d) {
  switch (d) {
    case Delivery::kReceived:
      return Msg("received");
    case Delivery::kWaiting:
      return "waiting";
    case Delivery::kAtBroker:
      return "broker";
    case Delivery::kDelivered:
      return Msg("delivered");
    case Delivery::kActionNeeded:
      return "action";
  }
  return "";
}

}  // namespace nrm::agent::web
