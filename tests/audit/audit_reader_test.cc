#include "audit/audit_reader.h"

#include <gtest/gtest.h>

#include "audit/big_endian.h"
#include "common/json/json.h"
#include "tests/audit/test_util.h"
#include "tests/testing/audit_rewrite.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
using testing::kTestOrigin;
using testing::LeafHashes;
using testing::SampleMessageId;
using testing::SampleRecord;
using testing::TempDir;
using testing::TestDb;

constexpr uint64_t kRecords = 100;
constexpr uint64_t kHeadEvery = 10;

std::string Key(uint64_t index) {
  const Bytes k = Be64Key(index);
  return std::string(AsChars(k));
}

void Replace(std::string& text, std::string_view from, std::string_view to) {
  size_t pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << from;
  text.replace(pos, from.size(), to);
}

class AuditReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    encodings_ = BuildLog(dir_.path(), kRecords, kHeadEvery, keys_.secret_key);
  }

  VerifyReport Verify(Bytes key = {}) {
    VerifyOptions options;
    options.broker_public_key = std::move(key);
    return Verify(std::move(options));
  }
  VerifyReport Verify(VerifyOptions options) {
    Result<VerifyReport> report = VerifyLog(dir_.path(), options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : VerifyReport{};
  }

  // Runs `fn` on the log's database, opened read-write as the broker would.
  template <typename Fn>
  void Tamper(Fn fn) {
    TestDb db(dir_.path());
    fn(db);
  }

  std::string GetRecord(TestDb& db, uint64_t index) {
    std::string value;
    EXPECT_TRUE(db.db()->Get({}, db.cfs().records, Key(index), &value).ok());
    return value;
  }
  void PutRecord(TestDb& db, uint64_t index, const std::string& value) {
    ASSERT_TRUE(db.db()->Put({}, db.cfs().records, Key(index), value).ok());
  }

  note::VerifierKey LogKey() const { return *LogVerifierKey(kTestOrigin, keys_.public_key); }

  Result<std::string> StoredCheckpoint(uint64_t size) {
    TestDb db(dir_.path());
    NRM_ASSIGN_OR_RETURN(StoredHead head, StoredTree(db.db(), db.cfs()).HeadAt(size));
    return head.note;
  }
  Result<Hash> StoredTreeRoot(uint64_t size) {
    TestDb db(dir_.path());
    return StoredTree(db.db(), db.cfs()).RootAt(size);
  }

  TempDir dir_;
  crypto::SignKeyPair keys_ = crypto::GenerateSignKeyPair();
  std::vector<Bytes> encodings_;
};

TEST_F(AuditReaderTest, IntactLogVerifies) {
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.records, kRecords);
  EXPECT_EQ(report.heads_checked, kRecords / kHeadEvery);
  EXPECT_EQ(report.root, RootFromLeafHashes(LeafHashes(encodings_)));
  EXPECT_TRUE(Verify().intact);  // with the key the log stores
}

TEST_F(AuditReaderTest, ChangedByteIsNamed) {
  for (uint64_t index : {uint64_t{0}, uint64_t{37}, kRecords - 1}) {
    Bytes original;
    Tamper([&](TestDb& db) {
      std::string value = GetRecord(db, index);
      original.assign(value.begin(), value.end());
      value[value.size() - 3] ^= 0x01;  // inside the reason text: still decodes
      PutRecord(db, index, value);
    });
    VerifyReport report = Verify(keys_.public_key);
    EXPECT_FALSE(report.intact);
    ASSERT_TRUE(report.first_bad_index.has_value()) << report.problem;
    EXPECT_EQ(*report.first_bad_index, index) << report.problem;
    Tamper([&](TestDb& db) { PutRecord(db, index, std::string(AsChars(original))); });
    EXPECT_TRUE(Verify().intact);
  }
}

TEST_F(AuditReaderTest, ChangedByteThatBreaksDecodingIsNamed) {
  Tamper([&](TestDb& db) {
    std::string value = GetRecord(db, 58);
    value[kChainBytes] = 9;  // the version byte
    PutRecord(db, 58, value);
  });
  VerifyReport report = Verify();
  EXPECT_EQ(report.first_bad_index, 58u) << report.problem;
  EXPECT_NE(report.problem.find("does not decode"), std::string::npos) << report.problem;
}

TEST_F(AuditReaderTest, ChangedChainLinkIsNamed) {
  Tamper([&](TestDb& db) {
    std::string value = GetRecord(db, 12);
    value[0] ^= 0x40;
    PutRecord(db, 12, value);
  });
  EXPECT_EQ(Verify().first_bad_index, 12u);
}

