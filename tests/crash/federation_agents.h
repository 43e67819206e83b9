// Real agents (nrm::agent::Agent) of national brokers, for the federation's crash and outage
// tests (issue 16): each agent holds the anchor of its partner country, so that it seals to the
// foreign agency, verifies what that agency sends, and checks the relay receipts its broker
// passes on. The brokers are real nrm-broker processes (tests/testing/federation_fixture.h).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "agent/agent.h"
#include "tests/testing/federation_fixture.h"

namespace nrm::testing {

inline int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

class FederationAgentsFixture : public FederationFixture {
 protected:
  // The agent of `agency`, with the anchor of `partner` installed, connected to its own
  // country's broker (which must be running).
  std::unique_ptr<agent::Agent> OpenAgent(const std::string& agency, const std::string& partner) {
    Result<std::string> text = ReadFile(fed_.AgentConfig(agency));
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return nullptr;
    const std::string path = fed_.AgentConfig(agency) + ".federated.toml";
    EXPECT_TRUE(WriteFileAtomic(path, *text + "data_dir = \"" + agency +
                                          "-data\"\npartner_anchors = [\"" +
                                          fed_.countries.at(partner).anchor + "\"]\n")
                    .ok());
    Result<agent::AgentConfig> c = agent::LoadAgentConfig(path);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (!c.ok()) return nullptr;
    Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*c, SystemClock::Get(), 10000);
    EXPECT_TRUE(a.ok()) << agency << ": " << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }

  // A payload naming the person `name`: each message its own, so that a repeat is recognisable.
  static Bytes Payload(const std::string& name) {
    Result<Bytes> p = wire::PayloadFromJson(R"({"person": {"first_name": ")" + name + R"("}})");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : Bytes{};
  }

  // The outbox's contract: seal once, submit the same envelope until the broker accepts it
  // (through kills and restarts of the broker). False, with a test failure, when it is refused.
  static bool SubmitUntilAccepted(agent::Agent& a, const wire::Sealed& sealed) {
    while (true) {
      Result<agent::SendOutcome> out = a.Submit(sealed, 3000);
      if (out.ok() && out->accepted) return true;
      if (out.ok()) {
        ADD_FAILURE() << "refused: " << out->code << " " << out->reason;
        return false;
      }
      // Not connected (the broker is down or restarting): Submit returns at once, so wait a
      // little before the next try rather than spin.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Whether `cc`'s broker's audit log verifies as an auditor checks it, with `nrm audit verify`
  // on its data directory (the broker stopped).
  void ExpectAuditVerifies(const std::string& cc) {
    const tools::NationalSetup& n = fed_.countries.at(cc);
    const std::string out = n.dir + "/logs/audit-verify.out";
    Result<pid_t> verify = tools::Spawn({BinDir() + "/nrm", "audit", "verify", n.broker_data}, out);
    ASSERT_TRUE(verify.ok()) << verify.status().ToString();
    Result<int> verified = tools::WaitExit(*verify, 120000);
    ASSERT_TRUE(verified.ok()) << verified.status().ToString();
    Result<std::string> text = ReadFile(out);
    EXPECT_EQ(*verified, 0) << cc << "'s audit log: " << (text.ok() ? *text : "");
  }
};

}  // namespace nrm::testing
