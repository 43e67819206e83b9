// Writes the federation's golden vectors (run by hand after a deliberate change of the anchor or
// agreement format; federation_test checks them on every build):
//   make_federation_vectors tests/vectors/federation_v1
// anchor_th.toml, anchor_kh.toml: two countries' anchors; agreement.toml: a TH-KH agreement
// both signed; vectors.txt: the authority keys, each document's signed bytes, the fingerprints.
#include <fstream>
#include <iostream>

#include "common/clock.h"
#include "federation/agreement.h"
#include "federation/anchor.h"
#include "federation/signed_text.h"

using namespace nrm;
using namespace nrm::federation;

int main(int argc, char** argv) {
  if (argc != 2 || !crypto::InitCrypto().ok()) {
    std::cerr << "usage: make_federation_vectors DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  constexpr int64_t kIssued = 1'796'000'000'000;   // 2026-11-30
  constexpr int64_t kExpires = 4'102'444'800'000;  // 2100-01-01
  std::ofstream txt(dir + "/vectors.txt");
  txt << "# The federation vectors of docs/PROTOCOL.md section 12: authority keys, the bytes each\n"
         "# document's signers signed, and the anchors' fingerprints.\n";
  identity::KeySet authorities[] = {identity::GenerateKeySet("TH.AUTHORITY.NRM"),
                                    identity::GenerateKeySet("KH.AUTHORITY.NRM")};
  const char* countries[] = {"TH", "KH"};
  for (int i = 0; i < 2; ++i) {
    const std::string c = countries[i];
    identity::KeySet broker = identity::GenerateKeySet(c + ".BROKER");
    Anchor a{c,
             c + " test vector authority",
             {},
             1,
             kIssued,
             kExpires,
             {c + ".BROKER", "tcp://broker." + c + ".example:7701", broker.sign_public,
              broker.curve_public}};
    Result<std::string> text = SignAnchor(a, authorities[i], kIssued);
    if (!text.ok()) return 1;
    std::string lower = c;
    for (char& ch : lower) ch = static_cast<char>(ch - 'A' + 'a');
    std::ofstream(dir + "/anchor_" + lower + ".toml") << *text;
    const std::string body = text->substr(0, text->find("signature = "));
    txt << lower << "_authority_sign_public: " << ToHex(authorities[i].sign_public) << "\n"
        << "anchor_" << lower << "_signed_bytes: " << ToHex(AnchorSignedBytes(body)) << "\n"
        << "anchor_" << lower
        << "_fingerprint: " << AnchorFingerprint(c, authorities[i].sign_public) << "\n";
  }
  AgreementTerms t{"th-kh-2003",
                   1,
                   "Test vector agreement",
                   "TH–KH MOU 2003",
                   {"TH", "KH"},
                   1'054'339'200'000 /* 2003-05-31 */,
                   kExpires,
                   wire::Handling::H2,
                   {{"TH",
                     "KH",
                     {"ngo", "shelter"},
                     {"ngo", "shelter"},
                     {"repatriation_request", "repatriation_response"}},
                    {"KH", "TH", {"ngo"}, {"ngo", "shelter"}, {"repatriation_response"}}}};
  Result<std::string> text = AgreementBody(t);
  if (text.ok()) text = SignAgreement(*text, "v", "TH", authorities[0]);
  if (text.ok()) text = SignAgreement(*text, "v", "KH", authorities[1]);
  if (!text.ok()) return 1;
  std::ofstream(dir + "/agreement.toml") << *text;
  txt << "agreement_signed_bytes: "
      << ToHex(AgreementSignedBytes(text->substr(0, text->find("signature-")))) << "\n";
  std::cout << "wrote " << dir << "/anchor_th.toml, anchor_kh.toml, agreement.toml, vectors.txt\n";
  return 0;
}
