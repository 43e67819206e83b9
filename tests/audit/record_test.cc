#include "audit/record.h"

#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"

namespace nrm::audit {
namespace {

// The test vector of docs/AUDIT.md.
AuditRecord VectorRecord() {
  AuditRecord r;
  r.event = AuditEvent::kAccepted;
  r.time_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  r.message_id = *FromHex("000102030405060708090a0b0c0d0e0f");
  r.envelope_hash = *FromHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
  r.sender = "police.nl";
  r.recipients = {"ngo.example", "labour.example"};
  r.kind = "referral";
  r.case_ref = *FromHex("c0ffee");
  r.decision = "allow";
  r.rule = "R12";
  r.reason = "policy allows";
  return r;
}

constexpr char kVectorEncoding[] =
    "01010000019b76daa80000000010000102030405060708090a0b0c0d0e0f00000020a0a1a2a3a4a5a6a7a8a9aa"
    "abacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf00000009706f6c6963652e6e6c000000020000000b6e676f"
    "2e6578616d706c650000000e6c61626f75722e6578616d706c6500000008726566657272616c00000003c0ffee"
    "00000005616c6c6f77000000035231320000000d706f6c69637920616c6c6f7773";
constexpr char kVectorLeafHash[] =
    "1d2f978df5b851a0c9766ca7587fde34a3bbd60a0cb28d658f192428a113c925";

TEST(RecordTest, GoldenVector) {
  Result<Bytes> encoding = EncodeRecord(VectorRecord());
  ASSERT_TRUE(encoding.ok()) << encoding.status().ToString();
  EXPECT_EQ(ToHex(*encoding), kVectorEncoding);
  EXPECT_EQ(ToHex(RecordLeafHash(*encoding)), kVectorLeafHash);
  Result<AuditRecord> decoded = DecodeRecord(*FromHex(kVectorEncoding));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, VectorRecord());
}

TEST(RecordTest, RoundTripsEveryEvent) {
  for (uint8_t code = 1; code <= 9; ++code) {
    AuditRecord r = VectorRecord();
    r.event = static_cast<AuditEvent>(code);
    EXPECT_EQ(EventFromName(EventName(r.event)), r.event);
    Result<Bytes> encoding = EncodeRecord(r);
    ASSERT_TRUE(encoding.ok());
    Result<AuditRecord> decoded = DecodeRecord(*encoding);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, r);
  }
  EXPECT_EQ(EventName(AuditEvent::kConnectionRefused), "connection_refused");
  EXPECT_FALSE(EventFromName("unknown").has_value());
}

TEST(RecordTest, EmptyOptionalFieldsRoundTrip) {
  AuditRecord r;
  r.event = AuditEvent::kPolicyLoaded;
  r.time_ms = -1;  // before 1970: still encodes (two's complement)
  r.rule = "policy sha256:abcd";
  Result<Bytes> encoding = EncodeRecord(r);
  ASSERT_TRUE(encoding.ok());
  EXPECT_EQ(encoding->size(), 1 + 1 + 8 + 8 * 4u + 4 + r.rule.size());  // 8 fields + count
  Result<AuditRecord> decoded = DecodeRecord(*encoding);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, r);
}

// A record standing for several refusals (count >= 2) is version 2: version 1's bytes with
// 0x02 first and be64 count appended; count 1 stays version 1, byte for byte; a version-2
// record with a count under 2, or without its count, does not decode.
TEST(RecordTest, CountedRecordsAreVersionTwoAndVersionOneIsUnchanged) {
  AuditRecord r = VectorRecord();
  Result<Bytes> one = EncodeRecord(r);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(ToHex(*one), kVectorEncoding);
  r.count = 300;
  Result<Bytes> counted = EncodeRecord(r);
  ASSERT_TRUE(counted.ok());
  ASSERT_EQ(counted->size(), one->size() + 8);
  EXPECT_EQ((*counted)[0], 0x02);
  EXPECT_TRUE(std::equal(one->begin() + 1, one->end(), counted->begin() + 1));
  EXPECT_EQ(ToHex(ByteView(*counted).last(8)), "000000000000012c");
  Result<AuditRecord> decoded = DecodeRecord(*counted);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, r);
  Bytes count_one = *counted;
  for (size_t i = count_one.size() - 8; i < count_one.size(); ++i) count_one[i] = 0;
  count_one.back() = 1;
  EXPECT_EQ(DecodeRecord(count_one).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeRecord(ByteView(*counted).first(counted->size() - 8)).status().code(),
            Code::kCorruption);
  r.count = 0;
  EXPECT_EQ(EncodeRecord(r).status().code(), Code::kInvalidArgument);
}

