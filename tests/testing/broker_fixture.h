// A real nrm-broker process for a test, with the scenario's keys, directory and policy, and
// helpers to open agents and to speak the raw protocol.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <functional>

#include "agent/agent.h"
#include "audit/audit_reader.h"
#include "common/file_util.h"
#include "schemas/wire/payload.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"
#include "tools/scenario.h"

namespace nrm::testing {

using transport::Frame;
using transport::FrameText;

class BrokerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(crypto::InitCrypto().ok()); }

  virtual std::string ExtraBrokerConfig() const { return ""; }
  virtual std::vector<tools::ScenarioAgency> Agencies() const { return tools::GmsAgencies(); }

  void SetUp() override {
    Result<tools::Scenario> s = tools::CreateScenario(tmp_.path(), Agencies(), ExtraBrokerConfig());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    scenario_ = std::move(*s);
    StartBroker();
  }

  void TearDown() override {
    if (broker_pid_ > 0) {
      Result<int> code = tools::Stop(broker_pid_, 5000);
      EXPECT_TRUE(code.ok() && *code == 0) << "the broker did not stop cleanly";
    }
  }

  void StartBroker() {
    std::remove(scenario_.endpoint_file.c_str());
    Result<pid_t> pid =
        tools::Spawn({BinDir() + "/nrm-broker", "--config", scenario_.broker_config},
                     tmp_.path() + "/logs/broker.out");
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    broker_pid_ = *pid;
    ASSERT_TRUE(tools::WaitForFile(scenario_.endpoint_file, 10000).ok())
        << ReadFile(tmp_.path() + "/logs/broker.out").status().ToString();
    ASSERT_TRUE(scenario_.PinBrokerEndpoint().ok())
        << ReadFile(tmp_.path() + "/logs/broker.out").status().ToString();
  }

  void KillBroker() {
    ASSERT_EQ(::kill(broker_pid_, SIGKILL), 0);
    ASSERT_TRUE(tools::WaitExit(broker_pid_, 5000).ok());
    broker_pid_ = -1;
  }

  std::unique_ptr<agent::Agent> OpenAgent(const std::string& id, const Clock& clock) {
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(scenario_.AgentConfig(id));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*c, clock);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }
  std::unique_ptr<agent::Agent> OpenAgent(const std::string& id) {
    return OpenAgent(id, SystemClock::Get());
  }

  Bytes Payload(const std::string& name) {
    Result<Bytes> p = wire::PayloadFromJson(R"({"person": {"first_name": ")" + name + R"("}})");
    EXPECT_TRUE(p.ok());
    return *p;
  }

  Result<agent::SendOutcome> Offer(agent::Agent& from, const std::string& to, const Bytes& p) {
    return One(
        from.Send({to}, wire::Kind::ReferralOffer, Bytes(16, 1), wire::Handling::H1, p, 10000));
  }

  // The outcome of a send that made one envelope (one recipient role).
  static Result<agent::SendOutcome> One(Result<std::vector<agent::SendOutcome>> outcomes) {
    if (!outcomes.ok()) return outcomes.status();
    EXPECT_EQ(outcomes->size(), 1u);
    if (outcomes->empty()) return Internal("no envelope");
    return outcomes->front();
  }

  // A raw transport client with `keys`' CURVE key, for what a well-behaved agent never sends.
  Result<std::unique_ptr<transport::Client>> RawClient(const identity::KeySet& keys) {
    NRM_ASSIGN_OR_RETURN(std::string endpoint, ReadFile(scenario_.endpoint_file));
    endpoint.pop_back();
    transport::ClientOptions o;
    o.endpoint = endpoint;
    o.server_curve_public = scenario_.broker.curve_public;
    o.curve_public = keys.curve_public;
    o.curve_secret = keys.curve_secret.Clone();
    return transport::Client::Connect(std::move(o), 3000);
  }

  // The broker's answer to a raw SEND.
  transport::Frames SendRaw(transport::Client& c, const Bytes& frame) {
    EXPECT_TRUE(c.Send({Frame("SEND"), frame}).ok());
    Result<std::optional<transport::Frames>> r = c.Receive(5000);
    EXPECT_TRUE(r.ok() && r->has_value()) << "no answer from the broker";
    return r.ok() && r->has_value() ? **r : transport::Frames{};
  }

  // Signs a new directory from the one in force after `edit`, and has the broker reload it.
  void ReloadDirectory(const std::function<void(std::string&)>& edit) {
    const std::string path = tmp_.path() + "/directory.toml";
    Result<std::string> text = ReadFile(path);
    ASSERT_TRUE(text.ok());
    std::string body(identity::SplitSignedDirectory(*text)->first);
    edit(body);
    Result<std::string> signed_text =
        identity::SignDirectory(body, path, scenario_.authority, SystemClock::Get().NowMillis());
    ASSERT_TRUE(signed_text.ok()) << signed_text.status().ToString();
    ASSERT_TRUE(WriteFileAtomic(path, *signed_text).ok());
    ASSERT_EQ(::kill(broker_pid_, SIGHUP), 0);
  }

  // Stops the broker and reads its verified audit log: every record, in order.
  std::vector<audit::AuditRecord> StopAndReadAudit() {
    if (broker_pid_ > 0) {
      Result<int> code = tools::Stop(broker_pid_, 5000);
      EXPECT_TRUE(code.ok() && *code == 0) << "the broker did not stop cleanly";
      broker_pid_ = -1;
    }
    std::vector<audit::AuditRecord> records;
    Status s = audit::ReadVerifiedRecords(
        scenario_.broker_data + "/store",
        [&](uint64_t, const audit::AuditRecord& r) { records.push_back(r); });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return records;
  }

  static void Revoke(std::string& body, const std::string& id) {
    const std::string line = "id = \"" + id + "\"\n";
    body.replace(body.find(line), line.size(), line + "revoked = true\n");
    body.replace(body.find("serial = 1\n"), 11, "serial = 2\n");
  }

  TempDir tmp_;
  tools::Scenario scenario_;
  pid_t broker_pid_ = -1;
};

}  // namespace nrm::testing
