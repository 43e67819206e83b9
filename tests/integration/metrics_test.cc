// The broker's metrics (docs/OPERATIONS.md, "Metrics"): a real nrm-broker serving Prometheus
// text on 127.0.0.1, checked by what it counts, by promtool and by the Python client's parser,
// and for what it must never hold (a person, a case).
#include <gtest/gtest.h>


#include "common/http/metrics.h"
#include "tests/testing/broker_fixture.h"
#include "tests/testing/metrics_http.h"

namespace nrm {
namespace {

const std::string kPolice = "TH.POLICE.CRI-ATU";
const std::string kShelter = "TH.SHELTER.KREDTRAKARN";
const std::string kShelter2 = "TH.SHELTER.BAN-PING";

class MetricsTest : public testing::BrokerFixture {
 protected:
  std::string ExtraBrokerConfig() const override {
    return "metrics_listen = \"127.0.0.1:" + std::to_string(port_) + "\"\n";
  }

  uint16_t port_ = testing::FreePort();
};

TEST_F(MetricsTest, CountsWhatHappenedAndNeverAPersonOrACase) {
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(police && shelter);
  const Bytes case_ref(16, 0x5a);
  Result<agent::SendOutcome> sent = One(police->Send(
      {kShelter}, wire::Kind::ReferralOffer, case_ref, wire::Handling::H1,
      Payload("Nang Metricscanary"), 10000));
  ASSERT_TRUE(sent.ok() && sent->accepted);
  // The policy refuses counselling notes to the police.
  Result<agent::SendOutcome> refused = One(shelter->Send(
      {kPolice}, wire::Kind::CounsellingNotes, case_ref, wire::Handling::H1, Payload("x"), 10000));
  ASSERT_TRUE(refused.ok() && !refused->accepted);
  Result<std::optional<agent::Received>> got = shelter->Receive(10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  ASSERT_TRUE(shelter->Acknowledge((*got)->message_id).ok());
  // One more for a shelter that is not connected: it waits in its queue.
  ASSERT_TRUE(Offer(*police, kShelter2, Payload("y"))->accepted);

  const std::string m = testing::MetricsWhen(port_, "nrm_broker_acknowledged_total", 1);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_envelopes_received_total{kind=\"referral_offer\"}"), 2) << m;
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_envelopes_accepted_total{kind=\"referral_offer\"}"), 2);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_envelopes_refused_total{kind=\"counselling_notes\","
                     "reason=\"permission_denied\"}"),
            1);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_acknowledged_total"), 1);
  EXPECT_GE(testing::MetricValue(m, "nrm_broker_deliveries_total"), 1);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_queue_messages{agency=\"" + kShelter + "\"}"), 0);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_queue_messages{agency=\"" + kShelter2 + "\"}"), 1);
  const double age = testing::MetricValue(m, "nrm_broker_queue_oldest_age_seconds{agency=\"" + kShelter2 + "\"}");
  EXPECT_GE(age, 1.0) << "the message waited over a second before the metrics were read";
  EXPECT_LT(age, 60.0);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_connected_agencies"), 2);
  EXPECT_GE(testing::MetricValue(m, "nrm_broker_commits_total"), 3);
  EXPECT_GE(testing::MetricValue(m, "nrm_broker_commit_duration_seconds_count"), 3);
  EXPECT_GE(testing::MetricValue(m, "nrm_broker_audit_tree_size"), 5);
  EXPECT_GE(testing::MetricValue(m, "nrm_broker_audit_checkpoint_age_seconds"), 0);
  EXPECT_EQ(testing::MetricValue(m, "nrm_broker_disk_reserve_reached"), 0);
  EXPECT_NE(m.find("nrm_build_info{program=\"nrm-broker\",version=\""), std::string::npos);

  // Never a person, a case reference or a message id.
  EXPECT_EQ(m.find("Metricscanary"), std::string::npos);
  EXPECT_EQ(m.find(ToHex(case_ref)), std::string::npos);
  EXPECT_EQ(m.find(ToHex(sent->message_id)), std::string::npos);

  EXPECT_TRUE(testing::PrometheusAccepts(m, tmp_.path()));
}

TEST_F(MetricsTest, OnlyGetMetricsIsServed) {
  Result<testing::HttpAnswer> other = testing::HttpRequest(port_, "GET", "/");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->status, 404);
  Result<testing::HttpAnswer> post = testing::HttpRequest(port_, "POST", "/metrics");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 405);
}

TEST(MetricsConfigTest, OnlyALoopbackAddressIsTaken) {
  EXPECT_TRUE(ParseMetricsListen("127.0.0.1:9470").ok());
  EXPECT_TRUE(ParseMetricsListen("127.0.0.1:0").ok());
  for (const char* bad : {"0.0.0.0:9470", "10.1.2.3:9470", "127.0.0.1", "127.0.0.1:99999",
                          "localhost:9470", ":9470", "127.0.0.1:94x0"}) {
    Result<std::pair<std::string, uint16_t>> r = ParseMetricsListen(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
  EXPECT_NE(ParseMetricsListen("0.0.0.0:9470").status().message().find("loopback"),
            std::string::npos);
}

}  // namespace
}  // namespace nrm
