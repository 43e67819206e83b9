// A guard in front of toml++ for every TOML file nrm reads (configs, keys, the directory, the
// policy): config::ParseToml calls it first. Pure function; thread-safe.
//
// Why: toml++ 3.3.0 (the Debian 12 package) has input-reachable precondition failures, found by
// tests/fuzz/policy_fuzz.cc (built header-only, so that toml++ is instrumented) and known
// upstream:
//   * a table header that does not start with a key ("[&", "[[ !", a lone "[" ending a line)
//     fails an assert() (marzer/tomlplusplus#294, fixed by PR #301);
//   * "}" where an array expects a value ("a = [}", "a = [1, }") fails an assert() the same way,
//     and so does a date followed by a space and one digit ("a = 1979-05-27 7");
//   * a code point from U+00A1 to U+0499 (Latin-1, Greek, Cyrillic...) where the parser looks
//     for whitespace or the end of a value reaches __builtin_unreachable() (#190, #295, fixed by
//     PR #305).
// With Debian's shared libtomlplusplus (built with NDEBUG; what nrm links by default) the asserts
// are compiled out and these inputs happen to get ordinary parse errors, but the unreachable paths
// are still undefined behaviour, and a header-only or assert-enabled toml++ aborts. A policy file
// is edited by hand and a typo must give a message, not a crash, so these inputs are refused
// before toml++ sees them. Drop this guard when a fixed toml++ (>= 3.4) is what Debian ships.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace nrm::config {

// kInvalidArgument "path:line: ..." for input toml++ 3.3.0 cannot safely parse:
//   * a line that starts (after spaces and tabs) with "[" or "[[" not followed by a key, a quote
//     or "]";
//   * "}" right after "[" or "," (ignoring whitespace and comments): never valid TOML;
//   * a bare value followed by one space and a lone digit: never valid TOML;
//   * a non-ASCII byte outside quoted strings and comments (text in any script is fine inside
//     quotes and comments);
//   * in a multi-line basic string ("""), a backslash followed by a non-ASCII character, or a
//     line-ending backslash whose continuation starts with one.
// Conservative: a nested array written with "[" starting a line is refused too; nrm's formats
// have no nested arrays. OK for every other input, valid TOML or not.
Status CheckTomlSafe(std::string_view text, const std::string& path);

}  // namespace nrm::config
