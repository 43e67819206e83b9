// National brokers as real nrm-broker processes, one per country of a federation
// (tools/federation_scenario.h), and a raw client per agency that seals, sends, receives and
// acknowledges envelopes itself: the brokers' side of the federation, without agents.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <map>
#include <thread>

#include "audit/audit_reader.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "common/transport/transport.h"
#include "schemas/wire/envelope.h"
#include "schemas/wire/payload.h"
#include "tests/testing/temp_dir.h"
#include "tools/federation_scenario.h"
#include "tools/process.h"

namespace nrm::testing {

using transport::Frame;
using transport::FrameText;

// The agencies of the federation tests: two in TH, two in KH, one each in MM and VN.
inline std::vector<tools::ScenarioAgency> FederationAgencies() {
  return {{"TH.NGO.RETURN-CRI", "ngo", "TH", "Chiang Rai", "Return NGO"},
          {"TH.POLICE.CRI-ATU", "police", "TH", "Chiang Rai", "Police ATU"},
          {"TH.SHELTER.KREDTRAKARN", "shelter", "TH", "Nonthaburi", "Shelter"},
          {"KH.NGO.PP-CARE", "ngo", "KH", "Phnom Penh", "Family Care"},
          {"KH.POLICE.PP", "police", "KH", "Phnom Penh", "Police"},
          {"MM.NGO.TACHILEIK", "ngo", "MM", "Shan", "Community Support"},
          {"VN.SHELTER.HANOI", "shelter", "VN", "Ha Noi", "Peace House"}};
}

class FederationFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  virtual std::vector<tools::AgreementSpec> Agreements() const {
    return tools::GmsAgreements(SystemClock::Get().NowMillis());
  }
  virtual std::string ExtraBrokerConfig() const { return "relay_timeout_s = 2\n"; }

  void SetUp() override {
    Result<tools::FederationSetup> f = tools::CreateFederation(tmp_.path(), FederationAgencies(),
                                                               Agreements(), ExtraBrokerConfig());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fed_ = std::move(*f);
  }

  void TearDown() override {
    for (auto& [cc, pid] : brokers_) {
      if (pid > 0) {
        Result<int> code = tools::Stop(pid, 5000);
        EXPECT_TRUE(code.ok() && *code == 0)
            << "the broker of " << cc << " did not stop cleanly ("
            << (code.ok() ? "exit " + std::to_string(*code) : code.status().ToString())
            << "):\n" << BrokerOutput(cc);
      }
    }
  }

  void StartBroker(const std::string& cc) {
    const tools::NationalSetup& n = fed_.countries.at(cc);
    std::remove(n.endpoint_file.c_str());
    Result<pid_t> pid = tools::Spawn({BinDir() + "/nrm-broker", "--config", n.broker_config},
                                     n.dir + "/logs/broker.out");
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    brokers_[cc] = *pid;
    ASSERT_TRUE(tools::WaitForFile(n.endpoint_file, 10000).ok()) << BrokerOutput(cc);
  }
  void StopBroker(const std::string& cc) {
    Result<int> code = tools::Stop(brokers_[cc], 5000);
    EXPECT_TRUE(code.ok() && *code == 0) << BrokerOutput(cc);
    brokers_[cc] = -1;
  }
  void KillBroker(const std::string& cc) {
    ASSERT_EQ(::kill(brokers_[cc], SIGKILL), 0);
    ASSERT_TRUE(tools::WaitExit(brokers_[cc], 5000).ok());
    brokers_[cc] = -1;
  }
  std::string BrokerOutput(const std::string& cc) {
    Result<std::string> out = ReadFile(fed_.countries.at(cc).dir + "/logs/broker.out");
    return out.ok() ? *out : out.status().ToString();
  }

  identity::KeySet Keys(const std::string& agency) {
    Result<identity::KeySet> k = identity::LoadSecretKeyFile(fed_.KeyFile(agency));
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return std::move(*k);
  }
  identity::Directory DirectoryOf(const std::string& cc) {
    const tools::NationalSetup& n = fed_.countries.at(cc);
    Result<identity::Directory> d = identity::Directory::Load(n.directory, n.authority.sign_public,
                                                              SystemClock::Get().NowMillis());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return std::move(*d);
  }

