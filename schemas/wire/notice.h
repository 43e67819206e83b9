// The broker's signed notices to a sender: today the expiry notice (docs/PROTOCOL.md section 4,
// EXPIRED). A notice changes what the sender believes about a message it sent, so the broker
// signs it with its Ed25519 key from the directory, and a sender believes none that does not
// verify. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::wire {

// "nrm/expired/v1" || 0x00 || message_id (16) || sender || 0x00 || recipient: what the broker
// signs when it tells `sender` that `recipient` never acknowledged `message_id`.
Bytes ExpiryNoticeSignedBytes(ByteView message_id, std::string_view sender,
                              std::string_view recipient);

// The broker's signature over ExpiryNoticeSignedBytes. REQUIRES: a 64-byte Ed25519 secret.
Bytes SignExpiryNotice(const crypto::SecretBytes& broker_sign_secret, ByteView message_id,
                       std::string_view sender, std::string_view recipient);

// OK when `signature` is the broker's over the notice; kUnauthenticated otherwise (also for a
// message id that is not 16 bytes).
Status VerifyExpiryNotice(ByteView broker_sign_public, ByteView message_id, std::string_view sender,
                          std::string_view recipient, ByteView signature);

}  // namespace nrm::wire
