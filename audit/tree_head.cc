#include "audit/tree_head.h"

#include <algorithm>

#include "audit/big_endian.h"

namespace nrm::audit {

Bytes TreeHeadSignedBytes(uint64_t size, const Hash& root, int64_t time_ms) {
  Bytes out;
  out.reserve(kTreeHeadSignedBytes);
  ByteView context = AsBytes(kTreeHeadContext);
  out.insert(out.end(), context.begin(), context.end());
  PutBe64(&out, size);
  out.insert(out.end(), root.begin(), root.end());
  PutBe64(&out, static_cast<uint64_t>(time_ms));
  return out;
}

SignedTreeHead SignTreeHead(uint64_t size, const Hash& root, int64_t time_ms,
                            const crypto::SecretBytes& broker_sign_secret) {
  SignedTreeHead head{size, root, time_ms, {}};
  head.signature = crypto::Sign(broker_sign_secret, TreeHeadSignedBytes(size, root, time_ms));
  return head;
}

Status VerifyTreeHead(const SignedTreeHead& head, ByteView broker_public_key) {
  Status s = crypto::Verify(
      broker_public_key, TreeHeadSignedBytes(head.size, head.root, head.time_ms), head.signature);
  if (!s.ok()) return s.WithContext("tree head at size " + std::to_string(head.size));
  return s;
}

Bytes EncodeTreeHead(const SignedTreeHead& head) {
  Bytes out;
  out.reserve(kStoredTreeHeadBytes);
  PutBe64(&out, head.size);
  out.insert(out.end(), head.root.begin(), head.root.end());
  PutBe64(&out, static_cast<uint64_t>(head.time_ms));
  out.insert(out.end(), head.signature.begin(), head.signature.end());
  return out;
}

Result<SignedTreeHead> DecodeTreeHead(ByteView data) {
  if (data.size() != kStoredTreeHeadBytes) {
    return Corruption("stored tree head has " + std::to_string(data.size()) + " bytes, not " +
                      std::to_string(kStoredTreeHeadBytes));
  }
  SignedTreeHead head;
  head.size = GetBe64(data.data());
  std::copy(data.begin() + 8, data.begin() + 40, head.root.begin());
  head.time_ms = static_cast<int64_t>(GetBe64(data.data() + 40));
  head.signature.assign(data.begin() + 48, data.end());
  return head;
}

}  // namespace nrm::audit
