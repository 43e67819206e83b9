// libFuzzer target for the policy parser: Policy::Parse() and Lint() on arbitrary bytes, then a
// few Route() calls on what parsed. Never aborts on input; traps if Parse() and Lint() disagree or
// a decision is inconsistent.
//
// With CMake: -DNRM_FUZZ=ON and clang (see policy/CMakeLists.txt). That links Debian's shared
// libtomlplusplus, which is not instrumented; to fuzz the TOML parser too, build header-only:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/policy_fuzz.cc policy/policy.cc common/config/toml_guard.cc common/status.cc \
//     common/file_util.cc common/config/toml_util.cc -o policy_fuzz
//   ./policy_fuzz -max_len=4096 NEW_DIR tests/fuzz/corpus/policy
// (new units go to NEW_DIR; add a seed to the corpus by hand only when it found a bug). The seeds
// also run as a plain test in CI: tests/policy/corpus_test.cc.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nrm::Result<nrm::policy::Policy> p = nrm::policy::Policy::Parse(text, "fuzz.toml", "h");
  std::vector<std::string> problems = nrm::policy::Lint(text, "fuzz.toml");
  if (p.ok() != problems.empty()) __builtin_trap();
  if (!p.ok()) return 0;
  // Route every rule's first combination, at home and abroad, to reach the evaluator.
  for (const nrm::policy::Rule& r : p->rules()) {
    if (r.from.empty() || r.to.empty() || r.kinds.empty()) continue;
    nrm::policy::RouteQuery q;
    q.from.role = r.from.front();
    q.to.role = r.to.front();
    q.kind = r.kinds.front();
    q.date = "2010-06-15";
    for (const nrm::policy::Agreement& a : p->agreements()) {
      q.from.country = a.countries.front();
      q.to.country = a.countries.back();
      nrm::policy::Decision d = p->Route(q);
      if (d.allowed == d.rule_id.empty()) __builtin_trap();
    }
  }
  return 0;
}