TEST_F(AuditReaderTest, DeletedRecordIsNamed) {
  Tamper([&](TestDb& db) { ASSERT_TRUE(db.db()->Delete({}, db.cfs().records, Key(41)).ok()); });
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_index, 41u) << report.problem;
}

TEST_F(AuditReaderTest, DeletedLastRecordIsNamed) {
  Tamper([&](TestDb& db) {
    ASSERT_TRUE(db.db()->Delete({}, db.cfs().records, Key(kRecords - 1)).ok());
  });
  VerifyReport report = Verify();
  EXPECT_EQ(report.first_bad_index, kRecords - 1) << report.problem;
}

TEST_F(AuditReaderTest, SwappedRecordsAreNamed) {
  Tamper([&](TestDb& db) {
    std::string a = GetRecord(db, 20), b = GetRecord(db, 60);
    PutRecord(db, 20, b);
    PutRecord(db, 60, a);
  });
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_index, 20u) << report.problem;
}

// An attacker who rewrites the storage chain after changing record 45 is still caught by the
// signed head at size 50, and the report names the first record after the last good head.
TEST_F(AuditReaderTest, RewrittenChainIsCaughtBySignedHead) {
  Tamper([&](TestDb& db) {
    Hash chain{};
    for (uint64_t i = 0; i < kRecords; ++i) {
      std::string value = GetRecord(db, i);
      std::string encoding = value.substr(kChainBytes);
      if (i == 45) encoding[encoding.size() - 1] ^= 0x02;
      chain = NextChain(chain, HashLeaf(AsBytes(encoding)));
      PutRecord(db, i, std::string(AsChars(chain)) + encoding);
    }
  });
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.first_bad_index, 40u) << report.problem;
  EXPECT_NE(report.problem.find("40..49"), std::string::npos) << report.problem;
}

TEST_F(AuditReaderTest, FlippedHeadSignatureBitIsNamed) {
  Tamper([&](TestDb& db) {
    std::string head;
    ASSERT_TRUE(db.db()->Get({}, db.cfs().heads, Key(50), &head).ok());
    // A character of the log's signature (in the base64 of the first signature line).
    char& c = head[head.find("\n\n") + 40];
    c = c == 'A' ? 'B' : 'A';
    ASSERT_TRUE(db.db()->Put({}, db.cfs().heads, Key(50), head).ok());
  });
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_FALSE(report.intact);
  EXPECT_FALSE(report.first_bad_index.has_value());
  EXPECT_EQ(report.bad_head_size, 50u) << report.problem;
}

TEST_F(AuditReaderTest, ForgedHeadUnderAnotherKeyFails) {
  // The attacker replaces the stored key and re-signs: a verifier holding the real key notices.
  crypto::SignKeyPair attacker = crypto::GenerateSignKeyPair();
  Tamper([&](TestDb& db) {
    ASSERT_TRUE(
        db.db()
            ->Put({}, db.cfs().meta, kBrokerKeyKey, std::string(AsChars(attacker.public_key)))
            .ok());
  });
  EXPECT_FALSE(Verify(keys_.public_key).intact);
  EXPECT_FALSE(Verify(attacker.public_key).intact);  // heads do not verify under that key
}

TEST_F(AuditReaderTest, ProofFromProveChecksOffline) {
  Result<std::string> proof = Prove(dir_.path(), SampleMessageId(37));
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  Result<CheckedProof> checked = CheckProof(*proof, LogKey());
  ASSERT_TRUE(checked.ok()) << checked.status().ToString() << "\n" << *proof;
  EXPECT_EQ(checked->type, kInclusionProofType);
  EXPECT_EQ(checked->leaf_index, 37u);
  EXPECT_EQ(checked->record, SampleRecord(37));
  EXPECT_EQ(checked->size, kRecords);

  // Every record of the log.
  for (uint64_t i = 0; i < kRecords; i += 7) {
    Result<std::string> p = Prove(dir_.path(), SampleMessageId(i));
    ASSERT_TRUE(p.ok());
    Result<CheckedProof> c = CheckProof(*p, LogKey());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(c->leaf_index, i);
  }
}

TEST_F(AuditReaderTest, ProveFiltersByEvent) {
  EXPECT_TRUE(Prove(dir_.path(), SampleMessageId(5), AuditEvent::kDelivered).ok());
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(5), AuditEvent::kAccepted).status().code(),
            Code::kNotFound);
}

