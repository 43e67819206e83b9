// Sending: how the agent takes a workflow step and gets it to its recipients, once. A step is
// checked against the case's state (agent/workflow.h) and the person's consent
// (agent/consent.h), given its message id (its identity for good: one per recipient role), and
// stored in the outbox with the updated case in one synced write before the broker is tried.
//
// Each submission seals the step anew from its stored payload (sealed at rest under the local
// key): same message id, a fresh created_at, the previous step to each recipient
// (Header.previous). So a step that waited through an outage longer than the broker's freshness
// window, or was refused as stale, is simply sealed again; the broker and the recipient still see
// one step, since the broker's replay memory and the recipient both go by the message id.
//
// One copy in flight: a step is submitted while the broker link is live, and again only when
// the broker's answer did not come within answer_timeout, or the link changed. Steps of one
// case to a shared recipient are submitted in the order they were taken, each after the broker
// answered the one before.
//
// Only proofs count. ACCEPTED counts with a receipt that verifies (then: at the broker); an
// already_exists counts once the broker hands over the original receipt (QUERY). A step stays
// open until every recipient's signed receipt arrives (delivered). Without them after
// confirm_after, the agent asks the broker: if the broker no longer holds the step (a lost data
// directory), it is submitted again, and the recipient drops the repeat by id. A refusal, by
// the broker or by a recipient (a negative receipt), an expiry notice signed by the broker, or
// a revoked recipient ends it as "not delivered: action needed" with the reason and what to do,
// and puts the case back where it was. docs/AGENT.md, "Where a step is".
//
// Thread-compatible: the daemon's one thread uses an Outbox.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/store.h"
#include "schemas/wire/payload.h"

namespace nrm::agent {

// A payload: `base` (may be empty) with `edit` applied to its object form.
Result<Bytes> EditPayload(ByteView base, const std::function<void(payload::PayloadT&)>& edit);

// The payload's decision section, created when missing.
payload::DecisionSectionT& Decision(payload::PayloadT& t);

// One step to take on a case.
struct StepRequest {
  wire::Kind kind = wire::Kind::Unknown;
  std::vector<std::string> to;
  Bytes payload;
  std::string in_reply_to;  // hex
  std::string override_reason;
  wire::Handling handling = wire::Handling::H0;
  std::string note;  // for the timeline
  std::string by;    // who takes the step (a web inbox user), for the timeline
  bool check_state = true;
};

class Outbox {
 public:
  // Both must outlive the Outbox.
  Outbox(Agent& agent, AgentStore& store) : agent_(agent), store_(store) {}

  // The daemon's way to serve broker traffic for up to `ms` while a command waits for the
  // broker's answers (TakeStep). Unset: TakeStep does not wait.
  void set_serve(std::function<Status(int ms)> serve) { serve_ = std::move(serve); }

  // Checks the transition and the consent, seals (to check the recipients), stores the step in
  // the outbox with the case, submits it when the link is live and waits up to a few seconds
  // for the broker's answers. The case is updated in `c`. Returns the messages as they are then.
  Result<std::vector<MessageRecord>> TakeStep(CaseRecord& c, StepRequest r);

  // A signed receipt for received step `step` (positive, or negative with `refusal`), sealed
  // and ready for the outbox: the caller writes it with the delivery it confirms, in one batch.
  // With `erased` (and no refusal) it is an erasure request's: decision "erased", `erased` its
  // reason (agent/erasure.h).
  Result<MessageRecord> MakeReceipt(const MessageRecord& step, const std::string& refusal,
                                    const std::string& erased = "");

  // Submits what waits to send now when the link is live (steps just written to the outbox by
  // the caller, e.g. erasure requests) and waits up to a few seconds, serving broker traffic,
  // for the broker's answers to `ids`. Like TakeStep, for commands only, never from a delivery.
  Status SubmitNow(const std::vector<std::string>& ids);

  // Submits what is waiting, times out unanswered submissions and asks the broker about steps
  // without receipts after confirm_after. `live`: the broker link is up. Call it often; it reads
  // the outbox at most every kTickEveryMs. Errors are only those of the store.
  Status Tick(bool live, bool force = false);
  // The link changed (down, or up again): whatever was in flight on it is lost.
  void OnLinkChange();

  // The broker's answer to a SEND (agent/confirmation.cc).
  Status OnAnswer(const SendOutcome& answer);
  // An ACCEPTED whose receipt does not verify: nothing counts; it is asked for again later.
  Status OnBadAnswer(ByteView message_id, const Status& why);
  // The broker's answer to a QUERY.
  Status OnStatus(const QueryAnswer& answer);
  // A signed receipt from `from` for step `step_id` (negative when `refusal` is set). Returns
  // false, and files nothing, when the receipt is not from one of the step's recipients.
  Result<bool> OnReceipt(const std::string& step_id, const std::string& from,
                         const std::string& receipt_id, const std::string& refusal);
  // The broker's signed notice that `recipient` never acknowledged `step_id`.
  Status OnExpired(const std::string& step_id, const std::string& recipient);
  // A partner broker's relay receipt for the step `step_id` (hex) to agencies of `country`,
  // verified (Agent::OpenRelayReceipt): recorded in the case's timeline. A receipt for a step
  // this agency did not send to that country is logged and ignored.
  Status OnRelayReceipt(const std::string& step_id, const std::string& country,
                        const std::string& receipt);

  static constexpr int64_t kTickEveryMs = 250;
  // Steps at the broker are checked against confirm_after this often (or at half of it).
  static constexpr int64_t kConfirmScanEveryMs = 5000;

 private:
  // Seals `m` anew: same id, fresh created_at, the previous step to each recipient.
  Status Seal(MessageRecord& m);
  Status Submit(MessageRecord& m);
  Status Query(MessageRecord& m, const std::string& why);
  // Ends `m` as not delivered, with why and what to do; puts its case back when it was the
  // case's last step. Logs `log_why` instead of `why` when given (a reason from a payload).
  Status Fail(MessageRecord& m, const Phrase& why, const Phrase& what_to_do,
              const std::string& log_why = "");
  // Waits (serving broker traffic) up to `ms` for the broker to answer `ids`.
  void AwaitAnswers(const std::vector<std::string>& ids, int ms);

  Agent& agent_;
  AgentStore& store_;
  std::function<Status(int)> serve_;
  bool live_ = false;
  int64_t next_tick_ms_ = 0;
  int64_t next_confirm_scan_ms_ = 0;
  // In memory only: after a restart nothing is in flight.
  std::map<std::string, int64_t> in_flight_;    // id -> when its SEND is given up on
  std::map<std::string, int64_t> queried_;      // id -> when its QUERY is given up on
  std::map<std::string, int64_t> retry_after_;  // id -> not submitted before (a resend later)
  std::map<std::string, int> stale_;            // id -> stale refusals in a row (back-off)
  std::set<std::string> awaiting_receipt_;      // answered already_exists: only its receipt counts
};

}  // namespace nrm::agent
