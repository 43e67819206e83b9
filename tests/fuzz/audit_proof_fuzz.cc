// libFuzzer target: audit::CheckProof on arbitrary proof files (`nrm audit check-proof`).
// The checks live in fuzz_entries.cc, shared with fuzz_replay_test (which replays the seeds in
// corpus/audit_proof/ in CI). Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nrm::fuzz::FuzzAuditProof(data, size);
  return 0;
}
