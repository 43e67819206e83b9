// Bilateral agreements: both signatures, the dates, what a route covers, malformed documents,
// and which version governs (AgreementBook).
#include "federation/agreement.h"

#include <gtest/gtest.h>

#include "federation/agreement_book.h"
#include "tests/federation/federation_fixture.h"

namespace nrm::federation {
namespace {

using AgreementTest = FederationFixture;

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST_F(AgreementTest, SignedByBothIsInForceAndCoversItsRoutes) {
  Agreement a = Parsed(Signed(Terms(), {"TH", "KH"}));
  EXPECT_EQ(a.Name(), "agreement th-kh-2003 v1 (TH–KH MOU 2003)");
  EXPECT_EQ(a.SignedBy(), (std::vector<std::string>{"TH", "KH"}));
  EXPECT_TRUE(a.CheckSignatures(Keys()).ok()) << a.CheckSignatures(Keys()).ToString();
  EXPECT_TRUE(a.CheckInForce(kNow).ok());
  EXPECT_TRUE(a.CheckCovers(Query()).ok()) << a.CheckCovers(Query()).ToString();
  CrossBorderQuery back{"KH", "ngo", "TH", "ngo", "repatriation_response", wire::Handling::H2,
                        kNow};
  EXPECT_TRUE(a.CheckCovers(back).ok()) << a.CheckCovers(back).ToString();
}

TEST_F(AgreementTest, SignedByOneAuthorityOnlyIsRefused) {
  for (const char* signer : {"TH", "KH"}) {
    Agreement a = Parsed(Signed(Terms(), {signer}));
    Status s = a.CheckSignatures(Keys());
    EXPECT_EQ(s.code(), Code::kUnauthenticated);
    EXPECT_TRUE(Mentions(s, "th-kh-2003")) << s.message();
    EXPECT_TRUE(Mentions(s, std::string("signed by ") + signer + " only")) << s.message();
  }
  Agreement draft = Parsed(*AgreementBody(Terms()));
  EXPECT_TRUE(Mentions(draft.CheckSignatures(Keys()), "signed by neither")) << "a draft";
}

TEST_F(AgreementTest, SignedByAWrongKeyIsRefused) {
  // KH's line is made with the Thai key (someone signed for KH without KH's authority key).
  Result<std::string> text = AgreementBody(Terms());
  text = SignAgreement(*text, "a", "TH", th_);
  text = SignAgreement(*text, "a", "KH", th_);
  ASSERT_TRUE(text.ok());
  Status s = Parsed(*text).CheckSignatures(Keys());
  EXPECT_EQ(s.code(), Code::kUnauthenticated);
  EXPECT_TRUE(Mentions(s, "the signature of KH does not verify")) << s.message();
  EXPECT_TRUE(Mentions(s, "th-kh-2003")) << s.message();
  // And with no anchor of KH, KH's signature cannot be checked at all.
  Status no_anchor =
      Parsed(Signed(Terms(), {"TH", "KH"})).CheckSignatures({{"TH", th_.sign_public}});
  EXPECT_TRUE(Mentions(no_anchor, "no anchor of KH")) << no_anchor.message();
}

TEST_F(AgreementTest, TextChangedAfterSigningIsRefused) {
  std::string text = Signed(Terms(), {"TH", "KH"});
  text.replace(text.find("max_handling = \"H2\""), 19, "max_handling = \"H3\"");
  Status s = Parsed(text).CheckSignatures(Keys());
  EXPECT_EQ(s.code(), Code::kUnauthenticated) << s.ToString();
}

TEST_F(AgreementTest, ExpiredOrNotYetInForceIsRefused) {
  Agreement a = Parsed(Signed(Terms(), {"TH", "KH"}));
  Status expired = a.CheckInForce(kNow + 365 * kDay);
  EXPECT_EQ(expired.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Mentions(expired, "th-kh-2003 v1 (TH–KH MOU 2003) expired at")) << expired.message();
  EXPECT_TRUE(a.CheckInForce(kNow + 365 * kDay - 1).ok());
  Status early = a.CheckInForce(kNow - 2 * kDay);
  EXPECT_TRUE(Mentions(early, "in force only from")) << early.message();
}

TEST_F(AgreementTest, RefusesWhatItDoesNotCover) {
  Agreement a = Parsed(Signed(Terms(), {"TH", "KH"}));
  CrossBorderQuery q = Query("referral_offer");
  Status kind = a.CheckCovers(q);
  EXPECT_EQ(kind.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Mentions(kind, "th-kh-2003 v1 (TH–KH MOU 2003) does not cover this kind"))
      << kind.message();
  q = Query();
  q.to_role = "police";
  EXPECT_TRUE(Mentions(a.CheckCovers(q), "does not cover these roles: TH ngo -> KH police"))
      << a.CheckCovers(q).message();
  q = Query();
  q.from_role = "shelter";
  q.from_country = "KH";
  q.to_country = "TH";
  EXPECT_TRUE(Mentions(a.CheckCovers(q), "does not cover these roles"));
  q = Query();
  q.handling = wire::Handling::H3;
  Status handling = a.CheckCovers(q);
  EXPECT_TRUE(Mentions(handling, "allows handling codes up to H2; the message is H3"))
      << handling.message();
  AgreementTerms one_way = Terms();
  one_way.routes.pop_back();  // only TH -> KH
  Agreement b = Parsed(Signed(one_way, {"TH", "KH"}));
  q = {"KH", "ngo", "TH", "ngo", "repatriation_response", wire::Handling::H0, kNow};
  EXPECT_TRUE(Mentions(b.CheckCovers(q), "opens no route from KH to TH"))
      << b.CheckCovers(q).message();
}

TEST_F(AgreementTest, MalformedAgreementsAreRefused) {
  const std::string good = *AgreementBody(Terms());
  auto refused = [&](const std::string& from, const std::string& to, const std::string& expect) {
    std::string text = good;
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    Result<Agreement> a = Agreement::Parse(text, "bad.toml");
    ASSERT_FALSE(a.ok()) << to;
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument) << to;
    EXPECT_TRUE(Mentions(a.status(), expect)) << to << ": " << a.status().message();
    EXPECT_TRUE(Mentions(a.status(), "bad.toml:")) << a.status().message();
  };
  refused("countries = [\"TH\", \"KH\"]", "countries = [\"TH\", \"KH\", \"VN\"]", "exactly two");
  refused("countries = [\"TH\", \"KH\"]", "countries = [\"TH\", \"TH\"]", "appears twice");
  refused("to = \"KH\"", "to = \"TH\"", "to the other");
  refused("to = \"KH\"", "to = \"VN\"", "to the other");
  refused("from_roles = [\"ngo\", \"shelter\"]", "from_roles = [\"ngo\", \"judge\"]",
          "unknown role 'judge'");
  refused("\"repatriation_request\", ", "\"repatriation_requests\", ", "unknown message kind");
  refused("max_handling = \"H2\"", "max_handling = \"H9\"", "unknown handling code");
  refused("version = 1", "version = 0", "version must be 1 or more");
  refused("id = \"th-kh-2003\"", "id = \"TH KH\"", "id must be");
  refused("version = 1", "version = 1\ncolour = \"blue\"", "unknown key 'colour'");
  refused("valid_until = ", "valid_until = 2000-01-01T00:00:00Z\nx = ", "unknown key");
  refused("kinds = [\"repatriation_response\"]", "kinds = []", "is empty");
  // Signature lines for a third country, or twice for one.
  const std::string sig(128, 'a');
  EXPECT_EQ(Agreement::Parse(good + "signature-VN = \"" + sig + "\"\n", "a").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Agreement::Parse(
                good + "signature-TH = \"" + sig + "\"\nsignature-TH = \"" + sig + "\"\n", "a")
                .status()
                .code(),
            Code::kInvalidArgument);
  AgreementTerms backwards = Terms();
  backwards.valid_until_ms = backwards.valid_from_ms;
  EXPECT_FALSE(AgreementBody(backwards).ok());
}

TEST_F(AgreementTest, SigningKeepsTheBodyAndTheOtherSignature) {
  const std::string th_only = Signed(Terms(), {"TH"});
  Result<std::string> both = SignAgreement(th_only, "a", "KH", kh_);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->rfind(th_only, 0), 0u) << "KH's line is added after TH's, nothing else changes";
  // Signing in the other order gives the lines in the order of `countries`, same bytes.
  Result<std::string> other_order = SignAgreement(Signed(Terms(), {"KH"}), "a", "TH", th_);
  ASSERT_TRUE(other_order.ok());
  EXPECT_EQ(*other_order, *both);  // Ed25519 is deterministic
  // Signing again for a country replaces its line; a third country cannot sign.
  EXPECT_EQ(*SignAgreement(*both, "a", "KH", kh_), *both);
  EXPECT_FALSE(SignAgreement(*both, "a", "VN", kh_).ok());
}

