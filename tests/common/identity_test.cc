// Key files and the signed directory: what is refused, and why.
#include "common/identity/identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "tests/testing/temp_dir.h"
#include "tools/commands.h"

namespace nrm::identity {
namespace {

constexpr int64_t kNow = 1'790'000'000'000;  // a fixed clock: 2026-09

class DirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  Agency Entry(const std::string& id, const std::string& role, const KeySet& k) {
    return {id,           "Test agency",  role, id.substr(0, 2), "Chiang Rai", k.sign_public,
            k.box_public, k.curve_public, false};
  }

  std::string Draft(int64_t expires_ms = kNow + 86400000) {
    std::string d = tools::DirectoryDraftHeader("Test authority", 7, expires_ms, broker_.id,
                                                broker_.sign_public, broker_.curve_public);
    d += tools::DirectoryAgencyBlock(Entry("TH.POLICE.CRI-ATU", "police", police_));
    d += tools::DirectoryAgencyBlock(Entry("TH.SHELTER.KREDTRAKARN", "shelter", shelter_));
    return d;
  }

  Result<Directory> SignAndParse(const std::string& draft) {
    NRM_ASSIGN_OR_RETURN(std::string text, SignDirectory(draft, "dir.toml", authority_, kNow));
    return Directory::Parse(text, "dir.toml", authority_.sign_public, kNow);
  }

  KeySet authority_ = GenerateKeySet("TH.AUTHORITY.NRM");
  KeySet broker_ = GenerateKeySet("GMS.BROKER");
  KeySet police_ = GenerateKeySet("TH.POLICE.CRI-ATU");
  KeySet shelter_ = GenerateKeySet("TH.SHELTER.KREDTRAKARN");
};

TEST_F(DirectoryTest, SignedDirectoryLoads) {
  Result<Directory> d = SignAndParse(Draft());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->serial(), 7);
  ASSERT_NE(d->Find("TH.SHELTER.KREDTRAKARN"), nullptr);
  EXPECT_EQ(d->Find("TH.SHELTER.KREDTRAKARN")->role, "shelter");
  EXPECT_EQ(d->FindByCurveKey(police_.curve_public)->id, "TH.POLICE.CRI-ATU");
  EXPECT_EQ(d->Find("TH.NGO.NOBODY"), nullptr);
}

// The directory publishes the broker's audit log key (a C2SP vkey over its sign_key).
TEST_F(DirectoryTest, LogVerifierKeyMustHoldTheBrokersSignKey) {
  auto with_vkey = [&](const std::string& vkey) {
    std::string d = tools::DirectoryDraftHeader("Test authority", 7, kNow + 86400000, broker_.id,
                                                broker_.sign_public, broker_.curve_public, vkey);
    d += tools::DirectoryAgencyBlock(Entry("TH.POLICE.CRI-ATU", "police", police_));
    return SignAndParse(d);
  };
  const std::string good = audit::note::FormatVerifierKey(
      *audit::LogVerifierKey("nrm.th/audit/v1", broker_.sign_public));
  Result<Directory> d = with_vkey(good);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->broker().log_vkey, good);
  EXPECT_TRUE(SignAndParse(Draft())->broker().log_vkey.empty());  // optional
  const std::string other_key = audit::note::FormatVerifierKey(
      *audit::LogVerifierKey("nrm.th/audit/v1", police_.sign_public));
  EXPECT_EQ(with_vkey(other_key).status().code(), Code::kInvalidArgument);
  const std::string cosigner = audit::note::FormatVerifierKey(*audit::note::MakeVerifierKey(
      "nrm.th/audit/v1", audit::note::kTypeCosignatureV1, broker_.sign_public));
  EXPECT_EQ(with_vkey(cosigner).status().code(), Code::kInvalidArgument);
  Result<Directory> bad = with_vkey("nrm.th/audit/v1+00000000+AAAA");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("log_vkey"), std::string::npos);
}

TEST_F(DirectoryTest, UnsignedDirectoryIsRefused) {
  Result<Directory> d = Directory::Parse(Draft(), "dir.toml", authority_.sign_public, kNow);
  EXPECT_EQ(d.status().code(), Code::kUnauthenticated);
}

TEST_F(DirectoryTest, BadSignatureIsRefused) {
  Result<std::string> text = SignDirectory(Draft(), "dir.toml", authority_, kNow);
  ASSERT_TRUE(text.ok());
  std::string flipped = *text;
  size_t sig = flipped.rfind("signature = \"") + 20;
  flipped[sig] = flipped[sig] == '0' ? '1' : '0';
  EXPECT_EQ(Directory::Parse(flipped, "d", authority_.sign_public, kNow).status().code(),
            Code::kUnauthenticated);
}

