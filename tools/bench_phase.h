// The phases of `nrm bench`. A phase starts a fresh broker on the bed, connects its idle
// agencies and recipients (before the sender, or after every message was accepted for an
// offline phase), sends its messages flat out within the window or at a fixed rate, waits for
// every delivery or a deadline, then stops the broker (and its witnesses) and reports what it
// measured: rates, latency percentiles, CPU per message of the broker, sender and recipients, the
// broker's memory and its records per fsync. Progress counters are shared with the progress line.
// RunPhase is called from one thread at a time; it starts and joins its own threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/status.h"
#include "tools/bench_bed.h"
#include "tools/bench_measure.h"

namespace nrm::tools::bench {

// Counters the progress line reads.
struct Progress {
  std::atomic<uint64_t> sent{0}, accepted{0}, delivered{0};
  std::atomic<uint64_t> target{0};
  std::string phase;
  std::mutex mu;
};

// What a phase does.
struct PhaseSpec {
  std::string name;
  int recipients = 1;
  size_t messages = 0;
  double rate = 0;        // offered messages/s; 0 = flat out within the window
  bool preseal = false;   // seal everything before the clock starts
  bool offline = false;   // recipients connect only after every message was accepted
  int idle_agencies = 0;  // extra agencies connected (idle) during the phase
  // Two `nrm witness` processes, on fresh state, named in the broker's config: it submits its
  // checkpoints to them while it accepts (docs/AUDIT.md section 9).
  bool witnesses = false;
  bool witness_comparison = false;  // one of the phases that compare with and without them
};

struct PhaseResult {
  PhaseSpec spec;
  size_t accepted = 0, refused = 0, delivered = 0, delivery_errors = 0;
  double send_seconds = 0;    // first SEND to last ACCEPTED
  double e2e_seconds = 0;     // first SEND to last delivery to an application
  double accept_per_s = 0;    // messages the broker accepted per second
  double e2e_per_s = 0;       // messages delivered to every recipient per second
  double drain_per_s = 0;     // offline: deliveries per second after the recipient connected
  Percentiles latency;        // send (scheduled time at a fixed rate) -> recipient application
  double broker_cpu_us = 0;   // per message (accept + deliver + acknowledge)
  double broker_rss_mib = 0;  // at the end of the phase
  double broker_hwm_mib = 0;  // peak resident memory of the broker process
  double broker_rss_queued_mib = 0;  // offline: with everything queued, before the drain
  double broker_accept_cpu_us = 0;   // offline: per message, accepting only (before the drain)
  double records_per_fsync = 0;      // RocksDB records per synced write (group commit)
  double messages_per_fsync = 0;     // accepted messages per synced write
  uint64_t fsyncs = 0;
  double seal_cpu_us = 0;       // sender: seal + sign per message
  double sender_cpu_us = 0;     // sender thread: seal + sign + send + receipts, per message
  double recipient_cpu_us = 0;  // recipient thread: receive, verify, open, ack, per delivery
  double agents_cpu_us = 0;     // the whole bench process (agents + their ZeroMQ I/O threads)
  size_t envelope_bytes = 0;
  // With witnesses: the broker's counts from its witnesses.json, summed over both.
  uint64_t witness_submissions = 0, witness_cosignatures = 0, witness_failures = 0;
  std::string error;
};

// Runs one phase on `bed` with `window` envelopes in flight. An error when the phase could not
// run at all; a result whose `error` is set when it ran but something went wrong.
Result<PhaseResult> RunPhase(Bed& bed, const PhaseSpec& spec, size_t window, Progress& progress);

}  // namespace nrm::tools::bench
