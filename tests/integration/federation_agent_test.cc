// Agencies of national brokers (docs/PROTOCOL.md section 12.3): an agent with its partner
// countries' anchors takes their directories from its own broker (PARTNER-DIRECTORY), verifies
// each with the authority key of the anchor installed on its machine, seals to the foreign
// agencies they name and verifies what those send; a directory the broker passes on that the
// partner's authority did not sign is refused, and a revocation by the partner's authority
// reaches the agent.
#include <gtest/gtest.h>

#include "agent/agent.h"
#include "audit/big_endian.h"
#include "audit/checkpoint.h"
#include "audit/note.h"
#include "tests/testing/federation_fixture.h"

namespace nrm::testing {
namespace {

using wire::Kind;

constexpr char kThNgo[] = "TH.NGO.RETURN-CRI";
constexpr char kKhNgo[] = "KH.NGO.PP-CARE";

class FederationAgentTest : public FederationFixture {
 protected:
  // The agent of `agency`, with the anchors of `partners` installed (none: a national agent
  // that knows no partner), connected to its own country's broker.
  std::unique_ptr<agent::Agent> OpenAgent(const std::string& agency,
                                          const std::vector<std::string>& partners) {
    Result<std::string> text = ReadFile(fed_.AgentConfig(agency));
    EXPECT_TRUE(text.ok());
    std::string anchors;
    for (const std::string& cc : partners) {
      anchors += (anchors.empty() ? "\"" : ", \"") + fed_.countries.at(cc).anchor + "\"";
    }
    const std::string variant = partners.empty() ? "national" : "federated";
    const std::string path = fed_.AgentConfig(agency) + "." + variant + ".toml";
    EXPECT_TRUE(WriteFileAtomic(path, *text + "data_dir = \"" + agency + "-" + variant +
                                          "\"\npartner_anchors = [" + anchors + "]\n")
                    .ok());
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(path);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    data_dirs_[agency + "." + variant] = c->data_dir;
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*c, SystemClock::Get());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  static Bytes Payload(const std::string& name) {
    Result<Bytes> p = wire::PayloadFromJson(R"({"person": {"first_name": ")" + name + R"("}})");
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : Bytes{};
  }

  // The next message delivered to `a`, acknowledged; nullopt when none came in time.
  static std::optional<agent::Received> NextMessage(agent::Agent& a, int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      Result<std::optional<agent::Received>> r = a.Receive(200);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return std::nullopt;
      if (!r->has_value()) continue;
      EXPECT_TRUE(a.Acknowledge((*r)->message_id).ok());
      return std::move(**r);
    }
    return std::nullopt;
  }

  std::map<std::string, std::string> data_dirs_;  // "<agency>.<variant>" -> its data_dir
};

TEST_F(FederationAgentTest, ForeignAgenciesComeFromTheirAuthoritysDirectoryAndAreSealedTo) {
  StartBroker("TH");
  StartBroker("KH");
  const Bytes case_ref(16, 9);
  // Control: without the partner's anchor, the agent knows no Cambodian agency.
  {
    auto national = OpenAgent(kThNgo, {});
    ASSERT_NE(national, nullptr);
    EXPECT_EQ(national->directory().Find(kKhNgo), nullptr);
    Result<std::vector<agent::SendOutcome>> sent =
        national->Send({kKhNgo}, Kind::RepatriationRequest, case_ref, wire::Handling::H1,
                       Payload("Control"), 10000);
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.status().code(), Code::kNotFound) << sent.status().ToString();
  }
  auto th = OpenAgent(kThNgo, {"KH"});
  auto kh = OpenAgent(kKhNgo, {"TH"});
  ASSERT_TRUE(th && kh);
  const identity::Agency* foreign = th->directory().Find(kKhNgo);
  ASSERT_NE(foreign, nullptr) << "fetched from the Thai broker on connecting";
  EXPECT_EQ(foreign->box_key, Keys(kKhNgo).box_public);
  EXPECT_EQ(th->PartnerSerials().at("KH"), 1);
  EXPECT_EQ(th->directory().serial(), 1) << "the serial stays the own directory's";
  ASSERT_NE(kh->directory().Find(kThNgo), nullptr);

