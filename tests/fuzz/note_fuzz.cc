// libFuzzer target: audit::note::ParseNote, OpenNote and audit::ParseCheckpoint on arbitrary
// bytes (the checkpoints in receipts, witness answers, `nrm audit verify --checkpoint`).
// The checks live in fuzz_entries.cc, shared with fuzz_replay_test (which replays the seeds in
// corpus/note/ in CI). Build and run: see tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nrm::fuzz::FuzzNote(data, size);
  return 0;
}
