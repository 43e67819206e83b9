// nrm_crypto: the only code that includes <sodium.h>. One obvious call per job; callers choose
// no algorithms and no nonces. All functions are thread-safe once InitCrypto() has returned OK.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::crypto {

inline constexpr size_t kSignPublicBytes = 32;  // Ed25519
inline constexpr size_t kSignSecretBytes = 64;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kBoxPublicBytes = 32;  // X25519
inline constexpr size_t kBoxSecretBytes = 32;
inline constexpr size_t kContentKeyBytes = 32;    // XChaCha20-Poly1305
inline constexpr size_t kBoxSharedKeyBytes = 32;  // crypto_box_beforenm
inline constexpr size_t kBoxNonceBytes = 24;      // XSalsa20
inline constexpr size_t kBoxMacBytes = 16;        // Poly1305
// A content key wrapped under a shared key: nonce || tag || encrypted content key.
inline constexpr size_t kWrappedKeyBytes = kBoxNonceBytes + kBoxMacBytes + kContentKeyBytes;
inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadTagBytes = 16;
inline constexpr size_t kHashBytes = 32;  // SHA-256

using Hash = std::array<uint8_t, kHashBytes>;

// Must be called once before anything else here; kInternal if libsodium cannot start.
Status InitCrypto();

// Secret bytes in sodium_malloc'd memory (guarded, locked, left out of core dumps, wiped on
// release; released blocks are kept for reuse, see SecretPool in crypto.cc). Move-only, and it
// has no formatter: a secret cannot be logged by accident.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  ByteView view() const { return {data_, size_}; }
  bool empty() const { return size_ == 0; }

  // Overwrites the bytes with zeros now (sodium_memzero); the size stays. The destructor and
  // assignment also zero the memory they release, so Wipe() is for a secret
  // whose end should be visible in the code, or that must end before its owner does.
  void Wipe();

  // A copy; explicit so that copies of secrets are visible in the code.
  SecretBytes Clone() const;
  static SecretBytes FromBytes(ByteView bytes);

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct SignKeyPair {
  Bytes public_key;        // 32 bytes
  SecretBytes secret_key;  // 64 bytes (seed || public key, libsodium's layout)
};
struct BoxKeyPair {
  Bytes public_key;        // 32 bytes
  SecretBytes secret_key;  // 32 bytes
};

SignKeyPair GenerateSignKeyPair();
// The Ed25519 key pair of a 32-byte seed (RFC 8032's private key), e.g. a published test key.
// kInvalidArgument for a seed of another size.
Result<SignKeyPair> SignKeyPairFromSeed(ByteView seed);
BoxKeyPair GenerateBoxKeyPair();
// The public half of a 64-byte Ed25519 secret key, or of a 32-byte X25519 secret key.
Result<Bytes> SignPublicFromSecret(const SecretBytes& secret);
Result<Bytes> BoxPublicFromSecret(const SecretBytes& secret);

Bytes RandomBytes(size_t n);
void RandomFill(uint8_t* out, size_t n);

// Ed25519 detached signature of `message`. REQUIRES: secret_key.size() == 64.
Bytes Sign(const SecretBytes& secret_key, ByteView message);
// OK when `signature` is `public_key`'s signature of `message`; kUnauthenticated otherwise
// (including wrong sizes).
Status Verify(ByteView public_key, ByteView message, ByteView signature);

Hash Sha256(ByteView data);
// SHA-256 of the concatenation of `parts`, without copying them together.
Hash Sha256Parts(std::initializer_list<ByteView> parts);
// Keyed BLAKE2b-256 (a MAC / PRF), for pseudonyms derived from a secret.
Hash KeyedHash(const SecretBytes& key, ByteView data);

// XChaCha20-Poly1305: returns ciphertext || tag.
Bytes AeadEncrypt(const SecretBytes& key, ByteView nonce, ByteView plaintext, ByteView ad);
// The plaintext, or kUnauthenticated when the tag, the key, the nonce or `ad` does not match.
Result<SecretBytes> AeadDecrypt(const SecretBytes& key, ByteView nonce, ByteView ciphertext,
                                ByteView ad);

// The shared key of `their_public` and `my_secret` (X25519 key pairs): crypto_box_beforenm, the
// same key on both sides. The one costly step (an X25519 scalar multiplication); callers cache
// the result. kInvalidArgument when a key has the wrong size; kUnauthenticated when
// `their_public` is a point of small order (the X25519 result would be all zeros).
Result<SecretBytes> BoxBeforeNm(ByteView their_public, const SecretBytes& my_secret);

// Wraps a 32-byte `content_key` under `shared_key` (from BoxBeforeNm): a random 24-byte nonce,
// then crypto_box_easy_afternm (16-byte tag || encrypted key); kWrappedKeyBytes in all.
// REQUIRES: shared_key.size() == 32, content_key.size() == 32.
Bytes WrapKey(const SecretBytes& shared_key, const SecretBytes& content_key);
// The content key in `wrapped`; kUnauthenticated when `wrapped` is not kWrappedKeyBytes long, or
// its tag does not verify (another shared key, an altered nonce or box).
Result<SecretBytes> UnwrapKey(const SecretBytes& shared_key, ByteView wrapped);

// secretbox (XSalsa20-Poly1305) with a random nonce prepended: for data at rest.
Bytes SecretBoxSeal(const SecretBytes& key, ByteView plaintext);
Result<SecretBytes> SecretBoxOpen(const SecretBytes& key, ByteView boxed);

// A 32-byte secretbox key derived from `passphrase` with crypto_pwhash (Argon2id13, libsodium's
// "interactive" limits) and a 16-byte random `salt` kept beside what it protects.
// kInvalidArgument for a salt of another size; kResourceExhausted when memory runs out.
inline constexpr size_t kPwhashSaltBytes = 16;
Result<SecretBytes> KeyFromPassphrase(std::string_view passphrase, ByteView salt);

// A password stored for people who log in (the web inbox's users): crypto_pwhash_str, Argon2id
// with libsodium's "interactive" limits, salt and parameters inside the string it returns.
// kResourceExhausted when memory runs out.
Result<std::string> HashPassword(std::string_view password);
// True when `password` matches `stored` (a HashPassword string); false for anything else,
// including a malformed `stored` (answered at once; a well-formed one costs an Argon2id run).
bool VerifyPassword(std::string_view stored, std::string_view password);

// Constant-time equality.
bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace nrm::crypto
