// Sender epoch keys and the reader's cache: one key agreement per recipient per epoch, rotation
// on the hour (and when asked), and what the reader refuses.
#include "schemas/wire/epoch.h"

#include <gtest/gtest.h>

#include <thread>

#include "schemas/wire/envelope.h"

namespace nrm::wire {
namespace {

constexpr int64_t kStart = 1'790'000'000'000;
constexpr int64_t kMinute = 60 * 1000;

struct Party {
  std::string id;
  crypto::BoxKeyPair box = crypto::GenerateBoxKeyPair();
};

class EpochTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  // Seals a message to `to` with `epoch`; returns its frame.
  Bytes Seal(SenderEpoch& epoch, std::vector<const Party*> to) {
    std::vector<Recipient> rs;
    for (const Party* p : to) rs.push_back({p->id, p->box.public_key});
    HeaderFields f;
    f.sender = "TH.POLICE.CRI-ATU";
    f.kind = Kind::ReferralOffer;
    f.case_ref = Bytes(kCaseRefBytes, 7);
    f.created_at_ms = clock_.NowMillis();
    Result<Sealed> s = SealEnvelope(f, rs, AsBytes("payload"), sign_.secret_key, epoch);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->frame : Bytes();
  }

  Result<crypto::SecretBytes> Open(const Bytes& frame, Reader& reader) {
    NRM_ASSIGN_OR_RETURN(EnvelopeView env, DecodeEnvelope(frame));
    return OpenEnvelope(env, sign_.public_key, reader);
  }

  Bytes EpochKeyOf(const Bytes& frame) {
    Result<EnvelopeView> env = DecodeEnvelope(frame);
    EXPECT_TRUE(env.ok());
    return env.ok() ? Bytes(env->epoch_key().begin(), env->epoch_key().end()) : Bytes();
  }

