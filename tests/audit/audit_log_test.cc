#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include "audit/big_endian.h"
#include "tests/audit/test_util.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
using testing::kTestOrigin;
using testing::LeafHashes;
using testing::SampleRecord;
using testing::TempDir;
using testing::TestDb;

class AuditLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> OpenLog(TestDb& db) {
    Result<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), kTestOrigin);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }

  TempDir dir_;
  crypto::SignKeyPair keys_ = crypto::GenerateSignKeyPair();
};

TEST_F(AuditLogTest, ColumnFamilyNames) {
  EXPECT_EQ(AuditColumnFamilyNames(),
            (std::vector<std::string>{"audit", "audit_heads", "audit_meta", "audit_nodes"}));
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
  constexpr uint64_t kRecords = 3 * kFrontierInterval + 77;  // several frontiers
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

TEST_F(AuditLogTest, SignedCheckpointVerifiesAndIsStored) {
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
  Result<SignedCheckpoint> head = log->SignHead(1234567, &batch);
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(db.Write(&batch).ok());
  log->MarkWritten();
  EXPECT_EQ(head->size, 5u);
  EXPECT_EQ(head->root, log->Root());
  EXPECT_EQ(head->time_ms, 1234567);
  EXPECT_EQ(note::FormatVerifierKey(log->log_key()),
            note::FormatVerifierKey(*LogVerifierKey(kTestOrigin, keys_.public_key)));
  Result<VerifiedCheckpoint> v = VerifyCheckpointNote(head->note, log->log_key());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint, (Checkpoint{kTestOrigin, 5, log->Root(), {}}));
  EXPECT_EQ(v->log_time, 1234u);  // seconds

  std::string stored;
  ASSERT_TRUE(
      db.db()->Get({}, db.cfs().heads, rocksdb::Slice("\0\0\0\0\0\0\0\5", 8), &stored).ok());
  EXPECT_EQ(stored, head->note);
  EXPECT_EQ(StoredTree(db.db(), db.cfs()).LatestHead()->note, head->note);

  // Any change to the text or the log's signature fails; a change to the timestamp line fails
  // or (in its key ID) makes it a line of an unknown key, which is ignored; another key fails.
  const size_t timestamp_line = head->note.rfind("\xe2\x80\x94");
  for (size_t i = 0; i < head->note.size(); i += 7) {
    std::string bad = head->note;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    Result<VerifiedCheckpoint> w = VerifyCheckpointNote(bad, log->log_key());
    if (i < timestamp_line) {
      EXPECT_FALSE(w.ok()) << i;
    } else {
      EXPECT_TRUE(!w.ok() || !w->log_time) << i;
    }
  }
  EXPECT_FALSE(
      VerifyCheckpointNote(head->note,
                           *LogVerifierKey(kTestOrigin, crypto::GenerateSignKeyPair().public_key))
          .ok());
}

// Logs begun before checkpoints hold 112-byte nrm/tree-head/v1 heads: they still open and
// verify, and the next head is a checkpoint.
TEST_F(AuditLogTest, LegacyHeadsStillOpenAndVerify) {
  Hash root;
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log = OpenLog(db);
    ASSERT_NE(log, nullptr);
    rocksdb::WriteBatch batch;
    for (uint64_t i = 0; i < 3; ++i)
      ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
    root = log->Root();
    const SignedTreeHead legacy = SignTreeHead(3, root, 1000, keys_.secret_key);
    ASSERT_TRUE(
        batch
            .Put(db.cfs().heads, rocksdb::Slice("\0\0\0\0\0\0\0\3", 8),
                 rocksdb::Slice(reinterpret_cast<const char*>(EncodeTreeHead(legacy).data()),
                                kStoredTreeHeadBytes))
            .ok());
    ASSERT_TRUE(db.Write(&batch).ok());
  }
  TestDb db(dir_.path());
  std::unique_ptr<AuditLog> log = OpenLog(db);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Root(), root);
  EXPECT_EQ(StoredTree(db.db(), db.cfs()).LatestHead().status().code(), Code::kNotFound);
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(log->Append(SampleRecord(3), &batch, nullptr).ok());
  ASSERT_TRUE(log->SignHead(2000, &batch).ok());
  ASSERT_TRUE(db.Write(&batch).ok());
  EXPECT_EQ(StoredTree(db.db(), db.cfs()).LatestHead()->size, 4u);
}

TEST_F(AuditLogTest, OpenRefusesAnotherOrigin) {
  {
    TestDb db(dir_.path());
    ASSERT_NE(OpenLog(db), nullptr);
  }
  TestDb db(dir_.path());
  Result<std::unique_ptr<AuditLog>> other =
      AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), "nrm.other/audit/v1");
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
  EXPECT_NE(other.status().message().find("nrm.test/audit/v1"), std::string::npos);
  EXPECT_EQ(AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), "a b").status().code(),
            Code::kInvalidArgument);
}

// StoredTree reads proofs from the stored nodes: the same as merkle.h computes from all the
// leaves, for every pair of sizes up to 40, and every leaf.
TEST_F(AuditLogTest, StoredTreeProofsMatchTheLeaves) {
  const std::vector<Bytes> encodings = BuildLog(dir_.path(), 40, 7, keys_.secret_key);
  const std::vector<Hash> leaves = LeafHashes(encodings);
  TestDb db(dir_.path());
  const StoredTree tree(db.db(), db.cfs());
  for (uint64_t n = 0; n <= leaves.size(); ++n) {
    const std::span<const Hash> first(leaves.data(), n);
    ASSERT_EQ(*tree.RootAt(n), RootFromLeafHashes(first)) << n;
    for (uint64_t m = 0; m <= n; ++m) {
      ASSERT_EQ(*tree.ConsistencyProof(m, n), *ConsistencyProof(first, m)) << m << " " << n;
    }
    for (uint64_t i = 0; i < n; ++i) {
      ASSERT_EQ(*tree.InclusionProof(i, n), *InclusionProof(first, i)) << i << " " << n;
    }
  }
  EXPECT_FALSE(tree.ConsistencyProof(5, 4).ok());
}

