// The building blocks' limits on this machine, measured by `nrm bench` at the moment it runs:
// Ed25519 verification, synced RocksDB batch writes, and ZeroMQ CURVE forwarding through one
// ROUTER. The broker's throughput is reported as a fraction of the limit they imply.
// Thread-compatible: call from one thread (it starts and joins its own).
#pragma once

#include <string>

#include "common/status.h"

namespace nrm::tools {

struct Limits {
  int cores = 1;
  double verify_per_core = 0;       // Ed25519 verifications of a message_bytes body, one thread
  double verify_all_cores = 0;      // the same, one thread per core at once
  double sign_per_core = 0;         // Ed25519 signatures of a message_bytes body, one thread
  double synced_batches_per_s = 0;  // RocksDB WriteBatch of kBatchRecords records, sync = true
  double synced_records_per_s = 0;  // the records those batches carry
  double synced_single_per_s = 0;   // one record per synced write
  double curve_forward_per_s = 0;   // client -> ROUTER (CURVE) -> client, one forwarding thread
  int batch_records = 0;
};

// Runs each measurement for a bounded time (about 0.3 s each with `quick`, 1 s otherwise).
// `dir` is a scratch directory for the RocksDB measurement (on the disk the broker uses).
Result<Limits> MeasureLimits(const std::string& dir, size_t message_bytes, bool quick);

// Synced RocksDB writes of one `value_bytes` record each per second, in a new DB at `dir`, for
// `seconds`: what bounds anything that must fsync before it answers, one answer at a time.
Result<double> MeasureSyncedWrites(const std::string& dir, size_t value_bytes, double seconds);

}  // namespace nrm::tools