  FakeClock clock_{kStart};
  crypto::SignKeyPair sign_ = crypto::GenerateSignKeyPair();
  Party a_{"TH.SHELTER.A"}, b_{"TH.SHELTER.B"}, c_{"TH.NGO.C"}, d_{"TH.NGO.D"};
};

TEST_F(EpochTest, OneKeyAgreementPerNewRecipientPerEpoch) {
  SenderEpoch epoch(clock_);
  EXPECT_TRUE(epoch.epoch_public().empty());  // made at the first seal
  const Bytes first = Seal(epoch, {&a_, &b_, &c_});
  EXPECT_EQ(epoch.key_agreements(), 3u);
  EXPECT_EQ(epoch.shared_keys(), 3u);
  EXPECT_EQ(EpochKeyOf(first), epoch.epoch_public());
  for (int i = 0; i < 20; ++i) Seal(epoch, {&a_, &b_, &c_});
  Seal(epoch, {&c_, &a_});
  EXPECT_EQ(epoch.key_agreements(), 3u) << "the same recipients again cost no key agreement";
  Seal(epoch, {&a_, &d_, &b_});
  EXPECT_EQ(epoch.key_agreements(), 4u) << "one new recipient costs one";
  EXPECT_EQ(epoch.shared_keys(), 4u);
}

TEST_F(EpochTest, EveryRecipientOpensAndEachPaysOneKeyAgreementPerEpochKey) {
  SenderEpoch epoch(clock_);
  Reader ra(a_.id, a_.box.secret_key.Clone()), rb(b_.id, b_.box.secret_key.Clone());
  for (int i = 0; i < 5; ++i) {
    const Bytes frame = Seal(epoch, {&a_, &b_});
    for (Reader* r : {&ra, &rb}) {
      Result<crypto::SecretBytes> p = Open(frame, *r);
      ASSERT_TRUE(p.ok()) << r->id() << ": " << p.status().ToString();
      EXPECT_EQ(AsChars(p->view()), "payload");
    }
  }
  EXPECT_EQ(ra.key_agreements(), 1u);
  EXPECT_EQ(rb.key_agreements(), 1u);
  epoch.Rotate();
  ASSERT_TRUE(Open(Seal(epoch, {&a_}), ra).ok());
  EXPECT_EQ(ra.key_agreements(), 2u);
  EXPECT_EQ(ra.shared_keys(), 2u);
}

TEST_F(EpochTest, AfterAnHourANewEpochKeyAndNewSharedKeys) {
  SenderEpoch epoch(clock_);
  const Bytes k1 = EpochKeyOf(Seal(epoch, {&a_, &b_, &c_}));
  clock_.Advance(59 * kMinute);
  EXPECT_EQ(EpochKeyOf(Seal(epoch, {&a_, &b_, &c_})), k1);
  EXPECT_EQ(epoch.key_agreements(), 3u);
  clock_.Advance(kMinute);
  const Bytes old_frame = Seal(epoch, {&a_, &b_, &c_});
  const Bytes k2 = EpochKeyOf(old_frame);
  EXPECT_NE(k2, k1);
  EXPECT_EQ(k2, epoch.epoch_public());
  EXPECT_EQ(epoch.key_agreements(), 6u) << "each recipient once more, in the new epoch";
  EXPECT_EQ(epoch.shared_keys(), 3u) << "the old epoch's shared keys are gone";
  // A message of an earlier epoch still opens: the recipient needs only its own key.
  clock_.Advance(5 * SenderEpoch::kPeriodMs);
  Reader ra(a_.id, a_.box.secret_key.Clone());
  EXPECT_TRUE(Open(old_frame, ra).ok());
}

TEST_F(EpochTest, RotateWipesTheEpochKeyAndEverySharedKey) {
  SenderEpoch epoch(clock_);
  const Bytes k1 = EpochKeyOf(Seal(epoch, {&a_, &b_}));
  epoch.Rotate();
  EXPECT_TRUE(epoch.epoch_public().empty());
  EXPECT_EQ(epoch.shared_keys(), 0u);
  const Bytes k2 = EpochKeyOf(Seal(epoch, {&a_, &b_}));
  EXPECT_NE(k1, k2);
  EXPECT_EQ(epoch.key_agreements(), 4u);
}

TEST_F(EpochTest, AnIdleSenderDropsItsEpochKeyOnTheHour) {
  SenderEpoch epoch(clock_);
  Seal(epoch, {&a_});
  clock_.Advance(SenderEpoch::kPeriodMs - 1);
  epoch.WipeIfExpired();
  EXPECT_FALSE(epoch.epoch_public().empty());
  clock_.Advance(1);
  epoch.WipeIfExpired();
  EXPECT_TRUE(epoch.epoch_public().empty());
  EXPECT_EQ(epoch.shared_keys(), 0u);
}

TEST_F(EpochTest, AClockThatGoesBackStartsANewEpoch) {
  // Otherwise a clock set back by a day would stretch one epoch over that day.
  SenderEpoch epoch(clock_);
  const Bytes k1 = EpochKeyOf(Seal(epoch, {&a_}));
  clock_.Advance(-kMinute);
  EXPECT_NE(EpochKeyOf(Seal(epoch, {&a_})), k1);
}

TEST_F(EpochTest, ReaderRefusesWhatItCannotOpen) {
  SenderEpoch epoch(clock_);
  const Bytes frame = Seal(epoch, {&a_});
  Result<EnvelopeView> env = DecodeEnvelope(frame);
  ASSERT_TRUE(env.ok());
  const Bytes epoch_key(env->epoch_key().begin(), env->epoch_key().end());
  const auto* w = env->body_table->keys()->Get(0)->wrapped();
  const Bytes wrapped(w->begin(), w->end());
  Reader reader(a_.id, a_.box.secret_key.Clone());
  ASSERT_TRUE(reader.Unwrap(epoch_key, wrapped).ok()) << "control";

  auto refused = [&](ByteView key, ByteView wrap) {
    Result<crypto::SecretBytes> r = reader.Unwrap(key, wrap);
    return !r.ok() && r.status().code() == Code::kUnauthenticated;
  };
  EXPECT_TRUE(refused(crypto::GenerateBoxKeyPair().public_key, wrapped)) << "another epoch key";
  EXPECT_TRUE(refused(Bytes(32, 0), wrapped)) << "a point of small order";
  EXPECT_TRUE(refused(Bytes(31, 1), wrapped)) << "a short epoch key";
  for (size_t at : {size_t{0}, size_t{23}, size_t{24}, size_t{71}}) {
    Bytes tampered = wrapped;
    tampered[at] ^= 0x01;  // nonce: 0..23, tag: 24..39, key: 40..71
    EXPECT_TRUE(refused(epoch_key, tampered)) << "byte " << at;
  }
  for (size_t n : {size_t{0}, size_t{71}, size_t{73}, size_t{80}}) {
    Bytes resized = wrapped;
    resized.resize(n, 0);
    EXPECT_TRUE(refused(epoch_key, resized)) << n << " bytes";
  }
  // A wrap for another reader, under the right epoch key.
  Reader other(b_.id, b_.box.secret_key.Clone());
  EXPECT_FALSE(other.Unwrap(epoch_key, wrapped).ok());
}

TEST_F(EpochTest, ReaderCacheIsBounded) {
  Reader reader(a_.id, a_.box.secret_key.Clone());
  std::vector<Bytes> frames;
  for (size_t i = 0; i < Reader::kMaxSharedKeys + 1; ++i) {
    SenderEpoch epoch(clock_);  // a new epoch key each time
    frames.push_back(Seal(epoch, {&a_}));
    ASSERT_TRUE(Open(frames.back(), reader).ok());
  }
  EXPECT_EQ(reader.shared_keys(), Reader::kMaxSharedKeys);
  EXPECT_EQ(reader.key_agreements(), Reader::kMaxSharedKeys + 1);
  // The oldest was evicted: opening its message again costs a key agreement; the newest not.
  ASSERT_TRUE(Open(frames.back(), reader).ok());
  EXPECT_EQ(reader.key_agreements(), Reader::kMaxSharedKeys + 1);
  ASSERT_TRUE(Open(frames.front(), reader).ok());
  EXPECT_EQ(reader.key_agreements(), Reader::kMaxSharedKeys + 2);
}

TEST(SharedKeyCacheTest, EvictsTheOldest) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  const crypto::BoxKeyPair self = crypto::GenerateBoxKeyPair();
  const crypto::BoxKeyPair p1 = crypto::GenerateBoxKeyPair(), p2 = crypto::GenerateBoxKeyPair(),
                           p3 = crypto::GenerateBoxKeyPair();
  SharedKeyCache cache(2);
  for (const crypto::BoxKeyPair* p : {&p1, &p2, &p1, &p3, &p2, &p1}) {
    ASSERT_TRUE(cache.Get(p->public_key, self.secret_key).ok());
  }
  // p1, p2 computed; p1 hit; p3 computed (p1 out); p2 hit; p1 computed again (p2 out).
  EXPECT_EQ(cache.computed(), 4u);
  EXPECT_EQ(cache.size(), 2u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(EpochTest, OneEpochSharedByThreadsSealsConsistently) {
  SenderEpoch epoch(clock_);
  std::vector<std::thread> threads;
  std::vector<Bytes> frames(4 * 25);
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < 25; ++i) frames[t * 25 + i] = Seal(epoch, {&a_, &b_, &c_});
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(epoch.key_agreements(), 3u);
  Reader rc(c_.id, c_.box.secret_key.Clone());
  for (const Bytes& f : frames) {
    EXPECT_EQ(EpochKeyOf(f), epoch.epoch_public());
    EXPECT_TRUE(Open(f, rc).ok());
  }
}

}  // namespace
}  // namespace nrm::wire
