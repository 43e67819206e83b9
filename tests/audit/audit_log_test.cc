#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include "audit/big_endian.h"
#include "tests/audit/test_util.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
using testing::LeafHashes;
using testing::SampleRecord;
using testing::TempDir;
using testing::TestDb;

class AuditLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> OpenLog(TestDb& db) {
    Result<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone());
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }

  TempDir dir_;
  crypto::SignKeyPair keys_ = crypto::GenerateSignKeyPair();
};

TEST_F(AuditLogTest, ColumnFamilyNames) {
  EXPECT_EQ(AuditColumnFamilyNames(),
            (std::vector<std::string>{"audit", "audit_heads", "audit_meta"}));
}

TEST_F(AuditLogTest, NewLogIsEmptyAndStoresTheBrokerKey) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 0u);
  EXPECT_EQ(log->Root(), EmptyRoot());
  EXPECT_EQ(log->broker_public_key(), keys_.public_key);
  std::string stored;
  ASSERT_TRUE(db.db()->Get({}, db.cfs().meta, kBrokerKeyKey, &stored).ok());
  EXPECT_EQ(ToHex(AsBytes(stored)), ToHex(keys_.public_key));
}

// Records go through synced WriteBatches together with the caller's own writes; after a reopen
// the frontier is restored (from a checkpoint plus replay) and the root is the naive one.
TEST_F(AuditLogTest, AppendReopenRestoresFrontier) {
  constexpr uint64_t kRecords = 3 * kCheckpointInterval + 77;  // several checkpoints
  std::vector<Bytes> encodings;
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log = OpenLog(db);
    ASSERT_NE(log, nullptr);
    rocksdb::WriteBatch batch;
    for (uint64_t i = 0; i < kRecords; ++i) {
      uint64_t index = 99;
      ASSERT_TRUE(log->Append(SampleRecord(i), &batch, &index).ok());
      ASSERT_EQ(index, i);
      ASSERT_TRUE(batch.Put(db.messages(), "msg" + std::to_string(i), "payload").ok());
      encodings.push_back(*EncodeRecord(SampleRecord(i)));
      if (i % 64 == 63) {  // group commit, a head only now and then
        if (i % 640 == 639) {
          ASSERT_TRUE(log->SignHead(static_cast<int64_t>(i), &batch).ok());
        }
        ASSERT_TRUE(db.Write(&batch).ok());
        log->MarkWritten();
        batch.Clear();
      }
    }
    ASSERT_TRUE(db.Write(&batch).ok());  // the tail: no head, no checkpoint
    log->MarkWritten();
    EXPECT_EQ(log->Root(), RootFromLeafHashes(LeafHashes(encodings)));
  }
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), kRecords);
  EXPECT_EQ(log->Root(), RootFromLeafHashes(LeafHashes(encodings)));
  std::string payload;
  EXPECT_TRUE(db.db()->Get({}, db.messages(), "msg" + std::to_string(kRecords - 1), &payload).ok());

  // And it carries on where it stopped.
  rocksdb::WriteBatch batch;
  uint64_t index = 0;
  ASSERT_TRUE(log->Append(SampleRecord(kRecords), &batch, &index).ok());
  EXPECT_EQ(index, kRecords);
  encodings.push_back(*EncodeRecord(SampleRecord(kRecords)));
  EXPECT_EQ(log->Root(), RootFromLeafHashes(LeafHashes(encodings)));
}

TEST_F(AuditLogTest, SignedHeadVerifiesAndIsStored) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
  Result<SignedTreeHead> head = log->SignHead(1234, &batch);
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(db.Write(&batch).ok());
  log->MarkWritten();
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->root, log->Root());
  EXPECT_EQ(head->time_ms, 1234);
  EXPECT_TRUE(VerifyTreeHead(*head, keys_.public_key).ok());

  std::string stored;
  ASSERT_TRUE(
      db.db()->Get({}, db.cfs().heads, rocksdb::Slice("\0\0\0\0\0\0\0\5", 8), &stored).ok());
  Result<SignedTreeHead> decoded = DecodeTreeHead(AsBytes(stored));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, *head);

  // A flipped signature bit, another key, or any other change fails.
  for (size_t bit = 0; bit < 512; bit += 37) {
    SignedTreeHead bad = *head;
    bad.signature[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(VerifyTreeHead(bad, keys_.public_key).code(), Code::kUnauthenticated) << bit;
  }
  SignedTreeHead bad = *head;
  bad.time_ms++;
  EXPECT_FALSE(VerifyTreeHead(bad, keys_.public_key).ok());
  bad = *head;
  bad.size++;
  EXPECT_FALSE(VerifyTreeHead(bad, keys_.public_key).ok());
  EXPECT_FALSE(VerifyTreeHead(*head, crypto::GenerateSignKeyPair().public_key).ok());
}

