#include "audit/note.h"

#include <algorithm>

#include "audit/big_endian.h"
#include "audit/utf8.h"
#include "common/crypto/crypto.h"

namespace nrm::audit::note {
namespace {

// Go's unicode.IsSpace: the Unicode White_Space property.
bool IsUnicodeSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
         cp == 0x205f || cp == 0x3000;
}

bool SupportedType(uint8_t type) { return type == kTypeEd25519 || type == kTypeCosignatureV1; }

std::string Hex32(uint32_t v) {
  Bytes b;
  PutBe32(&b, v);
  return ToHex(b);
}

}  // namespace

Status CheckKeyName(std::string_view name) {
  if (name.empty()) return InvalidArgument("key name is empty");
  if (name.size() > kMaxKeyNameBytes) {
    return InvalidArgument("key name is longer than " + std::to_string(kMaxKeyNameBytes) +
                           " bytes");
  }
  for (size_t i = 0; i < name.size();) {
    const std::optional<uint32_t> cp = NextCodePoint(name, &i);
    if (!cp) return InvalidArgument("key name is not UTF-8");
    if (*cp < 0x20 || *cp == 0x7f) return InvalidArgument("key name holds a control character");
    if (IsUnicodeSpace(*cp)) return InvalidArgument("key name holds a space");
    if (*cp == '+') return InvalidArgument("key name holds a '+'");
  }
  return Status::Ok();
}

uint32_t KeyId(std::string_view name, uint8_t type, ByteView public_key) {
  const uint8_t sep_and_type[2] = {'\n', type};
  const crypto::Hash h = crypto::Sha256Parts({AsBytes(name), sep_and_type, public_key});
  return GetBe32(h.data());
}

Result<VerifierKey> MakeVerifierKey(std::string_view name, uint8_t type, ByteView public_key) {
  NRM_RETURN_IF_ERROR(CheckKeyName(name));
  if (!SupportedType(type)) {
    return InvalidArgument("unsupported signature type " + std::to_string(type));
  }
  if (public_key.size() != crypto::kSignPublicBytes) {
    return InvalidArgument("an Ed25519 public key is 32 bytes, not " +
                           std::to_string(public_key.size()));
  }
  return VerifierKey{std::string(name), KeyId(name, type, public_key), type,
                     Bytes(public_key.begin(), public_key.end())};
}

std::string FormatVerifierKey(const VerifierKey& key) {
  Bytes material{key.type};
  material.insert(material.end(), key.public_key.begin(), key.public_key.end());
  return key.name + "+" + Hex32(key.key_id) + "+" + ToBase64(material);
}

Result<VerifierKey> ParseVerifierKey(std::string_view vkey) {
  // The key material is base64 and may itself hold '+': split at the first two only.
  const size_t a = vkey.find('+');
  const size_t b = a == std::string_view::npos ? a : vkey.find('+', a + 1);
  if (b == std::string_view::npos) {
    return InvalidArgument("verifier key: expected <name>+<hex key ID>+<base64 key>");
  }
  const std::string_view name = vkey.substr(0, a);
  const std::string_view id_hex = vkey.substr(a + 1, b - a - 1);
  if (Status s = CheckKeyName(name); !s.ok()) return s.WithContext("verifier key");
  if (id_hex.size() != 8 || !std::all_of(id_hex.begin(), id_hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return InvalidArgument("verifier key: the key ID is not 8 lower-case hex digits");
  }
  Result<Bytes> material = FromBase64(vkey.substr(b + 1));
  if (!material) return material.status().WithContext("verifier key");
  if (material->size() != 1 + crypto::kSignPublicBytes || !SupportedType((*material)[0])) {
    return InvalidArgument(
        "verifier key: not an Ed25519 key of type 0x01 or 0x04 (33 bytes of key material)");
  }
  const uint8_t type = (*material)[0];
  NRM_ASSIGN_OR_RETURN(VerifierKey key,
                       MakeVerifierKey(name, type, ByteView(*material).subspan(1)));
  if (Hex32(key.key_id) != id_hex) {
    return InvalidArgument("verifier key: key ID " + std::string(id_hex) +
                           " does not match the name and key (expected " + Hex32(key.key_id) + ")");
  }
  return key;
}

std::string FormatSignatureLine(const Signature& sig) {
  Bytes blob;
  PutBe32(&blob, sig.key_id);
  blob.insert(blob.end(), sig.signature.begin(), sig.signature.end());
  std::string line(kSignaturePrefix);
  line += sig.name;
  line += ' ';
  line += ToBase64(blob);
  line += '\n';
  return line;
}

Result<Signature> ParseSignatureLine(std::string_view line) {
  if (!line.starts_with(kSignaturePrefix)) {
    return InvalidArgument("signature line does not start with an em dash and a space");
  }
  line.remove_prefix(kSignaturePrefix.size());
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return InvalidArgument("signature line has no space between key name and signature");
  }
  Signature sig;
  sig.name = std::string(line.substr(0, space));
  if (Status s = CheckKeyName(sig.name); !s.ok()) return s.WithContext("signature line");
  Result<Bytes> blob = FromBase64(line.substr(space + 1));
  if (!blob) return blob.status().WithContext("signature line");
  if (blob->size() < 5) return InvalidArgument("signature line: the signature is too short");
  sig.key_id = GetBe32(blob->data());
  sig.signature.assign(blob->begin() + 4, blob->end());
  return sig;
}

