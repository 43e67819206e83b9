// The running agent's metrics (docs/OPERATIONS.md, "Metrics"), on real nrm-broker and nrm-agent
// processes: the link, the steps per state and the oldest waiting through an outage, deliveries,
// and never a person or a case.
#include <gtest/gtest.h>

#include "tests/testing/agent_fixture.h"
#include "tests/testing/metrics_http.h"

namespace nrm {
namespace {

using testing::Cli;
using testing::kPolice;
using testing::kShelterA;
using testing::MetricsWhen;
using testing::MetricValue;

class AgentMetricsTest : public testing::DaemonFixture {};

TEST_F(AgentMetricsTest, TheLinkTheStepsAndTheDeliveries) {
  const uint16_t police_port = testing::FreePort();
  AddToAgentConfig(kPolice, "answer_timeout_s = 2\nmetrics_listen = \"127.0.0.1:" +
                                std::to_string(police_port) + "\"\n");
  StartAgent(kPolice);
  KillBroker();
  const std::string file =
      WriteJson("offer.json", VictimFile("Metricscanary", "\"shelter\""));
  Cli o = Run(kPolice, {"offer", "--to", kShelterA, "--file", file, "--json"});
  ASSERT_EQ(o.code, 0) << o.out;
  const std::string case_ref = Field(o.out, "case");
  ASSERT_FALSE(case_ref.empty()) << o.out;

  // The broker is down: the step waits, and the agent says it is offline once no WELCOME came
  // for 5 s (agent/connection.h).
  std::string m = MetricsWhen(police_port, "nrm_agent_steps{state=\"waiting_to_send\"}", 1);
  m = MetricsWhen(police_port, "nrm_agent_connected", 0);
  EXPECT_EQ(MetricValue(m, "nrm_agent_steps{state=\"waiting_to_send\"}"), 1) << m;
  EXPECT_EQ(MetricValue(m, "nrm_agent_connected"), 0);
  EXPECT_GT(MetricValue(m, "nrm_agent_offline_seconds"), 0);
  EXPECT_GE(MetricValue(m, "nrm_agent_oldest_waiting_step_age_seconds"), 0);
  EXPECT_EQ(MetricValue(m, "nrm_agent_log_alarm"), 0);
  EXPECT_EQ(MetricValue(m, "nrm_agent_directory_serial"), 1);
  EXPECT_NE(m.find("nrm_build_info{program=\"nrm-agent\""), std::string::npos);
  EXPECT_TRUE(testing::PrometheusAccepts(m, tmp_.path()));

  // The broker returns and the shelter takes the step: delivered, nothing waits.
  const uint16_t shelter_port = testing::FreePort();
  AddToAgentConfig(kShelterA, "metrics_listen = \"127.0.0.1:" + std::to_string(shelter_port) + "\"\n");
  StartBroker();
  StartAgent(kShelterA);
  m = MetricsWhen(police_port, "nrm_agent_steps{state=\"delivered\"}", 1);
  EXPECT_EQ(MetricValue(m, "nrm_agent_steps{state=\"delivered\"}"), 1) << m << Log(kPolice);
  EXPECT_EQ(MetricValue(m, "nrm_agent_steps{state=\"waiting_to_send\"}"), 0);
  EXPECT_EQ(MetricValue(m, "nrm_agent_connected"), 1);
  EXPECT_EQ(MetricValue(m, "nrm_agent_offline_seconds"), 0);
  EXPECT_EQ(MetricValue(m, "nrm_agent_oldest_waiting_step_age_seconds"), 0);
  const std::string s = MetricsWhen(shelter_port, "nrm_agent_deliveries_total{type=\"envelope\"}", 1);
  EXPECT_EQ(MetricValue(s, "nrm_agent_deliveries_total{type=\"envelope\"}"), 1) << s;
  EXPECT_GT(MetricValue(s, "nrm_agent_last_delivery_timestamp_seconds"), 1.7e9);

  // Never a person or a case.
  for (const std::string& text : {m, s}) {
    EXPECT_EQ(text.find("Metricscanary"), std::string::npos);
    EXPECT_EQ(text.find(case_ref), std::string::npos) << case_ref;
  }
}

}  // namespace
}  // namespace nrm