// A log written before "audit_nodes" existed gets its nodes at the next Open.
TEST_F(AuditLogTest, OpenWritesTheNodesOfAnOlderLog) {
  const std::vector<Bytes> encodings = BuildLog(dir_.path(), 23, 5, keys_.secret_key);
  {
    TestDb db(dir_.path());
    ASSERT_TRUE(
        db.db()
            ->DeleteRange({}, db.cfs().nodes, rocksdb::Slice("\0", 1), rocksdb::Slice("\xff", 1))
            .ok());
    ASSERT_TRUE(db.db()->Delete({}, db.cfs().meta, kNodesKey).ok());
    EXPECT_FALSE(StoredTree(db.db(), db.cfs()).RootAt(23).ok());
  }
  TestDb db(dir_.path());
  ASSERT_NE(OpenLog(db), nullptr);
  EXPECT_EQ(*StoredTree(db.db(), db.cfs()).RootAt(23), RootFromLeafHashes(LeafHashes(encodings)));
}

TEST_F(AuditLogTest, CosignaturesAreAddedToTheStoredCheckpoint) {
  BuildLog(dir_.path(), 12, 6, keys_.secret_key);
  TestDb db(dir_.path());
  const StoredTree tree(db.db(), db.cfs());
  EXPECT_EQ(tree.LatestCosignedHead()->size, 12u);  // none cosigned: the latest
  const crypto::SignKeyPair w = crypto::GenerateSignKeyPair();
  const note::VerifierKey wkey =
      *note::MakeVerifierKey("w.example/w1", note::kTypeCosignatureV1, w.public_key);
  const std::string body = FormatCheckpoint(Checkpoint{kTestOrigin, 6, *tree.RootAt(6), {}});
  const std::vector<note::Signature> cosig = {note::Cosign(body, wkey.name, w.secret_key, 77)};
  ASSERT_TRUE(tree.AddCosignatures(6, cosig).ok());
  ASSERT_TRUE(tree.AddCosignatures(6, cosig).ok());  // once only
  Result<StoredHead> head = tree.LatestCosignedHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 6u);
  std::vector<note::VerifierKey> witnesses = {wkey};
  Result<VerifiedCheckpoint> v =
      VerifyCheckpointNote(head->note, *LogVerifierKey(kTestOrigin, keys_.public_key), witnesses);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->note.signatures.size(), 3u);
  EXPECT_EQ(v->cosigned_by.size(), 1u);
  EXPECT_EQ(tree.AddCosignatures(7, cosig).code(), Code::kNotFound);
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
  Result<SignedCheckpoint> head = log->SignHead(99, &batch);
  ASSERT_TRUE(head.ok());
  // A receipt: leaf 6 and the checkpoint. With the record and its proof it checks out.
  Result<VerifiedCheckpoint> cp = VerifyCheckpointNote(head->note, log->log_key());
  ASSERT_TRUE(cp.ok());
  const std::vector<Hash> proof = *InclusionProof(LeafHashes(encodings), 6);
  const Hash& root = cp->checkpoint.root;
  EXPECT_TRUE(VerifyInclusion(HashLeaf(encodings[6]), 6, cp->checkpoint.size, proof, root).ok());
  EXPECT_FALSE(VerifyInclusion(HashLeaf(encodings[5]), 6, cp->checkpoint.size, proof, root).ok());
  Bytes changed = encodings[6];
  changed.back() ^= 1;
  EXPECT_FALSE(VerifyInclusion(HashLeaf(changed), 6, cp->checkpoint.size, proof, root).ok());
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
      AuditLog::Open(db.db(), db.cfs(), crypto::GenerateSignKeyPair().secret_key, kTestOrigin);
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open(db.db(), db.cfs(), crypto::SecretBytes(32), kTestOrigin).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open(db.db(), {}, keys_.secret_key.Clone(), kTestOrigin).status().code(),
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
  EXPECT_EQ(
      AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), kTestOrigin).status().code(),
      Code::kCorruption);
}

TEST_F(AuditLogTest, OpenDetectsAChangedRecordAfterTheFrontier) {
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log = OpenLog(db);
    ASSERT_NE(log, nullptr);
    rocksdb::WriteBatch batch;
    for (uint64_t i = 0; i < 8; ++i)
      ASSERT_TRUE(log->Append(SampleRecord(i), &batch, nullptr).ok());
    ASSERT_TRUE(db.Write(&batch).ok());  // no head, no frontier: Open replays all 8
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
      AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), kTestOrigin);
  EXPECT_EQ(log.status().code(), Code::kCorruption);
  EXPECT_NE(log.status().message().find("record 3"), std::string::npos) << log.status().ToString();
}

TEST_F(AuditLogTest, FrontierRoundTripsAndRejectsGarbage) {
  CompactRange range;
  for (uint64_t i = 0; i < 13; ++i) range.Append(HashLeaf(Be64Key(i)));
  Hash chain;
  chain.fill(7);
  CompactRange parsed;
  Hash parsed_chain{};
  ASSERT_TRUE(DecodeFrontier(EncodeFrontier(range, chain), &parsed, &parsed_chain).ok());
  EXPECT_EQ(parsed, range);
  EXPECT_EQ(parsed_chain, chain);
  EXPECT_FALSE(DecodeFrontier(Bytes(10, 0), &parsed, &parsed_chain).ok());
}

}  // namespace
}  // namespace nrm::audit