TEST_F(DirectoryTest, AlteredBodyIsRefused) {
  Result<std::string> text = SignDirectory(Draft(), "dir.toml", authority_, kNow);
  ASSERT_TRUE(text.ok());
  std::string altered = *text;
  altered.replace(altered.find("role = \"shelter\""), 16, "role = \"police\" ");
  EXPECT_EQ(Directory::Parse(altered, "d", authority_.sign_public, kNow).status().code(),
            Code::kUnauthenticated);
}

TEST_F(DirectoryTest, OtherAuthorityIsRefused) {
  Result<std::string> text = SignDirectory(Draft(), "dir.toml", authority_, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(Directory::Parse(*text, "d", police_.sign_public, kNow).status().code(),
            Code::kUnauthenticated);
}

TEST_F(DirectoryTest, KeyNamedTwiceIsRefused) {
  std::string d = Draft();
  Agency dup = Entry("TH.NGO.HOPE", "ngo", GenerateKeySet("x"));
  dup.box_key = shelter_.box_public;  // the shelter's encryption key, reused
  d += tools::DirectoryAgencyBlock(dup);
  Result<Directory> r = SignAndParse(d);
  ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("appears twice"), std::string::npos);
}

TEST_F(DirectoryTest, AgencyNamedTwiceIsRefused) {
  std::string d = Draft();
  d += tools::DirectoryAgencyBlock(Entry("TH.POLICE.CRI-ATU", "police", GenerateKeySet("x")));
  EXPECT_EQ(SignAndParse(d).status().code(), Code::kInvalidArgument);
}

TEST_F(DirectoryTest, ExpiredDirectoryIsRefused) {
  EXPECT_EQ(SignAndParse(Draft(kNow - 1)).status().code(), Code::kPermissionDenied)
      << "signing an expired draft must fail";
  Result<std::string> text = SignDirectory(Draft(kNow + 1000), "d", authority_, kNow);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(Directory::Parse(*text, "d", authority_.sign_public, kNow + 2000).status().code(),
            Code::kPermissionDenied);
}

TEST_F(DirectoryTest, UnknownRoleIsRefusedWithLine) {
  std::string d = Draft();
  d += tools::DirectoryAgencyBlock(Entry("TH.SPY.X", "spy", GenerateKeySet("x")));
  Result<Directory> r = SignAndParse(d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dir.toml:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("unknown role"), std::string::npos);
}

TEST_F(DirectoryTest, CountryMustMatchId) {
  std::string d = Draft();
  Agency a = Entry("KH.NGO.CWCC", "ngo", GenerateKeySet("x"));
  a.country = "TH";
  d += tools::DirectoryAgencyBlock(a);
  EXPECT_EQ(SignAndParse(d).status().code(), Code::kInvalidArgument);
}

TEST(AgencyIdTest, Shapes) {
  EXPECT_TRUE(CheckAgencyId("TH.POLICE.CRI-ATU").ok());
  EXPECT_TRUE(CheckAgencyId("KH.NGO.CWCC").ok());
  EXPECT_FALSE(CheckAgencyId("th.police.x").ok());
  EXPECT_FALSE(CheckAgencyId("TH.POLICE").ok());
  EXPECT_FALSE(CheckAgencyId("TH..X").ok());
  EXPECT_FALSE(CheckAgencyId("TH.POLICE.X/../Y").ok());
  EXPECT_FALSE(CheckAgencyId(std::string("TH.A.B\0C", 8)).ok());
}

TEST(KeyFileTest, RoundTripAndPermissions) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/a.key";
  KeySet k = GenerateKeySet("TH.POLICE.CRI-ATU");
  ASSERT_TRUE(WriteSecretKeyFile(path, k).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<KeySet> loaded = LoadSecretKeyFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->sign_public, k.sign_public);
  EXPECT_EQ(loaded->curve_public, k.curve_public);

  for (unsigned mode : {0640u, 0604u, 0660u, 0644u}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    Result<KeySet> refused = LoadSecretKeyFile(path);
    EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << std::oct << mode;
  }
}

TEST(KeyFileTest, DamagedKeyIsRefused) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/a.key";
  KeySet k = GenerateKeySet("TH.POLICE.CRI-ATU");
  ASSERT_TRUE(WriteSecretKeyFile(path, k).ok());
  std::string text = *ReadFile(path);
  size_t at = text.find("sign_secret = \"") + 15 + 100;  // inside the embedded public half
  text[at] = text[at] == 'a' ? 'b' : 'a';
  ASSERT_TRUE(WriteFileAtomic(path, text, 0600).ok());
  EXPECT_EQ(LoadSecretKeyFile(path).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace nrm::identity
