// The links between national brokers over time: a partner that is down, a partner's directory
// that revokes an agency, an agreement that ends, the status each broker writes, and the
// directories a broker passes to its agencies.
#include <gtest/gtest.h>

#include <sstream>

#include "audit/big_endian.h"
#include "broker/config.h"
#include "policy/policy_file.h"
#include "tests/testing/federation_fixture.h"
#include "tests/testing/metrics_http.h"
#include "tools/commands.h"

namespace nrm::testing {
namespace {

using wire::Kind;

std::string Reason(const transport::Frames& f) {
  return f.size() >= 4 ? std::string(FrameText(f[2])) + ": " + std::string(FrameText(f[3]))
                       : "(no refusal)";
}

class FederationLinkTest : public FederationFixture {};

TEST_F(FederationLinkTest, MessagesWaitForAPartnerThatIsDownAndArriveOnceInOrder) {
  StartBroker("TH");  // Cambodia's broker is not running
  auto th = Connect("TH.NGO.RETURN-CRI");
  auto shelter = Connect("TH.SHELTER.KREDTRAKARN");
  ASSERT_TRUE(th && shelter);
  std::vector<Bytes> sent;
  for (int i = 0; i < 20; ++i) {
    wire::Sealed s = Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest,
                          "N" + std::to_string(i));
    transport::Frames answer = Send(*th, s.frame);
    ASSERT_EQ(FrameText(answer.at(0)), "ACCEPTED") << Reason(answer);
    sent.push_back(s.frame);
  }
  // Domestic traffic is not held up.
  wire::Sealed domestic =
      Seal("TH.NGO.RETURN-CRI", {"TH.SHELTER.KREDTRAKARN"}, Kind::ReferralOffer, "Domestic");
  ASSERT_EQ(FrameText(Send(*th, domestic.frame).at(0)), "ACCEPTED");
  EXPECT_EQ(Receive(*shelter), domestic.frame);
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["queued"] == 20 && !l["oldest_queued"].is_null();
  })) << LinkStatus("TH", "KH").dump();
  // Cambodia's broker comes back: each message arrives once, in the order sent.
  StartBroker("KH");
  auto kh = Connect("KH.NGO.PP-CARE");
  ASSERT_TRUE(kh);
  for (const Bytes& frame : sent) ASSERT_EQ(Receive(*kh), frame);
  EXPECT_TRUE(Receive(*kh, 1000).empty()) << "each once";
  EXPECT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["queued"] == 0 && l["relayed"] == 20 && l["connected"] == true;
  })) << LinkStatus("TH", "KH").dump();
  // nrm federation status tells an operator the same.
  std::ostringstream out, err;
  EXPECT_EQ(tools::FederationCommand({"status", "--data-dir", fed_.countries.at("TH").broker_data},
                                     out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("KH  KH.BROKER at ipc://"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("connected, agreement in force"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("relayed 20, last receipt 20"), std::string::npos) << out.str();
}

TEST_F(FederationLinkTest, ARelayLostWithItsConnectionGoesAgainBeforeANewerOne) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  auto kh = Connect("KH.NGO.PP-CARE");
  ASSERT_TRUE(th && kh);
  wire::Sealed first =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "First");
  ASSERT_EQ(FrameText(Send(*th, first.frame).at(0)), "ACCEPTED");
  EXPECT_EQ(Receive(*kh), first.frame);
  // Cambodia's broker stops reading, so that the next relay waits in its socket, and dies
  // with it unread; it restarts at once, long before the relay timeout (2 s here).
  ASSERT_EQ(::kill(brokers_["KH"], SIGSTOP), 0);
  wire::Sealed lost =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Lost");
  ASSERT_EQ(FrameText(Send(*th, lost.frame).at(0)), "ACCEPTED");
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) { return l["in_flight"] == 1; }))
      << LinkStatus("TH", "KH").dump();
  KillBroker("KH");
  StartBroker("KH");
  wire::Sealed newer =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Newer");
  ASSERT_EQ(FrameText(Send(*th, newer.frame).at(0)), "ACCEPTED");
  kh = Connect("KH.NGO.PP-CARE");
  ASSERT_TRUE(kh);
  // (The acknowledgement of the first may have died with the broker: then it comes again.)
  Bytes next = Receive(*kh);
  if (next == first.frame) next = Receive(*kh);
  EXPECT_EQ(next, lost.frame) << "the relay lost with the connection comes first";
  EXPECT_EQ(Receive(*kh), newer.frame);
}

