#include "audit/record.h"

#include <array>

#include "audit/big_endian.h"
#include "audit/utf8.h"

namespace nrm::audit {
namespace {

constexpr std::array<std::string_view, 11> kEventNames = {
    "",        "accepted",      "refused",          "delivered",          "acknowledged", "expired",
    "revoked", "policy_loaded", "directory_loaded", "connection_refused", "case_erased"};

bool KnownEvent(uint8_t code) { return code >= 1 && code < kEventNames.size(); }

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
// with no C0 control characters and no DEL, so it prints and escapes predictably.
bool IsCleanUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const std::optional<uint32_t> cp = NextCodePoint(s, &i);
    if (!cp || *cp < 0x20 || *cp == 0x7f) return false;
  }
  return true;
}

Status CheckText(std::string_view value, std::string_view what) {
  if (value.size() > kMaxFieldBytes) {
    return InvalidArgument(std::string(what) + " is longer than " + std::to_string(kMaxFieldBytes) +
                           " bytes");
  }
  if (!IsCleanUtf8(value)) {
    return InvalidArgument(std::string(what) + " is not UTF-8 text without control characters");
  }
  return Status::Ok();
}

Status CheckSize(size_t size, size_t want, std::string_view what) {
  if (size != 0 && size != want) {
    return InvalidArgument(std::string(what) + " must be " + std::to_string(want) +
                           " bytes or empty, not " + std::to_string(size));
  }
  return Status::Ok();
}

void PutField(Bytes* out, ByteView value) {
  PutBe32(out, static_cast<uint32_t>(value.size()));
  out->insert(out->end(), value.begin(), value.end());
}

// Reads the encoding front to back; any overrun marks it bad and yields empty values.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == data_.size(); }

  uint8_t U8() { return Take(1).empty() ? 0 : data_[pos_ - 1]; }
  uint32_t Be32() {
    ByteView b = Take(4);
    return b.empty() ? 0 : GetBe32(b.data());
  }
  uint64_t Be64() {
    ByteView b = Take(8);
    return b.empty() ? 0 : GetBe64(b.data());
  }
  ByteView Field() {
    uint32_t len = Be32();
    if (len > kMaxFieldBytes) ok_ = false;
    return ok_ ? Take(len) : ByteView();
  }

 private:
  ByteView Take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    pos_ += n;
    return data_.subspan(pos_ - n, n);
  }

  ByteView data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string ToString(ByteView b) { return std::string(AsChars(b)); }

}  // namespace

std::string_view EventName(AuditEvent event) {
  const auto code = static_cast<uint8_t>(event);
  return KnownEvent(code) ? kEventNames[code] : std::string_view("unknown");
}

std::optional<AuditEvent> EventFromName(std::string_view name) {
  for (uint8_t code = 1; code < kEventNames.size(); ++code) {
    if (kEventNames[code] == name) return static_cast<AuditEvent>(code);
  }
  return std::nullopt;
}

Status ValidateRecord(const AuditRecord& record) {
  if (!KnownEvent(static_cast<uint8_t>(record.event))) return InvalidArgument("unknown event");
  NRM_RETURN_IF_ERROR(CheckSize(record.message_id.size(), kMessageIdBytes, "message_id"));
  NRM_RETURN_IF_ERROR(CheckSize(record.envelope_hash.size(), kEnvelopeHashBytes, "envelope_hash"));
  NRM_RETURN_IF_ERROR(CheckText(record.sender, "sender"));
  if (record.recipients.size() > kMaxRecipients) {
    return InvalidArgument("more than " + std::to_string(kMaxRecipients) + " recipients");
  }
  for (const std::string& r : record.recipients) NRM_RETURN_IF_ERROR(CheckText(r, "recipient"));
  NRM_RETURN_IF_ERROR(CheckText(record.kind, "kind"));
  if (record.case_ref.size() > kMaxFieldBytes) return InvalidArgument("case_ref is too long");
  if (!record.decision.empty() && record.decision != "allow" && record.decision != "deny") {
    return InvalidArgument("decision must be \"allow\", \"deny\" or empty");
  }
  NRM_RETURN_IF_ERROR(CheckText(record.rule, "rule"));
  NRM_RETURN_IF_ERROR(CheckText(record.reason, "reason"));
  if (record.count == 0) return InvalidArgument("count must be at least 1");
  return Status::Ok();
}

Result<Bytes> EncodeRecord(const AuditRecord& record) {
  NRM_RETURN_IF_ERROR(ValidateRecord(record));
  Bytes out;
  out.reserve(64 + record.sender.size() + record.kind.size() + record.reason.size() +
              record.recipients.size() * 16);
  const bool counted = record.count > 1;
  out.push_back(counted ? kCountedRecordVersion : kRecordVersion);
  out.push_back(static_cast<uint8_t>(record.event));
  PutBe64(&out, static_cast<uint64_t>(record.time_ms));
  PutField(&out, record.message_id);
  PutField(&out, record.envelope_hash);
  PutField(&out, AsBytes(record.sender));
  PutBe32(&out, static_cast<uint32_t>(record.recipients.size()));
  for (const std::string& r : record.recipients) PutField(&out, AsBytes(r));
  PutField(&out, AsBytes(record.kind));
  PutField(&out, record.case_ref);
  PutField(&out, AsBytes(record.decision));
  PutField(&out, AsBytes(record.rule));
  PutField(&out, AsBytes(record.reason));
  if (counted) PutBe64(&out, record.count);
  return out;
}

Result<AuditRecord> DecodeRecord(ByteView encoding) {
  Reader in(encoding);
  const uint8_t version = in.U8();
  if (version != kRecordVersion && version != kCountedRecordVersion) {
    return Corruption("record: missing or unknown version");
  }
  AuditRecord r;
  r.event = static_cast<AuditEvent>(in.U8());
  r.time_ms = static_cast<int64_t>(in.Be64());
  ByteView message_id = in.Field();
  ByteView envelope_hash = in.Field();
  r.message_id.assign(message_id.begin(), message_id.end());
  r.envelope_hash.assign(envelope_hash.begin(), envelope_hash.end());
  r.sender = ToString(in.Field());
  uint32_t count = in.Be32();
  if (count > kMaxRecipients) return Corruption("record: too many recipients");
  for (uint32_t i = 0; i < count && in.ok(); ++i) r.recipients.push_back(ToString(in.Field()));
  r.kind = ToString(in.Field());
  ByteView case_ref = in.Field();
  r.case_ref.assign(case_ref.begin(), case_ref.end());
  r.decision = ToString(in.Field());
  r.rule = ToString(in.Field());
  r.reason = ToString(in.Field());
  if (version == kCountedRecordVersion) {
    r.count = in.Be64();
    // One record, one encoding: a count of 1 is version 1.
    if (in.ok() && r.count < 2) return Corruption("record: version 2 with a count under 2");
  }
  if (!in.ok()) return Corruption("record: truncated");
  if (!in.done()) return Corruption("record: trailing bytes");
  if (Status s = ValidateRecord(r); !s.ok()) return Corruption("record: " + s.message());
  return r;
}

}  // namespace nrm::audit
