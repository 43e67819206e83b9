// Big-endian integer helpers for the audit log's documented byte formats. Pure; thread-safe.
#pragma once

#include <cstdint>

#include "common/bytes.h"

namespace nrm::audit {

inline void PutBe32(Bytes* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}
inline void PutBe64(Bytes* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<uint8_t>(v >> shift));
}
// REQUIRES: p points at 4 (GetBe32) or 8 (GetBe64) readable bytes.
inline uint32_t GetBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline uint64_t GetBe64(const uint8_t* p) { return uint64_t{GetBe32(p)} << 32 | GetBe32(p + 4); }
// The 8-byte big-endian key of `v`, so that RocksDB's bytewise order is numeric order.
inline Bytes Be64Key(uint64_t v) {
  Bytes out;
  out.reserve(8);
  PutBe64(&out, v);
  return out;
}

}  // namespace nrm::audit