std::string FormatNote(const Note& note) {
  std::string out = note.text;
  out += '\n';
  for (const Signature& sig : note.signatures) out += FormatSignatureLine(sig);
  return out;
}

Result<Note> ParseNote(std::string_view text) {
  if (text.size() > kMaxNoteBytes) {
    return InvalidArgument("note is longer than " + std::to_string(kMaxNoteBytes) + " bytes");
  }
  for (size_t i = 0; i < text.size();) {
    const std::optional<uint32_t> cp = NextCodePoint(text, &i);
    if (!cp) return InvalidArgument("note is not UTF-8");
    if (*cp < 0x20 && *cp != '\n') {
      return InvalidArgument("note holds a control character other than newline");
    }
  }
  // The text is separated from the signatures by the last blank line.
  const size_t blank = text.rfind("\n\n");
  if (blank == std::string_view::npos) {
    return InvalidArgument("note has no blank line before its signatures");
  }
  Note note;
  note.text = std::string(text.substr(0, blank + 1));
  std::string_view rest = text.substr(blank + 2);
  if (rest.empty()) return InvalidArgument("note has no signature");
  if (rest.back() != '\n') return InvalidArgument("note does not end with a newline");
  while (!rest.empty()) {
    if (note.signatures.size() == kMaxSignatures) {
      return InvalidArgument("note has more than " + std::to_string(kMaxSignatures) +
                             " signatures");
    }
    const size_t nl = rest.find('\n');
    NRM_ASSIGN_OR_RETURN(Signature sig, ParseSignatureLine(rest.substr(0, nl)));
    note.signatures.push_back(std::move(sig));
    rest.remove_prefix(nl + 1);
  }
  return note;
}

Signature SignEd25519(std::string_view text, std::string_view name,
                      const crypto::SecretBytes& secret) {
  Result<Bytes> pub = crypto::SignPublicFromSecret(secret);
  NRM_CHECK(pub.ok());
  return Signature{std::string(name), KeyId(name, kTypeEd25519, *pub),
                   crypto::Sign(secret, AsBytes(text))};
}

std::string CosignatureMessage(std::string_view text, uint64_t timestamp) {
  std::string m = "cosignature/v1\ntime " + std::to_string(timestamp) + "\n";
  m += text;
  return m;
}

Signature Cosign(std::string_view text, std::string_view name, const crypto::SecretBytes& secret,
                 uint64_t timestamp) {
  NRM_CHECK(timestamp <= kMaxCosignatureTime);
  Result<Bytes> pub = crypto::SignPublicFromSecret(secret);
  NRM_CHECK(pub.ok());
  Signature sig{std::string(name), KeyId(name, kTypeCosignatureV1, *pub), {}};
  PutBe64(&sig.signature, timestamp);
  const Bytes ed = crypto::Sign(secret, AsBytes(CosignatureMessage(text, timestamp)));
  sig.signature.insert(sig.signature.end(), ed.begin(), ed.end());
  return sig;
}

Result<std::vector<VerifiedSignature>> OpenNote(const Note& note,
                                                std::span<const VerifierKey> keys) {
  std::vector<VerifiedSignature> verified;
  for (const Signature& sig : note.signatures) {
    auto key = std::find_if(keys.begin(), keys.end(), [&](const VerifierKey& k) {
      return k.name == sig.name && k.key_id == sig.key_id;
    });
    if (key == keys.end()) continue;  // an unknown key: ignored
    const size_t index = static_cast<size_t>(key - keys.begin());
    VerifiedSignature v{index, std::nullopt};
    Status s;
    if (key->type == kTypeEd25519) {
      s = crypto::Verify(key->public_key, AsBytes(note.text), sig.signature);
    } else if (sig.signature.size() != 8 + crypto::kSignatureBytes) {
      s = Unauthenticated("a cosignature is 72 bytes");
    } else {
      const uint64_t timestamp = GetBe64(sig.signature.data());
      if (timestamp > kMaxCosignatureTime) {
        s = Unauthenticated("the cosignature's timestamp exceeds 2^63 - 1");
      } else {
        s = crypto::Verify(key->public_key, AsBytes(CosignatureMessage(note.text, timestamp)),
                           ByteView(sig.signature).subspan(8));
        v.timestamp = timestamp;
      }
    }
    if (!s.ok()) {
      return Unauthenticated("note: the signature of " + FormatVerifierKey(*key) +
                             " does not verify");
    }
    const bool seen = std::any_of(verified.begin(), verified.end(),
                                  [&](const VerifiedSignature& o) { return o.key_index == index; });
    if (!seen) verified.push_back(v);
  }
  if (verified.empty()) return Unauthenticated("note: no signature from a known key");
  return verified;
}

}  // namespace nrm::audit::note
