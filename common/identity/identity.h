// Agency identities: secret key files and the directory of agencies signed by the national
// authority. Values are immutable after loading; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::identity {

// The roles of docs/DOMAIN.md, as they are spelled in files and on the wire.
inline constexpr std::string_view kRoles[] = {"police",      "shelter", "ngo",    "ministry",
                                              "immigration", "io",      "monitor"};
bool IsRole(std::string_view role);

// "TH.POLICE.CRI-ATU": country "." upper-case words "." name, letters digits and '-'.
Status CheckAgencyId(std::string_view id);

// The three key pairs of a party (an agency, the broker, or the authority, which uses only
// the signing key): Ed25519 signing, X25519 encryption, and the CURVE transport key.
struct KeySet {
  std::string id;
  crypto::SecretBytes sign_secret;   // 64
  crypto::SecretBytes box_secret;    // 32
  crypto::SecretBytes curve_secret;  // 32
  Bytes sign_public, box_public, curve_public;
};

KeySet GenerateKeySet(std::string id);

// Writes the secret key file (mode 0600) and returns nothing else; see docs/PROTOCOL.md §Keys.
Status WriteSecretKeyFile(const std::string& path, const KeySet& keys);
// The public half, as TOML: what an agency sends to its authority to be added to the directory.
std::string PublicKeyToml(const KeySet& keys);
// Loads a secret key file. kPermissionDenied when group or others can read it; kInvalidArgument
// naming file and line when a key is malformed or its public half is inconsistent.
Result<KeySet> LoadSecretKeyFile(const std::string& path);

struct Agency {
  std::string id;
  std::string name;      // human-readable; not personal data
  std::string role;      // one of kRoles
  std::string country;   // ISO 3166-1 alpha-2
  std::string province;  // for aggregate statistics; may be empty
  Bytes sign_key, box_key, curve_key;
  bool revoked = false;
};

struct BrokerEntry {
  std::string id;
  Bytes sign_key, curve_key;
  // The audit log's verifier key (a C2SP vkey "<origin>+<key ID>+<key>" over sign_key), or
  // empty in a directory that does not publish it (the log's origin is then the default,
  // audit::DefaultOrigin(id)).
  std::string log_vkey;
};

// The directory of agencies, verified against the authority's key.
class Directory {
 public:
  // Verifies and parses `text` (the whole signed file, from `path`, for messages).
  // kUnauthenticated when unsigned or wrongly signed; kInvalidArgument (file:line) when
  // malformed, when an id or any key appears twice, or when a value is out of range;
  // kPermissionDenied when it has expired at `now_ms` (a stale directory is refused).
  static Result<Directory> Parse(std::string_view text, const std::string& path,
                                 ByteView authority_key, int64_t now_ms);
  static Result<Directory> Load(const std::string& path, ByteView authority_key, int64_t now_ms);

  // `own` with the agencies of `partners` added (partner countries' directories, each verified
  // by the caller with that country's authority key): what an agent of a national broker seals
  // to and verifies with. Its serial, expiry, authority and broker stay `own`'s; an id already
  // in `own` is not taken from a partner. FindByCurveKey finds `own`'s agencies only: a partner
  // country's agency never connects to this country's broker.
  static Directory WithPartners(const Directory& own,
                                const std::vector<const Directory*>& partners);

  // nullptr when unknown. Revoked agencies are found; callers check `revoked`.
  const Agency* Find(std::string_view id) const;
  const Agency* FindByCurveKey(ByteView curve_key) const;

  const std::vector<Agency>& agencies() const { return agencies_; }
  const BrokerEntry& broker() const { return broker_; }
  int64_t serial() const { return serial_; }
  int64_t expires_ms() const { return expires_ms_; }
  const std::string& authority_name() const { return authority_name_; }

 private:
  friend Result<std::string> SignDirectory(std::string_view, const std::string&, const KeySet&,
                                           int64_t);
  // Parses and checks an unsigned body: shared by Parse (after the signature) and SignDirectory.
  static Result<Directory> ParseBody(std::string_view body, const std::string& path,
                                     int64_t now_ms);

  std::vector<Agency> agencies_;
  std::map<std::string, size_t, std::less<>> by_id_;
  std::map<Bytes, size_t> by_curve_;
  BrokerEntry broker_;
  int64_t serial_ = 0;
  int64_t expires_ms_ = 0;
  std::string authority_name_;
};

// The bytes an authority signs: "nrm/directory/v1\0" || body. See docs/PROTOCOL.md §Directory.
Bytes DirectorySignedBytes(std::string_view body);
// Splits a signed directory into its body and the hex signature of its last line.
// kUnauthenticated when there is no signature line.
Result<std::pair<std::string_view, std::string>> SplitSignedDirectory(std::string_view text);
// Signs a directory draft (any existing signature line is replaced). The draft is checked as
// Parse would check it before it is signed; kInvalidArgument names what is wrong.
Result<std::string> SignDirectory(std::string_view draft, const std::string& path,
                                  const KeySet& authority, int64_t now_ms);

}  // namespace nrm::identity
