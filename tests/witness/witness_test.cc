// The witness's add-checkpoint logic (C2SP tlog-witness v1.0.0), in process: one named test per
// answer of the spec, the request format, and check-and-store under concurrency.
#include "audit/witness/witness.h"

#include <gtest/gtest.h>

#include <thread>

#include "audit/witness/add_checkpoint.h"
#include "tests/testing/temp_dir.h"
#include "tests/witness/witness_test_util.h"

namespace nrm::audit::witness {
namespace {

using testing::SimLog;

class WitnessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  void SetUp() override { Reopen(); }

  void Reopen() {
    witness_.reset();
    WitnessOptions o;
    o.name = "w1.example/witness";
    o.secret = key_.secret_key.Clone();
    o.logs = {log_.key()};
    o.data_dir = dir_.path() + "/witness";
    Result<std::unique_ptr<Witness>> w = Witness::Open(std::move(o), clock_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    witness_ = std::move(*w);
  }

  Answer Add(uint64_t old_size, const SimLog& log, uint64_t size) {
    return witness_->AddCheckpoint(log.Request(old_size, size));
  }

  // The answer is this witness's cosignature of `log`'s checkpoint at `size`, at clock_'s time.
  void ExpectCosigned(const Answer& a, const SimLog& log, uint64_t size) {
    ASSERT_EQ(a.status, 200) << a.body;
    Result<note::Note> n = note::ParseNote(log.Note(size) + a.body);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    const std::vector<note::VerifierKey> keys = {witness_->key()};
    Result<std::vector<note::VerifiedSignature>> v = note::OpenNote(*n, keys);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(v->size(), 1u);
    EXPECT_EQ((*v)[0].timestamp, uint64_t{1796600000});
  }

  nrm::testing::TempDir dir_;
  FakeClock clock_{1796600000123};
  crypto::SignKeyPair key_ = crypto::GenerateSignKeyPair();
  SimLog log_{"nrm.th/audit/v1", 40};
  std::unique_ptr<Witness> witness_;
};

TEST_F(WitnessTest, FirstSightIsCosigned) {
  ExpectCosigned(Add(0, log_, 5), log_, 5);
  EXPECT_EQ(witness_->counts().cosigned.load(), 1u);
}

TEST_F(WitnessTest, ConsistentGrowthIsCosigned) {
  ExpectCosigned(Add(0, log_, 5), log_, 5);
  ExpectCosigned(Add(5, log_, 9), log_, 9);
  ExpectCosigned(Add(9, log_, 33), log_, 33);
}

TEST_F(WitnessTest, SameSizeSameRootIsCosignedAgain) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  ExpectCosigned(Add(9, log_, 9), log_, 9);
  // The empty tree, first sight at size 0.
  SimLog empty("nrm.kh/audit/v1", 0);
  WitnessOptions o;
  o.name = "w2";
  o.secret = key_.secret_key.Clone();
  o.logs = {empty.key()};
  o.data_dir = dir_.path() + "/w2";
  std::unique_ptr<Witness> w2 = std::move(*Witness::Open(std::move(o), clock_));
  EXPECT_EQ(w2->AddCheckpoint(empty.Request(0, 0)).status, 200);
}

TEST_F(WitnessTest, SameSizeDifferentRootIsAConflict) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  SimLog fork = log_.Fork(4);  // the same key and origin, another tree from leaf 4 on
  const Answer a = Add(9, fork, 9);
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(witness_->counts().conflict.load(), 1u);
}

TEST_F(WitnessTest, OldSizeMismatchIsAConflictNamingTheSizeHeld) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  for (uint64_t old : {uint64_t{0}, uint64_t{5}, uint64_t{10}}) {
    const Answer a = Add(old, log_, 12);
    EXPECT_EQ(a.status, 409) << old;
    EXPECT_EQ(a.content_type, kTreeSizeContentType);
    EXPECT_EQ(a.body, "9\n");
    EXPECT_EQ(*ParseConflictSize(a.body), 9u);
  }
}

TEST_F(WitnessTest, BadProofIsUnprocessable) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  // A proof for another size pair, a changed hash, and a valid proof of a forked tree.
  AddCheckpointRequest r = *ParseAddCheckpoint(log_.Request(9, 20));
  r.proof = log_.Proof(8, 20);
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 422);
  r.proof = log_.Proof(9, 20);
  r.proof[0][0] ^= 1;
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 422);
  SimLog fork = log_.Fork(6);
  EXPECT_EQ(Add(9, fork, 20).status, 422);
  EXPECT_EQ(witness_->counts().bad_proof.load(), 3u);
  // First sight needs an empty proof.
  SimLog other("nrm.th/audit/v1", 40);
  ExpectCosigned(Add(9, log_, 20), log_, 20);
  r = *ParseAddCheckpoint(log_.Request(20, 30));
  r.old_size = 0;
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 409);
}

TEST_F(WitnessTest, FirstSightWithAProofIsUnprocessable) {
  AddCheckpointRequest r = *ParseAddCheckpoint(log_.Request(0, 9));
  r.proof = log_.Proof(4, 9);
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 422);
}

TEST_F(WitnessTest, UnknownOriginIsNotFound) {
  SimLog stranger("nrm.zz/audit/v1", 10);
  const Answer a = Add(0, stranger, 5);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(witness_->counts().unknown_log.load(), 1u);
}