TEST_F(AuditReaderTest, TamperedProofsFail) {
  const std::string proof = *Prove(dir_.path(), SampleMessageId(37));
  const json::Json doc = *json::Parse(proof);
  const std::string encoding = doc["record"]["encoding"];
  const std::string first_hash = doc["inclusion_proof"][0];
  const std::string checkpoint = doc["checkpoint"];
  const std::string signature = checkpoint.substr(checkpoint.find("\n\n") + 40, 20);

  auto fails = [&](std::string_view from, std::string_view to) {
    std::string bad = proof;
    Replace(bad, from, to);
    Result<CheckedProof> checked = CheckProof(bad, LogKey());
    return !checked.ok();
  };
  // A changed record: its encoding (one hex digit), or only its displayed fields.
  std::string changed = encoding;
  changed[changed.size() - 1] = changed.back() == '0' ? '1' : '0';
  EXPECT_TRUE(fails(encoding, changed));
  EXPECT_TRUE(fails("\"sender\": \"police.nl\"", "\"sender\": \"police.be\""));
  EXPECT_TRUE(fails("\"leaf_index\": 37", "\"leaf_index\": 36"));
  std::string bad_hash = first_hash;
  bad_hash[0] = bad_hash[0] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(fails(first_hash, bad_hash));
  std::string bad_sig = signature;
  bad_sig[10] = bad_sig[10] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(fails(signature, bad_sig));
  EXPECT_TRUE(fails("\\n100\\n", "\\n99\\n"));  // the checkpoint's size
  EXPECT_TRUE(fails("\"type\": \"nrm-audit-inclusion/v2\"", "\"type\": \"other\""));
  EXPECT_FALSE(
      CheckProof(proof, *LogVerifierKey(kTestOrigin, crypto::GenerateSignKeyPair().public_key))
          .ok());
  EXPECT_FALSE(CheckProof("{", LogKey()).ok());
  EXPECT_FALSE(CheckProof("[]", LogKey()).ok());
}

// A proof comes from anyone: wrong types, non-integers, duplicate keys, deep nesting and every
// truncation are refused as malformed (never an exception or abort); member order is free.
TEST_F(AuditReaderTest, HostileProofsAreRefused) {
  const std::string proof = *Prove(dir_.path(), SampleMessageId(37));
  auto code = [&](std::string_view from, std::string_view to) {
    std::string bad = proof;
    Replace(bad, from, to);
    return CheckProof(bad, LogKey()).status().code();
  };
  for (std::string_view leaf :
       {"37.0", "3.7e1", "-37", "\"37\"", "null", "[37]", "18446744073709551616", "true"}) {
    EXPECT_EQ(code("\"leaf_index\": 37", "\"leaf_index\": " + std::string(leaf)),
              Code::kInvalidArgument)
        << leaf;
  }
  EXPECT_EQ(code("{", "{\"extra\": 0.5, "), Code::kInvalidArgument);  // no proof has a float
  EXPECT_EQ(code("\"leaf_index\": 37", "\"leaf_index\": 37, \"leaf_index\": 37"),
            Code::kInvalidArgument);
  EXPECT_EQ(code("\"record\": {", "\"record\": 1, \"r\": {"), Code::kInvalidArgument);
  EXPECT_EQ(code("\"checkpoint\": \"", "\"checkpoint\": [], \"c\": \""), Code::kInvalidArgument);
  EXPECT_EQ(code("\"checkpoint\": \"", "\"checkpoint\": \"x"), Code::kUnauthenticated);  // origin
  EXPECT_EQ(code("\"inclusion_proof\": [", "\"inclusion_proof\": [1, "), Code::kInvalidArgument);
  EXPECT_EQ(code("\"type\": \"nrm-audit-inclusion/v2\"", "\"type\": 1"), Code::kInvalidArgument);
  // A displayed field of another type, or an extra one, is not what the encoding says.
  EXPECT_EQ(code("\"sample record\"", "0"), Code::kUnauthenticated);
  EXPECT_EQ(code("\"reason\"", "\"x\": 1, \"reason\""), Code::kUnauthenticated);
  EXPECT_EQ(CheckProof(std::string(100, '[') + std::string(100, ']'), LogKey()).status().code(),
            Code::kInvalidArgument);
  for (size_t n = 0; n + 1 < proof.size(); ++n) {  // all but the final newline are needed
    EXPECT_FALSE(CheckProof(std::string_view(proof).substr(0, n), LogKey()).ok()) << n;
  }

  // The same document with the record's members in another order still checks.
  json::Json doc = *json::Parse(proof);
  json::Json reordered = json::Json::object();
  for (auto it = doc["record"].rbegin(); it != doc["record"].rend(); ++it) {
    reordered[it.key()] = it.value();
  }
  doc["record"] = reordered;
  EXPECT_TRUE(CheckProof(json::Dump(doc), LogKey()).ok());
}

