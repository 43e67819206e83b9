// The federation's figures of `nrm bench` (issue 16): two real nrm-broker processes, Thailand's
// and Cambodia's, each with its own authority, directory, anchor and audit log, linked under
// the TH–KH agreement both authorities signed (tools::CreateFederation), on this machine; a Thai
// sender (an NGO) and, as agents, a Cambodian and a Thai shelter. Measured: cross-border flat
// out (send to the Cambodian application, through both brokers), and at a fixed offered load
// the cross-border p99 next to the domestic p99 (Thai sender to Thai shelter on the Thai broker)
// of the same run, with each broker's CPU per message. Thread-compatible: call from one thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/bench_phase.h"

namespace nrm::tools::bench {

// The agencies of the federation phase.
inline const std::string kFederationSender = "TH.NGO.BENCH-SEND";
inline const std::string kForeignRecipient = "KH.SHELTER.BENCH-RECV";
inline const std::string kDomesticRecipient = "TH.SHELTER.BENCH-RECV";

// One run of the federation phase. In `phase`, broker_cpu_us is the Thai (sending) broker's,
// and records per fsync are not measured (both brokers run through every run).
struct FederationRun {
  PhaseResult phase;
  bool cross_border = false;
  double partner_broker_cpu_us = 0;  // the Cambodian broker's CPU per message
  size_t relay_receipts = 0;         // verified and acknowledged by the sender
};

struct FederationResult {
  double rate = 0;  // the fixed offered load of the runs that compare p99s
  std::vector<FederationRun> runs;
  // From the runs: cross-border flat out, and the two p99s at `rate` and their ratio.
  double flat_out_per_s = 0;
  double domestic_p99_us = 0, cross_border_p99_us = 0;
  double p99_ratio = 0;  // cross-border / domestic; 0 when either is missing
  double elapsed_s = 0;
  std::string error;  // the first error of any run, or of the brokers
};

// What the phase runs: `messages` flat out across the border, `rate` per second for
// `rate_seconds` domestic then across the border, after `warmup` messages each way that are
// not counted (at most `messages`). Everything lives under `dir`.
struct FederationSpec {
  size_t messages = 20000;
  double rate = 500;
  double rate_seconds = 10;
  size_t warmup = 2000;
  size_t window = 256;
};

// Writes the federation under `dir`, starts both brokers, runs the phase and stops them. An
// error when it could not start; a result whose `error` is set when something went wrong.
Result<FederationResult> RunFederation(const std::string& dir, const FederationSpec& spec,
                                       Progress& progress);

}  // namespace nrm::tools::bench
