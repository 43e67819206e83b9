// The report of `nrm bench`: the limits of the building blocks measured on this machine, what
// each phase measured, and how far the broker got towards the limit those blocks imply. As
// text for people, or as one line of JSON (numbers with the same fixed decimals as the text).
// The first flat-out phase with one recipient is compared with the limits, and the first
// offline (broker alone) phase too; the phases with and without witnesses are compared with
// each other; the federation's cross-border p99 with its domestic p99. Stateless functions,
// thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/bench_federation.h"
#include "tools/bench_limits.h"
#include "tools/bench_phase.h"
#include "tools/bench_witness.h"

namespace nrm::tools::bench {

// `v` with `decimals` digits after the point ("%.*f").
std::string Num(double v, int decimals = 0);

struct BenchReport {
  std::string host;            // this machine's name
  unsigned cores = 0;          // its hardware threads
  size_t window = 0;           // the sender's window
  size_t warmup_messages = 0;  // 0: no warm-up ran
  std::string workdir;
  std::optional<Limits> limits;  // unset when not measured (or the measurement failed)
  std::vector<PhaseResult> phases;
  std::optional<WitnessRate> witness_rate;  // unset when not measured
  // The same with the witness's state on tmpfs (/dev/shm), where fsync costs nothing: what the
  // witness itself (HTTP, verification, cosigning) allows. Unset without /dev/shm.
  std::optional<WitnessRate> witness_rate_tmpfs;
  std::optional<FederationResult> federation;  // unset when not run (or it could not start)
  double elapsed_s = 0;                        // the whole run
};

// The report as text, several lines.
void PrintReport(std::ostream& out, const BenchReport& report);
// The report as one JSON object on one line, with a final newline.
std::string ReportJson(const BenchReport& report);

}  // namespace nrm::tools::bench
