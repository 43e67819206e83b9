// A BrokerFixture with more agencies and the helpers the reliability tests share: raw clients
// with an agency's own keys, the broker's resident memory, and the audit log's events.
#pragma once

#include <sys/wait.h>

#include <fstream>
#include <map>
#include <string>

#include "audit/audit_log.h"
#include "audit/audit_reader.h"
#include "tests/testing/broker_fixture.h"

namespace nrm::testing {

inline const std::string kPolice = "TH.POLICE.CRI-ATU";
inline const std::string kShelter = "TH.SHELTER.KREDTRAKARN";
inline const std::string kShelter2 = "TH.SHELTER.BAN-PING";
inline const std::string kMmNgo = "MM.NGO.YANGON-CARE";

// The file's contents, or "" when it cannot be read (for failure messages).
inline std::string ReadOrEmpty(const std::string& path) {
  Result<std::string> r = ReadFile(path);
  return r.ok() ? *r : std::string();
}

class ReliabilityFixture : public BrokerFixture {
 protected:
  std::vector<tools::ScenarioAgency> Agencies() const override {
    return {{kPolice, "police", "TH", "Chiang Rai", "Chiang Rai ATU"},
            {kShelter, "shelter", "TH", "Nonthaburi", "Kredtrakarn"},
            {kShelter2, "shelter", "TH", "Chiang Mai", "Baan Ping"},
            {kMmNgo, "ngo", "MM", "Yangon", "Yangon Care"}};
  }

  identity::KeySet Keys(const std::string& id) {
    Result<identity::KeySet> k = identity::LoadSecretKeyFile(scenario_.KeyFile(id));
    EXPECT_TRUE(k.ok()) << k.status().ToString();
    return k.ok() ? std::move(*k) : identity::KeySet{};
  }

  std::unique_ptr<transport::Client> Raw(const std::string& id) {
    Result<std::unique_ptr<transport::Client>> c = RawClient(Keys(id));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // One envelope from `from` to `to`, sealed by the real agent code.
  wire::Sealed SealOne(agent::Agent& from, const std::string& to, const Bytes& payload,
                       const Bytes& case_ref = Bytes(16, 1),
                       wire::Handling h = wire::Handling::H1) {
    Result<std::vector<wire::Sealed>> s =
        from.Seal({to}, wire::Kind::ReferralOffer, case_ref, h, payload);
    EXPECT_TRUE(s.ok() && s->size() == 1) << s.status().ToString();
    return s.ok() && !s->empty() ? std::move(s->front()) : wire::Sealed{};
  }

  bool BrokerAlive() {
    return broker_pid_ > 0 && tools::WaitExit(broker_pid_, 0).status().code() == Code::kUnavailable;
  }

  // How much the broker's VmRSS may grow over a test that should leave it flat. Under ASan the
  // allocator's quarantine keeps freed memory resident (up to 256 MiB by default), so there the
  // bound only catches gross growth; the release build holds the tight one.
#if defined(NRM_SANITIZED)
  static constexpr long kRssSlackKb = 320 * 1024;
#else
  static constexpr long kRssSlackKb = 32 * 1024;
#endif

  // VmRSS of the broker in KiB, from /proc/PID/status; -1 if unreadable.
  long BrokerRssKb() {
    std::ifstream in("/proc/" + std::to_string(broker_pid_) + "/status");
    std::string key;
    while (in >> key) {
      if (key == "VmRSS:") {
        long kb = -1;
        in >> kb;
        return kb;
      }
    }
    return -1;
  }

  // How many events of kind `e` (and `rule`) the records stand for.
  static size_t Count(const std::vector<audit::AuditRecord>& records, audit::AuditEvent e,
                      const std::string& rule = "") {
    size_t n = 0;
    for (const audit::AuditRecord& r : records) {
      if (r.event == e && (rule.empty() || r.rule == rule)) n += r.count;  // counted records
    }
    return n;
  }

  // Receives until nothing more arrives within `quiet_ms`; fails the test on any delivery that
  // did not verify (nothing corrupt may reach a recipient). Acknowledges what it got.
  std::vector<agent::Received> Drain(agent::Agent& a, int quiet_ms) {
    std::vector<agent::Received> got;
    for (int i = 0; i < 10000; ++i) {
      Result<std::optional<agent::Received>> r = a.Receive(quiet_ms);
      EXPECT_TRUE(r.ok()) << "a delivery failed its checks: " << r.status().ToString();
      if (!r.ok() || !r->has_value()) break;
      EXPECT_TRUE(a.Acknowledge((*r)->message_id).ok());
      got.push_back(std::move(**r));
    }
    return got;
  }
};

}  // namespace nrm::testing
