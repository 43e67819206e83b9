// Byte strings and their hex and base64 forms. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace nrm {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// Lower-case hex of `data`.
std::string ToHex(ByteView data);
// Decodes hex (either case). kInvalidArgument on odd length or a non-hex character.
Result<Bytes> FromHex(std::string_view hex);
// Decodes hex that must be exactly `size` bytes; `what` names the value in the error.
Result<Bytes> FromHexExact(std::string_view hex, size_t size, std::string_view what);

// Standard base64 (RFC 4648 section 4, with '=' padding) of `data`.
std::string ToBase64(ByteView data);
// Decodes standard base64, strictly: padding required, no whitespace, no other alphabet, and
// the unused bits of the last character zero, so that one byte string has one encoding.
// kInvalidArgument otherwise.
Result<Bytes> FromBase64(std::string_view text);

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
// A copy of `s` as bytes (one memcpy, where constructing from char iterators copies bytewise).
inline Bytes ToBytes(std::string_view s) {
  const ByteView b = AsBytes(s);
  return Bytes(b.begin(), b.end());
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace nrm
