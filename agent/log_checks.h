// The running agent's side of the log watch (agent/log_watch.h): a receipt counts only once its
// checkpoint is shown consistent with the log this agent holds. ACCEPTED and STATUS answers wait
// here (in memory) for their CONSISTENCY proof, one proof at a time, smallest size first; then
// they go to the outbox as answers, or, when the log watch raised its alarm, as answers that do
// not verify (the step stays unconfirmed). Now and then it asks the broker for the latest
// checkpoint the witnesses cosigned, and raises the alarm when the cosignatures required are
// overdue.
//
// Thread-compatible: the daemon's one thread.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "agent/agent.h"
#include "agent/outbox.h"

namespace nrm::agent {

class LogChecks {
 public:
  // Both must outlive it.
  LogChecks(Agent& agent, Outbox& outbox) : agent_(agent), outbox_(outbox) {}

  // An answer whose receipt's signature verified (Agent::ReadAnswer, ReadStatus).
  Status OnAnswer(SendOutcome answer);
  Status OnStatus(QueryAnswer answer);
  // A CONSISTENCY answer from the broker.
  Status OnConsistency(const transport::Frames& frames);
  // Asks what is due (a proof, the latest cosigned checkpoint), gives up on a proof unanswered
  // within answer_timeout (asked again), and checks the cosignature delay. `live`: the link is
  // up.
  Status Tick(bool live);

 private:
  struct Parked {
    std::optional<SendOutcome> answer;
    std::optional<QueryAnswer> status;
    Bytes note;
  };
  // Hands `p` on as its verdict says; keeps it when it still needs a proof.
  Status Settle(Parked p);
  Status Deliver(Parked& p, bool counts);
  void MaybeAsk();

  Agent& agent_;
  Outbox& outbox_;
  std::map<uint64_t, std::vector<Parked>> parked_;  // by the size of their checkpoint
  bool asking_ = false;                             // a CONSISTENCY is out
  uint64_t asked_from_ = 0;                         // its old size
  int64_t asked_until_ms_ = 0;                      // when it is given up on
  int64_t last_cosigned_check_ms_ = 0;
};

}  // namespace nrm::agent
