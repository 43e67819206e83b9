// The broker's witness submission (C2SP tlog-witness v1.0.0): a thread of its own sends each
// new checkpoint to the witnesses of the config, with a consistency proof from the size each
// last cosigned, and adds the cosignatures it collects to the stored checkpoint. The routing
// thread only says which checkpoint is new (Offer): a witness that is slow, down or refusing
// never holds up accepting messages; it is logged, counted, and shown in `nrm audit status`
// (the status file, docs/AUDIT.md section 9).
//
// Pace: a witness is sent a checkpoint at most once a second; after a failure it is retried
// with a back-off that doubles up to a minute, so a tree that grew reaches every witness that is
// up within a minute. All witnesses due at once get the same checkpoint, so that their
// cosignatures gather on one checkpoint (what an agent requiring k of n needs).
//
// Thread-safety: Offer() and status() from any thread; the rest is the submission thread's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "audit/witness/client.h"
#include "broker/config.h"
#include "common/clock.h"

namespace nrm::broker {

// What the broker knows of one witness, for the status file and the log.
struct WitnessStatus {
  std::string name;
  std::string url;
  uint64_t cosigned_size = 0;  // the largest checkpoint it cosigned for us (this run)
  int64_t cosigned_at_ms = 0;
  uint64_t held_size = 0;  // the size it says it holds (from its answers)
  uint64_t submissions = 0;
  uint64_t cosignatures = 0;
  uint64_t failures = 0;   // no answer, an error, or a refusal
  uint64_t refusals = 0;   // 409 or 422 that a proof could not settle: look at the log
  std::string last_error;  // empty after a success
  int64_t last_error_at_ms = 0;
  int64_t next_attempt_ms = 0;
  int64_t backoff_ms = 0;
};

class WitnessSubmitter {
 public:
  struct Options {
    std::vector<WitnessEndpoint> witnesses;
    std::string status_file;  // JSON, rewritten after each round (at most once a second)
    int64_t timeout_ms = 3000;
    int64_t min_interval_ms = 1000;
    int64_t max_backoff_ms = 60000;
  };

  // Starts the thread. `db` and `cfs` (the broker's audit log) outlive the submitter.
  WitnessSubmitter(Options options, rocksdb::DB* db, const audit::AuditColumnFamilies& cfs,
                   const Clock& clock);
  ~WitnessSubmitter();  // stops the thread (a request under way ends within timeout_ms)
  WitnessSubmitter(const WitnessSubmitter&) = delete;
  WitnessSubmitter& operator=(const WitnessSubmitter&) = delete;

  // The checkpoint of `size` is written (durably): send it when the witnesses are due. Cheap.
  void Offer(uint64_t size);
  std::vector<WitnessStatus> status() const;

 private:
  void Loop();
  // One round: submit checkpoint `size` to the witnesses due at `now`, collect cosignatures.
  void Round(uint64_t size, int64_t now);
  void Failed(WitnessStatus& w, int64_t now, std::string why, bool refusal);
  void WriteStatus() const;

  Options options_;
  audit::StoredTree tree_;
  const Clock& clock_;
  std::unique_ptr<audit::witness::WitnessClient> client_;  // the submission thread's

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t offered_ = 0;                  // the latest checkpoint written
  std::vector<WitnessStatus> witnesses_;  // guarded by mu_ (read by status())
  std::thread thread_;                    // last: starts after everything above
};

}  // namespace nrm::broker
