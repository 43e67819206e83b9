// The broker's configuration file: defaults, and bad values named with file, line and key;
// and `nrm-broker --help`, run as the real binary.
#include <gtest/gtest.h>

#include "broker/config.h"
#include "common/crypto/crypto.h"
#include "common/file_util.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace nrm::broker {
namespace {

class BrokerConfigFileTest : public ::testing::Test {
 protected:
  Result<BrokerConfig> Load(const std::string& extra) {
    const std::string path = tmp_.path() + "/broker.toml";
    EXPECT_TRUE(WriteFileAtomic(path,
                                "bind = \"tcp://127.0.0.1:7700\"\n"
                                "data_dir = \"data\"\n"
                                "directory = \"directory.toml\"\n"
                                "policy = \"gms.toml\"\n"
                                "authority_key = \"" +
                                    std::string(64, 'a') +
                                    "\"\n"
                                    "key_file = \"broker.key\"\n" +
                                    extra)
                    .ok());
    return LoadBrokerConfig(path);
  }
  testing::TempDir tmp_;
};

TEST_F(BrokerConfigFileTest, DefaultsKeepAQuarterGibibyteOfDiskInReserve) {
  Result<BrokerConfig> c = Load("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->min_free_disk_bytes, 256ull << 20);
  EXPECT_EQ(c->data_dir, tmp_.path() + "/data");
  EXPECT_EQ(c->delivery_window, 256);
}

TEST_F(BrokerConfigFileTest, DiskReserveIsReadInMebibytesAndZeroTurnsItOff) {
  Result<BrokerConfig> c = Load("min_free_disk_mib = 2\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->min_free_disk_bytes, 2ull << 20);
  c = Load("min_free_disk_mib = 0\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->min_free_disk_bytes, 0u);
}

TEST_F(BrokerConfigFileTest, BadValuesAreNamedWithFileAndLine) {
  Result<BrokerConfig> c = Load("min_free_disk_mib = -1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("broker.toml:7"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("'min_free_disk_mib' must be between 0 and 1048576"),
            std::string::npos)
      << c.status().message();
  c = Load("min_free_disk = 5\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("min_free_disk"), std::string::npos) << c.status().message();
}

TEST_F(BrokerConfigFileTest, LogOriginMustBeAValidOrigin) {
  Result<BrokerConfig> c = Load("log_origin = \"nrm.th/audit/v1\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->log_origin, "nrm.th/audit/v1");
  for (const char* bad : {"nrm th", "a+b", "cosignature/v1", ""}) {
    c = Load("log_origin = \"" + std::string(bad) + "\"\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("broker.toml:7"), std::string::npos)
        << c.status().message();
  }
}

TEST_F(BrokerConfigFileTest, WitnessesAreCheckedOneByOne) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  const crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
  auto vkey = [&](const std::string& name, uint8_t type) {
    return audit::note::FormatVerifierKey(*audit::note::MakeVerifierKey(name, type, kp.public_key));
  };
  const std::string w1 = vkey("w1.kh/witness", audit::note::kTypeCosignatureV1);
  Result<BrokerConfig> c = Load(
      "witness_timeout_ms = 500\n[[witness]]\nurl = \"http://127.0.0.1:1\"\n"
      "vkey = \"" +
      w1 + "\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->witnesses.size(), 1u);
  EXPECT_EQ(c->witnesses[0].key.name, "w1.kh/witness");
  EXPECT_EQ(c->witness_timeout_ms, 500);
  EXPECT_TRUE(Load("")->witnesses.empty());
  for (const std::string& bad : std::vector<std::string>{
           "[[witness]]\nurl = \"ftp://x\"\nvkey = \"" + w1 + "\"\n",
           "[[witness]]\nurl = \"http://x\"\nvkey = \"" +
               vkey("w1.kh/witness", audit::note::kTypeEd25519) + "\"\n",
           "[[witness]]\nurl = \"http://x\"\nvkey = \"nonsense\"\n",
           "[[witness]]\nurl = \"http://x\"\nvkey = \"" + w1 +
               "\"\n[[witness]]\n"
               "url = \"http://y\"\nvkey = \"" +
               w1 + "\"\n",
           "[[witness]]\nurl = \"http://x\"\n",
           "witness = \"http://x\"\n",
           "witness_timeout_ms = 5\n",
       }) {
    EXPECT_FALSE(Load(bad).ok()) << bad;
  }
}

// --help (or -h) comes before anything else: the usage on stdout and exit 0, even when the
// other arguments are missing, wrong or unknown.
TEST(BrokerHelpTest, HelpPrintsTheUsageOnStdoutAndExitsZero) {
  testing::TempDir tmp;
  const std::vector<std::vector<std::string>> cases = {{"--help"},
                                                       {"-h"},
                                                       {"--config", "--help"},
                                                       {"--config", "missing.toml", "-h"},
                                                       {"--bogus", "--help"}};
  for (size_t i = 0; i < cases.size(); ++i) {
    // The shell keeps stderr out of the log: only what goes to stdout is checked.
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>/dev/null",
                                     testing::BinDir() + "/nrm-broker"};
    argv.insert(argv.end(), cases[i].begin(), cases[i].end());
    const std::string log = tmp.path() + "/out." + std::to_string(i);
    Result<pid_t> pid = tools::Spawn(argv, log);
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    Result<int> code = tools::WaitExit(*pid, 60000);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    EXPECT_EQ(*code, 0) << cases[i][0];
    Result<std::string> out = ReadFile(log);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->rfind("usage: nrm-broker --config FILE\n", 0), 0u) << *out;
    EXPECT_NE(out->find("SIGHUP"), std::string::npos) << *out;
  }
}

}  // namespace
}  // namespace nrm::broker