  Result<std::vector<agent::SendOutcome>> sent =
      th->Send({kKhNgo}, Kind::RepatriationRequest, case_ref, wire::Handling::H1,
               Payload("Canary-Dara"), 10000);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  ASSERT_EQ(sent->size(), 1u);
  ASSERT_TRUE(sent->front().accepted) << sent->front().code << ": " << sent->front().reason;
  EXPECT_TRUE(sent->front().receipt_leaf.has_value()) << "the Thai broker's receipt, checked";
  // The Cambodian agent verifies the Thai sender with the key of TH's directory and opens it.
  std::optional<agent::Received> got = NextMessage(*kh);
  ASSERT_TRUE(got.has_value()) << "relayed by the Thai broker, delivered by the Cambodian one";
  EXPECT_EQ(got->type, agent::Received::Type::kMessage) << got->refusal.ToString();
  EXPECT_EQ(got->sender, kThNgo);
  EXPECT_EQ(got->message_id, sent->front().message_id);
  EXPECT_EQ(got->kind, Kind::RepatriationRequest);
  // The Cambodian broker's relay receipt, passed on by the Thai broker and verified by the agent
  // with the log key of KH's directory.
  std::optional<agent::Received> receipt;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!receipt && std::chrono::steady_clock::now() < deadline) {
    Result<std::optional<agent::Received>> r = th->Receive(200);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (!r->has_value()) continue;
    ASSERT_TRUE(th->Acknowledge((*r)->message_id).ok());
    if ((*r)->type == agent::Received::Type::kRelayReceipt) receipt = std::move(**r);
  }
  ASSERT_TRUE(receipt.has_value()) << "no relay receipt reached the sender";
  EXPECT_EQ(receipt->message_id, sent->front().message_id);
  EXPECT_EQ(receipt->recipients, std::vector<std::string>{"@KH"});
  EXPECT_EQ(receipt->relay_receipt.rfind("KH.BROKER leaf ", 0), 0u) << receipt->relay_receipt;
  // Kept for the next start, where it is verified again.
  Result<identity::Directory> kept = identity::Directory::Load(
      data_dirs_.at(std::string(kThNgo) + ".federated") + "/partners/KH.directory.toml",
      fed_.countries.at("KH").authority.sign_public, SystemClock::Get().NowMillis());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->serial(), 1);
}

TEST_F(FederationAgentTest, ARelayReceiptCountsOnlyUnderThePartnersLogKey) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = OpenAgent(kThNgo, {"KH"});
  ASSERT_NE(th, nullptr);
  ASSERT_EQ(th->PartnerSerials().at("KH"), 1);
  const tools::NationalSetup& kh = fed_.countries.at("KH");
  Result<audit::note::VerifierKey> log =
      audit::LogVerifierKey(kh.log_origin, kh.broker.sign_public);
  ASSERT_TRUE(log.ok());
  // A checkpoint of KH's log of size 5, signed with `secret` under the name and key ID of KH's
  // log key.
  auto receipt = [&](const crypto::SecretBytes& secret, const std::string& country, uint64_t leaf) {
    audit::note::Note note;
    note.text = audit::FormatCheckpoint({log->name, 5, audit::Hash{}, {}});
    note.signatures.push_back(audit::note::SignEd25519(note.text, log->name, secret));
    note.signatures.back().key_id = log->key_id;
    Bytes be;
    audit::PutBe64(&be, leaf);
    return transport::Frames{transport::Frame("RELAY-RECEIPT"), Bytes(16, 4),
                             transport::Frame(country), be, ToBytes(audit::note::FormatNote(note))};
  };
  Result<agent::Received> good = th->OpenRelayReceipt(receipt(kh.broker.sign_secret, "KH", 3));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->type, agent::Received::Type::kRelayReceipt);
  EXPECT_EQ(good->relay_receipt, "KH.BROKER leaf 3 of its log of size 5");
  // Signed by another key (the Thai broker's): not a fact.
  Result<agent::Received> forged =
      th->OpenRelayReceipt(receipt(fed_.countries.at("TH").broker.sign_secret, "KH", 3));
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.status().code(), Code::kUnauthenticated) << forged.status().ToString();
  // A leaf outside its tree; a country whose directory the agent does not hold.
  Result<agent::Received> outside = th->OpenRelayReceipt(receipt(kh.broker.sign_secret, "KH", 5));
  EXPECT_EQ(outside.status().code(), Code::kUnauthenticated) << outside.status().ToString();
  Result<agent::Received> elsewhere = th->OpenRelayReceipt(receipt(kh.broker.sign_secret, "VN", 3));
  EXPECT_EQ(elsewhere.status().code(), Code::kPermissionDenied) << elsewhere.status().ToString();
}

