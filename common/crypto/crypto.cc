#include "common/crypto/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

namespace nrm::crypto {
namespace {

// sodium_malloc maps fresh pages with guard pages around them and locks them; sodium_free
// unmaps them. That is a handful of system calls and a TLB shootdown each time, which per
// message (content keys, opened payloads) cost more than the cryptography. Freed blocks are
// wiped and kept here for reuse, by power-of-two size class, so that after warm-up a secret
// costs no system call and still lives in guarded, locked memory left out of core dumps.
class SecretPool {
 public:
  static constexpr size_t kMinClass = 32;
  static constexpr size_t kMaxClass = 64 << 10;  // larger secrets go straight to sodium_malloc
  static constexpr size_t kKeptPerClass = 16;

  static SecretPool& Get() {
    static SecretPool* pool = new SecretPool();  // never destroyed: secrets may outlive statics
    return *pool;
  }
  // The block size a secret of `size` bytes gets.
  static size_t ClassOf(size_t size) {
    return size > kMaxClass ? size : std::bit_ceil(std::max(size, kMinClass));
  }
  uint8_t* Take(size_t block) {
    if (block <= kMaxClass) {
      std::lock_guard<std::mutex> lock(mu_);
      std::vector<uint8_t*>& kept = kept_[Index(block)];
      if (!kept.empty()) {
        uint8_t* p = kept.back();
        kept.pop_back();
        return p;
      }
    }
    auto* p = static_cast<uint8_t*>(sodium_malloc(block));
    NRM_CHECK(p != nullptr);
    return p;
  }
  void Give(uint8_t* p, size_t block) {
    sodium_memzero(p, block);
    if (block <= kMaxClass) {
      std::lock_guard<std::mutex> lock(mu_);
      std::vector<uint8_t*>& kept = kept_[Index(block)];
      if (kept.size() < kKeptPerClass) {
        kept.push_back(p);
        return;
      }
    }
    sodium_free(p);
  }

 private:
  static size_t Index(size_t block) { return std::countr_zero(block / kMinClass); }
  std::mutex mu_;
  std::array<std::vector<uint8_t*>, std::countr_zero(kMaxClass / kMinClass) + 1> kept_;
};

}  // namespace

Status InitCrypto() {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  return Status::Ok();
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size == 0) return;
  data_ = SecretPool::Get().Take(SecretPool::ClassOf(size));
}
SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) SecretPool::Get().Give(data_, SecretPool::ClassOf(size_));
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}
SecretBytes::~SecretBytes() {
  if (data_ != nullptr) SecretPool::Get().Give(data_, SecretPool::ClassOf(size_));
}
void SecretBytes::Wipe() {
  if (data_ != nullptr) sodium_memzero(data_, size_);
}
SecretBytes SecretBytes::Clone() const { return FromBytes(view()); }
SecretBytes SecretBytes::FromBytes(ByteView bytes) {
  SecretBytes s(bytes.size());
  if (!bytes.empty()) std::memcpy(s.data(), bytes.data(), bytes.size());
  return s;
}

SignKeyPair GenerateSignKeyPair() {
  SignKeyPair kp{Bytes(kSignPublicBytes), SecretBytes(kSignSecretBytes)};
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Result<SignKeyPair> SignKeyPairFromSeed(ByteView seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) return InvalidArgument("an Ed25519 seed is 32 bytes");
  SignKeyPair kp{Bytes(kSignPublicBytes), SecretBytes(kSignSecretBytes)};
  crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), seed.data());
  return kp;
}

BoxKeyPair GenerateBoxKeyPair() {
  BoxKeyPair kp{Bytes(kBoxPublicBytes), SecretBytes(kBoxSecretBytes)};
  crypto_box_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Result<Bytes> SignPublicFromSecret(const SecretBytes& secret) {
  if (secret.size() != kSignSecretBytes)
    return InvalidArgument("Ed25519 secret key must be 64 bytes");
  Bytes pk(kSignPublicBytes);
  crypto_sign_ed25519_sk_to_pk(pk.data(), secret.data());
  return pk;
}

Result<Bytes> BoxPublicFromSecret(const SecretBytes& secret) {
  if (secret.size() != kBoxSecretBytes)
    return InvalidArgument("X25519 secret key must be 32 bytes");
  Bytes pk(kBoxPublicBytes);
  crypto_scalarmult_base(pk.data(), secret.data());
  return pk;
}

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  RandomFill(out.data(), n);
  return out;
}
void RandomFill(uint8_t* out, size_t n) {
  if (n != 0) randombytes_buf(out, n);  // an empty vector's data() may be null
}

Bytes Sign(const SecretBytes& secret_key, ByteView message) {
  NRM_CHECK(secret_key.size() == kSignSecretBytes);
  Bytes sig(kSignatureBytes);
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key.data());
  return sig;
}

Status Verify(ByteView public_key, ByteView message, ByteView signature) {
  if (public_key.size() != kSignPublicBytes || signature.size() != kSignatureBytes) {
    return Unauthenticated("signature or key has the wrong size");
  }
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                  public_key.data()) != 0) {
    return Unauthenticated("signature does not verify");
  }
  return Status::Ok();
}

Hash Sha256(ByteView data) { return Sha256Parts({data}); }

