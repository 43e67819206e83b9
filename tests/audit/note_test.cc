// The C2SP formats: signed-note v1.0.0, tlog-checkpoint v1.0.0, tlog-cosignature v1.0.1. The
// specs' own examples first (key IDs, verifier keys, signature lines), then round trips, then a
// named test per kind of malformed input.
#include "audit/note.h"

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "common/bytes.h"

namespace nrm::audit {
namespace {

using note::Note;
using note::VerifierKey;

class NoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};

VerifierKey Vkey(std::string_view text) {
  Result<VerifierKey> k = note::ParseVerifierKey(text);
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k.ok() ? *k : VerifierKey{};
}

Status Open(std::string_view text, const std::vector<VerifierKey>& keys) {
  Result<Note> n = note::ParseNote(text);
  if (!n) return n.status();
  return note::OpenNote(*n, keys).status();
}

// ------------------------------------------------------------------ the specs' own examples

// signed-note v1.0.0, section "Verifier keys", example.
constexpr std::string_view kSpecVkey =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecNote =
    "This is an example message.\n"
    "\n"
    "\xe2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
    "\n";

TEST_F(NoteTest, SpecExampleVerifierKeyAndNote) {
  VerifierKey k = Vkey(kSpecVkey);
  EXPECT_EQ(k.name, "example.com/foo");
  EXPECT_EQ(k.key_id, 0x530d903au);
  EXPECT_EQ(k.type, note::kTypeEd25519);
  // The key ID is SHA-256(name || 0x0A || 0x01 || key)[:4], as the spec says.
  EXPECT_EQ(note::KeyId(k.name, note::kTypeEd25519, k.public_key), 0x530d903au);
  EXPECT_EQ(note::FormatVerifierKey(k), kSpecVkey);
  Result<Note> n = note::ParseNote(kSpecNote);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->text, "This is an example message.\n");
  ASSERT_EQ(n->signatures.size(), 1u);
  EXPECT_EQ(n->signatures[0].key_id, 0x530d903au);
  EXPECT_TRUE(Open(kSpecNote, {k}).ok());
  EXPECT_EQ(note::FormatNote(*n), kSpecNote);
  std::string changed(kSpecNote);
  changed[0] = 't';
  EXPECT_EQ(Open(changed, {k}).code(), Code::kUnauthenticated);
}

