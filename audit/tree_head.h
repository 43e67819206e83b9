// Signed tree heads and receipts: the broker's Ed25519 signature over (size, root, time) of the
// audit tree, and what an agency keeps to later prove that the broker logged its message.
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

// What the broker hands a sender for an accepted message: the index of the "accepted" record's
// leaf and a signed tree head whose tree contains it. With the record's encoding and an
// inclusion proof (from `nrm audit prove`) anyone holding the broker's public key can check it.
struct Receipt {
  uint64_t leaf_index = 0;
  SignedTreeHead head;
};

// OK when the head verifies under `broker_public_key` and `inclusion_proof` shows that
// HashLeaf(record_encoding) is leaf `receipt.leaf_index` of the head's tree. kUnauthenticated
// otherwise. (It does not decode the record: that is the caller's business.)
Status VerifyReceipt(const Receipt& receipt, ByteView record_encoding,
                     std::span<const Hash> inclusion_proof, ByteView broker_public_key);

}  // namespace nrm::audit
