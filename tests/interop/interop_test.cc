// A second implementation of the protocol, in Python (tests/interop/python_agent.py, written
// from docs/PROTOCOL.md with pyzmq, PyNaCl and flatc's Python code), talks to a real broker and
// to C++ agents in both directions.
#include <gtest/gtest.h>

#include "tests/testing/broker_fixture.h"

namespace nrm {
namespace {

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";

class InteropTest : public testing::BrokerFixture {
 protected:
  // Runs python_agent.py as `agency`; returns its exit code and output.
  std::pair<int, std::string> Python(const std::string& agency, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     std::string(NRM_SOURCE_DIR) + "/tests/interop/python_agent.py",
                                     "--gen",
                                     NRM_PYGEN_DIR,
                                     "--config",
                                     scenario_.AgentConfig(agency)};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string log = tmp_.path() + "/logs/python." + std::to_string(++runs_) + ".out";
    Result<pid_t> pid = tools::Spawn(argv, log);
    EXPECT_TRUE(pid.ok());
    Result<int> code = tools::WaitExit(*pid, 30000);
    EXPECT_TRUE(code.ok());
    Result<std::string> out = ReadFile(log);
    return {code.ok() ? *code : -1, out.ok() ? *out : ""};
  }

  int runs_ = 0;
};

TEST_F(InteropTest, PythonAgentSendsAndACppAgentOpens) {
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  auto [code, out] = Python(kPolice, {"send", "--to", kShelter, "--name", "PyCanary-7f3a"});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(out.starts_with("accepted ")) << out;  // the broker's receipt verified in Python

  Result<std::optional<agent::Received>> got = shelter->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ(ToHex((*got)->message_id), out.substr(9, 32));
  EXPECT_EQ((*got)->sender, kPolice);
  EXPECT_EQ((*got)->kind, wire::Kind::ReferralOffer);
  Result<std::string> json = wire::PayloadToJson((*got)->payload.view());
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("PyCanary-7f3a"), std::string::npos) << *json;
}

TEST_F(InteropTest, CppAgentSendsAndAPythonAgentOpens) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Result<agent::SendOutcome> sent = Offer(*police, kShelter, Payload("CppCanary-19c2"));
  ASSERT_TRUE(sent.ok() && sent->accepted);
  auto [code, out] = Python(kShelter, {"receive"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "received kind 1 from TH.POLICE.CRI-ATU first_name=CppCanary-19c2\n");
}

TEST_F(InteropTest, PythonAgentWithAKeyOutsideTheDirectoryGetsNothingThrough) {
  // Same config, but its CURVE key replaced: the broker's ZAP handler refuses the handshake.
  identity::KeySet stranger = identity::GenerateKeySet(kPolice);
  Result<identity::KeySet> real = identity::LoadSecretKeyFile(scenario_.KeyFile(kPolice));
  ASSERT_TRUE(real.ok());
  stranger.sign_secret = real->sign_secret.Clone();
  stranger.box_secret = real->box_secret.Clone();
  ASSERT_TRUE(identity::WriteSecretKeyFile(scenario_.KeyFile(kPolice), stranger).ok());
  auto [code, out] = Python(kPolice, {"send", "--to", kShelter, "--name", "x", "--timeout", "2"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("no answer from the broker"), std::string::npos) << out;
}

}  // namespace
}  // namespace nrm