TEST(RecordTest, EncodeRejectsInvalidRecords) {
  auto rejected = [](void (*mutate)(AuditRecord&)) {
    AuditRecord r = VectorRecord();
    mutate(r);
    return EncodeRecord(r).status().code() == Code::kInvalidArgument;
  };
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.event = static_cast<AuditEvent>(0); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.event = static_cast<AuditEvent>(11); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.message_id.pop_back(); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.envelope_hash.push_back(0); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.decision = "maybe"; }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.reason = "line\nbreak"; }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.sender = "\xff\xfe"; }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.kind = "\xc0\xaf"; }));      // overlong '/'
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.rule = "\xed\xa0\x80"; }));  // surrogate
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.reason = std::string(kMaxFieldBytes + 1, 'a'); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.case_ref = Bytes(kMaxFieldBytes + 1, 1); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.recipients.resize(kMaxRecipients + 1, "x"); }));
  EXPECT_TRUE(rejected([](AuditRecord& r) { r.recipients.push_back("tab\there"); }));
  // Non-ASCII UTF-8 text is fine.
  AuditRecord r = VectorRecord();
  r.reason = "d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac \xf0\x9f\x94\x92";
  EXPECT_TRUE(EncodeRecord(r).ok());
}

TEST(RecordTest, DecodeRejectsEveryTruncation) {
  const Bytes good = *EncodeRecord(VectorRecord());
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_EQ(DecodeRecord(ByteView(good).first(len)).status().code(), Code::kCorruption) << len;
  }
}

TEST(RecordTest, DecodeRejectsTrailingBytes) {
  Bytes bad = *EncodeRecord(VectorRecord());
  bad.push_back(0);
  EXPECT_EQ(DecodeRecord(bad).status().code(), Code::kCorruption);
}

TEST(RecordTest, DecodeRejectsUnknownVersionAndEvent) {
  Bytes bad = *EncodeRecord(VectorRecord());
  bad[0] = 2;
  EXPECT_FALSE(DecodeRecord(bad).ok());
  bad[0] = 1;
  bad[1] = 0;
  EXPECT_FALSE(DecodeRecord(bad).ok());
  bad[1] = 42;
  EXPECT_FALSE(DecodeRecord(bad).ok());
}

TEST(RecordTest, DecodeRejectsHugeLengths) {
  Bytes bad = *EncodeRecord(VectorRecord());
  bad[10] = 0xff;  // message_id length 0xff000010
  EXPECT_FALSE(DecodeRecord(bad).ok());
}

// The encoding is canonical: any byte change either fails to decode or decodes to a record
// whose encoding is exactly the changed bytes (so two encodings never share a record).
TEST(RecordTest, EveryByteMutationIsRejectedOrCanonical) {
  const Bytes good = *EncodeRecord(VectorRecord());
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t x : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      Bytes bad = good;
      bad[i] ^= x;
      Result<AuditRecord> decoded = DecodeRecord(bad);
      if (!decoded) continue;
      EXPECT_NE(*decoded, VectorRecord());
      Result<Bytes> again = EncodeRecord(*decoded);
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, bad) << "byte " << i;
    }
  }
}

}  // namespace
}  // namespace nrm::audit
