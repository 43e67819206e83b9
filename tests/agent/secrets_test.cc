// Where the agent finds its secrets and its data: the key file's passphrase from a systemd
// credential or a private file (not only the environment), and the data directory systemd gives
// the unit (StateDirectory=) when the config names none.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "agent/agent.h"
#include "agent/key_file.h"
#include "common/file_util.h"
#include "tests/testing/temp_dir.h"

namespace nrm::agent {
namespace {

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("NRM_AGENT_PASSPHRASE");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    ::unsetenv("STATE_DIRECTORY");
  }
  void TearDown() override { SetUp(); }

  // A config naming `extra` lines after the required keys.
  std::string WriteConfig(const std::string& extra) {
    const std::string path = tmp_.path() + "/agent.toml";
    EXPECT_TRUE(WriteFileAtomic(path,
                                "agency = \"TH.SHELTER.BAN-PING\"\nkey_file = \"k.key\"\n"
                                "directory = \"directory.toml\"\npolicy = \"gms.toml\"\n"
                                "authority_key = \"" +
                                    std::string(64, 'a') + "\"\nbroker = \"tcp://127.0.0.1:1\"\n" +
                                    extra)
                    .ok());
    return path;
  }

  nrm::testing::TempDir tmp_;
};

TEST_F(SecretsTest, PassphraseFromAPrivateFile) {
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/pass", "correct horse\n", 0600).ok());
  auto config = LoadAgentConfig(WriteConfig("passphrase_file = \"pass\"\n"));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->passphrase_file, tmp_.path() + "/pass");
  auto pass = ReadPassphrase(*config);
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(*pass, "correct horse");
}

TEST_F(SecretsTest, PassphraseFileOthersCanReadIsRefused) {
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/pass", "correct horse\n", 0640).ok());
  auto config = LoadAgentConfig(WriteConfig("passphrase_file = \"pass\"\n"));
  ASSERT_TRUE(config.ok());
  auto pass = ReadPassphrase(*config);
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), Code::kPermissionDenied);
}

TEST_F(SecretsTest, SystemdCredentialComesBeforeTheFile) {
  ASSERT_TRUE(MakeDirs(tmp_.path() + "/creds").ok());
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/creds/passphrase", "from systemd", 0400).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/pass", "from the file\n", 0600).ok());
  ::setenv("CREDENTIALS_DIRECTORY", (tmp_.path() + "/creds").c_str(), 1);
  auto config = LoadAgentConfig(WriteConfig("passphrase_file = \"pass\"\n"));
  ASSERT_TRUE(config.ok());
  auto pass = ReadPassphrase(*config);
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(*pass, "from systemd");
}

TEST_F(SecretsTest, NoPassphraseAnywhereIsEmpty) {
  auto config = LoadAgentConfig(WriteConfig(""));
  ASSERT_TRUE(config.ok());
  auto pass = ReadPassphrase(*config);
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(*pass, "");
}

TEST_F(SecretsTest, DataDirectoryDefaultsToSystemdsStateDirectory) {
  auto beside = LoadAgentConfig(WriteConfig(""));
  ASSERT_TRUE(beside.ok());
  EXPECT_EQ(beside->data_dir, tmp_.path() + "/TH.SHELTER.BAN-PING-data");
  ::setenv("STATE_DIRECTORY", "/var/lib/nrm/agents/TH.SHELTER.BAN-PING:/var/lib/other", 1);
  auto under_systemd = LoadAgentConfig(WriteConfig(""));
  ASSERT_TRUE(under_systemd.ok());
  EXPECT_EQ(under_systemd->data_dir, "/var/lib/nrm/agents/TH.SHELTER.BAN-PING");
  auto named = LoadAgentConfig(WriteConfig("data_dir = \"/srv/agent\"\n"));
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->data_dir, "/srv/agent");  // the config wins
}

}  // namespace
}  // namespace nrm::agent
