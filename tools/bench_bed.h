// The test bed of `nrm bench`: a scenario on disk (keys, signed directory, configs) with one
// sending police unit, up to three receiving shelters and any number of idle agencies, and the
// real nrm-broker process started on it afresh for each phase. The broker's totals (accepted
// messages, synced writes and the records they held) are read from the line it logs when it
// stops. Thread-compatible; the destructor stops a broker still running.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "tools/scenario.h"

namespace nrm::tools::bench {

// The size of the sealed envelopes the sender sends, and the body the limits are measured on.
inline constexpr size_t kTargetEnvelopeBytes = 2048;

// The agencies of the bed: the sender, recipient i (from 0) and idle agency i (from 0).
inline const std::string kSender = "TH.POLICE.BENCH-SEND";
std::string RecipientId(int i);
std::string IdleId(int i);

// What the broker logged when it stopped.
struct BrokerTotals {
  uint64_t accepted = 0, commits = 0, records = 0;
};

class Bed {
 public:
  // Writes the scenario under `dir`: the sender, `recipients` shelters and `idle` agencies.
  static Result<Bed> Create(const std::string& dir, int recipients, int idle);

  // Starts a broker on an empty data directory, with the scenario's broker.toml or `config`
  // (e.g. one that adds witnesses); returns once it listens.
  Status StartBroker(const std::string& config = "");
  // Stops the broker (SIGTERM) and reads its totals from the last line it logs.
  Result<BrokerTotals> StopBroker();

  ~Bed();
  Bed() = default;
  Bed(Bed&& o) noexcept;
  Bed& operator=(Bed&&) = delete;

  const Scenario& scenario() const { return scenario_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  Scenario scenario_;
  pid_t pid_ = -1;
};

// The endpoint the running broker wrote to the scenario's endpoint file.
Result<std::string> BrokerEndpoint(const Scenario& s);

}  // namespace nrm::tools::bench