TEST_F(AgreementTest, BookAllowsUnderTheGoverningVersionOnly) {
  AgreementBook book(Keys(), {Parsed(Signed(Terms(), {"TH", "KH"}))});
  Result<const Agreement*> ok = book.Decide(Query());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->terms().id, "th-kh-2003");

  // No agreement between MM and VN.
  CrossBorderQuery mm_vn{"MM", "ngo", "VN", "shelter", "referral_offer", wire::Handling::H0, kNow};
  Status none = book.Decide(mm_vn).status();
  EXPECT_EQ(none.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Mentions(none, "no signed agreement between MM and VN")) << none.message();

  // Either side withdraws alone: version 2, signed by KH only, governs and closes the route.
  AgreementBook withdrawn(
      Keys(), {Parsed(Signed(Terms(1), {"TH", "KH"})), Parsed(Signed(Terms(2), {"KH"}))});
  Status w = withdrawn.Decide(Query()).status();
  EXPECT_EQ(w.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Mentions(w, "th-kh-2003 v2")) << w.message();
  EXPECT_TRUE(Mentions(w, "supersedes version 1")) << w.message();

  // A newer version nobody validly signed withdraws nothing.
  std::string forged = *AgreementBody(Terms(3));
  forged = *SignAgreement(forged, "a", "TH", kh_);  // a wrong key for TH
  AgreementBook not_withdrawn(Keys(), {Parsed(Signed(Terms(1), {"TH", "KH"})), Parsed(forged)});
  EXPECT_TRUE(not_withdrawn.Decide(Query()).ok());

  // A newer version both signed governs: here it drops repatriation_request.
  AgreementTerms narrower = Terms(2);
  narrower.routes[0].kinds = {"repatriation_response"};
  AgreementBook renewed(
      Keys(), {Parsed(Signed(narrower, {"TH", "KH"})), Parsed(Signed(Terms(1), {"TH", "KH"}))});
  Status r = renewed.Decide(Query()).status();
  EXPECT_TRUE(Mentions(r, "th-kh-2003 v2 (TH–KH MOU 2003) does not cover this kind"))
      << r.message();
}

TEST_F(AgreementTest, BookRefusalNamesTheAgreement) {
  AgreementBook one_side(Keys(), {Parsed(Signed(Terms(), {"TH"}))});
  Status s = one_side.Decide(Query()).status();
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Mentions(s, "agreement th-kh-2003 v1 (TH–KH MOU 2003) is signed by TH only"))
      << s.message();
  AgreementBook all(Keys(), {Parsed(Signed(Terms(), {"TH", "KH"}))});
  CrossBorderQuery late = Query();
  late.at_ms = kNow + 400 * kDay;
  EXPECT_TRUE(Mentions(all.Decide(late).status(), "expired at"))
      << all.Decide(late).status().message();
}

}  // namespace
}  // namespace nrm::federation
