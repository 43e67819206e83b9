// nrm_wire: encode, verify and decode envelopes; seal a payload to its recipients and open it.
// Every function here is safe on hostile input: it returns a Status, never aborts.
// Thread-safe: the only state is the caller's SenderEpoch or Reader, which lock themselves.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"
#include "schemas/envelope_generated.h"
#include "schemas/wire/epoch.h"

namespace nrm::wire {

inline constexpr uint8_t kWireVersion = 2;  // Header.version; readers refuse any other
inline constexpr size_t kMessageIdBytes = 16;
inline constexpr size_t kCaseRefBytes = 16;
inline constexpr size_t kMaxRecipients = 16;
inline constexpr size_t kMaxAgencyIdBytes = 64;
// The largest envelope the broker accepts (also ZMQ_MAXMSGSIZE on its socket).
inline constexpr size_t kMaxEnvelopeBytes = 1 << 20;

using Kind = nrm::wire::Kind;
using Handling = nrm::wire::Handling;

// "referral_offer" for Kind::ReferralOffer; "unknown" for values outside the enum.
std::string_view KindName(Kind kind);
// The Kind named `name`, or kInvalidArgument listing the known names.
Result<Kind> KindFromName(std::string_view name);
std::string_view HandlingName(Handling h);  // "H0".."H3"
Result<Handling> HandlingFromName(std::string_view name);

// A verified envelope. Borrows the frame it was decoded from: keep the frame alive.
struct EnvelopeView {
  ByteView body;          // the signed bytes
  ByteView signature;     // 64 bytes
  ByteView header_bytes;  // the AEAD associated data
  const Header* header = nullptr;
  const Body* body_table = nullptr;

  ByteView message_id() const;
  std::string_view sender() const;
  std::vector<std::string_view> recipients() const;
  Kind kind() const { return header->kind(); }
  ByteView case_ref() const;
  Handling handling() const { return header->handling(); }
  int64_t created_at_ms() const { return header->created_at_ms(); }
  ByteView in_reply_to() const;  // empty when absent
  ByteView epoch_key() const;    // the sender's epoch public key, 32 bytes
  // Header.previous for recipient `index`: 16 bytes, all zero when the sender names no earlier
  // step; empty when the header carries no `previous` (an unordered message).
  ByteView previous(size_t index) const;
};

// Returns the envelope in `frame` after the FlatBuffers Verifier has passed on all three
// nested buffers, the version is kWireVersion and every field has its required size (ids 16
// bytes, nonce 24, epoch key 32, signature 64, 1..16 distinct recipients each with its 72-byte
// wrapped key in order). kInvalidArgument otherwise, naming the field. Checks no signature: see
// VerifySignature.
Result<EnvelopeView> DecodeEnvelope(ByteView frame);
// The view points into the frame: a temporary frame would leave it dangling.
Result<EnvelopeView> DecodeEnvelope(Bytes&& frame) = delete;

// The bytes the sender signs: "nrm/envelope/v1" || 0x00 || body.
Bytes SignedBytes(ByteView body);

// OK when `sender_sign_key` signed this envelope; kUnauthenticated otherwise.
Status VerifySignature(const EnvelopeView& env, ByteView sender_sign_key);

// What the sender says about the message; the sealing chooses message id and nonce itself.
struct HeaderFields {
  std::string sender;
  Kind kind = Kind::Unknown;
  Bytes case_ref;  // 16 bytes
  Handling handling = Handling::H0;
  int64_t created_at_ms = 0;
  Bytes in_reply_to;  // empty or 16 bytes
  bool consent_override = false;
  // Empty: the sealing draws a random message id. 16 bytes: this id (a step sealed again keeps
  // the id it was given when it was taken; docs/PROTOCOL.md section 10).
  Bytes message_id;
  // Header.previous: empty, or 16 bytes per recipient in the order of SealEnvelope's recipients.
  Bytes previous;
};

struct Recipient {
  std::string id;
  Bytes box_key;  // the recipient's X25519 public key from the directory
};

struct Sealed {
  Bytes message_id;  // 16 bytes
  Bytes frame;       // the encoded, signed Envelope
};

// Seals `payload` to every recipient (a random content key, XChaCha20-Poly1305 with the header
// as associated data, the key wrapped to each recipient under `epoch`'s current key) and signs
// the body. kInvalidArgument when the fields or recipients are out of range, or a recipient's
// box key is not a usable X25519 key.
Result<Sealed> SealEnvelope(const HeaderFields& fields, std::span<const Recipient> recipients,
                            ByteView payload, const crypto::SecretBytes& sender_sign_secret,
                            SenderEpoch& epoch);

// Opens an envelope addressed to `reader`: verifies the signature with the sender's key, checks
// the reader is a named recipient, unwraps the content key and decrypts.
// kUnauthenticated on a bad signature, epoch key, wrapped key or ciphertext; kPermissionDenied
// when the reader is not a recipient.
Result<crypto::SecretBytes> OpenEnvelope(const EnvelopeView& env, ByteView sender_sign_key,
                                         Reader& reader);

}  // namespace nrm::wire