// The reference implementation's example (golang.org/x/mod/sumdb/note, note_test.go): its
// signer key gives byte for byte its published signature line (Ed25519 is deterministic).
TEST_F(NoteTest, GoReferenceKeySignsTheSameBytes) {
  const std::string text =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n";
  const std::string want_line =
      "\xe2\x80\x94 PeterNeumann "
      "x08go/ZJkuBS9UG/"
      "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  // "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
  Result<Bytes> skey = FromBase64("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  ASSERT_TRUE(skey.ok());
  ASSERT_EQ(skey->size(), 33u);
  Result<crypto::SignKeyPair> kp = crypto::SignKeyPairFromSeed(ByteView(*skey).subspan(1));
  ASSERT_TRUE(kp.ok());
  Result<VerifierKey> k = note::MakeVerifierKey("PeterNeumann", note::kTypeEd25519, kp->public_key);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(note::FormatVerifierKey(*k),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  const note::Signature sig = note::SignEd25519(text, "PeterNeumann", kp->secret_key);
  EXPECT_EQ(note::FormatSignatureLine(sig), want_line);
  EXPECT_TRUE(Open(text + "\n" + want_line, {*k}).ok());
}

// tlog-checkpoint v1.0.0's example body.
TEST_F(NoteTest, SpecExampleCheckpointParses) {
  const std::string body =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  Result<Checkpoint> c = ParseCheckpoint(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->size, 20852163u);
  EXPECT_EQ(ToBase64(c->root), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  EXPECT_TRUE(c->extensions.empty());
  EXPECT_EQ(FormatCheckpoint(*c), body);
}

// tlog-cosignature v1.0.1's example: the witness line holds key ID, then the timestamp of its
// "Signed message" example (1679315147), then 64 signature bytes; the message is as shown.
TEST_F(NoteTest, SpecExampleCosignature) {
  const std::string note_text =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
      "\xe2\x80\x94 example.com/behind-the-sofa "
      "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
      "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
      "\xe2\x80\x94 witness.example.com/w1 "
      "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/"
      "zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
  Result<Note> n = note::ParseNote(note_text);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(n->signatures.size(), 2u);
  const note::Signature& w = n->signatures[1];
  EXPECT_EQ(w.name, "witness.example.com/w1");
  EXPECT_EQ(w.key_id, 0x8d66cf3fu);
  ASSERT_EQ(w.signature.size(), 72u);
  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = t << 8 | w.signature[i];
  EXPECT_EQ(t, 1679315147u);
  EXPECT_EQ(note::CosignatureMessage(n->text, t),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  // Neither key is known here: the note has no verified signature.
  EXPECT_EQ(note::OpenNote(*n, {}).status().code(), Code::kUnauthenticated);
}

// ------------------------------------------------------------------------------ round trips

TEST_F(NoteTest, VerifierKeyRoundTripsForBothTypes) {
  const crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
  for (uint8_t type : {note::kTypeEd25519, note::kTypeCosignatureV1}) {
    Result<VerifierKey> k = note::MakeVerifierKey("nrm.th/audit/v1", type, kp.public_key);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(Vkey(note::FormatVerifierKey(*k)), *k);
  }
  // One key, two types: two key IDs.
  EXPECT_NE(note::KeyId("a", note::kTypeEd25519, kp.public_key),
            note::KeyId("a", note::kTypeCosignatureV1, kp.public_key));
}

TEST_F(NoteTest, CheckpointSignsVerifiesAndRoundTrips) {
  const crypto::SignKeyPair log = crypto::GenerateSignKeyPair();
  const crypto::SignKeyPair w1 = crypto::GenerateSignKeyPair();
  Checkpoint c{"nrm.th/audit/v1", 1234, {}, {}};
  c.root.fill(7);
  const std::string text = SignCheckpoint(c, log.secret_key, 1767225600123);
  Result<VerifierKey> log_key = LogVerifierKey(c.origin, log.public_key);
  ASSERT_TRUE(log_key.ok());
  Result<VerifiedCheckpoint> v = VerifyCheckpointNote(text, *log_key);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->checkpoint, c);
  EXPECT_EQ(v->log_time, 1767225600u);
  EXPECT_TRUE(v->cosigned_by.empty());

  // A witness cosigns; the result carries three signatures and verifies with and without it.
  Result<VerifierKey> wkey =
      note::MakeVerifierKey("w1.kh/witness", note::kTypeCosignatureV1, w1.public_key);
  ASSERT_TRUE(wkey.ok());
  const note::Signature cosig =
      note::Cosign(FormatCheckpoint(c), "w1.kh/witness", w1.secret_key, 1767225601);
  Result<std::string> with = AddSignatures(text, std::vector<note::Signature>{cosig, cosig});
  ASSERT_TRUE(with.ok());
  EXPECT_EQ(note::ParseNote(*with)->signatures.size(), 3u);
  std::vector<VerifierKey> witnesses = {*wkey};
  v = VerifyCheckpointNote(*with, *log_key, witnesses);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->cosigned_by.size(), 1u);
  EXPECT_EQ(v->cosigned_by[0], (std::pair<size_t, uint64_t>{0, 1767225601}));
  EXPECT_TRUE(VerifyCheckpointNote(*with, *log_key).ok());  // an unknown witness is ignored

  // A checkpoint of another origin, or signed by another key, is not the log's.
  Result<VerifierKey> other = LogVerifierKey("nrm.kh/audit/v1", log.public_key);
  EXPECT_EQ(VerifyCheckpointNote(text, *other).status().code(), Code::kUnauthenticated);
  Result<VerifierKey> stranger = LogVerifierKey(c.origin, crypto::GenerateSignKeyPair().public_key);
  EXPECT_EQ(VerifyCheckpointNote(text, *stranger).status().code(), Code::kUnauthenticated);
}

TEST_F(NoteTest, ABadSignatureOfAKnownKeyRefusesTheWholeNote) {
  const crypto::SignKeyPair log = crypto::GenerateSignKeyPair();
  const crypto::SignKeyPair w1 = crypto::GenerateSignKeyPair();
  Checkpoint c{"nrm.th/audit/v1", 5, {}, {}};
  const std::string text = SignCheckpoint(c, log.secret_key, 1000);
  Result<VerifierKey> log_key = LogVerifierKey(c.origin, log.public_key);
  Result<VerifierKey> wkey = note::MakeVerifierKey("w1", note::kTypeCosignatureV1, w1.public_key);
  // A cosignature of another checkpoint (size 6) pasted onto this one.
  Checkpoint c6 = c;
  c6.size = 6;
  const note::Signature wrong = note::Cosign(FormatCheckpoint(c6), "w1", w1.secret_key, 2000);
  Result<std::string> with = AddSignatures(text, std::vector<note::Signature>{wrong});
  ASSERT_TRUE(with.ok());
  std::vector<VerifierKey> witnesses = {*wkey};
  EXPECT_EQ(VerifyCheckpointNote(*with, *log_key, witnesses).status().code(),
            Code::kUnauthenticated);
  // Same name, another key ID (another key): ignored, as the spec requires.
  note::Signature stranger = wrong;
  stranger.key_id ^= 1;
  with = AddSignatures(text, std::vector<note::Signature>{stranger});
  EXPECT_TRUE(VerifyCheckpointNote(*with, *log_key, witnesses).ok());
}

// ---------------------------------------------------------------------- malformed notes

class MalformedNoteTest : public NoteTest {
 protected:
  void SetUp() override {
    kp_ = crypto::GenerateSignKeyPair();
    key_ = *note::MakeVerifierKey("example.org/k", note::kTypeEd25519, kp_.public_key);
    good_ = "hello\n\n" + SigLine("hello\n");
    ASSERT_TRUE(Open(good_, {key_}).ok());
  }
  std::string SigLine(const std::string& text) {
    return note::FormatSignatureLine(note::SignEd25519(text, "example.org/k", kp_.secret_key));
  }
  Code ParseCode(const std::string& text) { return note::ParseNote(text).status().code(); }

  crypto::SignKeyPair kp_;
  VerifierKey key_;
  std::string good_;
};

TEST_F(MalformedNoteTest, MissingBlankLine) {
  EXPECT_EQ(ParseCode("hello\n" + SigLine("hello\n")), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, NoSignatureAfterTheBlankLine) {
  EXPECT_EQ(ParseCode("hello\n\n"), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, MissingFinalNewline) {
  EXPECT_EQ(ParseCode(good_.substr(0, good_.size() - 1)), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, UnknownKeyOnly) {
  const crypto::SignKeyPair other = crypto::GenerateSignKeyPair();
  const std::string text =
      "hello\n\n" + note::FormatSignatureLine(note::SignEd25519("hello\n", "x", other.secret_key));
  ASSERT_TRUE(note::ParseNote(text).ok());
  EXPECT_EQ(Open(text, {key_}).code(), Code::kUnauthenticated);
}

TEST_F(MalformedNoteTest, BadBase64) {
  std::string text = good_;
  text.insert(text.size() - 5, "!");  // a character outside the alphabet
  EXPECT_EQ(ParseCode(text), Code::kInvalidArgument);
  text = good_;
  text.insert(text.size() - 1, "A");  // not a multiple of four
  EXPECT_EQ(ParseCode(text), Code::kInvalidArgument);
  // Non-canonical: the last character's unused bits set ("Q==" where "A==" decodes the same).
  EXPECT_EQ(FromBase64("AB==").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(FromBase64("AA==").ok());
  EXPECT_EQ(FromBase64("AA=A").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(FromBase64("A===").status().code(), Code::kInvalidArgument);
  // A signature of fewer than 5 bytes (key ID and at least one byte).
  EXPECT_EQ(ParseCode("hello\n\n\xe2\x80\x94 example.org/k AAAAAA==\n"), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, ControlCharacter) {
  for (char c : {'\t', '\r', '\0', '\x1b'}) {
    std::string text = "hel" + std::string(1, c) + "lo\n";
    text += "\n" + SigLine(text);
    EXPECT_EQ(ParseCode(text), Code::kInvalidArgument) << int(c);
  }
  // DEL is not below U+0020: the spec allows it.
  const std::string del = "a\x7f\n";
  EXPECT_TRUE(Open(del + "\n" + SigLine(del), {key_}).ok());
}

TEST_F(MalformedNoteTest, InvalidUtf8) {
  const std::string text = "caf\xc3\n";
  EXPECT_EQ(ParseCode(text + "\n" + SigLine(text)), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, SeventeenSignatures) {
  std::string sixteen = "hello\n\n";
  for (int i = 0; i < 16; ++i) sixteen += SigLine("hello\n");
  EXPECT_TRUE(Open(sixteen, {key_}).ok());
  EXPECT_EQ(ParseCode(sixteen + SigLine("hello\n")), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, KeyNameWithASpaceOrPlus) {
  for (std::string name : {"a b", "a+b",
                           "a\xc2\xa0"
                           "b",
                           "a\xe3\x80\x80"
                           "b",
                           ""}) {
    EXPECT_FALSE(note::CheckKeyName(name).ok()) << name;
    const std::string line = "\xe2\x80\x94 " + name + " " + ToBase64(Bytes(68, 1)) + "\n";
    EXPECT_EQ(ParseCode("hello\n\n" + line), Code::kInvalidArgument) << name;
    EXPECT_FALSE(note::MakeVerifierKey(name, note::kTypeEd25519, kp_.public_key).ok()) << name;
  }
  EXPECT_TRUE(note::CheckKeyName("nrm.th/audit/v1").ok());
}

TEST_F(MalformedNoteTest, NotAnEmDash) {
  std::string text = good_;
  text.replace(text.find("\xe2\x80\x94"), 3, "-");
  EXPECT_EQ(ParseCode(text), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, TooLong) {
  const std::string text(note::kMaxNoteBytes, 'a');
  EXPECT_EQ(ParseCode(text + "\n\n" + SigLine(text + "\n")), Code::kInvalidArgument);
}

TEST_F(MalformedNoteTest, MalformedVerifierKeys) {
  const std::string good = note::FormatVerifierKey(key_);
  EXPECT_TRUE(note::ParseVerifierKey(good).ok());
  // Every truncation and every single-character change is refused (as Go's note_test does).
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(note::ParseVerifierKey(good.substr(0, n)).ok()) << good.substr(0, n);
  }
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    ++bad[i];
    EXPECT_FALSE(note::ParseVerifierKey(bad).ok()) << bad;
  }
  Bytes material{0x02};  // ECDSA: not supported
  material.insert(material.end(), kp_.public_key.begin(), kp_.public_key.end());
  EXPECT_FALSE(note::ParseVerifierKey("k+00000000+" + ToBase64(material)).ok());
}

// ------------------------------------------------------------------ malformed checkpoints

TEST_F(NoteTest, MalformedCheckpointsAreRefused) {
  const std::string root = ToBase64(Bytes(32, 0));
  for (const std::string& text : {
           std::string("o\n1\n"),                              // two lines
           "o\n01\n" + root + "\n",                            // leading zero
           "o\n-1\n" + root + "\n",                            // not decimal
           "o\n 1\n" + root + "\n",                            // a space
           "o\n18446744073709551616\n" + root + "\n",          // past 2^64 - 1
           "o\n1\n" + ToBase64(Bytes(31, 0)) + "\n",           // a 31-byte root
           "o\n1\n" + root,                                    // no final newline
           "\n1\n" + root + "\n",                              // empty origin
           "o\n1\n" + root + "\n\n",                           // empty extension line
           "o\n1\n" + root.substr(0, root.size() - 1) + "\n",  // bad base64
       }) {
    EXPECT_EQ(ParseCheckpoint(text).status().code(), Code::kInvalidArgument) << text;
  }
  Result<Checkpoint> c = ParseCheckpoint("o\n0\n" + root + "\next one\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size, 0u);
  EXPECT_EQ(c->extensions, std::vector<std::string>{"ext one"});
  c = ParseCheckpoint("o\n18446744073709551615\n" + root + "\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size, UINT64_MAX);
}

TEST_F(NoteTest, OriginsTheBrokerMayUse) {
  EXPECT_TRUE(CheckOrigin("nrm.th/audit/v1").ok());
  EXPECT_FALSE(CheckOrigin("cosignature/v1").ok());
  EXPECT_FALSE(CheckOrigin("nrm th").ok());
  EXPECT_FALSE(CheckOrigin("a+b").ok());
  EXPECT_FALSE(CheckOrigin("caf\xc3\xa9").ok());  // valid UTF-8 but not ASCII
  EXPECT_FALSE(CheckOrigin("").ok());
}

TEST_F(NoteTest, Base64RoundTrips) {
  for (size_t n = 0; n < 70; ++n) {
    Bytes b = crypto::RandomBytes(n);
    Result<Bytes> back = FromBase64(ToBase64(b));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, b);
  }
  EXPECT_EQ(ToBase64(AsBytes("foobar")), "Zm9vYmFy");  // RFC 4648 section 10
  EXPECT_EQ(ToBase64(AsBytes("fooba")), "Zm9vYmE=");
  EXPECT_EQ(ToBase64(AsBytes("foob")), "Zm9vYg==");
}

}  // namespace
}  // namespace nrm::audit