TEST_F(FederationLinkTest, ARevokedForeignAgencyIsRefusedWithinSeconds) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  ASSERT_EQ(
      FrameText(
          Send(*th,
               Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "A").frame)
              .at(0)),
      "ACCEPTED");
  // Cambodia's authority revokes the NGO; its broker reloads.
  ASSERT_TRUE(tools::ResignDirectory(fed_.countries.at("KH"), [](std::string& body) {
                const std::string line = "id = \"KH.NGO.PP-CARE\"\n";
                body.replace(body.find(line), line.size(), line + "revoked = true\n");
                body.replace(body.find("serial = 1\n"), 11, "serial = 2\n");
              }).ok());
  const auto revoked_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(brokers_["KH"], SIGHUP), 0);
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["directory_serial"] == 2;
  })) << LinkStatus("TH", "KH").dump();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - revoked_at).count();
  EXPECT_LT(seconds, 5.0);
  transport::Frames answer = Send(
      *th, Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "B").frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_NE(Reason(answer).find("KH.NGO.PP-CARE is revoked"), std::string::npos) << Reason(answer);
  // The Thai broker keeps the new directory for its next start, and passes it to its agencies.
  Result<identity::Directory> kept = identity::Directory::Load(
      fed_.countries.at("TH").broker_data + "/partners/KH.directory.toml",
      fed_.countries.at("KH").authority.sign_public, SystemClock::Get().NowMillis());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->serial(), 2);
  Bytes zero(8, 0);
  ASSERT_TRUE(th->Send({Frame("PARTNER-DIRECTORY"), Frame("KH"), zero}).ok());
  transport::Frames d = Next(*th, {"PARTNER-DIRECTORY"});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(FrameText(d[1]), "KH");
  EXPECT_EQ(audit::GetBe64(d[2].data()), 2u);
  Result<identity::Directory> served = identity::Directory::Parse(
      std::string(FrameText(d[3])), "served", fed_.countries.at("KH").authority.sign_public,
      SystemClock::Get().NowMillis());
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(served->Find("KH.NGO.PP-CARE")->revoked);
  // Asked with the serial it has: nothing to send.
  ASSERT_TRUE(th->Send({Frame("PARTNER-DIRECTORY"), Frame("KH"), d[2]}).ok());
  d = Next(*th, {"PARTNER-DIRECTORY"});
  ASSERT_EQ(d.size(), 4u);
  EXPECT_TRUE(d[3].empty());
}

