// libFuzzer target for the policy parser: Policy::Parse() and Lint() on arbitrary bytes, then a
// few Route() calls on what parsed. Never aborts on input; traps if Parse() and Lint() disagree or
// a decision is inconsistent. The checks live in fuzz_entries.cc (FuzzPolicy), shared with
// fuzz_replay_test; the seeds also run in tests/policy/corpus_test.cc.
//
// With CMake: -DNRM_FUZZ=ON and clang (tests/fuzz/CMakeLists.txt). That links Debian's shared
// libtomlplusplus, which is not instrumented; to fuzz the TOML parser too, build header-only:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ibuild-fuzz/generated \
//     tests/fuzz/policy_fuzz.cc tests/fuzz/fuzz_entries.cc policy/*.cc common/*.cc \
//     common/config/*.cc common/crypto/crypto.cc common/identity/identity.cc schemas/wire/*.cc \
//     ... -lsodium -lflatbuffers -o policy_fuzz
//   ./policy_fuzz -max_len=4096 NEW_DIR tests/fuzz/corpus/policy
// (new units go to NEW_DIR; add a seed to the corpus by hand only when it found a bug).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nrm::fuzz::FuzzPolicy(data, size);
  return 0;
}
