// The log's side of tlog-witness v1.0.0: POSTs add-checkpoint requests to witnesses over HTTP
// (Debian's libcurl), to several witnesses at once, over kept-alive connections (the spec asks
// clients to keep them). Knows nothing of what is posted: see add_checkpoint.h and the broker's
// witness submission.
//
// Thread-compatible: one thread uses a client (the broker's submission thread).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace nrm::audit::witness {

struct PostResult {
  long status = 0;           // the HTTP status; 0 when there was no answer
  std::string content_type;  // of the answer
  std::string body;          // at most 64 KiB of it
  std::string error;         // why there was no answer (connection refused, timeout, ...)
};

class WitnessClient {
 public:
  // `prefixes`: each witness's submission prefix, e.g. "http://127.0.0.1:8701" (a request goes
  // to prefix + "/add-checkpoint"). Each request may take `timeout_ms` in all.
  WitnessClient(std::vector<std::string> prefixes, long timeout_ms);
  ~WitnessClient();
  WitnessClient(const WitnessClient&) = delete;
  WitnessClient& operator=(const WitnessClient&) = delete;

  // POSTs bodies[i] to witness i, all at once (those without a body are skipped), and returns
  // when all have answered or timed out; result i belongs to witness i.
  // REQUIRES: bodies.size() == the number of prefixes.
  std::vector<PostResult> PostAll(const std::vector<std::optional<std::string>>& bodies);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nrm::audit::witness
