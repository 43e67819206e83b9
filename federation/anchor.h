// A country's trust anchor: a small file signed by its national authority that tells partner
// countries the authority's key and how to reach and check its broker (docs/PROTOCOL.md
// section 12.1). Operators install a partner's anchor only after comparing its fingerprint with
// the partner by phone or in person, as X-Road's trusted anchors are compared.
//
// The anchor carries its own authority key and is signed by it: the signature proves the file
// is whole and came from the holder of that key; the fingerprint comparison proves the key is the
// partner authority's. Values are immutable after parsing; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/identity/identity.h"
#include "common/status.h"

namespace nrm::federation {

// The broker of a country as its partners see it.
struct BrokerContact {
  std::string id;        // the broker's id in its own directory, e.g. "TH.BROKER"
  std::string endpoint;  // where partner brokers connect: tcp://HOST:PORT (ipc://PATH for tests)
  Bytes sign_key;        // Ed25519: signs its audit log's checkpoints (relay receipts)
  Bytes curve_key;       // X25519: its CURVE server key, and its client key towards partners
};

struct Anchor {
  std::string country;    // ISO 3166-1 alpha-2
  std::string authority;  // the authority's name, for people
  Bytes authority_key;    // Ed25519: signs this anchor, the country's directory and agreements
  int64_t directory_serial = 0;  // the directory in force when the anchor was issued
  int64_t issued_ms = 0;         // a newer anchor of the same authority replaces an older one
  int64_t expires_ms = 0;
  BrokerContact broker;
};

// The bytes an authority signs: "nrm/anchor/v1" || 0x00 || body.
Bytes AnchorSignedBytes(std::string_view body);

// The anchor's unsigned body as TOML (the form `nrm federation anchor export` writes).
std::string AnchorBody(const Anchor& anchor);

// Signs `anchor` with `authority` (whose public key becomes `authority_key`) and returns the
// whole file. kInvalidArgument when the anchor would not parse back (a bad field, an expiry
// at or before `now_ms`, a key used twice).
Result<std::string> SignAnchor(Anchor anchor, const identity::KeySet& authority, int64_t now_ms);

// Parses and verifies a signed anchor (`path` names it in messages). kUnauthenticated when it
// is unsigned or its signature does not verify with the authority key it carries (the file was
// altered); kInvalidArgument (path:line) when a field is malformed or unknown; kPermissionDenied
// when it has expired at `now_ms`.
Result<Anchor> ParseAnchor(std::string_view text, const std::string& path, int64_t now_ms);
Result<Anchor> LoadAnchor(const std::string& path, int64_t now_ms);

// What two operators compare before one installs the other's anchor: SHA-256 of
// "nrm/anchor-fingerprint/v1" || 0x00 || country || authority_key, as 16 groups of 4 upper-case
// hex digits. It names the authority, not the file: a reissued anchor of the same authority
// (a new broker key or endpoint) keeps the fingerprint.
std::string AnchorFingerprint(std::string_view country, ByteView authority_key);
std::string AnchorFingerprint(const Anchor& anchor);
// True when `typed` (as read out on the phone: any case, spaces ignored) is `anchor`'s.
bool FingerprintMatches(const Anchor& anchor, std::string_view typed);

// OK when `newer` may replace `installed` without a new fingerprint comparison: same country,
// same authority key, issued later. kPermissionDenied naming what differs otherwise.
Status CheckAnchorReplacement(const Anchor& installed, const Anchor& newer);

// OK for a broker id: 1 to 64 bytes of A-Z 0-9 . - (as agency ids on the wire).
Status CheckBrokerId(std::string_view id);
// OK for tcp://HOST:PORT or ipc://PATH, at most 256 bytes, no spaces or quotes.
Status CheckEndpoint(std::string_view endpoint);

}  // namespace nrm::federation