TEST_F(AuditReaderTest, ProveRefusesALogThatDoesNotMatchItsHead) {
  Tamper([&](TestDb& db) {
    std::string value = GetRecord(db, 37);
    value[value.size() - 3] ^= 0x01;
    PutRecord(db, 37, value);
  });
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(37)).status().code(), Code::kCorruption);
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(80)).status().code(), Code::kCorruption);
}

TEST_F(AuditReaderTest, ProveNeedsASignedHeadCoveringTheRecord) {
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(kRecords)).status().code(), Code::kNotFound);
  EXPECT_EQ(Prove(dir_.path(), Bytes{1, 2}).status().code(), Code::kInvalidArgument);
  {
    TestDb db(dir_.path());
    std::unique_ptr<AuditLog> log =
        std::move(*AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone(), kTestOrigin));
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(log->Append(SampleRecord(kRecords), &batch, nullptr).ok());
    ASSERT_TRUE(db.Write(&batch).ok());
  }
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(kRecords)).status().code(), Code::kUnavailable);
  EXPECT_TRUE(Verify().intact);  // records beyond the latest head are fine
}

TEST_F(AuditReaderTest, ConsistencyProofsCheckOffline) {
  const std::vector<Hash> leaves = LeafHashes(encodings_);
  for (uint64_t from : {uint64_t{0}, uint64_t{1}, uint64_t{10}, uint64_t{33}, uint64_t{64},
                        kRecords - 1, kRecords}) {
    Result<std::string> proof = Consistency(dir_.path(), from);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    Result<CheckedProof> checked = CheckProof(*proof, LogKey());
    ASSERT_TRUE(checked.ok()) << checked.status().ToString() << "\n" << *proof;
    EXPECT_EQ(checked->type, kConsistencyProofType);
    EXPECT_EQ(checked->from_size, from);
    EXPECT_EQ(checked->from_root, RootFromLeafHashes(std::span<const Hash>(leaves).first(from)));
    EXPECT_EQ(checked->size, kRecords);
  }
  EXPECT_EQ(Consistency(dir_.path(), kRecords + 1).status().code(), Code::kInvalidArgument);

  std::string proof = *Consistency(dir_.path(), 33);
  const std::string from_root = (*json::Parse(proof))["from_root"];
  std::string other = from_root;
  other[5] = other[5] == 'f' ? 'e' : 'f';
  Replace(proof, from_root, other);
  EXPECT_EQ(CheckProof(proof, LogKey()).status().code(), Code::kUnauthenticated);
}

// A proof of the format nrm printed before checkpoints (a 112-byte nrm/tree-head/v1 head) is
// still checked, under the key of the log's vkey.
TEST_F(AuditReaderTest, VersionOneProofsStillCheck) {
  json::Json doc = *json::Parse(*Consistency(dir_.path(), 30));
  const SignedTreeHead head =
      SignTreeHead(kRecords, *StoredTreeRoot(kRecords), 5, keys_.secret_key);
  doc.erase("checkpoint");
  doc["type"] = kConsistencyProofTypeV1;
  doc["tree_head"] = json::Json{{"size", head.size},
                                {"root", ToHex(head.root)},
                                {"time_ms", head.time_ms},
                                {"signature", ToHex(head.signature)}};
  Result<CheckedProof> checked = CheckProof(json::Dump(doc), LogKey());
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->type, kConsistencyProofTypeV1);
  EXPECT_EQ(checked->from_size, 30u);
  doc["tree_head"]["time_ms"] = 6;
  EXPECT_EQ(CheckProof(json::Dump(doc), LogKey()).status().code(), Code::kUnauthenticated);
}

TEST_F(AuditReaderTest, ProofsAgainstAnEarlierCheckpoint) {
  Result<std::string> proof = Prove(dir_.path(), SampleMessageId(37), std::nullopt, 40);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  Result<CheckedProof> checked = CheckProof(*proof, LogKey());
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->size, 40u);
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(37), std::nullopt, 41).status().code(),
            Code::kNotFound);  // no checkpoint of that size
  EXPECT_EQ(Prove(dir_.path(), SampleMessageId(45), std::nullopt, 40).status().code(),
            Code::kUnavailable);
  checked = CheckProof(*Consistency(dir_.path(), 13, 70), LogKey());
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->size, 70u);
  EXPECT_EQ(Consistency(dir_.path(), 71, 70).status().code(), Code::kInvalidArgument);
}

// ----------------------------------------------------- checkpoints kept elsewhere, witnesses

