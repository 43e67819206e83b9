// The words for where a step is, the same in every command, in --json and in the web inbox.
// A step this agency sent is in one of four states (docs/AGENT.md, "Where a step is"):
//
//   waiting to send               written to the outbox; no broker has accepted it yet (no
//                                 connection, or no answer, or the broker asked to resend later)
//   at the broker                 the broker accepted it and gave a signed receipt (an audit
//                                 leaf); no signed receipt from every recipient yet
//   delivered                     every recipient sent its signed receipt
//   not delivered: action needed  refused by the broker or by a recipient (with the reason and
//                                 what to do), a revoked recipient, or expired at the broker
//
// A step received is "new" (not yet shown), "read", "waiting for an earlier step" (held until
// the sender's previous step on the case arrives) or "refused" (this agency could not accept
// it and told the sender). Pure constants and functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace nrm::agent {

inline constexpr std::string_view kWaitingToSend = "waiting to send";
inline constexpr std::string_view kAtTheBroker = "at the broker";
inline constexpr std::string_view kDelivered = "delivered";
inline constexpr std::string_view kNotDelivered = "not delivered: action needed";

inline constexpr std::string_view kNew = "new";
inline constexpr std::string_view kRead = "read";
inline constexpr std::string_view kHeld = "waiting for an earlier step";
inline constexpr std::string_view kRefusedHere = "refused";

// The four states of a sent step, in the order `status` counts them.
inline constexpr std::string_view kSentStates[] = {kWaitingToSend, kAtTheBroker, kDelivered,
                                                   kNotDelivered};

// A sent step the agent still works on (submits, or waits on a receipt for).
inline bool IsOpen(std::string_view state) {
  return state == kWaitingToSend || state == kAtTheBroker;
}

// The state a record written by an earlier version holds, in today's words.
inline std::string CurrentStateWord(std::string_view direction, std::string_view state) {
  if (direction == "out") {
    if (state == "pending") return std::string(kWaitingToSend);
    if (state == "accepted") return std::string(kAtTheBroker);
    if (state == "refused") return std::string(kNotDelivered);
  }
  return std::string(state);
}

}  // namespace nrm::agent