TEST_F(FederationAgentTest, ADirectoryThePartnersAuthorityDidNotSignIsRefused) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = OpenAgent(kThNgo, {"KH"});
  ASSERT_NE(th, nullptr);
  ASSERT_EQ(th->PartnerSerials().at("KH"), 1);
  Bytes serial;
  audit::PutBe64(&serial, 2);
  // A broker that passes on, as Cambodia's, a directory signed by another authority (here
  // Thailand's, which names the Thai agencies), or Cambodia's with a changed byte.
  Result<std::string> thai = ReadFile(fed_.countries.at("TH").directory);
  Result<std::string> khmer = ReadFile(fed_.countries.at("KH").directory);
  ASSERT_TRUE(thai.ok() && khmer.ok());
  std::string changed = *khmer;
  changed.replace(changed.find("serial = 1\n"), 11, "serial = 2\n");
  for (const std::string& text : {*thai, changed}) {
    Status s = th->AdoptPartnerDirectory(
        {transport::Frame("PARTNER-DIRECTORY"), transport::Frame("KH"), serial, ToBytes(text)});
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(th->PartnerSerials().at("KH"), 1) << "the directory held stays in force";
    EXPECT_NE(th->directory().Find(kKhNgo), nullptr);
    EXPECT_EQ(th->directory().Find("TH.POLICE.CRI-ATU")->country, "TH");
  }
}

TEST_F(FederationAgentTest, ARevocationByThePartnersAuthorityReachesTheAgent) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = OpenAgent(kThNgo, {"KH"});
  ASSERT_NE(th, nullptr);
  ASSERT_FALSE(th->directory().Find(kKhNgo)->revoked);
  ASSERT_TRUE(tools::ResignDirectory(fed_.countries.at("KH"), [](std::string& body) {
                const std::string line = "id = \"KH.NGO.PP-CARE\"\n";
                body.replace(body.find(line), line.size(), line + "revoked = true\n");
                body.replace(body.find("serial = 1\n"), 11, "serial = 2\n");
              }).ok());
  ASSERT_EQ(::kill(brokers_["KH"], SIGHUP), 0);
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["directory_serial"] == 2;
  })) << LinkStatus("TH", "KH").dump();
  // The Thai broker passes it on; the agent verifies it with Cambodia's anchor.
  ASSERT_TRUE(th->FetchPartnerDirectories(5000).ok());
  EXPECT_EQ(th->PartnerSerials().at("KH"), 2);
  ASSERT_TRUE(th->directory().Find(kKhNgo)->revoked);
  Result<std::vector<agent::SendOutcome>> sent =
      th->Send({kKhNgo}, Kind::RepatriationRequest, Bytes(16, 3), wire::Handling::H1,
               Payload("Late"), 10000);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.status().code(), Code::kPermissionDenied) << sent.status().ToString();
}

}  // namespace
}  // namespace nrm::testing
