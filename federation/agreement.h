// A bilateral agreement as a signed document: both countries' authorities sign the same body,
// which names the two countries, the MOU it implements, which kinds may cross in which direction
// between which roles, the highest handling code allowed, and when it is in force
// (docs/PROTOCOL.md section 12.2). A route across a border needs an agreement that covers it,
// is in force, and carries both authorities' valid signatures.
//
// Values are immutable after parsing; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/identity/identity.h"
#include "common/status.h"
#include "schemas/wire/envelope.h"

namespace nrm::federation {

// One direction of an agreement: agencies of `from_roles` in country `from` may send `kinds` to
// agencies of `to_roles` in country `to`.
struct AgreementRoute {
  std::string from, to;  // the agreement's two countries, one each
  std::vector<std::string> from_roles, to_roles, kinds;
};

// The signed body.
struct AgreementTerms {
  std::string id;       // e.g. "th-kh-2003": lower-case letters, digits and '-'
  int64_t version = 1;  // raised with every new text: the highest version of an id governs
  std::string title;    // for people
  std::string mou;      // the MOU it implements, e.g. "TH–KH MOU 2003"
  std::array<std::string, 2> countries;  // two distinct ISO 3166-1 alpha-2 codes
  int64_t valid_from_ms = 0;
  int64_t valid_until_ms = 0;  // first instant no longer in force
  wire::Handling max_handling = wire::Handling::H0;
  std::vector<AgreementRoute> routes;
};

// One message crossing a border, as an agreement sees it.
struct CrossBorderQuery {
  std::string from_country, from_role;
  std::string to_country, to_role;
  std::string kind;  // e.g. "referral_offer"
  wire::Handling handling = wire::Handling::H0;
  int64_t at_ms = 0;  // when: the broker's clock when it decides
};

// The bytes each authority signs: "nrm/agreement/v1" || 0x00 || body.
Bytes AgreementSignedBytes(std::string_view body);

// The body as TOML (the form `nrm federation agreement draft` writes); kInvalidArgument when
// the terms would not parse back (see ParseAgreement).
Result<std::string> AgreementBody(const AgreementTerms& terms);

class Agreement {
 public:
  // Parses a draft (no signature lines) or a signed agreement (its body, then one line
  // `signature-CC = "<128 hex>"` per country that signed). Checks no signature: that needs the
  // countries' authority keys (CheckSignatures). kInvalidArgument (path:line) when malformed: an
  // unknown key, a bad country, role, kind or handling code, fewer or more than two countries, a
  // route between other countries or within one, valid_until not after valid_from, a
  // signature line for a country the agreement does not name, or two for one country.
  static Result<Agreement> Parse(std::string_view text, const std::string& path);
  static Result<Agreement> Load(const std::string& path);

  const AgreementTerms& terms() const { return terms_; }
  const std::string& body() const { return body_; }
  const std::string& path() const { return path_; }
  // "agreement th-kh-2003 v2 (TH–KH MOU 2003)": how every reason names it.
  std::string Name() const;
  // country -> signature, for each signature line of the file (verified or not).
  const std::map<std::string, Bytes, std::less<>>& signatures() const { return signatures_; }
  // The countries that put a signature line in the file (whether it verifies or not).
  std::vector<std::string> SignedBy() const;

  // OK when `country`'s signature line verifies with `authority_key`. kUnauthenticated when it
  // is missing or does not verify (another key signed it, or the body changed after).
  Status CheckSignature(std::string_view country, ByteView authority_key) const;
  // OK when both countries signed with the keys in `authority_keys` (country -> authority key,
  // from the installed anchors). kUnauthenticated naming the agreement and who did not sign.
  Status CheckSignatures(const std::map<std::string, Bytes, std::less<>>& authority_keys) const;
  // OK when `at_ms` lies in [valid_from, valid_until); kPermissionDenied naming the dates.
  Status CheckInForce(int64_t at_ms) const;
  // OK when a route of the agreement covers the query's countries, roles and kind, and its
  // handling is at most max_handling; kPermissionDenied saying what is not covered. Checks
  // neither signatures nor dates.
  Status CheckCovers(const CrossBorderQuery& q) const;

 private:
  AgreementTerms terms_;
  std::string body_;
  std::string path_;
  std::map<std::string, Bytes, std::less<>> signatures_;  // country -> signature
};

// Signs `text` (a draft, or an agreement the other country already signed) for `country` with
// `authority`'s key: adds the country's signature line, or replaces it, and keeps the body and
// the other line byte for byte. kInvalidArgument when the text does not parse or `country` is
// not one of its two countries.
Result<std::string> SignAgreement(std::string_view text, const std::string& path,
                                  std::string_view country, const identity::KeySet& authority);

}  // namespace nrm::federation
