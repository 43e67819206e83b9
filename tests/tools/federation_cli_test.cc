// nrm federation, called in-process: two countries link by the commands of docs/OPERATIONS.md
// ("Linking two countries"), and every mistake is refused with what was wrong.
#include <gtest/gtest.h>

#include <sstream>

#include "common/file_util.h"
#include "tests/testing/temp_dir.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {

class FederationCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  // Runs a command of the admin tool; returns its exit code and stdout + stderr.
  std::pair<int, std::string> Run(int (*command)(const Words&, std::ostream&, std::ostream&),
                                  const Words& words) {
    std::ostringstream out, err;
    const int code = command(words, out, err);
    return {code, out.str() + err.str()};
  }
  std::pair<int, std::string> Federation(const Words& words) {
    return Run(FederationCommand, words);
  }
  std::string Path(const std::string& name) const { return tmp_.path() + "/" + name; }

  // Keys, a signed national directory with one NGO, and the anchor of country `c`.
  void MakeCountry(const std::string& c) {
    for (const std::string& id : {c + ".AUTHORITY.NRM", c + ".BROKER", c + ".NGO.ONE"}) {
      ASSERT_EQ(Run(KeygenCommand, {"--id", id, "--out", Path("keys")}).first, 0);
    }
    ASSERT_EQ(
        Run(DirectoryCommand, {"init", "--out", Path(c + ".draft"), "--authority", c + " authority",
                               "--broker-pub", Path("keys/" + c + ".BROKER.pub")})
            .first,
        0);
    ASSERT_EQ(Run(DirectoryCommand,
                  {"add", Path(c + ".draft"), "--pub", Path("keys/" + c + ".NGO.ONE.pub"), "--role",
                   "ngo", "--country", c, "--name", "An NGO"})
                  .first,
              0);
    ASSERT_EQ(Run(DirectoryCommand, {"sign", Path(c + ".draft"), "--authority-key", Key(c), "--out",
                                     Path(c + ".directory")})
                  .first,
              0);
    auto [code, out] = Federation({"anchor", "export", "--directory", Path(c + ".directory"),
                                   "--authority-key", Key(c), "--country", c, "--endpoint",
                                   "tcp://127.0.0.1:7701", "--out", Path(c + ".anchor")});
    ASSERT_EQ(code, 0) << out;
    const size_t at = out.find("fingerprint ");
    ASSERT_NE(at, std::string::npos) << out;
    fingerprints_[c] = out.substr(at + 12, 79);
  }
  std::string Key(const std::string& c) const { return Path("keys/" + c + ".AUTHORITY.NRM.key"); }
  std::string Anchors() const { return Path("TH.anchor") + "," + Path("KH.anchor"); }

  testing::TempDir tmp_;
  std::map<std::string, std::string> fingerprints_;
};

