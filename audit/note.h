// C2SP signed notes (c2sp.org/signed-note@v1.0.0): text signed by one or more keys, the format
// of transparency-log checkpoints and of witness cosignatures. Pinned to the tagged v1.0.0 of
// the spec, not its main branch.
//
//   <text ending in "\n">
//   <blank line>
//   — <key name> base64(be32 key ID || signature)        one line per signature, at least one
//
// A note is valid UTF-8 with no ASCII control character but "\n"; key names are non-empty and
// hold no Unicode space and no '+'. Key ID = SHA-256(name || 0x0A || type || public key)[:4].
// A verifier key ("vkey") is "<name>+<hex key ID>+base64(type || public key)".
//
// Types supported: 0x01 Ed25519 (signs the note text) and 0x04 timestamped Ed25519 cosignatures
// (c2sp.org/tlog-cosignature@v1.0.1, checkpoint.h). Others parse as signature lines and are
// ignored as unknown keys, as the spec asks.
//
// Every parser here takes input from anyone: it never aborts and refuses what the spec forbids
// (kInvalidArgument naming what). Pure functions and value types; thread-compatible.
// REQUIRES (signing and verifying): crypto::InitCrypto() has succeeded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit::note {

inline constexpr uint8_t kTypeEd25519 = 0x01;
inline constexpr uint8_t kTypeCosignatureV1 = 0x04;
// The spec asks verifiers to accept at least 16 signatures; we accept exactly that many, which
// bounds the work a note from anyone can cause.
inline constexpr size_t kMaxSignatures = 16;
inline constexpr size_t kMaxNoteBytes = 16 * 1024;
inline constexpr size_t kMaxKeyNameBytes = 256;
// The em dash U+2014 and a space that open every signature line.
inline constexpr std::string_view kSignaturePrefix = "\xe2\x80\x94 ";

// OK when `name` may be a key name: non-empty, at most kMaxKeyNameBytes, valid UTF-8, no
// control character, no Unicode space (Go's unicode.IsSpace set) and no '+'.
Status CheckKeyName(std::string_view name);

// SHA-256(name || "\n" || type || public_key)[:4], big-endian.
uint32_t KeyId(std::string_view name, uint8_t type, ByteView public_key);

// A key that can check signatures: the parts of a vkey.
struct VerifierKey {
  std::string name;
  uint32_t key_id = 0;
  uint8_t type = kTypeEd25519;  // kTypeEd25519 or kTypeCosignatureV1
  Bytes public_key;             // 32 bytes (Ed25519)

  bool operator==(const VerifierKey&) const = default;
};

// The key of `name` for `type` over a 32-byte Ed25519 public key, with its computed key ID.
// kInvalidArgument for a bad name, an unsupported type or a key of another size.
Result<VerifierKey> MakeVerifierKey(std::string_view name, uint8_t type, ByteView public_key);
// "<name>+<8 hex>+base64(type || public key)".
std::string FormatVerifierKey(const VerifierKey& key);
// The inverse of FormatVerifierKey. kInvalidArgument for a malformed string, a type other than
// 0x01 or 0x04, a key that is not 32 bytes, or a key ID that is not the one the name, type and
// key give (the spec's recommended derivation, which both supported types require).
Result<VerifierKey> ParseVerifierKey(std::string_view vkey);

// One signature line: the key name, the key ID and what follows it in the base64 blob.
struct Signature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // the algorithm's bytes, after the key ID

  bool operator==(const Signature&) const = default;
};

struct Note {
  std::string text;  // ends with "\n"; excludes the blank separator line
  std::vector<Signature> signatures;
};

// "— <name> base64(key_id || signature)\n". REQUIRES: CheckKeyName(sig.name) is OK.
std::string FormatSignatureLine(const Signature& sig);
// `line` without its final newline. kInvalidArgument when it is not a signature line (prefix,
// key name, one space, canonical base64 of at least 5 bytes).
Result<Signature> ParseSignatureLine(std::string_view line);

// text + "\n" + one line per signature. REQUIRES: text ends with "\n".
std::string FormatNote(const Note& note);
// Splits and checks the structure of a note (not its signatures): the size limit, UTF-8, no
// control character but "\n", the text ending in a newline, the last blank line, one to
// kMaxSignatures well-formed signature lines, each ending in a newline.
Result<Note> ParseNote(std::string_view note);

// An Ed25519 (type 0x01) signature of `text` under `name`. REQUIRES: secret.size() == 64 and
// CheckKeyName(name) is OK.
Signature SignEd25519(std::string_view text, std::string_view name,
                      const crypto::SecretBytes& secret);

// tlog-cosignature v1.0.1, the message a type 0x04 signature covers:
// "cosignature/v1\ntime <timestamp, decimal>\n" || the cosigned checkpoint's note text.
std::string CosignatureMessage(std::string_view text, uint64_t timestamp);
inline constexpr uint64_t kMaxCosignatureTime = (uint64_t{1} << 63) - 1;
// A type 0x04 cosignature of `text`: be64 timestamp || Ed25519(CosignatureMessage(text, t)).
// REQUIRES: timestamp <= kMaxCosignatureTime, secret.size() == 64, CheckKeyName(name) is OK.
Signature Cosign(std::string_view text, std::string_view name, const crypto::SecretBytes& secret,
                 uint64_t timestamp);

// A signature of the note that verified under one of the keys given.
struct VerifiedSignature {
  size_t key_index = 0;               // into the `keys` span passed to OpenNote
  std::optional<uint64_t> timestamp;  // type 0x04: the cosignature's POSIX time
};

// Checks `note`'s signatures against `keys`, as the spec says: a line whose name and key ID do
// not both match a key is ignored; a line that does match must verify (else the whole note is
// refused, kUnauthenticated naming the key); at least one must verify (else kUnauthenticated).
// Type 0x01 verifies Ed25519 over the text; type 0x04 verifies a tlog-cosignature/v1 over the
// text (checkpoint.h). A key that signed twice is reported once.
Result<std::vector<VerifiedSignature>> OpenNote(const Note& note,
                                                std::span<const VerifierKey> keys);

}  // namespace nrm::audit::note
