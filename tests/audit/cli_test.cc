#include "audit/cli.h"

#include <gtest/gtest.h>

#include <sstream>

#include "audit/audit_log.h"
#include "audit/big_endian.h"
#include "common/file_util.h"
#include "tests/audit/test_util.h"
#include "tests/testing/audit_rewrite.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
using testing::kTestOrigin;
using testing::SampleMessageId;
using testing::TempDir;
using testing::TestDb;

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = dir_.path() + "/db";
    BuildLog(db_path_, 40, 8, keys_.secret_key);
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunAuditCommand(args, out_, err_);
  }

  std::string Vkey() const {
    return note::FormatVerifierKey(*LogVerifierKey(kTestOrigin, keys_.public_key));
  }

  TempDir dir_;
  std::string db_path_;
  crypto::SignKeyPair keys_ = crypto::GenerateSignKeyPair();
  std::ostringstream out_, err_;
};

TEST_F(AuditCliTest, UsageErrorsExitTwoAndSayWhy) {
  EXPECT_EQ(Run({}), 2);
  EXPECT_EQ(Run({"frobnicate"}), 2);
  EXPECT_NE(err_.str().find("unknown audit command \"frobnicate\""), std::string::npos);
  EXPECT_EQ(Run({"verify"}), 2);
  EXPECT_NE(err_.str().find("DIR is missing"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"verify", db_path_, "--bogus", "1"}), 2);
  EXPECT_NE(err_.str().find("unknown option --bogus"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"verify", db_path_, "extra"}), 2);
  EXPECT_EQ(Run({"prove", db_path_}), 2);
  EXPECT_NE(err_.str().find("--message-id is required"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"prove", db_path_, "--message-id", "zz"}), 2);
  EXPECT_EQ(Run({"prove", db_path_, "--message-id", ToHex(SampleMessageId(1)), "--event", "x"}), 2);
  EXPECT_EQ(Run({"check-proof", "f.json"}), 2);
  EXPECT_EQ(Run({"check-proof", "f.json", "--vkey", "nothex-and-no-such-file"}), 2);
  EXPECT_NE(err_.str().find("--vkey"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"check-proof", "f.json", "--vkey", "a+b+c"}), 2);
  EXPECT_EQ(Run({"verify", db_path_, "--checkpoint", dir_.path() + "/none"}), 2);
  EXPECT_EQ(Run({"verify", db_path_, "--witness", Vkey()}), 2);  // not a cosignature key
  EXPECT_EQ(Run({"checkpoint", db_path_, "--cosigned=1"}), 2);
  EXPECT_EQ(Run({"consistency", db_path_}), 2);
  EXPECT_EQ(Run({"consistency", db_path_, "--from", "abc"}), 2);
  EXPECT_NE(err_.str().find("--from"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"consistency", db_path_, "--from"}), 2);
  EXPECT_NE(err_.str().find("--from needs a value"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"consistency", db_path_, "--from", "1", "--from", "2"}), 2);
}

TEST_F(AuditCliTest, HelpForEveryCommand) {
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_NE(out_.str().find("check-proof"), std::string::npos);
  for (const char* cmd : {"verify", "checkpoint", "prove", "check-proof", "consistency"}) {
    EXPECT_EQ(Run({cmd, "--help"}), 0) << cmd;
    EXPECT_NE(out_.str().find(std::string("usage: nrm audit ") + cmd), std::string::npos);
  }
}

TEST_F(AuditCliTest, VerifyIntactAndTampered) {
  EXPECT_EQ(Run({"verify", db_path_}), 0) << err_.str();
  EXPECT_NE(out_.str().find("audit log intact: 40 records, 5 signed tree heads"), std::string::npos)
      << out_.str();
  EXPECT_EQ(Run({"verify", db_path_, "--broker-key", ToHex(keys_.public_key)}), 0);
  EXPECT_EQ(Run({"verify", db_path_, "--broker-key", Vkey()}), 0) << out_.str();
  EXPECT_EQ(Run({"verify", db_path_, "--broker-key",
                 note::FormatVerifierKey(*LogVerifierKey("nrm.other/audit/v1", keys_.public_key))}),
            1);
  EXPECT_EQ(Run({"verify", db_path_, "--broker-key=" + ToHex(keys_.public_key)}), 0);
  EXPECT_EQ(
      Run({"verify", db_path_, "--broker-key", ToHex(crypto::GenerateSignKeyPair().public_key)}),
      1);
  {
    TestDb db(db_path_);
    const Bytes key = Be64Key(17);
    ASSERT_TRUE(db.db()
                    ->Delete({}, db.cfs().records,
                             rocksdb::Slice(reinterpret_cast<const char*>(key.data()), 8))
                    .ok());
  }
  EXPECT_EQ(Run({"verify", db_path_}), 1);
  EXPECT_NE(out_.str().find("first bad record: index 17 ("), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"verify", dir_.path() + "/missing"}), 1);
}