TEST_F(WitnessTest, UnsignedIsForbidden) {
  // The right origin, signed by another key; or with only the log's timestamp line.
  SimLog impostor("nrm.th/audit/v1", 40);
  EXPECT_EQ(Add(0, impostor, 5).status, 403);
  const std::string note = log_.Note(5);
  const std::string only_timestamp =
      note.substr(0, note.find("\n\n") + 2) + note.substr(note.rfind("\xe2\x80\x94"));
  AddCheckpointRequest r{0, {}, only_timestamp};
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 403);
  // A bad signature of the trusted key: one base64 character of its signature bytes replaced by
  // another base64 character (flipping a bit could leave the alphabet: a 400, not a 403).
  std::string bad = note;
  char& c = bad[note.find("\n\n") + 30];
  c = c == 'A' ? 'B' : 'A';
  r.checkpoint = bad;
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 403);
  EXPECT_EQ(witness_->counts().forbidden.load(), 3u);
}

TEST_F(WitnessTest, OldSizeLargerThanTheCheckpointIsABadRequest) {
  const AddCheckpointRequest r{6, {}, log_.Note(5)};
  EXPECT_EQ(witness_->AddCheckpoint(FormatAddCheckpoint(r)).status, 400);
}

TEST_F(WitnessTest, MalformedRequestsAreBadRequests) {
  const std::string good = log_.Request(0, 5);
  for (const std::string& body : {
           std::string(""),
           std::string("old 0\n"),                  // no empty line
           "new 0\n\n" + log_.Note(5),              // not "old"
           "old 00\n\n" + log_.Note(5),             // a leading zero
           "old 0\nnot base64\n\n" + log_.Note(5),  // a proof line that is not a hash
           "old 0\n" + ToBase64(Bytes(31, 1)) + "\n\n" + log_.Note(5),
           std::string("old 0\n\n"),              // no checkpoint
           std::string("old 0\n\nnot a note\n"),  // a checkpoint that is not a note
           std::string(kMaxRequestBytes + 1, 'x'),
       }) {
    EXPECT_EQ(witness_->AddCheckpoint(body).status, 400) << body.substr(0, 40);
  }
  std::string lines;
  for (size_t i = 0; i < kMaxProofLines + 1; ++i) lines += ToBase64(Bytes(32, 1)) + "\n";
  EXPECT_EQ(witness_->AddCheckpoint("old 0\n" + lines + "\n" + log_.Note(5)).status, 400);
  EXPECT_EQ(witness_->AddCheckpoint(good).status, 200);
}

// The spec's example request body parses as the spec describes it.
TEST(AddCheckpointFormatTest, SpecExampleRequestParses) {
  const std::string body =
      "old 20852014\n"
      "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
      "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
      "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
      "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
      "\n"
      "example.com/behind-the-sofa\n"
      "20852163\n"
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
      "\n"
      "\xe2\x80\x94 example.com/behind-the-sofa "
      "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
      "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
      "\xe2\x80\x94 example.com/behind-the-sofa "
      "opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/"
      "V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
  Result<AddCheckpointRequest> r = ParseAddCheckpoint(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->old_size, 20852014u);
  ASSERT_EQ(r->proof.size(), 4u);
  EXPECT_EQ(ToBase64(r->proof[3]), "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=");
  Result<note::Note> n = note::ParseNote(r->checkpoint);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->signatures.size(), 2u);
  EXPECT_EQ(FormatAddCheckpoint(*r), body);
  EXPECT_EQ(*ParseConflictSize("20852014\n"), 20852014u);
  EXPECT_FALSE(ParseConflictSize("20852014").ok());
  EXPECT_FALSE(ParseConflictSize("x\n").ok());
}

TEST_F(WitnessTest, StateSurvivesAReopen) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  Reopen();
  const Answer a = Add(0, log_, 12);
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.body, "9\n");
  ExpectCosigned(Add(9, log_, 12), log_, 12);
  witness_.reset();
  Result<std::string> latest = LatestCosigned(dir_.path() + "/witness", "nrm.th/audit/v1");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_TRUE(latest->starts_with(log_.Note(12).substr(0, log_.Note(12).find("\n\n"))));
  EXPECT_NE(latest->find("\xe2\x80\x94 w1.example/witness "), std::string::npos);
  EXPECT_EQ(LatestCosigned(dir_.path() + "/witness", "nrm.zz/audit/v1").status().code(),
            Code::kNotFound);
}

// Eight clients race from the same old size to different sizes: exactly one is cosigned, the
// others hear 409 with its size. Check and store are one step.
TEST_F(WitnessTest, ConcurrentGrowthFromOneSizeCosignsOnce) {
  ExpectCosigned(Add(0, log_, 9), log_, 9);
  std::vector<std::string> bodies;
  for (uint64_t n = 10; n < 18; ++n) bodies.push_back(log_.Request(9, n));
  std::vector<Answer> answers(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { answers[i] = witness_->AddCheckpoint(bodies[i]); });
  }
  for (std::thread& t : threads) t.join();
  size_t ok = 0;
  for (const Answer& a : answers) {
    if (a.status == 200) {
      ++ok;
    } else {
      EXPECT_EQ(a.status, 409);
    }
  }
  EXPECT_EQ(ok, 1u);
}

}  // namespace
}  // namespace nrm::audit::witness
