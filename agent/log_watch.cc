#include "agent/log_watch.h"

#include <algorithm>
#include <filesystem>

#include "agent/log.h"
#include "common/file_util.h"
#include "common/json/json.h"

namespace nrm::agent {
namespace {

using json::Json;

constexpr char kStateFile[] = "log_watch.json";
constexpr char kCheckpointFile[] = "log.checkpoint";
// How often the latest cosigned checkpoint is fetched: while cosignatures are missing, and
// otherwise (to compare this agency's view with the witnesses' now and then).
constexpr int64_t kCheckWhileUncoveredMs = 2000;
constexpr int64_t kCheckEveryMs = 60 * 1000;

std::string Seconds(int64_t ms) { return std::to_string(ms / 1000) + " s"; }

}  // namespace

Result<std::unique_ptr<LogWatch>> LogWatch::Open(const std::string& dir,
                                                 audit::note::VerifierKey log_key,
                                                 LogWatchConfig config, const Clock& clock) {
  auto w =
      std::unique_ptr<LogWatch>(new LogWatch(dir, std::move(log_key), std::move(config), clock));
  NRM_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string path = dir + "/" + kStateFile;
  if (!std::filesystem::exists(path)) return w;
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Result<Json> doc = json::Parse(text);
  if (!doc || !doc->is_object()) return Corruption(path + " does not parse");
  LogWatchState& s = w->state_;
  auto text_of = [&](const char* key) {
    return doc->contains(key) && (*doc)[key].is_string() ? (*doc)[key].get<std::string>()
                                                         : std::string();
  };
  auto number = [&](const char* key) {
    return doc->contains(key) && (*doc)[key].is_number_integer() ? (*doc)[key].get<int64_t>()
                                                                 : int64_t{0};
  };
  s.checkpoint = text_of("checkpoint");
  s.cosigned_size = static_cast<uint64_t>(number("cosigned_size"));
  s.uncovered_size = static_cast<uint64_t>(number("uncovered_size"));
  s.uncovered_since_ms = number("uncovered_since_ms");
  s.alarm = text_of("alarm");
  s.alarm_since_ms = number("alarm_since_ms");
  if (!s.checkpoint.empty()) {
    // Kept by this agent after it verified it: checked again all the same (a changed file is an
    // alarm, not a starting point), under the key that verified it. Trusting a key named in this
    // file gives whoever can write it nothing they lack: they can delete the file, and the agent
    // starts afresh; a checkpoint under a key of theirs is then only a starting point that the
    // broker's next checkpoint must prove consistent with.
    const std::string kept_vkey = text_of("checkpoint_vkey");
    if (!kept_vkey.empty() && kept_vkey != audit::note::FormatVerifierKey(w->log_key_)) {
      Result<audit::note::VerifierKey> k = audit::note::ParseVerifierKey(kept_vkey);
      if (k && k->type == audit::note::kTypeEd25519) w->held_key_ = std::move(*k);
    }
    Result<audit::VerifiedCheckpoint> cp = audit::VerifyCheckpointNote(
        s.checkpoint, w->held_key_ ? *w->held_key_ : w->log_key_, w->config_.witnesses);
    if (!cp || !cp->log_time) {
      s.checkpoint.clear();
      w->held_key_.reset();
      (void)w->Alarm("the checkpoint kept in " + path + " does not verify under the log key kept " +
                     "with it" + (cp ? "" : " (" + cp.status().message() + ")") +
                     "; it is dropped");
      return w;
    }
    s.size = cp->checkpoint.size;
    s.root = cp->checkpoint.root;
    s.log_time = *cp->log_time;
  }
  return w;
}

void LogWatch::Save() {
  const Json doc{
      {"checkpoint", state_.checkpoint},
      {"checkpoint_vkey", state_.checkpoint.empty()
                              ? std::string()
                              : audit::note::FormatVerifierKey(held_key_ ? *held_key_ : log_key_)},
      {"size", state_.size},
      {"cosigned_size", state_.cosigned_size},
      {"uncovered_size", state_.uncovered_size},
      {"uncovered_since_ms", state_.uncovered_since_ms},
      {"alarm", state_.alarm},
      {"alarm_since_ms", state_.alarm_since_ms}};
  if (Status s = WriteFileAtomic(dir_ + "/" + kStateFile, json::Dump(doc), 0600); !s.ok()) {
    LogEvent("cannot keep the broker log's state: " + s.ToString());
  }
  const std::string kept = dir_ + "/" + kCheckpointFile;
  if (!state_.checkpoint.empty()) {
    (void)WriteFileAtomic(kept, state_.checkpoint, 0600);
  } else {
    std::error_code ec;
    std::filesystem::remove(kept, ec);  // forgotten, or dropped: no stale copy for the auditor
  }
}

Status LogWatch::Alarm(std::string why) {
  if (state_.alarm.empty()) {
    state_.alarm = why;
    state_.alarm_since_ms = clock_.NowMillis();
    LogEvent("ALARM: the broker's audit log: " + why +
             ". Receipts from this broker no longer count until an operator has looked "
             "(nrm-agent clear-alarm).");
    Save();
  }
  return Unauthenticated("the broker's audit log: " + why);
}

std::optional<audit::VerifiedCheckpoint> LogWatch::Verify(std::string_view note,
                                                          std::string_view what) {
  Result<audit::VerifiedCheckpoint> cp =
      audit::VerifyCheckpointNote(note, log_key_, config_.witnesses);
  if (!cp) {
    (void)Alarm(std::string(what) + " does not verify: " + cp.status().message());
    return std::nullopt;
  }
  if (!cp->log_time) {
    (void)Alarm(std::string(what) + " carries no timestamp of the broker");
    return std::nullopt;
  }
  return std::move(*cp);
}

void LogWatch::Adopt(const audit::VerifiedCheckpoint& cp, std::string_view note) {
  const LogWatchState before = state_;
  const uint64_t size = cp.checkpoint.size;
  // The same size: keep the one with more signatures, or the one under the current key.
  if (state_.checkpoint.empty() || size > state_.size ||
      (size == state_.size && (held_key_ || note.size() > state_.checkpoint.size()))) {
    state_.checkpoint = std::string(note);
    held_key_.reset();  // verified under log_key_
    state_.size = size;
    state_.root = cp.checkpoint.root;
    state_.log_time = std::max(state_.log_time, *cp.log_time);
  }
  if (config_.witnesses_required > 0 && cp.cosigned_by.size() >= config_.witnesses_required) {
    state_.cosigned_size = std::max(state_.cosigned_size, size);
  }
  // Cosignatures are overdue when a checkpoint this agent holds stays uncovered: counted from
  // when the oldest uncovered one was first held; once that one is covered, from now for what
  // is still uncovered.
  const int64_t now = clock_.NowMillis();
  if (config_.witnesses_required == 0 || state_.cosigned_size >= state_.size) {
    state_.uncovered_size = 0;
    state_.uncovered_since_ms = 0;
  } else if (state_.uncovered_since_ms == 0 || state_.cosigned_size >= state_.uncovered_size) {
    state_.uncovered_size = state_.size;
    state_.uncovered_since_ms = now;
  }
  // Kept on disk only when it changed: most receipts share the checkpoint held.
  if (state_.checkpoint != before.checkpoint || state_.cosigned_size != before.cosigned_size ||
      state_.uncovered_size != before.uncovered_size ||
      state_.uncovered_since_ms != before.uncovered_since_ms) {
    Save();
  }
}

LogWatch::Check LogWatch::OnReceipt(std::string_view note, bool fresh) {
  if (alarmed()) return {Verdict::kAlarm, 0};
  std::optional<audit::VerifiedCheckpoint> cp = Verify(note, "a receipt's checkpoint");
  if (!cp) return {Verdict::kAlarm, 0};
  const uint64_t size = cp->checkpoint.size;
  const int64_t signed_ms = static_cast<int64_t>(*cp->log_time) * 1000;
  const int64_t now = clock_.NowMillis();
  if (fresh && std::abs(now - signed_ms) > config_.checkpoint_max_age_ms) {
    (void)Alarm("a receipt's checkpoint (size " + std::to_string(size) + ") was signed at " +
                FormatTimeUtc(signed_ms) + ", " + Seconds(std::abs(now - signed_ms)) +
                " from this agency's clock");
    return {Verdict::kAlarm, 0};
  }
  if (state_.checkpoint.empty()) {  // the first: the starting point
    Adopt(*cp, note);
    return {Verdict::kAccept, 0};
  }
  if (size < state_.size) {
    (void)Alarm("a receipt's checkpoint has size " + std::to_string(size) + ", smaller than " +
                std::to_string(state_.size) +
                " which this agency verified: the log shrank, or this agency is shown another "
                "log");
    return {Verdict::kAlarm, 0};
  }
  if (*cp->log_time < state_.log_time) {
    (void)Alarm("a receipt's checkpoint (size " + std::to_string(size) + ") was signed at " +
                FormatTimeUtc(signed_ms) + ", before the one of size " +
                std::to_string(state_.size) + " which this agency verified (" +
                FormatTimeUtc(static_cast<int64_t>(state_.log_time) * 1000) + ")");
    return {Verdict::kAlarm, 0};
  }
  if (size == state_.size) {
    if (cp->checkpoint.root != state_.root) {
      (void)Alarm("a receipt's checkpoint of size " + std::to_string(size) +
                  " has another root than the one this agency verified: the log forked");
      return {Verdict::kAlarm, 0};
    }
    Adopt(*cp, note);
    return {Verdict::kAccept, 0};
  }
  return {Verdict::kNeedProof, size};
}

Status LogWatch::OnConsistency(uint64_t old_size, std::string_view note,
                               std::span<const audit::Hash> proof, std::string_view reason) {
  if (alarmed()) return Unauthenticated("the broker's audit log: " + state_.alarm);
  if (old_size != state_.size) {
    return Unavailable("a consistency answer for size " + std::to_string(old_size) +
                       ", no longer the size held");
  }
  if (note.empty()) {
    return Alarm("the broker cannot prove its log consistent with the checkpoint of size " +
                 std::to_string(old_size) + " which this agency verified (" + std::string(reason) +
                 ")");
  }
  std::optional<audit::VerifiedCheckpoint> cp = Verify(note, "the checkpoint of a proof");
  if (!cp) return Unauthenticated("the broker's audit log: " + state_.alarm);
  const uint64_t size = cp->checkpoint.size;
  const Status consistent =
      state_.checkpoint.empty() ? Status::Ok()
      : size >= old_size
          ? audit::VerifyConsistency(old_size, size, state_.root, cp->checkpoint.root, proof)
          : audit::VerifyConsistency(size, old_size, cp->checkpoint.root, state_.root, proof);
  if (!consistent.ok()) {
    return Alarm("the broker's log of size " + std::to_string(size) +
                 " is not consistent with the checkpoint of size " + std::to_string(old_size) +
                 " which this agency verified (" + consistent.message() +
                 "): this agency is shown another log than before, or the log was rewritten");
  }
  if (size > old_size && *cp->log_time < state_.log_time) {
    return Alarm("the checkpoint of size " + std::to_string(size) +
                 " is older than the one of size " + std::to_string(old_size) +
                 " which this agency verified");
  }
  Adopt(*cp, note);
  return Status::Ok();
}

Status LogWatch::CheckHeld(std::string_view note) {
  if (alarmed()) return Unauthenticated("the broker's audit log: " + state_.alarm);
  std::optional<audit::VerifiedCheckpoint> cp = Verify(note, "a checkpoint of the size held");
  if (!cp) return Unauthenticated("the broker's audit log: " + state_.alarm);
  if (cp->checkpoint.size != state_.size) {
    return InvalidArgument("a checkpoint of size " + std::to_string(cp->checkpoint.size) +
                           ", not the size held (" + std::to_string(state_.size) + ")");
  }
  if (cp->checkpoint.root != state_.root) {
    return Alarm("the broker's checkpoint of size " + std::to_string(state_.size) +
                 " has another root than the one this agency verified: the log forked");
  }
  return Status::Ok();
}

void LogWatch::CheckCosignatures() {
  if (alarmed() || config_.witnesses_required == 0 || state_.uncovered_since_ms == 0) return;
  const int64_t late = clock_.NowMillis() - state_.uncovered_since_ms;
  if (late <= config_.cosignature_delay_ms) return;
  (void)Alarm("no checkpoint cosigned by " + std::to_string(config_.witnesses_required) + " of " +
              std::to_string(config_.witnesses.size()) + " witnesses covers size " +
              std::to_string(state_.uncovered_size) + " for " + Seconds(late) + " (more than " +
              Seconds(config_.cosignature_delay_ms) +
              "): the witnesses are down, or the broker does not show them this log");
}

void LogWatch::UseLogKey(audit::note::VerifierKey key) {
  const std::string now_vkey = audit::note::FormatVerifierKey(key);
  const std::string was = audit::note::FormatVerifierKey(log_key_);
  if (now_vkey == was) return;
  if (!state_.checkpoint.empty() && !held_key_) held_key_ = log_key_;
  if (held_key_ && audit::note::FormatVerifierKey(*held_key_) == now_vkey) held_key_.reset();
  log_key_ = std::move(key);
  LogEvent("the directory publishes a new log key for the broker: " + now_vkey + " (was " + was +
           ")" +
           (state_.checkpoint.empty()
                ? std::string()
                : "; its checkpoints must prove consistent with the one of size " +
                      std::to_string(state_.size) + " which this agency verified"));
  Save();
}

bool LogWatch::CosignedCheckDue(int64_t last_check_ms) const {
  if (alarmed() || state_.checkpoint.empty()) return false;
  const int64_t every = state_.uncovered_since_ms != 0 ? kCheckWhileUncoveredMs : kCheckEveryMs;
  return clock_.NowMillis() - last_check_ms >= every;
}

Status LogWatch::ClearAlarm(bool forget) {
  LogEvent("the broker log's alarm is cleared by an operator" +
           std::string(forget ? ", and the checkpoint held forgotten" : "") +
           (state_.alarm.empty() ? " (there was none)" : " (it was: " + state_.alarm + ")"));
  state_.alarm.clear();
  state_.alarm_since_ms = 0;
  if (forget) {
    state_ = LogWatchState{};
    held_key_.reset();
  }
  Save();
  return Status::Ok();
}

}  // namespace nrm::agent
