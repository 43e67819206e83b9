#include "audit/audit_reader.h"

#include <gtest/gtest.h>

#include "audit/big_endian.h"
#include "common/json/json.h"
#include "tests/audit/test_util.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
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
    Result<VerifyReport> report = VerifyLog(dir_.path(), VerifyOptions{std::move(key)});
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
    head[kStoredTreeHeadBytes - 1] ^= 0x10;
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
  Result<CheckedProof> checked = CheckProof(*proof, keys_.public_key);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString() << "\n" << *proof;
  EXPECT_EQ(checked->type, kInclusionProofType);
  EXPECT_EQ(checked->leaf_index, 37u);
  EXPECT_EQ(checked->record, SampleRecord(37));
  EXPECT_EQ(checked->head.size, kRecords);

  // Every record of the log.
  for (uint64_t i = 0; i < kRecords; i += 7) {
    Result<std::string> p = Prove(dir_.path(), SampleMessageId(i));
    ASSERT_TRUE(p.ok());
    Result<CheckedProof> c = CheckProof(*p, keys_.public_key);
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
  const std::string signature = doc["tree_head"]["signature"];

  auto fails = [&](std::string_view from, std::string_view to) {
    std::string bad = proof;
    Replace(bad, from, to);
    Result<CheckedProof> checked = CheckProof(bad, keys_.public_key);
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
  EXPECT_TRUE(fails("\"type\": \"nrm-audit-inclusion/v1\"", "\"type\": \"other\""));
  EXPECT_FALSE(CheckProof(proof, crypto::GenerateSignKeyPair().public_key).ok());
  EXPECT_FALSE(CheckProof("{", keys_.public_key).ok());
  EXPECT_FALSE(CheckProof("[]", keys_.public_key).ok());
}

// A proof comes from anyone: wrong types, non-integers, duplicate keys, deep nesting and every
// truncation are refused as malformed (never an exception or abort); member order is free.
TEST_F(AuditReaderTest, HostileProofsAreRefused) {
  const std::string proof = *Prove(dir_.path(), SampleMessageId(37));
  auto code = [&](std::string_view from, std::string_view to) {
    std::string bad = proof;
    Replace(bad, from, to);
    return CheckProof(bad, keys_.public_key).status().code();
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
  EXPECT_EQ(code("\"tree_head\": {", "\"tree_head\": [], \"t\": {"), Code::kInvalidArgument);
  EXPECT_EQ(code("\"inclusion_proof\": [", "\"inclusion_proof\": [1, "), Code::kInvalidArgument);
  EXPECT_EQ(code("\"type\": \"nrm-audit-inclusion/v1\"", "\"type\": 1"), Code::kInvalidArgument);
  {
    std::string bad = proof;  // the tree head's time, one past int64
    const size_t at = bad.rfind("\"time_ms\": ") + 11;
    bad.replace(at, bad.find(',', at) - at, "9223372036854775808");
    EXPECT_EQ(CheckProof(bad, keys_.public_key).status().code(), Code::kInvalidArgument);
  }
  // A displayed field of another type, or an extra one, is not what the encoding says.
  EXPECT_EQ(code("\"sample record\"", "0"), Code::kUnauthenticated);
  EXPECT_EQ(code("\"reason\"", "\"x\": 1, \"reason\""), Code::kUnauthenticated);
  EXPECT_EQ(
      CheckProof(std::string(100, '[') + std::string(100, ']'), keys_.public_key).status().code(),
      Code::kInvalidArgument);
  for (size_t n = 0; n + 1 < proof.size(); ++n) {  // all but the final newline are needed
    EXPECT_FALSE(CheckProof(std::string_view(proof).substr(0, n), keys_.public_key).ok()) << n;
  }

  // The same document with the record's members in another order still checks.
  json::Json doc = *json::Parse(proof);
  json::Json reordered = json::Json::object();
  for (auto it = doc["record"].rbegin(); it != doc["record"].rend(); ++it) {
    reordered[it.key()] = it.value();
  }
  doc["record"] = reordered;
  EXPECT_TRUE(CheckProof(json::Dump(doc), keys_.public_key).ok());
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
        std::move(*AuditLog::Open(db.db(), db.cfs(), keys_.secret_key.Clone()));
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
    Result<CheckedProof> checked = CheckProof(*proof, keys_.public_key);
    ASSERT_TRUE(checked.ok()) << checked.status().ToString() << "\n" << *proof;
    EXPECT_EQ(checked->type, kConsistencyProofType);
    EXPECT_EQ(checked->from_size, from);
    EXPECT_EQ(checked->from_root, RootFromLeafHashes(std::span<const Hash>(leaves).first(from)));
    EXPECT_EQ(checked->head.size, kRecords);
  }
  EXPECT_EQ(Consistency(dir_.path(), kRecords + 1).status().code(), Code::kInvalidArgument);

  std::string proof = *Consistency(dir_.path(), 33);
  const std::string from_root = (*json::Parse(proof))["from_root"];
  std::string other = from_root;
  other[5] = other[5] == 'f' ? 'e' : 'f';
  Replace(proof, from_root, other);
  EXPECT_EQ(CheckProof(proof, keys_.public_key).status().code(), Code::kUnauthenticated);
}

TEST_F(AuditReaderTest, MissingDatabaseIsAnError) {
  EXPECT_FALSE(VerifyLog(dir_.path() + "/nope").ok());
  EXPECT_FALSE(Prove(dir_.path() + "/nope", SampleMessageId(1)).ok());
}

}  // namespace
}  // namespace nrm::audit
