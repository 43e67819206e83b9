// libFuzzer target: agent::ImportHtcds on arbitrary JSON (nrm-agent import --format htcds).
// The checks live in fuzz_entries.cc, shared with fuzz_replay_test (which replays the seeds in
// corpus/htcds_json/ in CI). Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nrm::fuzz::FuzzHtcdsJson(data, size);
  return 0;
}
