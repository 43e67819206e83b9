#include "schemas/wire/notice.h"

#include "schemas/wire/envelope.h"

namespace nrm::wire {
namespace {

// The domain of the signature; a 0 byte follows it.
constexpr std::string_view kExpiryContext = "nrm/expired/v1";

}  // namespace

Bytes ExpiryNoticeSignedBytes(ByteView message_id, std::string_view sender,
                              std::string_view recipient) {
  Bytes out;
  out.reserve(kExpiryContext.size() + 1 + message_id.size() + sender.size() + 1 + recipient.size());
  for (char c : kExpiryContext) out.push_back(static_cast<uint8_t>(c));
  out.push_back(0);
  out.insert(out.end(), message_id.begin(), message_id.end());
  out.insert(out.end(), sender.begin(), sender.end());
  out.push_back(0);
  out.insert(out.end(), recipient.begin(), recipient.end());
  return out;
}

Bytes SignExpiryNotice(const crypto::SecretBytes& broker_sign_secret, ByteView message_id,
                       std::string_view sender, std::string_view recipient) {
  return crypto::Sign(broker_sign_secret, ExpiryNoticeSignedBytes(message_id, sender, recipient));
}

Status VerifyExpiryNotice(ByteView broker_sign_public, ByteView message_id, std::string_view sender,
                          std::string_view recipient, ByteView signature) {
  if (message_id.size() != kMessageIdBytes) {
    return Unauthenticated("expiry notice: message id must be 16 bytes");
  }
  return crypto::Verify(broker_sign_public, ExpiryNoticeSignedBytes(message_id, sender, recipient),
                        signature);
}

}  // namespace nrm::wire
