// Legacy signed tree heads (nrm/tree-head/v1): the broker's Ed25519 signature over (size, root,
// time) of the audit tree, as brokers signed them before checkpoints (checkpoint.h). Logs begun
// then still hold them, so they are still decoded and verified; nothing signs them any more.
//
// Pure functions and value types; thread-compatible.
#pragma once

#include <cstdint>
#include <span>

#include "audit/merkle.h"
#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit {

// The domain-separation prefix of the signed bytes, including its terminating NUL (17 bytes).
inline constexpr std::string_view kTreeHeadContext{"nrm/tree-head/v1\0", 17};
inline constexpr size_t kTreeHeadSignedBytes = 17 + 8 + 32 + 8;
inline constexpr size_t kStoredTreeHeadBytes = 8 + 32 + 8 + crypto::kSignatureBytes;

struct SignedTreeHead {
  uint64_t size = 0;    // leaves in the tree
  Hash root{};          // its MTH
  int64_t time_ms = 0;  // broker clock when signed
  Bytes signature;      // Ed25519 over TreeHeadSignedBytes(size, root, time_ms), 64 bytes

  bool operator==(const SignedTreeHead&) const = default;
};

// "nrm/tree-head/v1\0" || be64 size || root || be64 time_ms: what the signature covers.
Bytes TreeHeadSignedBytes(uint64_t size, const Hash& root, int64_t time_ms);

// Signs (size, root, time_ms). REQUIRES: broker_sign_secret.size() == 64.
SignedTreeHead SignTreeHead(uint64_t size, const Hash& root, int64_t time_ms,
                            const crypto::SecretBytes& broker_sign_secret);

// OK when the head's signature verifies under `broker_public_key`; kUnauthenticated otherwise.
Status VerifyTreeHead(const SignedTreeHead& head, ByteView broker_public_key);

// Storage form: be64 size || root || be64 time_ms || signature (112 bytes).
Bytes EncodeTreeHead(const SignedTreeHead& head);
// kCorruption unless `data` is exactly kStoredTreeHeadBytes.
Result<SignedTreeHead> DecodeTreeHead(ByteView data);

}  // namespace nrm::audit
