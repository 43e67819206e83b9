// The witnesses' figures of `nrm bench` (issue 17): how many add-checkpoint requests one real
// `nrm witness` process answers per second (one log growing by one leaf per request, each
// request with its consistency proof, over HTTP on 127.0.0.1, each answer after the witness's
// synced write), and the medians of the broker's accept rate with two witnesses and without,
// from the phases that compare them. Thread-compatible: call from one thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/bench_measure.h"
#include "tools/bench_phase.h"

namespace nrm::tools::bench {

struct WitnessRate {
  size_t requests = 0;        // answered 200 (cosigned), one after another on one connection
  double seconds = 0;         // first request sent to last answer read
  double per_s = 0;           // requests / seconds
  Percentiles latency;        // one request, as the client saw it
  double witness_cpu_us = 0;  // the witness process's CPU per request (user + system)
  // Synced single RocksDB writes per second measured right after, on the same disk: one is in
  // every answer (the spec's "fsync before answering"), so they bound the rate.
  double synced_writes_per_s = 0;
  std::string error;  // set when a request was not cosigned (the rate is then of those before)
};

// Starts one `nrm witness` under `dir` on a log of its own, sends `requests` add-checkpoint
// requests (checkpoints of sizes 1..requests, signed and proved before the clock starts) one
// at a time, and stops it. An error when the witness could not be started.
Result<WitnessRate> MeasureWitnessRate(const std::string& dir, size_t requests);

// The broker's accept rate (broker alone: presealed, recipient offline) without witnesses and
// with two, as medians over the phases that set `witness_comparison`; `pairs` = 0 when there
// were none of either.
struct WitnessComparison {
  size_t pairs = 0;
  double without_per_s = 0, with_per_s = 0;
  double difference_pct = 0;  // (with - without) / without * 100: negative is slower
  // The broker's CPU per message while it accepted (medians): steadier than the rate when
  // other processes compete for the cores or the disk.
  double without_cpu_us = 0, with_cpu_us = 0;
  // The same for everything the broker did in the phase (accept, deliver, acknowledge).
  double without_total_cpu_us = 0, with_total_cpu_us = 0;
};
WitnessComparison CompareWitnessPhases(const std::vector<PhaseResult>& phases);

}  // namespace nrm::tools::bench