TEST_F(AuditReaderTest, VerifyAgainstCheckpointsKeptElsewhere) {
  const std::string at40 = *StoredCheckpoint(40);
  const std::string at100 = *StoredCheckpoint(100);
  VerifyOptions options;
  options.checkpoints = {{"cp40", at40}, {"cp100", at100}};
  VerifyReport report = Verify(options);
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.external_checked, 2u);

  // A checkpoint of another log (another key), or not a checkpoint at all: refused.
  const crypto::SignKeyPair other = crypto::GenerateSignKeyPair();
  options.checkpoints = {
      {"forged", SignCheckpoint(Checkpoint{kTestOrigin, 40, {}, {}}, other.secret_key, 0)}};
  report = Verify(options);
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("forged is not one of this log's"), std::string::npos);
  options.checkpoints = {{"garbage", "hello"}};
  EXPECT_FALSE(Verify(options).intact);

  // Signed with the log's key but larger than the log: records were removed.
  options.checkpoints = {
      {"future", SignCheckpoint(Checkpoint{kTestOrigin, 120, {}, {}}, keys_.secret_key, 0)}};
  report = Verify(options);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.differs_at_size, 120u);
  EXPECT_NE(report.problem.find("holds 100 records"), std::string::npos) << report.problem;
}

// The operator's rewrite: record 45 deleted, the log written anew, every checkpoint re-signed
// with the broker's key. The log verifies on its own; against checkpoints kept from before it
// fails, naming the first size where they differ and the last where they agree.
TEST_F(AuditReaderTest, RewriteWithTheBrokerKeyFailsAgainstEarlierCheckpoints) {
  const std::string at40 = *StoredCheckpoint(40);
  const std::string at50 = *StoredCheckpoint(50);
  const std::string at100 = *StoredCheckpoint(100);
  Tamper([&](TestDb& db) {
    Result<uint64_t> dropped = nrm::testing::RewriteAuditLog(
        db.db(), db.cfs(), keys_.secret_key, kTestOrigin, 2'100'000'000'000,
        [](uint64_t index, const AuditRecord&) { return index == 45; });
    ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
    EXPECT_EQ(*dropped, 1u);
  });
  VerifyReport report = Verify(keys_.public_key);
  EXPECT_TRUE(report.intact) << report.problem;  // self-consistent
  EXPECT_EQ(report.records, kRecords - 1);

  VerifyOptions options;
  options.checkpoints = {{"witness.txt", at100}, {"agent.txt", at50}, {"receipt.txt", at40}};
  report = Verify(options);
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.differs_at_size, 50u) << report.problem;
  EXPECT_EQ(report.differs_from, "agent.txt");
  EXPECT_EQ(report.agrees_at_size, 40u);
  EXPECT_NE(report.problem.find("records 40..49"), std::string::npos) << report.problem;
}

TEST_F(AuditReaderTest, StoredCosignaturesAreChecked) {
  const crypto::SignKeyPair w = crypto::GenerateSignKeyPair();
  const note::VerifierKey wkey =
      *note::MakeVerifierKey("w.example/w1", note::kTypeCosignatureV1, w.public_key);
  Tamper([&](TestDb& db) {
    const StoredTree tree(db.db(), db.cfs());
    const std::string body = FormatCheckpoint(Checkpoint{kTestOrigin, 60, *tree.RootAt(60), {}});
    const std::vector<note::Signature> cosig = {note::Cosign(body, wkey.name, w.secret_key, 9)};
    ASSERT_TRUE(tree.AddCosignatures(60, cosig).ok());
    ASSERT_TRUE(StoreWitnessKeys(db.db(), db.cfs(), std::vector<note::VerifierKey>{wkey}).ok());
  });
  VerifyReport report = Verify();
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.cosignatures_checked, 1u);
  // A cosignature moved onto another checkpoint no longer verifies: a bad head.
  Tamper([&](TestDb& db) {
    std::string at60, at70;
    ASSERT_TRUE(db.db()->Get({}, db.cfs().heads, Key(60), &at60).ok());
    ASSERT_TRUE(db.db()->Get({}, db.cfs().heads, Key(70), &at70).ok());
    const std::string line = at60.substr(at60.rfind("\xe2\x80\x94 w.example/w1"));
    ASSERT_TRUE(db.db()->Put({}, db.cfs().heads, Key(70), at70 + line).ok());
  });
  report = Verify();
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.bad_head_size, 70u) << report.problem;
}

TEST_F(AuditReaderTest, MissingDatabaseIsAnError) {
  EXPECT_FALSE(VerifyLog(dir_.path() + "/nope").ok());
  EXPECT_FALSE(Prove(dir_.path() + "/nope", SampleMessageId(1)).ok());
}

}  // namespace
}  // namespace nrm::audit