  // A raw client of `agency` connected to its own country's broker.
  std::unique_ptr<transport::Client> Connect(const std::string& agency) {
    const tools::NationalSetup& n = fed_.Of(agency);
    identity::KeySet k = Keys(agency);
    transport::ClientOptions o;
    o.endpoint = n.endpoint;
    o.server_curve_public = n.broker.curve_public;
    o.curve_public = k.curve_public;
    o.curve_secret = k.curve_secret.Clone();
    Result<std::unique_ptr<transport::Client>> c = transport::Client::Connect(std::move(o), 5000);
    EXPECT_TRUE(c.ok()) << agency << ": " << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // An envelope from `from` to `to` (looked up in their countries' directories) holding a
  // payload with the person's first name `name`.
  wire::Sealed Seal(const std::string& from, const std::vector<std::string>& to, wire::Kind kind,
                    const std::string& name, wire::Handling handling = wire::Handling::H1) {
    identity::KeySet k = Keys(from);
    std::vector<wire::Recipient> recipients;
    for (const std::string& id : to) {
      identity::Directory d = DirectoryOf(id.substr(0, 2));
      const identity::Agency* a = d.Find(id);
      EXPECT_NE(a, nullptr) << id;
      if (a != nullptr) recipients.push_back({id, a->box_key});
    }
    Result<Bytes> payload =
        wire::PayloadFromJson(R"({"person": {"first_name": ")" + name + R"("}})");
    EXPECT_TRUE(payload.ok());
    wire::HeaderFields h;
    h.sender = from;
    h.kind = kind;
    h.case_ref = Bytes(16, 7);
    h.handling = handling;
    h.created_at_ms = SystemClock::Get().NowMillis();
    Result<wire::Sealed> sealed =
        wire::SealEnvelope(h, recipients, *payload, k.sign_secret, epoch_);
    EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
    return std::move(*sealed);
  }

  // The broker's answer to SEND `frame`.
  transport::Frames Send(transport::Client& c, const Bytes& frame) {
    EXPECT_TRUE(c.Send({Frame("SEND"), frame}).ok());
    return Next(c, {"ACCEPTED", "REFUSED"});
  }
  // The next message whose verb is one of `verbs`, within `timeout_ms`; empty when none came.
  static transport::Frames Next(transport::Client& c, const std::vector<std::string>& verbs,
                                int timeout_ms = 10000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      Result<std::optional<transport::Frames>> r = c.Receive(100);
      if (!r.ok() || !r->has_value() || (*r)->empty()) continue;
      for (const std::string& v : verbs) {
        if (FrameText((**r)[0]) == v) return **r;
      }
    }
    return {};
  }
  // The next envelope delivered to `c`, acknowledged; empty when none came in time.
  static Bytes Receive(transport::Client& c, int timeout_ms = 10000) {
    EXPECT_TRUE(c.Send({Frame("HELLO")}).ok());
    transport::Frames d = Next(c, {"DELIVER"}, timeout_ms);
    if (d.size() != 2) return {};
    Result<wire::EnvelopeView> env = wire::DecodeEnvelope(d[1]);
    EXPECT_TRUE(env.ok());
    if (env.ok()) {
      EXPECT_TRUE(
          c.Send({Frame("ACK"), Bytes(env->message_id().begin(), env->message_id().end())}).ok());
    }
    return d[1];
  }

  // `cc`'s broker's data_dir/federation.json, or null when it cannot be read yet.
  json::Json LinkStatus(const std::string& cc, const std::string& partner) {
    Result<std::string> text = ReadFile(fed_.countries.at(cc).broker_data + "/federation.json");
    if (!text.ok()) return nullptr;
    Result<json::Json> doc = json::Parse(*text);
    if (!doc.ok()) return nullptr;
    for (const json::Json& l : (*doc)["links"]) {
      if (l["country"] == partner) return l;
    }
    return nullptr;
  }
  // Polls `cc`'s link to `partner` until `done(status)` holds; false after `timeout_ms`.
  bool WaitForLink(const std::string& cc, const std::string& partner,
                   const std::function<bool(const json::Json&)>& done, int timeout_ms = 15000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      json::Json l = LinkStatus(cc, partner);
      if (!l.is_null() && done(l)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Every record of `cc`'s audit log, verified (stop the broker first).
  std::vector<audit::AuditRecord> AuditOf(const std::string& cc) {
    std::vector<audit::AuditRecord> out;
    Status s = audit::ReadVerifiedRecords(
        fed_.countries.at(cc).broker_data + "/store",
        [&](uint64_t, const audit::AuditRecord& r) { out.push_back(r); });
    EXPECT_TRUE(s.ok()) << cc << ": " << s.ToString();
    return out;
  }

  TempDir tmp_;
  tools::FederationSetup fed_;
  std::map<std::string, pid_t> brokers_;
  wire::SenderEpoch epoch_{SystemClock::Get()};
};

}  // namespace nrm::testing
