// Trust anchors: what is refused, and why; fingerprints; replacing an installed anchor.
#include "federation/anchor.h"

#include <gtest/gtest.h>

#include "tests/federation/federation_fixture.h"

namespace nrm::federation {
namespace {

class AnchorTest : public FederationFixture {
 protected:
  std::string SignedTh(Anchor a) {
    Result<std::string> text = SignAnchor(std::move(a), th_, kNow);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? *text : "";
  }
  std::string SignedTh() { return SignedTh(AnchorOf("TH", th_broker_)); }
  static std::string Replace(std::string text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
  }
};

TEST_F(AnchorTest, SignedAnchorParses) {
  Result<Anchor> a = ParseAnchor(SignedTh(), "th.anchor", kNow);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->country, "TH");
  EXPECT_EQ(a->authority_key, th_.sign_public);
  EXPECT_EQ(a->directory_serial, 3);
  EXPECT_EQ(a->broker.id, "TH.BROKER");
  EXPECT_EQ(a->broker.endpoint, "tcp://127.0.0.1:7701");
  EXPECT_EQ(a->broker.sign_key, th_broker_.sign_public);
  EXPECT_EQ(a->broker.curve_key, th_broker_.curve_public);
  EXPECT_EQ(a->issued_ms, kNow - kDay);
  EXPECT_EQ(a->expires_ms, kNow + 365 * kDay);
}

TEST_F(AnchorTest, UnsignedAnchorIsRefused) {
  Anchor a = AnchorOf("TH", th_broker_);
  a.authority_key = th_.sign_public;
  EXPECT_EQ(ParseAnchor(AnchorBody(a), "a", kNow).status().code(), Code::kUnauthenticated);
}

TEST_F(AnchorTest, TamperedAnchorIsRefused) {
  const std::string text = SignedTh();
  for (auto [from, to] : {std::pair<std::string, std::string>{"127.0.0.1:7701", "127.0.0.1:7702"},
                          {"directory_serial = 3", "directory_serial = 2"},
                          {ToHex(th_broker_.curve_public), ToHex(kh_broker_.curve_public)}}) {
    Result<Anchor> a = ParseAnchor(Replace(text, from, to), "a", kNow);
    EXPECT_EQ(a.status().code(), Code::kUnauthenticated) << from << ": " << a.status().ToString();
  }
}

TEST_F(AnchorTest, AnchorNamingAnotherAuthorityKeyIsRefused) {
  // The signature is TH's, but the file now names KH's authority key: it does not verify.
  const std::string text = Replace(SignedTh(), ToHex(th_.sign_public), ToHex(kh_.sign_public));
  EXPECT_EQ(ParseAnchor(text, "a", kNow).status().code(), Code::kUnauthenticated);
}

TEST_F(AnchorTest, AnchorSignedByAWrongKeyHasAnotherFingerprint) {
  // Someone makes a TH anchor with their own key: it is well signed, but its fingerprint is not
  // the one the Thai authority reads out, which is what the operator checks.
  Result<Anchor> real = ParseAnchor(SignedTh(), "a", kNow);
  Result<std::string> forged_text = SignAnchor(AnchorOf("TH", th_broker_), kh_, kNow);
  ASSERT_TRUE(real.ok() && forged_text.ok());
  Result<Anchor> forged = ParseAnchor(*forged_text, "a", kNow);
  ASSERT_TRUE(forged.ok());
  EXPECT_NE(AnchorFingerprint(*forged), AnchorFingerprint(*real));
  EXPECT_FALSE(FingerprintMatches(*forged, AnchorFingerprint(*real)));
  EXPECT_EQ(CheckAnchorReplacement(*real, *forged).code(), Code::kPermissionDenied);
}

TEST_F(AnchorTest, ExpiredAnchorIsRefused) {
  Result<Anchor> a = ParseAnchor(SignedTh(), "a", kNow + 366 * kDay);
  EXPECT_EQ(a.status().code(), Code::kPermissionDenied);
  EXPECT_NE(a.status().message().find("expired"), std::string::npos) << a.status().message();
  Anchor stale = AnchorOf("TH", th_broker_);
  stale.expires_ms = kNow - 1000;
  EXPECT_FALSE(SignAnchor(stale, th_, kNow).ok()) << "an anchor that is stale when signed";
}

TEST_F(AnchorTest, MalformedFieldsAreRefusedWhenSigning) {
  auto refused = [&](Anchor a, const std::string& expect) {
    Result<std::string> text = SignAnchor(std::move(a), th_, kNow);
    ASSERT_FALSE(text.ok()) << expect;
    EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
    EXPECT_NE(text.status().message().find(expect), std::string::npos) << text.status().message();
  };
  Anchor a = AnchorOf("TH", th_broker_);
  a.country = "Thailand";
  refused(a, "not a country code");
  a = AnchorOf("TH", th_broker_);
  a.broker.endpoint = "http://broker";
  refused(a, "endpoint must be");
  a.broker.endpoint = "tcp://host:99999";
  refused(a, "endpoint must be");
  a = AnchorOf("TH", th_broker_);
  a.broker.id = "th broker";
  refused(a, "broker id");
  a = AnchorOf("TH", th_broker_);
  a.broker.sign_key = th_.sign_public;
  refused(a, "separate keys");
  a = AnchorOf("TH", th_broker_);
  a.expires_ms = a.issued_ms;
  refused(a, "after issued");
}

TEST_F(AnchorTest, MalformedSignedFilesAreRefused) {
  const std::string text = SignedTh();
  const size_t sig = text.find("signature = ");
  // An unknown key in the body (the signature is checked first, so re-sign by hand).
  std::string body = text.substr(0, sig) + "colour = \"blue\"\n";
  std::string resigned = body + "signature = \"" +
                         ToHex(crypto::Sign(th_.sign_secret, AnchorSignedBytes(body))) + "\"\n";
  Result<Anchor> a = ParseAnchor(resigned, "a", kNow);
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("unknown key 'colour'"), std::string::npos)
      << a.status().message();
  // Two signature lines; a short signature; a line after the signature.
  EXPECT_EQ(ParseAnchor(text + text.substr(sig), "a", kNow).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseAnchor(text.substr(0, sig) + "signature = \"abcd\"\n", "a", kNow).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseAnchor(text + "country = \"KH\"\n", "a", kNow).status().code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(ParseAnchor(text.substr(0, text.size() - 1), "a", kNow).ok()) << "no final newline";
  EXPECT_FALSE(ParseAnchor("", "a", kNow).ok());
}

TEST_F(AnchorTest, FingerprintIsReadableAndNamesTheAuthority) {
  Result<Anchor> a = ParseAnchor(SignedTh(), "a", kNow);
  ASSERT_TRUE(a.ok());
  const std::string fp = AnchorFingerprint(*a);
  EXPECT_EQ(fp.size(), 64u + 15u) << fp;  // 16 groups of 4 hex digits
  EXPECT_EQ(fp, AnchorFingerprint("TH", th_.sign_public));
  EXPECT_NE(fp, AnchorFingerprint("KH", th_.sign_public)) << "the country is part of it";
  std::string typed;
  for (char c : fp) {
    if (c != ' ') typed += static_cast<char>(std::tolower(c));
  }
  EXPECT_TRUE(FingerprintMatches(*a, typed));
  EXPECT_FALSE(FingerprintMatches(*a, typed.substr(1)));
  // A reissued anchor (new endpoint) of the same authority keeps the fingerprint.
  Anchor reissued = AnchorOf("TH", th_broker_);
  reissued.broker.endpoint = "tcp://10.0.0.2:7701";
  Result<Anchor> b = ParseAnchor(SignedTh(reissued), "b", kNow);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(AnchorFingerprint(*b), fp);
}

TEST_F(AnchorTest, ReplacementNeedsTheSameAuthorityAndALaterIssue) {
  Result<Anchor> old_anchor = ParseAnchor(SignedTh(), "a", kNow);
  Anchor later = AnchorOf("TH", kh_broker_);  // a new broker key
  later.issued_ms = kNow;
  Result<Anchor> newer = ParseAnchor(SignedTh(later), "b", kNow);
  ASSERT_TRUE(old_anchor.ok() && newer.ok());
  EXPECT_TRUE(CheckAnchorReplacement(*old_anchor, *newer).ok());
  EXPECT_EQ(CheckAnchorReplacement(*newer, *old_anchor).code(), Code::kPermissionDenied)
      << "an older anchor never replaces a newer one";
  EXPECT_EQ(CheckAnchorReplacement(*old_anchor, *old_anchor).code(), Code::kPermissionDenied);
  Result<std::string> kh_text = SignAnchor(AnchorOf("KH", kh_broker_), kh_, kNow);
  ASSERT_TRUE(kh_text.ok());
  Result<Anchor> kh = ParseAnchor(*kh_text, "kh", kNow);
  ASSERT_TRUE(kh.ok());
  EXPECT_EQ(CheckAnchorReplacement(*old_anchor, *kh).code(), Code::kPermissionDenied);
}

}  // namespace
}  // namespace nrm::federation