TEST_F(AuditCliTest, ProveThenCheckProof) {
  ASSERT_EQ(Run({"prove", db_path_, "--message-id", ToHex(SampleMessageId(21))}), 0) << err_.str();
  const std::string proof_path = dir_.path() + "/proof.json";
  ASSERT_TRUE(WriteFileAtomic(proof_path, out_.str()).ok());

  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey", Vkey()}), 0) << err_.str();
  EXPECT_NE(out_.str().find("proof OK: record 21"), std::string::npos) << out_.str();

  // The vkey as a file.
  const std::string vkey_file = dir_.path() + "/log.vkey";
  ASSERT_TRUE(WriteFileAtomic(vkey_file, Vkey() + "\n").ok());
  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey", vkey_file}), 0) << err_.str();

  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey",
                 note::FormatVerifierKey(
                     *LogVerifierKey(kTestOrigin, crypto::GenerateSignKeyPair().public_key))}),
            1);
  EXPECT_NE(err_.str().find("proof does not check out"), std::string::npos);
  EXPECT_EQ(Run({"check-proof", dir_.path() + "/none.json", "--vkey", Vkey()}), 1);
  // A witness required that did not cosign.
  const crypto::SignKeyPair w = crypto::GenerateSignKeyPair();
  const std::string wkey = note::FormatVerifierKey(
      *note::MakeVerifierKey("w.example/w1", note::kTypeCosignatureV1, w.public_key));
  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey", Vkey(), "--witness", wkey}), 1);
  EXPECT_NE(err_.str().find("0 of the 1 witness cosignatures"), std::string::npos) << err_.str();
  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey", Vkey(), "--witness", wkey,
                 "--witnesses-required", "0"}),
            0);
  EXPECT_EQ(Run({"prove", db_path_, "--message-id", ToHex(Bytes(16, 0xee))}), 1);
}

TEST_F(AuditCliTest, ConsistencyThenCheckProof) {
  ASSERT_EQ(Run({"consistency", db_path_, "--from", "13"}), 0) << err_.str();
  const std::string proof_path = dir_.path() + "/consistency.json";
  ASSERT_TRUE(WriteFileAtomic(proof_path, out_.str()).ok());
  EXPECT_EQ(Run({"check-proof", proof_path, "--vkey", Vkey()}), 0) << err_.str();
  EXPECT_NE(out_.str().find("the log of 13 records"), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"consistency", db_path_, "--from", "41"}), 1);
  ASSERT_EQ(Run({"consistency", db_path_, "--from", "3", "--size", "16"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("\\n16\\n"), std::string::npos) << out_.str();
}

TEST_F(AuditCliTest, CheckpointPrintsTheLatestSignedNote) {
  ASSERT_EQ(Run({"checkpoint", db_path_}), 0) << err_.str();
  const std::string note = out_.str();
  EXPECT_TRUE(note.starts_with(std::string(kTestOrigin) + "\n40\n")) << note;
  Result<VerifiedCheckpoint> v =
      VerifyCheckpointNote(note, *LogVerifierKey(kTestOrigin, keys_.public_key));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint.size, 40u);
  ASSERT_EQ(Run({"checkpoint", db_path_, "--cosigned"}), 0);  // none yet: the latest
  EXPECT_EQ(out_.str(), note);

  // The checkpoint, kept, then the log rewritten without record 20 and re-signed.
  const std::string kept = dir_.path() + "/kept.checkpoint";
  ASSERT_TRUE(WriteFileAtomic(kept, note).ok());
  EXPECT_EQ(Run({"verify", db_path_, "--checkpoint", kept}), 0) << out_.str();
  EXPECT_NE(out_.str().find("agrees with 1 checkpoint"), std::string::npos) << out_.str();
  {
    TestDb db(db_path_);
    ASSERT_TRUE(
        nrm::testing::RewriteAuditLog(db.db(), db.cfs(), keys_.secret_key, kTestOrigin, 0,
                                      [](uint64_t i, const AuditRecord&) { return i == 20; })
            .ok());
  }
  EXPECT_EQ(Run({"verify", db_path_}), 0) << out_.str();
  EXPECT_EQ(Run({"verify", db_path_, "--checkpoint", kept}), 1);
  EXPECT_NE(out_.str().find("log differs from checkpoint: size 40"), std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("holds 39 records"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace nrm::audit
