// Two countries (TH, KH) with authorities, brokers and anchors, and a TH-KH agreement, for the
// federation tests. A fixed clock: nothing depends on the wall clock.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/identity/identity.h"
#include "federation/agreement.h"
#include "federation/anchor.h"

namespace nrm::federation {

inline constexpr int64_t kNow = 1'796'000'000'000;  // 2026-11-30
inline constexpr int64_t kDay = 86'400'000;

class FederationFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  Anchor AnchorOf(const std::string& country, const identity::KeySet& broker) {
    Anchor a;
    a.country = country;
    a.authority = country + " NRM authority";
    a.directory_serial = 3;
    a.issued_ms = kNow - kDay;
    a.expires_ms = kNow + 365 * kDay;
    a.broker = {country + ".BROKER", "tcp://127.0.0.1:7701", broker.sign_public,
                broker.curve_public};
    return a;
  }

  // TH ngo/shelter <-> KH ngo/shelter for repatriation requests and responses, up to H2, in
  // force from a day ago for a year.
  AgreementTerms Terms(int64_t version = 1) {
    AgreementTerms t;
    t.id = "th-kh-2003";
    t.version = version;
    t.title = "MOU Thailand-Cambodia";
    t.mou = "TH–KH MOU 2003";
    t.countries = {"TH", "KH"};
    t.valid_from_ms = kNow - kDay;
    t.valid_until_ms = kNow + 365 * kDay;
    t.max_handling = wire::Handling::H2;
    t.routes = {{"TH",
                 "KH",
                 {"ngo", "shelter"},
                 {"ngo", "shelter"},
                 {"repatriation_request", "repatriation_response"}},
                {"KH", "TH", {"ngo"}, {"ngo"}, {"repatriation_response"}}};
    return t;
  }

  // The body of `terms`, signed by the authorities of `signers` (each with its own key).
  std::string Signed(const AgreementTerms& terms, std::initializer_list<const char*> signers) {
    Result<std::string> text = AgreementBody(terms);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    for (const char* c : signers) {
      text = SignAgreement(*text, "agreement.toml", c, std::string(c) == "TH" ? th_ : kh_);
      EXPECT_TRUE(text.ok()) << text.status().ToString();
    }
    return *text;
  }

  Agreement Parsed(const std::string& text) {
    Result<Agreement> a = Agreement::Parse(text, "agreement.toml");
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return *a;
  }

  std::map<std::string, Bytes, std::less<>> Keys() const {
    return {{"TH", th_.sign_public}, {"KH", kh_.sign_public}};
  }

  CrossBorderQuery Query(const std::string& kind = "repatriation_request") const {
    return {"TH", "ngo", "KH", "ngo", kind, wire::Handling::H1, kNow};
  }

  identity::KeySet th_ = identity::GenerateKeySet("TH.AUTHORITY.NRM");
  identity::KeySet kh_ = identity::GenerateKeySet("KH.AUTHORITY.NRM");
  identity::KeySet th_broker_ = identity::GenerateKeySet("TH.BROKER");
  identity::KeySet kh_broker_ = identity::GenerateKeySet("KH.BROKER");
};

}  // namespace nrm::federation
