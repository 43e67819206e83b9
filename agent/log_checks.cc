#include "agent/log_checks.h"

#include "agent/log.h"

namespace nrm::agent {
namespace {

int64_t Now() { return SystemClock::Get().NowMillis(); }

}  // namespace

Status LogChecks::Deliver(Parked& p, bool counts) {
  const Bytes& id = p.answer ? p.answer->message_id : p.status->message_id;
  if (!counts) {
    return outbox_.OnBadAnswer(
        id, Unauthenticated("its receipt does not count: " + agent_.log_watch().state().alarm));
  }
  return p.answer ? outbox_.OnAnswer(*p.answer) : outbox_.OnStatus(*p.status);
}

Status LogChecks::Settle(Parked p) {
  const LogWatch::Check check =
      agent_.log_watch().OnReceipt(AsChars(p.note), /*fresh=*/p.answer.has_value());
  if (check.verdict == LogWatch::Verdict::kNeedProof) {
    parked_[check.proof_to].push_back(std::move(p));
    MaybeAsk();
    return Status::Ok();
  }
  return Deliver(p, check.verdict == LogWatch::Verdict::kAccept);
}

Status LogChecks::OnAnswer(SendOutcome answer) {
  if (!answer.accepted) return outbox_.OnAnswer(answer);
  Bytes note = answer.receipt_head;
  return Settle(Parked{std::move(answer), std::nullopt, std::move(note)});
}

Status LogChecks::OnStatus(QueryAnswer answer) {
  if (!answer.held || !answer.receipt_leaf) return outbox_.OnStatus(answer);
  Bytes note = answer.receipt_head;
  return Settle(Parked{std::nullopt, std::move(answer), std::move(note)});
}

void LogChecks::MaybeAsk() {
  if (asking_ || parked_.empty() || !agent_.connected()) return;
  asked_from_ = agent_.log_watch().state().size;
  if (!agent_.SendFrames(Agent::ConsistencyRequest(asked_from_, parked_.begin()->first)).ok()) {
    return;
  }
  asking_ = true;
  asked_until_ms_ = Now() + agent_.config().answer_timeout_ms;
}

Status LogChecks::OnConsistency(const transport::Frames& frames) {
  Result<Agent::ConsistencyAnswer> a = Agent::ReadConsistency(frames);
  if (!a.ok()) {
    LogEvent("SUSPICIOUS: a malformed answer to CONSISTENCY: " + a.status().message());
    return Status::Ok();
  }
  if (!asking_ || a->old_size != asked_from_) return Status::Ok();  // stale
  asking_ = false;
  (void)agent_.log_watch().OnConsistency(a->old_size, a->note, a->proof, a->reason);
  agent_.log_watch().CheckCosignatures();
  // Every waiting answer is weighed again against what is now held.
  std::map<uint64_t, std::vector<Parked>> waiting;
  waiting.swap(parked_);
  for (auto& [size, list] : waiting) {
    for (Parked& p : list) NRM_RETURN_IF_ERROR(Settle(std::move(p)));
  }
  MaybeAsk();
  return Status::Ok();
}

Status LogChecks::Tick(bool live) {
  LogWatch& watch = agent_.log_watch();
  watch.CheckCosignatures();
  if (watch.alarmed() && !parked_.empty()) {
    std::map<uint64_t, std::vector<Parked>> waiting;
    waiting.swap(parked_);
    for (auto& [size, list] : waiting) {
      for (Parked& p : list) NRM_RETURN_IF_ERROR(Deliver(p, false));
    }
  }
  if (!live) {
    asking_ = false;  // lost with the link: asked again once it is back
    return Status::Ok();
  }
  if (asking_ && Now() >= asked_until_ms_) asking_ = false;
  MaybeAsk();
  if (!asking_ && parked_.empty() && watch.CosignedCheckDue(last_cosigned_check_ms_)) {
    last_cosigned_check_ms_ = Now();
    asked_from_ = watch.state().size;
    if (agent_.SendFrames(Agent::ConsistencyRequest(asked_from_, 0)).ok()) {
      asking_ = true;
      asked_until_ms_ = Now() + agent_.config().answer_timeout_ms;
    }
  }
  return Status::Ok();
}

}  // namespace nrm::agent
