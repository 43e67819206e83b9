// Signed TOML documents of the federation (anchors, agreements): a body, then signature lines.
// The signer signs `context || 0x00 || body`, where the body is every byte of the file before the
// first signature line (docs/PROTOCOL.md section 12). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::federation {

// One line `NAME = "<128 hex>"` after the body.
struct SignatureLine {
  std::string name;  // e.g. "signature" or "signature-TH"
  Bytes signature;   // 64 bytes
  size_t line = 0;   // 1-based line number in the file, for messages
};

struct SignedText {
  std::string_view body;  // borrows the text that was split
  std::vector<SignatureLine> signatures;
};

// Splits `text`. The body ends before the first line that starts with `prefix`; every line from
// there on must be a signature line whose name starts with `prefix`. Without such a line the
// whole text is the body and `signatures` is empty (a draft). kInvalidArgument (path:line) when
// the text does not end with a newline, a line after the body is not a signature line, or a
// signature is not 128 hex digits.
Result<SignedText> SplitSignedText(std::string_view text, std::string_view prefix,
                                   const std::string& path);

// The bytes a signer signs: `context` || 0x00 || body.
Bytes ContextBytes(std::string_view context, std::string_view body);

// `s` as a TOML basic string, quotes included (", \ and control characters escaped).
std::string TomlQuote(std::string_view s);
// ["a", "b"] of TomlQuote'd strings.
std::string TomlList(const std::vector<std::string>& items);

// kInvalidArgument naming `what` unless `s` is 1..`max` bytes of printable text (UTF-8 allowed,
// no control characters): names and titles end up in refusal reasons and logs.
Status CheckText(std::string_view s, size_t max, std::string_view what);
// OK for "TH": two upper-case letters (ISO 3166-1 alpha-2).
Status CheckCountry(std::string_view country, std::string_view what);

}  // namespace nrm::federation
