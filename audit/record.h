// AuditRecord: what the broker's audit log remembers about one event, and its canonical
// encoding, which is what the Merkle leaf hash covers and what a third party re-hashes.
//
// A record holds metadata only: ids, hashes, agency ids, rule ids and short reasons. It never
// holds payloads or personal data; case_ref is a pseudonym. docs/AUDIT.md documents the
// encoding byte by byte, with a test vector.
//
// Pure functions and value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/bytes.h"
#include "common/status.h"

namespace nrm::audit {

// Stable codes: they are part of the encoding. Never renumber; only add.
enum class AuditEvent : uint8_t {
  kAccepted = 1,
  kRefused = 2,
  kDelivered = 3,
  kAcknowledged = 4,
  kExpired = 5,
  kRevoked = 6,
  kPolicyLoaded = 7,
  kDirectoryLoaded = 8,
  kConnectionRefused = 9,
  kCaseErased = 10,  // an erasure_request was accepted: queued envelopes of the case dropped
};

// "accepted", "refused", ..., "connection_refused".
std::string_view EventName(AuditEvent event);
std::optional<AuditEvent> EventFromName(std::string_view name);

inline constexpr uint8_t kRecordVersion = 1;
// A record that stands for several events of one kind (count >= 2): version 1's fields, then
// the count.
inline constexpr uint8_t kCountedRecordVersion = 2;
inline constexpr size_t kMessageIdBytes = 16;
inline constexpr size_t kEnvelopeHashBytes = 32;
inline constexpr size_t kMaxFieldBytes = 1024;  // any one string or byte field
inline constexpr size_t kMaxRecipients = 256;

struct AuditRecord {
  AuditEvent event = AuditEvent::kAccepted;
  int64_t time_ms = 0;                  // broker clock, ms since the Unix epoch
  Bytes message_id;                     // 16 bytes, or empty for events about no message
  Bytes envelope_hash;                  // 32 bytes, or empty
  std::string sender;                   // agency id, or empty
  std::vector<std::string> recipients;  // agency ids, in the envelope's order
  std::string kind;                     // message kind, or empty
  Bytes case_ref;                       // pseudonymous case reference, or empty
  std::string decision;                 // "allow", "deny" or empty
  std::string rule;                     // policy rule id or refusal code, or empty
  std::string reason;                   // short text; never personal data
  // How many events of this kind the record stands for: repeated refusals of one agency for
  // one reason, or connections closed under the limits, within a second. 1 for all others.
  uint64_t count = 1;

  bool operator==(const AuditRecord&) const = default;
};

// OK when `record` can be encoded: a known event, ids of the right sizes, a known decision,
// string fields that are UTF-8 without control characters, the size limits above, count >= 1.
// kInvalidArgument naming the field otherwise.
Status ValidateRecord(const AuditRecord& record);

// The canonical encoding (version 1):
//   u8 version (0x01) || u8 event || be64 time_ms (two's complement)
//   || field(message_id) || field(envelope_hash) || field(sender)
//   || be32 recipient count || field(recipient) for each
//   || field(kind) || field(case_ref) || field(decision) || field(rule) || field(reason)
// where field(x) = be32 length || bytes. A record with count >= 2 is version 2: the same, with
// version 0x02, followed by be64 count. Deterministic: one record has one encoding.
// kInvalidArgument when ValidateRecord fails.
Result<Bytes> EncodeRecord(const AuditRecord& record);

// The inverse of EncodeRecord; strict, so DecodeRecord(b) succeeds only when b is exactly
// EncodeRecord(r) for some valid r. kCorruption otherwise. Never aborts, whatever the input.
Result<AuditRecord> DecodeRecord(ByteView encoding);

// HashLeaf(encoding): the record's leaf hash in the audit tree.
inline Hash RecordLeafHash(ByteView encoding) { return HashLeaf(encoding); }

}  // namespace nrm::audit
