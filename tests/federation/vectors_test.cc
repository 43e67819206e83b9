// The federation's golden vectors (tests/vectors/federation_v1/): another implementation that
// follows docs/PROTOCOL.md section 12 computes the same signed bytes and fingerprints.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/file_util.h"
#include "federation/agreement_book.h"
#include "federation/anchor.h"

namespace nrm::federation {
namespace {

const std::string kDir = std::string(NRM_SOURCE_DIR) + "/tests/vectors/federation_v1/";
constexpr int64_t kAt = 1'800'000'000'000;  // 2027-01-15

std::map<std::string, std::string> Vectors() {
  std::map<std::string, std::string> v;
  std::istringstream in(*ReadFile(kDir + "vectors.txt"));
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(": ");
    if (!line.empty() && line[0] != '#' && colon != std::string::npos) {
      v[line.substr(0, colon)] = line.substr(colon + 2);
    }
  }
  return v;
}

TEST(FederationVectorTest, AnchorsAndAgreementVerify) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto v = Vectors();
  std::map<std::string, Bytes, std::less<>> keys;
  for (const std::string c : {"th", "kh"}) {
    const std::string text = *ReadFile(kDir + "anchor_" + c + ".toml");
    const std::string body = text.substr(0, text.find("signature = "));
    EXPECT_EQ(ToHex(AnchorSignedBytes(body)), v["anchor_" + c + "_signed_bytes"]);
    EXPECT_EQ(ToHex(AnchorSignedBytes(body)).substr(0, 28), ToHex(AsBytes("nrm/anchor/v1")) + "00");
    Result<Anchor> a = ParseAnchor(text, c, kAt);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(ToHex(a->authority_key), v[c + "_authority_sign_public"]);
    EXPECT_EQ(AnchorFingerprint(*a), v["anchor_" + c + "_fingerprint"]);
    keys[a->country] = a->authority_key;
  }
  const std::string text = *ReadFile(kDir + "agreement.toml");
  EXPECT_EQ(ToHex(AgreementSignedBytes(text.substr(0, text.find("signature-")))),
            v["agreement_signed_bytes"]);
  Result<Agreement> a = Agreement::Parse(text, "agreement.toml");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->CheckSignatures(keys).ok()) << a->CheckSignatures(keys).ToString();
  AgreementBook book(keys, {*a});
  EXPECT_TRUE(
      book.Decide({"TH", "ngo", "KH", "shelter", "repatriation_request", wire::Handling::H2, kAt})
          .ok());
}

}  // namespace
}  // namespace nrm::federation
