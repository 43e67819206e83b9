#include "audit/cli.h"

#include <gtest/gtest.h>

#include <sstream>

#include "audit/audit_log.h"
#include "audit/big_endian.h"
#include "common/file_util.h"
#include "tests/audit/test_util.h"

namespace nrm::audit {
namespace {

using testing::BuildLog;
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
  EXPECT_EQ(Run({"check-proof", "f.json", "--broker-key", "nothex-and-no-such-file"}), 2);
  EXPECT_NE(err_.str().find("--broker-key"), std::string::npos) << err_.str();
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
  for (const char* cmd : {"verify", "prove", "check-proof", "consistency"}) {
    EXPECT_EQ(Run({cmd, "--help"}), 0) << cmd;
    EXPECT_NE(out_.str().find(std::string("usage: nrm audit ") + cmd), std::string::npos);
  }
}

TEST_F(AuditCliTest, VerifyIntactAndTampered) {
  EXPECT_EQ(Run({"verify", db_path_}), 0) << err_.str();
  EXPECT_NE(out_.str().find("audit log intact: 40 records, 5 signed tree heads"), std::string::npos)
      << out_.str();
  EXPECT_EQ(Run({"verify", db_path_, "--broker-key", ToHex(keys_.public_key)}), 0);
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

  EXPECT_EQ(Run({"check-proof", proof_path, "--broker-key", ToHex(keys_.public_key)}), 0)
      << err_.str();
  EXPECT_NE(out_.str().find("proof OK: record 21"), std::string::npos) << out_.str();

  // The key as a file: hex text, or the raw 32 bytes.
  const std::string hex_key = dir_.path() + "/broker.pub.hex";
  ASSERT_TRUE(WriteFileAtomic(hex_key, ToHex(keys_.public_key) + "\n").ok());
  EXPECT_EQ(Run({"check-proof", proof_path, "--broker-key", hex_key}), 0) << err_.str();
  const std::string raw_key = dir_.path() + "/broker.pub";
  ASSERT_TRUE(WriteFileAtomic(raw_key, AsChars(keys_.public_key)).ok());
  EXPECT_EQ(Run({"check-proof", proof_path, "--broker-key", raw_key}), 0) << err_.str();

  EXPECT_EQ(Run({"check-proof", proof_path, "--broker-key",
                 ToHex(crypto::GenerateSignKeyPair().public_key)}),
            1);
  EXPECT_NE(err_.str().find("proof does not check out"), std::string::npos);
  EXPECT_EQ(
      Run({"check-proof", dir_.path() + "/none.json", "--broker-key", ToHex(keys_.public_key)}), 1);
  EXPECT_EQ(Run({"prove", db_path_, "--message-id", ToHex(Bytes(16, 0xee))}), 1);
}

TEST_F(AuditCliTest, ConsistencyThenCheckProof) {
  ASSERT_EQ(Run({"consistency", db_path_, "--from", "13"}), 0) << err_.str();
  const std::string proof_path = dir_.path() + "/consistency.json";
  ASSERT_TRUE(WriteFileAtomic(proof_path, out_.str()).ok());
  EXPECT_EQ(Run({"check-proof", proof_path, "--broker-key", ToHex(keys_.public_key)}), 0)
      << err_.str();
  EXPECT_NE(out_.str().find("the log of 13 records"), std::string::npos) << out_.str();
  EXPECT_EQ(Run({"consistency", db_path_, "--from", "41"}), 1);
}

}  // namespace
}  // namespace nrm::audit