Hash Sha256Parts(std::initializer_list<ByteView> parts) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  for (ByteView p : parts) crypto_hash_sha256_update(&st, p.data(), p.size());
  Hash out;
  crypto_hash_sha256_final(&st, out.data());
  return out;
}

Hash KeyedHash(const SecretBytes& key, ByteView data) {
  Hash out;
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key.data(), key.size());
  return out;
}

Bytes AeadEncrypt(const SecretBytes& key, ByteView nonce, ByteView plaintext, ByteView ad) {
  NRM_CHECK(key.size() == kContentKeyBytes && nonce.size() == kAeadNonceBytes);
  Bytes out(plaintext.size() + kAeadTagBytes);
  unsigned long long n = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &n, plaintext.data(), plaintext.size(),
                                             ad.data(), ad.size(), nullptr, nonce.data(),
                                             key.data());
  out.resize(n);
  return out;
}

Result<SecretBytes> AeadDecrypt(const SecretBytes& key, ByteView nonce, ByteView ciphertext,
                                ByteView ad) {
  if (key.size() != kContentKeyBytes || nonce.size() != kAeadNonceBytes ||
      ciphertext.size() < kAeadTagBytes) {
    return Unauthenticated("ciphertext, key or nonce has the wrong size");
  }
  SecretBytes out(ciphertext.size() - kAeadTagBytes);
  unsigned long long n = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &n, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce.data(), key.data()) != 0) {
    return Unauthenticated("payload does not decrypt (altered, or not for this key)");
  }
  return out;
}

Result<SecretBytes> BoxBeforeNm(ByteView their_public, const SecretBytes& my_secret) {
  static_assert(kBoxSharedKeyBytes == crypto_box_BEFORENMBYTES &&
                kBoxNonceBytes == crypto_box_NONCEBYTES && kBoxMacBytes == crypto_box_MACBYTES);
  if (their_public.size() != kBoxPublicBytes || my_secret.size() != kBoxSecretBytes) {
    return InvalidArgument("X25519 keys must be 32 bytes");
  }
  SecretBytes shared(kBoxSharedKeyBytes);
  if (crypto_box_beforenm(shared.data(), their_public.data(), my_secret.data()) != 0) {
    return Unauthenticated("X25519 public key is a point of small order");
  }
  return shared;
}

Bytes WrapKey(const SecretBytes& shared_key, const SecretBytes& content_key) {
  NRM_CHECK(shared_key.size() == kBoxSharedKeyBytes && content_key.size() == kContentKeyBytes);
  Bytes out(kWrappedKeyBytes);
  randombytes_buf(out.data(), kBoxNonceBytes);
  crypto_box_easy_afternm(out.data() + kBoxNonceBytes, content_key.data(), content_key.size(),
                          out.data(), shared_key.data());
  return out;
}

Result<SecretBytes> UnwrapKey(const SecretBytes& shared_key, ByteView wrapped) {
  if (shared_key.size() != kBoxSharedKeyBytes || wrapped.size() != kWrappedKeyBytes) {
    return Unauthenticated("wrapped key has the wrong size");
  }
  SecretBytes out(kContentKeyBytes);
  if (crypto_box_open_easy_afternm(out.data(), wrapped.data() + kBoxNonceBytes,
                                   wrapped.size() - kBoxNonceBytes, wrapped.data(),
                                   shared_key.data()) != 0) {
    return Unauthenticated("wrapped key does not open with this shared key");
  }
  return out;
}

Bytes SecretBoxSeal(const SecretBytes& key, ByteView plaintext) {
  NRM_CHECK(key.size() == crypto_secretbox_KEYBYTES);
  Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plaintext.data(),
                        plaintext.size(), out.data(), key.data());
  return out;
}

Result<SecretBytes> SecretBoxOpen(const SecretBytes& key, ByteView boxed) {
  constexpr size_t kOverhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (key.size() != crypto_secretbox_KEYBYTES || boxed.size() < kOverhead) {
    return Corruption("sealed record is too short");
  }
  SecretBytes out(boxed.size() - kOverhead);
  if (crypto_secretbox_open_easy(out.data(), boxed.data() + crypto_secretbox_NONCEBYTES,
                                 boxed.size() - crypto_secretbox_NONCEBYTES, boxed.data(),
                                 key.data()) != 0) {
    return Corruption("sealed record does not open (altered, or another key)");
  }
  return out;
}

Result<SecretBytes> KeyFromPassphrase(std::string_view passphrase, ByteView salt) {
  static_assert(kPwhashSaltBytes == crypto_pwhash_SALTBYTES);
  if (salt.size() != crypto_pwhash_SALTBYTES) {
    return InvalidArgument("pwhash salt must be 16 bytes");
  }
  SecretBytes key(crypto_secretbox_KEYBYTES);
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(),
                    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("crypto_pwhash ran out of memory");
  }
  return key;
}

Result<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("crypto_pwhash_str ran out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view stored, std::string_view password) {
  // crypto_pwhash_str_verify needs a NUL-terminated string of at most STRBYTES - 1 characters.
  char hash[crypto_pwhash_STRBYTES] = {};
  if (stored.size() >= sizeof(hash) || stored.find('\0') != std::string_view::npos) return false;
  std::copy(stored.begin(), stored.end(), hash);
  return crypto_pwhash_str_verify(hash, password.data(), password.size()) == 0;
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace nrm::crypto
