// UTF-8 decoding for the audit formats' text checks (records, signed notes). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace nrm::audit {

// The code point that starts at s[*i], advancing *i past it; nullopt (and *i unchanged) when
// the bytes there are not well-formed UTF-8: truncated, overlong, a surrogate or past U+10FFFF.
// REQUIRES: *i < s.size().
inline std::optional<uint32_t> NextCodePoint(std::string_view s, size_t* i) {
  const auto c = static_cast<uint8_t>(s[*i]);
  if (c < 0x80) {
    ++*i;
    return c;
  }
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, cp = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, cp = c & 0x0fu;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, cp = c & 0x07u;
  } else {
    return std::nullopt;
  }
  if (*i + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(s[*i + k]);
    if ((cc & 0xc0) != 0x80) return std::nullopt;
    cp = cp << 6 | (cc & 0x3fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return std::nullopt;
  }
  *i += len;
  return cp;
}

}  // namespace nrm::audit