TEST_F(FederationLinkTest, TheLinksAreInTheMetricsByCountryOnly) {
  // The Thai broker serves its metrics (a top-level key: before the [[partner]] tables).
  const uint16_t port = FreePort();
  const std::string config = fed_.countries.at("TH").broker_config;
  Result<std::string> text = ReadFile(config);
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(WriteFileAtomic(
                  config, "metrics_listen = \"127.0.0.1:" + std::to_string(port) + "\"\n" + *text)
                  .ok());
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  auto kh = Connect("KH.NGO.PP-CARE");
  wire::Sealed sealed =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Canary-Metrics");
  ASSERT_EQ(FrameText(Send(*th, sealed.frame).at(0)), "ACCEPTED");
  EXPECT_EQ(Receive(*kh), sealed.frame);
  const std::string m =
      MetricsWhen(port, "nrm_broker_partner_relay_receipts_total{partner=\"KH\"}", 1);
  EXPECT_EQ(MetricValue(m, "nrm_broker_partner_relay_receipts_total{partner=\"KH\"}"), 1) << m;
  EXPECT_GE(MetricValue(m, "nrm_broker_partner_relays_total{partner=\"KH\"}"), 1);
  EXPECT_EQ(MetricValue(m, "nrm_broker_partner_connected{partner=\"KH\"}"), 1);
  EXPECT_EQ(MetricValue(m, "nrm_broker_partner_queue_messages{partner=\"KH\"}"), 0);
  EXPECT_GE(MetricValue(m, "nrm_broker_partner_last_relay_receipt_age_seconds{partner=\"KH\"}"), 0);
  // Myanmar's broker is not running: what is sent there waits, and its age is shown.
  wire::Sealed waiting =
      Seal("TH.NGO.RETURN-CRI", {"MM.NGO.TACHILEIK"}, Kind::RepatriationRequest, "Canary-Waits");
  ASSERT_EQ(FrameText(Send(*th, waiting.frame).at(0)), "ACCEPTED");
  const std::string later =
      MetricsWhen(port, "nrm_broker_partner_queue_messages{partner=\"MM\"}", 1);
  EXPECT_EQ(MetricValue(later, "nrm_broker_partner_queue_messages{partner=\"MM\"}"), 1) << later;
  EXPECT_GE(MetricValue(later, "nrm_broker_partner_queue_oldest_age_seconds{partner=\"MM\"}"), 0);
  EXPECT_EQ(MetricValue(later, "nrm_broker_partner_relay_receipts_total{partner=\"MM\"}"), 0);
  // No person, case or message in a label.
  EXPECT_EQ(later.find("Canary"), std::string::npos);
  EXPECT_EQ(later.find(ToHex(sealed.message_id)), std::string::npos);
  EXPECT_EQ(later.find(ToHex(Bytes(16, 7))), std::string::npos) << "the case reference";
  EXPECT_TRUE(PrometheusAccepts(later, tmp_.path()));
}

class ExpiringAgreementTest : public FederationFixture {
 protected:
  std::vector<tools::AgreementSpec> Agreements() const override {
    std::vector<tools::AgreementSpec> a = FederationFixture::Agreements();
    a[0].valid_until_ms = SystemClock::Get().NowMillis() + 6000;  // th-kh-2003 ends soon
    return a;
  }
};

TEST_F(ExpiringAgreementTest, AnAgreementThatExpiresStopsTheRoute) {
  StartBroker("TH");
  StartBroker("KH");
  auto th = Connect("TH.NGO.RETURN-CRI");
  auto kh = Connect("KH.NGO.PP-CARE");
  wire::Sealed before =
      Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Before");
  ASSERT_EQ(FrameText(Send(*th, before.frame).at(0)), "ACCEPTED");
  EXPECT_EQ(Receive(*kh), before.frame);
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["agreement_in_force"] == false;
  })) << LinkStatus("TH", "KH").dump();
  transport::Frames answer = Send(
      *th, Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "After").frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_NE(Reason(answer).find("agreement th-kh-2003 v1 (TH–KH MOU 2003) expired at"),
            std::string::npos)
      << Reason(answer);
}

