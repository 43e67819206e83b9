// What the agent knows of its broker's audit log, so that a broker whose operator shows one
// history to this agency and another to the witnesses or the auditor (a split view), or
// rewrites the log, is noticed (docs/AGENT.md, "The broker's log"):
//
// - every checkpoint the broker shows (in a receipt: ACCEPTED, STATUS; in an answer to
//   CONSISTENCY) must be signed with the log key the directory publishes, carry the broker's
//   timestamp, be no older than checkpoint_max_age by this agency's clock (receipts), and be
//   neither smaller nor older than the largest checkpoint this agent verified;
// - a larger one counts only once the broker proved it consistent with that one (CONSISTENCY);
// - the agent wants, within cosignature_delay, a checkpoint cosigned by `witnesses_required`
//   of its `witnesses` that covers the largest checkpoint it verified.
//
// A newer directory may publish another log key (UseLogKey): the checkpoint held stays the
// starting point, so the first checkpoint under the new key must still be proved consistent
// with it, exactly as any larger one; a broker cannot shed its history by changing keys. Only an
// operator's `clear-alarm --forget` starts afresh (a log that really began again).
//
// Anything else is an ALARM: logged, shown in `nrm-agent status`, kept on disk, and from then on
// no receipt of this broker counts (a step stays unconfirmed) until an operator clears it
// (`nrm-agent clear-alarm`). The largest verified checkpoint is kept in data_dir (log_watch.json,
// and the note alone in log.checkpoint, which `nrm audit verify --checkpoint` takes).
//
// This class decides; the caller talks to the broker (asks CONSISTENCY when told to). Pure but
// for its two files. Thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/note.h"
#include "common/clock.h"
#include "common/status.h"

namespace nrm::agent {

struct LogWatchConfig {
  std::vector<audit::note::VerifierKey> witnesses;  // type 0x04 keys
  size_t witnesses_required = 0;                    // k of the n above; 0: none required
  int64_t cosignature_delay_ms = 10 * 60 * 1000;
  int64_t checkpoint_max_age_ms = 10 * 60 * 1000;
};

// What is kept on disk.
struct LogWatchState {
  std::string checkpoint;  // the largest verified checkpoint note; empty: none yet
  uint64_t size = 0;
  audit::Hash root{};
  uint64_t log_time = 0;       // its timestamp, POSIX seconds
  uint64_t cosigned_size = 0;  // the largest verified checkpoint with the cosignatures required
  // A size this agent held that no cosigned checkpoint covered, and since when (0: none).
  uint64_t uncovered_size = 0;
  int64_t uncovered_since_ms = 0;
  std::string alarm;  // empty: none
  int64_t alarm_since_ms = 0;
};

class LogWatch {
 public:
  // Loads the state kept in `dir` (created when missing). kCorruption when the state file is
  // there but does not parse; kIOError when it cannot be read. The kept checkpoint is verified
  // again under the key kept with it (when `log_key` is another, as after UseLogKey); one that
  // does not verify (the file was changed) raises the alarm: it is not a starting point.
  static Result<std::unique_ptr<LogWatch>> Open(const std::string& dir,
                                                audit::note::VerifierKey log_key,
                                                LogWatchConfig config, const Clock& clock);

  enum class Verdict {
    kAccept,     // the checkpoint is consistent with what this agent holds
    kNeedProof,  // ask CONSISTENCY held().size -> proof_to, then OnConsistency
    kAlarm,      // not to be trusted (alarm() says why)
  };
  struct Check {
    Verdict verdict = Verdict::kAlarm;
    uint64_t proof_to = 0;
  };

  // A checkpoint in a receipt (the note of ACCEPTED or STATUS). `fresh`: the broker signed it
  // for this answer (ACCEPTED), so it must lie within checkpoint_max_age of this agency's clock;
  // a STATUS carries the broker's latest checkpoint, which an idle broker signed long ago.
  Check OnReceipt(std::string_view note, bool fresh);

  // The broker's answer to CONSISTENCY (held().size at the time of asking = `old_size`):
  // `note` (empty: the broker refused, `reason` says why) and the proof between old_size and
  // the note's size. OK when consistent: the checkpoint counts (the state moves on when it is
  // larger, and its cosignatures are counted). Otherwise the alarm is raised and returned.
  Status OnConsistency(uint64_t old_size, std::string_view note, std::span<const audit::Hash> proof,
                       std::string_view reason = "");

  // A checkpoint the broker says is the one of the size held (e.g. with a proof for it): OK when
  // it verifies and has the root held; the alarm when it has another root.
  Status CheckHeld(std::string_view note);

  // The log key of a newer directory (a no-op when it is the same). Checkpoints from now on must
  // verify under `key`; the checkpoint held (verified under the key before) stays the starting
  // point until one under `key` is proved consistent with it. Logged.
  void UseLogKey(audit::note::VerifierKey key);
  const audit::note::VerifierKey& log_key() const { return log_key_; }
  // The key that verified the checkpoint held when it is not log_key() (a key change not yet
  // followed by a checkpoint under the new key).
  const std::optional<audit::note::VerifierKey>& held_key() const { return held_key_; }

  // Raises the alarm when the cosignatures required are overdue. Call now and then.
  void CheckCosignatures();

  // Clears the alarm (an operator's decision). With `forget`, the checkpoint held is dropped
  // too: the next one the broker shows becomes the new starting point (after a reset of the
  // log the operators know of).
  Status ClearAlarm(bool forget);

  bool alarmed() const { return !state_.alarm.empty(); }
  const LogWatchState& state() const { return state_; }
  const LogWatchConfig& config() const { return config_; }
  // When a CONSISTENCY check of the latest cosigned checkpoint is due: often while the
  // cosignatures required are missing, now and then otherwise.
  bool CosignedCheckDue(int64_t last_check_ms) const;

 private:
  LogWatch(std::string dir, audit::note::VerifierKey log_key, LogWatchConfig config,
           const Clock& clock)
      : dir_(std::move(dir)),
        log_key_(std::move(log_key)),
        config_(std::move(config)),
        clock_(clock) {}
  // Verifies the note's signatures; nullopt (and the alarm) when it does not verify.
  std::optional<audit::VerifiedCheckpoint> Verify(std::string_view note, std::string_view what);
  Status Alarm(std::string why);
  // The checkpoint verified and consistent with the state: it moves the state on.
  void Adopt(const audit::VerifiedCheckpoint& cp, std::string_view note);
  void Save();

  std::string dir_;
  audit::note::VerifierKey log_key_;
  std::optional<audit::note::VerifierKey> held_key_;  // see held_key()
  LogWatchConfig config_;
  const Clock& clock_;
  LogWatchState state_;
};

}  // namespace nrm::agent