TEST_F(AuditLogTest, TreeHeadSignedBytesLayout) {
  Hash root;
  for (size_t i = 0; i < root.size(); ++i) root[i] = static_cast<uint8_t>(i);
  const Bytes b = TreeHeadSignedBytes(0x0102030405060708, root, 0x1112131415161718);
  EXPECT_EQ(ToHex(b),
            "6e726d2f747265652d686561642f763100"  // "nrm/tree-head/v1\0"
            "0102030405060708"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "1112131415161718");
}

TEST_F(AuditLogTest, ReceiptVerifiesWithInclusionProof) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  rocksdb::WriteBatch batch;
  std::vector<Bytes> encodings;
  uint64_t index = 0;
  for (uint64_t i = 0; i < 11; ++i) {
    ASSERT_TRUE(log->Append(SampleRecord(i), &batch, &index).ok());
    encodings.push_back(*EncodeRecord(SampleRecord(i)));
  }
  Result<SignedTreeHead> head = log->SignHead(99, &batch);
  ASSERT_TRUE(head.ok());
  const Receipt receipt{6, *head};
  const std::vector<Hash> proof = *InclusionProof(LeafHashes(encodings), 6);
  EXPECT_TRUE(VerifyReceipt(receipt, encodings[6], proof, keys_.public_key).ok());
  EXPECT_FALSE(VerifyReceipt(receipt, encodings[5], proof, keys_.public_key).ok());
  Bytes changed = encodings[6];
  changed.back() ^= 1;
  EXPECT_FALSE(VerifyReceipt(receipt, changed, proof, keys_.public_key).ok());
  Receipt forged = receipt;
  forged.head.signature[0] ^= 1;
  EXPECT_FALSE(VerifyReceipt(forged, encodings[6], proof, keys_.public_key).ok());
}

// The process dies after Append but before the batch is written: nothing of it exists.
TEST_F(AuditLogTest, UnwrittenBatchLeavesNoTrace) {
  Hash root_before;
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log = OpenLog(db);
    ASSERT_NE(log, nullptr);
    rocksdb::WriteBatch batch;
    for (uint64_t i = 0; i < 10; ++i)
      ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
    ASSERT_TRUE(log->SignHead(1, &batch).ok());
    ASSERT_TRUE(db.Write(&batch).ok());
    log->MarkWritten();
    root_before = log->Root();
    rocksdb::WriteBatch lost;
    for (uint64_t i = 10; i < 20; ++i)
      ASSERT_TRUE(log->Append(SampleRecord(i), &lost, nullptr).ok());
    ASSERT_TRUE(log->SignHead(2, &lost).ok());
    EXPECT_EQ(log->size(), 20u);
    // "crash": `lost` is never written.
  }
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->size(), 10u);
  EXPECT_EQ(log->Root(), root_before);
}

