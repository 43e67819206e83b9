// The box primitives of nrm_crypto that wrap content keys (PROTOCOL.md §7, §8), and wiping.
#include "common/crypto/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

namespace nrm::crypto {
namespace {

class BoxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(InitCrypto().ok()); }

  static SecretBytes Shared(const BoxKeyPair& theirs, const BoxKeyPair& mine) {
    Result<SecretBytes> s = BoxBeforeNm(theirs.public_key, mine.secret_key);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : SecretBytes();
  }

  static SecretBytes RandomKey() {
    SecretBytes k(kContentKeyBytes);
    RandomFill(k.data(), k.size());
    return k;
  }

  BoxKeyPair sender_ = GenerateBoxKeyPair();
  BoxKeyPair recipient_ = GenerateBoxKeyPair();
};

TEST_F(BoxTest, BothSidesComputeTheSameSharedKey) {
  const SecretBytes s1 = Shared(recipient_, sender_);
  const SecretBytes s2 = Shared(sender_, recipient_);
  EXPECT_EQ(s1.size(), kBoxSharedKeyBytes);
  EXPECT_TRUE(ConstantTimeEqual(s1.view(), s2.view()));
  EXPECT_FALSE(ConstantTimeEqual(s1.view(), Shared(GenerateBoxKeyPair(), sender_).view()));
}

TEST_F(BoxTest, WrapAndUnwrap) {
  const SecretBytes shared = Shared(recipient_, sender_);
  const SecretBytes content_key = RandomKey();
  const Bytes w1 = WrapKey(shared, content_key);
  const Bytes w2 = WrapKey(shared, content_key);
  EXPECT_EQ(w1.size(), kWrappedKeyBytes);
  EXPECT_EQ(kWrappedKeyBytes, 72u);
  EXPECT_NE(w1, w2) << "each wrap has its own random nonce";
  for (const Bytes& w : {w1, w2}) {
    Result<SecretBytes> k = UnwrapKey(Shared(sender_, recipient_), w);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    EXPECT_TRUE(ConstantTimeEqual(k->view(), content_key.view()));
  }
}

TEST_F(BoxTest, UnwrapRefusesWrongSizesAlterationsAndOtherKeys) {
  const SecretBytes shared = Shared(recipient_, sender_);
  const Bytes wrapped = WrapKey(shared, RandomKey());
  auto refused = [](const SecretBytes& key, const Bytes& w) {
    Result<SecretBytes> r = UnwrapKey(key, w);
    return !r.ok() && r.status().code() == Code::kUnauthenticated;
  };
  for (size_t n : {size_t{0}, size_t{40}, size_t{71}, size_t{73}, size_t{80}}) {
    Bytes resized = wrapped;
    resized.resize(n, 0);
    EXPECT_TRUE(refused(shared, resized)) << n << " bytes";
  }
  for (size_t at = 0; at < wrapped.size(); ++at) {
    Bytes tampered = wrapped;
    tampered[at] ^= 0x20;  // every byte: nonce, tag and box
    EXPECT_TRUE(refused(shared, tampered)) << "byte " << at;
  }
  EXPECT_TRUE(refused(Shared(GenerateBoxKeyPair(), sender_), wrapped)) << "another shared key";
  EXPECT_TRUE(refused(SecretBytes(16), wrapped)) << "a shared key of the wrong size";
}

TEST_F(BoxTest, BeforeNmRefusesWrongSizesAndSmallOrderPoints) {
  EXPECT_EQ(BoxBeforeNm(Bytes(31, 9), sender_.secret_key).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(BoxBeforeNm(recipient_.public_key, SecretBytes(16)).status().code(),
            Code::kInvalidArgument);
  // u = 0 (order 2) and u = 1 (order 4): with a clamped scalar, X25519 of either is all zeros.
  Bytes order4(kBoxPublicBytes, 0);
  order4[0] = 1;
  for (const Bytes& weak : {Bytes(kBoxPublicBytes, 0), order4}) {
    EXPECT_EQ(BoxBeforeNm(weak, sender_.secret_key).status().code(), Code::kUnauthenticated);
  }
}

TEST(SecretBytesTest, WipeZeroesInPlace) {
  ASSERT_TRUE(InitCrypto().ok());
  SecretBytes s(kBoxSecretBytes);
  RandomFill(s.data(), s.size());
  s.data()[0] |= 1;  // not all zeros before
  const uint8_t* where = s.data();
  s.Wipe();
  EXPECT_EQ(s.data(), where);
  EXPECT_EQ(s.size(), kBoxSecretBytes);
  EXPECT_TRUE(std::all_of(s.data(), s.data() + s.size(), [](uint8_t b) { return b == 0; }));
  SecretBytes empty;
  empty.Wipe();  // nothing to wipe: no effect
  EXPECT_TRUE(empty.empty());
}

// Released secrets are kept for reuse (crypto.cc, SecretPool): a reused block holds nothing of
// the secret that had it, including the bytes past the new, shorter secret.
TEST(SecretBytesTest, AReusedBlockIsWipedFirst) {
  ASSERT_TRUE(InitCrypto().ok());
  const uint8_t* where = nullptr;
  {
    SecretBytes first(2000);
    std::memset(first.data(), 0xA5, first.size());
    where = first.data();
  }
  SecretBytes second(1500);  // the same size class (2048): the block just released
  ASSERT_EQ(second.data(), where) << "the released block was not reused";
  EXPECT_TRUE(std::all_of(second.data(), second.data() + 2000, [](uint8_t b) { return b == 0; }));
  // A move-assignment releases the old block the same way.
  std::memset(second.data(), 0x5A, second.size());
  second = SecretBytes(16);
  SecretBytes third(1024 + 1);
  ASSERT_EQ(third.data(), where);
  EXPECT_TRUE(std::all_of(third.data(), third.data() + 1500, [](uint8_t b) { return b == 0; }));
}

}  // namespace
}  // namespace nrm::crypto