TEST_F(FederationCliTest, EverySubcommandPrintsItsOwnHelp) {
  for (const std::string command : {"anchor export", "anchor show", "agreement draft",
                                    "agreement sign", "agreement verify", "agreement show"}) {
    for (const std::string help : {"--help", "-h", "--out --help", "--help x y"}) {
      Words words;
      std::istringstream in(command + " " + help);
      for (std::string w; in >> w;) words.push_back(w);
      auto [code, out] = Federation(words);
      EXPECT_EQ(code, 0) << command << " " << help;
      EXPECT_EQ(out.rfind("usage: nrm federation " + command + " ", 0), 0u) << out;
    }
  }
  auto [code, out] = Federation({});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("agreement draft"), std::string::npos) << out;
  std::tie(code, out) = Federation({"anchor", "frobnicate"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown command 'federation anchor frobnicate'"), std::string::npos) << out;
}

TEST_F(FederationCliTest, TwoCountriesSignAnAgreementFromThePolicy) {
  MakeCountry("TH");
  MakeCountry("KH");
  // The operators compare fingerprints: the right one passes, a wrong one exits 1.
  auto [code, out] =
      Federation({"anchor", "show", Path("KH.anchor"), "--fingerprint", fingerprints_["KH"]});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("valid anchor of KH"), std::string::npos) << out;
  std::tie(code, out) =
      Federation({"anchor", "show", Path("KH.anchor"), "--fingerprint", fingerprints_["TH"]});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("MISMATCH"), std::string::npos) << out;

  std::tie(code, out) = Federation({"agreement", "draft", "--out", Path("th-kh.toml"), "--id",
                                    "th-kh-2003", "--mou", "TH–KH MOU 2003", "--countries", "TH,KH",
                                    "--max-handling", "H2", "--until", "2099-12-31", "--policy",
                                    std::string(NRM_SOURCE_DIR) + "/policy/rules/gms.toml"});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) = Federation({"agreement", "sign", Path("th-kh.toml"), "--authority-key",
                                    Key("TH"), "--country", "TH", "--anchor", Path("TH.anchor")});
  ASSERT_EQ(code, 0) << out;
  // Signed by one authority only: not in force.
  std::tie(code, out) =
      Federation({"agreement", "verify", Path("th-kh.toml"), "--anchors", Anchors()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("th-kh-2003 v1 (TH–KH MOU 2003) is signed by TH only"), std::string::npos)
      << out;
  // The Thai key cannot sign for Cambodia when Cambodia's anchor is given.
  std::tie(code, out) = Federation({"agreement", "sign", Path("th-kh.toml"), "--authority-key",
                                    Key("TH"), "--country", "KH", "--anchor", Path("KH.anchor")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("not the authority key of KH"), std::string::npos) << out;
  std::tie(code, out) = Federation({"agreement", "sign", Path("th-kh.toml"), "--authority-key",
                                    Key("KH"), "--country", "KH", "--out", Path("signed.toml")});
  ASSERT_EQ(code, 0) << out;
  std::tie(code, out) =
      Federation({"agreement", "verify", Path("signed.toml"), "--anchors", Anchors()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("is signed by both TH and KH and in force"), std::string::npos) << out;
  std::tie(code, out) = Federation(
      {"agreement", "verify", Path("signed.toml"), "--anchors", Anchors(), "--at", "2100-01-01"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("expired at 2099-12-31T00:00:00Z"), std::string::npos) << out;
  std::tie(code, out) = Federation({"agreement", "show", Path("signed.toml")});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("TH ngo,shelter,ministry -> KH ngo,shelter,ministry: repatriation_request"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("counselling_notes"), std::string::npos) << "no agreement lists them";
  // Changed after both signed: refused.
  std::string text = *ReadFile(Path("signed.toml"));
  text.replace(text.find("max_handling = \"H2\""), 19, "max_handling = \"H3\"");
  ASSERT_TRUE(WriteFileAtomic(Path("changed.toml"), text).ok());
  std::tie(code, out) =
      Federation({"agreement", "verify", Path("changed.toml"), "--anchors", Anchors()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;
}

TEST_F(FederationCliTest, MistakesAreRefused) {
  MakeCountry("TH");
  // A directory signed by another authority, or holding another country's agencies.
  ASSERT_EQ(Run(KeygenCommand, {"--id", "KH.AUTHORITY.NRM", "--out", Path("keys")}).first, 0);
  auto [code, out] = Federation({"anchor", "export", "--directory", Path("TH.directory"),
                                 "--authority-key", Key("KH"), "--country", "TH", "--endpoint",
                                 "tcp://h:1", "--out", Path("x.anchor")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("does not verify"), std::string::npos) << out;
  std::tie(code, out) = Federation({"anchor", "export", "--directory", Path("TH.directory"),
                                    "--authority-key", Key("TH"), "--country", "KH", "--endpoint",
                                    "tcp://h:1", "--out", Path("x.anchor")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("TH.NGO.ONE is of TH, not KH"), std::string::npos) << out;
  std::tie(code, out) = Federation({"anchor", "export", "--directory", Path("TH.directory"),
                                    "--authority-key", Key("TH"), "--country", "TH", "--endpoint",
                                    "http://h", "--out", Path("x.anchor")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("endpoint must be"), std::string::npos) << out;
  // A tampered anchor.
  std::string text = *ReadFile(Path("TH.anchor"));
  text.replace(text.find("127.0.0.1"), 9, "127.0.0.2");
  ASSERT_TRUE(WriteFileAtomic(Path("tampered.anchor"), text).ok());
  std::tie(code, out) = Federation({"anchor", "show", Path("tampered.anchor")});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("altered"), std::string::npos) << out;
  // Drafts: missing options, an agreement the policy lacks, a country it does not name.
  std::tie(code, out) = Federation({"agreement", "draft", "--out", Path("d.toml")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("missing --id"), std::string::npos) << out;
  const std::string policy = std::string(NRM_SOURCE_DIR) + "/policy/rules/gms.toml";
  Words draft = {"agreement",   "draft",      "--out",          Path("d.toml"),
                 "--id",        "mm-vn-2020", "--mou",          "none",
                 "--countries", "MM,VN",      "--max-handling", "H1",
                 "--until",     "2099-01-01", "--policy",       policy};
  std::tie(code, out) = Federation(draft);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("has no [[agreement]] mm-vn-2020"), std::string::npos) << out;
  draft[5] = "th-kh-2003";
  std::tie(code, out) = Federation(draft);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("does not name MM"), std::string::npos) << out;
  std::tie(code, out) =
      Federation({"agreement", "draft", "--out", Path("d.toml"), "--id", "x", "--mou", "x",
                  "--countries", "TH,KH", "--max-handling", "H1", "--until", "soon", "--roles",
                  "ngo", "--kinds", "status_update"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--until 'soon' is not a time"), std::string::npos) << out;
  std::tie(code, out) =
      Federation({"agreement", "draft", "--out", Path("d.toml"), "--id", "x", "--mou", "x",
                  "--countries", "TH,KH", "--max-handling", "H1", "--until", "2099-01-01",
                  "--roles", "ngo", "--kinds", "gossip"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown message kind 'gossip'"), std::string::npos) << out;
}

}  // namespace
}  // namespace nrm::tools