// A write that fails: DiscardPending() rewinds to the last written state and indexes are reused.
TEST_F(AuditLogTest, DiscardPendingAfterAFailedWrite) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(log->Append(SampleRecord(0), &batch, nullptr).ok());
  ASSERT_TRUE(db.Write(&batch).ok());
  log->MarkWritten();
  const Hash root = log->Root();

  rocksdb::WriteBatch failed;
  uint64_t index = 0;
  ASSERT_TRUE(log->Append(SampleRecord(1), &failed, &index).ok());
  EXPECT_EQ(index, 1u);
  log->DiscardPending();
  EXPECT_EQ(log->size(), 1u);
  EXPECT_EQ(log->Root(), root);

  rocksdb::WriteBatch retry;
  ASSERT_TRUE(log->Append(SampleRecord(2), &retry, &index).ok());
  EXPECT_EQ(index, 1u);
  ASSERT_TRUE(log->SignHead(5, &retry).ok());
  ASSERT_TRUE(db.Write(&retry).ok());
  log->MarkWritten();
  const std::vector<Hash> leaves = {HashLeaf(*EncodeRecord(SampleRecord(0))),
                                    HashLeaf(*EncodeRecord(SampleRecord(2)))};
  EXPECT_EQ(log->Root(), RootFromLeafHashes(leaves));
}

TEST_F(AuditLogTest, AppendRejectsAnInvalidRecordAndChangesNothing) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  rocksdb::WriteBatch batch;
  AuditRecord bad = SampleRecord(0);
  bad.message_id = {1, 2, 3};
  uint64_t index = 7;
  EXPECT_EQ(log->Append(bad, &batch, &index).code(), Code::kInvalidArgument);
  EXPECT_EQ(index, 7u);
  EXPECT_EQ(log->size(), 0u);
  EXPECT_EQ(batch.Count(), 0u);
}

TEST_F(AuditLogTest, OpenRefusesAnotherBrokerKey) {
  {
    TestDb db(dir_.path());
    ASSERT_NE(OpenLog(db), nullptr);
  }
  TestDb db(dir_.path());
  Result<std::unique_ptr<AuditLog>> other =
      AuditLog::Open(db.db(), db.cfs(), crypto::GenerateSignKeyPair().secret_key);
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open(db.db(), db.cfs(), crypto::SecretBytes(32)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open(db.db(), {}, keys_.secret_key.Clone()).status().code(),
            Code::kInvalidArgument);
}

TEST_F(AuditLogTest, OpenDetectsAMissingRecord) {
  BuildLog(dir_.path(), 30, 10, keys_.secret_key);
  {
    TestDb db(dir_.path());
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db.db()
                    ->Delete(sync, db.cfs().records,
                             rocksdb::Slice(reinterpret_cast<const char*>(Be64Key(29).data()), 8))
                    .ok());
  }
  TestDb db(dir_.path());
  EXPECT_EQ(AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone()).status().code(),
            Code::kCorruption);
}

TEST_F(AuditLogTest, OpenDetectsAChangedRecordAfterTheCheckpoint) {
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log = OpenLog(db);
    ASSERT_NE(log, nullptr);
    rocksdb::WriteBatch batch;
    for (uint64_t i = 0; i < 8; ++i)
      ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
    ASSERT_TRUE(db.Write(&batch).ok());  // no head, no checkpoint: Open replays all 8
  }
  {
    TestDb db(dir_.path());
    const Bytes key = Be64Key(3);
    const rocksdb::Slice k(reinterpret_cast<const char*>(key.data()), key.size());
    std::string value;
    ASSERT_TRUE(db.db()->Get({}, db.cfs().records, k, &value).ok());
    value.back() ^= 1;
    ASSERT_TRUE(db.db()->Put({}, db.cfs().records, k, value).ok());
  }
  TestDb db(dir_.path());
  Result<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone());
  EXPECT_EQ(log.status().code(), Code::kCorruption);
  EXPECT_NE(log.status().message().find("record 3"), std::string::npos) << log.status().ToString();
}

TEST_F(AuditLogTest, CheckpointRoundTripsAndRejectsGarbage) {
  CompactRange range;
  for (uint64_t i = 0; i < 13; ++i) range.Append(HashLeaf(Be64Key(i)));
  Hash chain;
  chain.fill(7);
  CompactRange parsed;
  Hash parsed_chain{};
  ASSERT_TRUE(DecodeCheckpoint(EncodeCheckpoint(range, chain), &parsed, &parsed_chain).ok());
  EXPECT_EQ(parsed, range);
  EXPECT_EQ(parsed_chain, chain);
  EXPECT_FALSE(DecodeCheckpoint(Bytes(10, 0), &parsed, &parsed_chain).ok());
}

}  // namespace
}  // namespace nrm::audit