TEST_F(FederationLinkTest, BothAuthoritiesEndAnAgreementWithANewVersionOnReload) {
  StartBroker("TH");
  StartBroker("KH");
  auto version_in_force = [](int64_t v) {
    return [v](const json::Json& l) {
      return l["agreements"].is_array() && l["agreements"].size() == 1 &&
             l["agreements"][0]["id"] == "th-kh-2003" && l["agreements"][0]["version"] == v;
    };
  };
  ASSERT_TRUE(WaitForLink("TH", "KH", version_in_force(1))) << LinkStatus("TH", "KH").dump();
  // Version 2, signed by both, valid until the next whole second; the Thai broker reloads it
  // and says so in its status file at once.
  const int64_t now = SystemClock::Get().NowMillis();
  tools::AgreementSpec ending = tools::GmsAgreements(now).at(0);
  ASSERT_EQ(ending.id, "th-kh-2003");
  ending.version = 2;
  ending.valid_until_ms = (now / 1000 + 1) * 1000;
  Result<policy::Policy> policy = policy::LoadPolicyFile(fed_.policy);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  ASSERT_TRUE(
      tools::WriteSignedAgreement(fed_, *policy, ending, fed_.agreements.at("th-kh-2003")).ok());
  ASSERT_EQ(::kill(brokers_["TH"], SIGHUP), 0);
  ASSERT_TRUE(WaitForLink("TH", "KH", version_in_force(2))) << LinkStatus("TH", "KH").dump();
  ASSERT_TRUE(WaitForLink("TH", "KH", [](const json::Json& l) {
    return l["agreement_in_force"] == false;
  })) << LinkStatus("TH", "KH").dump();
  auto th = Connect("TH.NGO.RETURN-CRI");
  transport::Frames answer = Send(
      *th, Seal("TH.NGO.RETURN-CRI", {"KH.NGO.PP-CARE"}, Kind::RepatriationRequest, "Late").frame);
  ASSERT_EQ(FrameText(answer.at(0)), "REFUSED");
  EXPECT_NE(Reason(answer).find("agreement th-kh-2003 v2 (TH–KH MOU 2003) expired at"),
            std::string::npos)
      << Reason(answer);
}

}  // namespace
}  // namespace nrm::testing

namespace nrm::testing {
namespace {

TEST(FederationConfigTest, MistakesNameTheFileAndLine) {
  TempDir tmp;
  const std::string path = tmp.path() + "/broker.toml";
  const std::string base =
      "bind = \"ipc://x\"\ndata_dir = \"d\"\ndirectory = \"dir.toml\"\npolicy = \"p.toml\"\n"
      "authority_key = \"" +
      std::string(64, 'a') + "\"\nkey_file = \"k\"\n";
  auto load = [&](const std::string& text) {
    EXPECT_TRUE(WriteFileAtomic(path, text).ok());
    return broker::LoadBrokerConfig(path);
  };
  Result<broker::BrokerConfig> c =
      load(base + "[[partner]]\nanchor = \"a\"\ndirectory = \"b\"\nagreements = [\"c\"]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("needs 'country'"), std::string::npos)
      << c.status().message();
  c = load(base + "country = \"Thailand\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("broker.toml:7"), std::string::npos) << c.status().message();
  c = load(base +
           "country = \"TH\"\n[[partner]]\nanchor = \"a\"\ndirectory = \"b\"\n"
           "agreements = [\"c\"]\nendpoint = \"http://x\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("endpoint must be"), std::string::npos)
      << c.status().message();
  c = load(base + "country = \"TH\"\n[[partner]]\nanchor = \"a\"\ndirectory = \"b\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("agreements"), std::string::npos) << c.status().message();
  c = load(base + "country = \"TH\"\nrelay_timeout_s = 0\n");
  ASSERT_FALSE(c.ok());
  c = load(base +
           "country = \"TH\"\nrelay_window = 8\n[[partner]]\nanchor = \"KH.anchor\"\n"
           "directory = \"KH.dir\"\nagreements = [\"th-kh.toml\"]\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->country, "TH");
  EXPECT_EQ(c->relay_window, 8);
  ASSERT_EQ(c->partners.size(), 1u);
  EXPECT_EQ(c->partners[0].anchor, tmp.path() + "/KH.anchor") << "relative to the config";
  EXPECT_EQ(c->partners[0].agreements.at(0), tmp.path() + "/th-kh.toml");
}

}  // namespace
}  // namespace nrm::testing
