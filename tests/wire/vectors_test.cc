// The golden vectors of docs/PROTOCOL.md: a wire change that breaks them fails here.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "common/file_util.h"
#include "common/identity/identity.h"
#include "schemas/wire/envelope.h"

namespace nrm::wire {
namespace {

std::map<std::string, std::string> ReadVector(const std::string& name) {
  Result<std::string> text = ReadFile(std::string(NRM_SOURCE_DIR) + "/tests/vectors/" + name);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  std::map<std::string, std::string> v;
  std::istringstream in(text.ok() ? *text : "");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(": ");
    if (colon != std::string::npos) v[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return v;
}

ByteView View(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? ByteView() : ByteView(v->data(), v->size());
}

Bytes Hex(const std::string& s) {
  Result<Bytes> b = FromHex(s);
  EXPECT_TRUE(b.ok()) << s.substr(0, 16);
  return b.ok() ? *b : Bytes();
}

TEST(VectorTest, EnvelopeV2DecodesVerifiesAndOpens) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto v = ReadVector("envelope_v2.txt");
  ASSERT_FALSE(v["frame"].empty());
  const Bytes frame = Hex(v["frame"]);
  Result<EnvelopeView> env = DecodeEnvelope(frame);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(ToHex(env->body), v["body"]);
  EXPECT_EQ(ToHex(env->header_bytes), v["header"]);
  EXPECT_EQ(ToHex(env->signature), v["signature"]);
  EXPECT_EQ(ToHex(SignedBytes(env->body)), v["signed_bytes"]);
  EXPECT_EQ(ToHex(env->message_id()), v["message_id"]);
  EXPECT_EQ(ToHex(env->case_ref()), v["case_ref"]);
  EXPECT_EQ(env->sender(), v["sender"]);
  EXPECT_EQ(std::to_string(static_cast<int>(env->kind())), v["kind"]);
  EXPECT_EQ(std::to_string(static_cast<int>(env->handling())), v["handling"]);
  EXPECT_EQ(std::to_string(env->created_at_ms()), v["created_at_ms"]);
  EXPECT_EQ(ToHex(env->previous(0)), v["previous"]);  // Header.previous, the last field
  ASSERT_EQ(env->recipients().size(), 1u);
  EXPECT_EQ(env->recipients()[0], v["recipient"]);
  EXPECT_EQ(env->header->version(), 2);
  EXPECT_EQ(ToHex(env->epoch_key()), v["epoch_public"]);
  EXPECT_EQ(ToHex(View(env->body_table->keys()->Get(0)->wrapped())), v["wrapped"]);
  EXPECT_EQ(ToHex(View(env->body_table->nonce())), v["nonce"]);
  EXPECT_EQ(ToHex(View(env->body_table->ciphertext())), v["ciphertext"]);

  const Bytes sender_key = Hex(v["sender_sign_public"]);
  EXPECT_TRUE(crypto::Verify(sender_key, Hex(v["signed_bytes"]), Hex(v["signature"])).ok());
  crypto::SecretBytes secret = crypto::SecretBytes::FromBytes(Hex(v["recipient_box_secret"]));
  Result<Bytes> box_public = crypto::BoxPublicFromSecret(secret);
  ASSERT_TRUE(box_public.ok());
  EXPECT_EQ(ToHex(*box_public), v["recipient_box_public"]);
  // Each step of PROTOCOL.md §8 on its own, then the whole.
  Result<crypto::SecretBytes> shared = crypto::BoxBeforeNm(Hex(v["epoch_public"]), secret);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(ToHex(shared->view()), v["shared_key"]);
  Result<crypto::SecretBytes> content_key = crypto::UnwrapKey(*shared, Hex(v["wrapped"]));
  ASSERT_TRUE(content_key.ok());
  EXPECT_EQ(ToHex(content_key->view()), v["content_key"]);
  Reader reader(v["recipient"], secret.Clone());
  Result<crypto::SecretBytes> payload = OpenEnvelope(*env, sender_key, reader);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(ToHex(payload->view()), v["payload"]);
}

// The last version-1 vector, as the version-1 code wrote it: a version-2 reader refuses it.
TEST(VectorTest, EnvelopeV1IsRefused) {
  auto v = ReadVector("envelope_v1.txt");
  ASSERT_FALSE(v["frame"].empty());
  const Bytes frame = Hex(v["frame"]);
  Result<EnvelopeView> env = DecodeEnvelope(frame);
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("version 1 (expected 2)"), std::string::npos)
      << env.status().message();
}

TEST(VectorTest, DirectoryV1Verifies) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto v = ReadVector("directory_v1.txt");
  Result<std::string> text =
      ReadFile(std::string(NRM_SOURCE_DIR) + "/tests/vectors/directory_v1.toml");
  ASSERT_TRUE(text.ok());
  auto split = identity::SplitSignedDirectory(*text);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(ToHex(identity::DirectorySignedBytes(split->first)), v["signed_bytes"]);
  Result<identity::Directory> d = identity::Directory::Parse(
      *text, "directory_v1.toml", Hex(v["authority_sign_public"]), 1'796'000'000'000);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_NE(d->Find("TH.POLICE.CRI-ATU"), nullptr);
}

}  // namespace
}  // namespace nrm::wire
