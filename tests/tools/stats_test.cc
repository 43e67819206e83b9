// nrm audit stats on a known log: counts, suppression of small cells, and no figures from a
// log that does not verify.
#include "tools/stats.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "broker/store/message_store.h"
#include "common/clock.h"
#include "tests/testing/temp_dir.h"
#include "tools/scenario.h"

namespace nrm::tools {
namespace {

constexpr int64_t kNov = 1'795'000'000'000;  // 2026-11-18
constexpr int64_t kDec = 1'797'000'000'000;  // 2026-12-11

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    Result<Scenario> s = CreateScenario(tmp_.path(), GmsAgencies());
    ASSERT_TRUE(s.ok());
    scenario_ = std::move(*s);
    Result<identity::Directory> d =
        identity::Directory::Load(tmp_.path() + "/directory.toml", scenario_.authority.sign_public,
                                  SystemClock::Get().NowMillis());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    directory_ = std::move(*d);
  }

  // Writes `records` as the broker would: one synced batch with a signed head.
  void WriteLog(const std::vector<audit::AuditRecord>& records) {
    auto store = broker::MessageStore::Open(db_, audit::AuditColumnFamilyNames());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const auto cfs = audit::AuditColumnFamilies::From(
        [&](const std::string& name) { return (*store)->Handle(name); });
    auto log = audit::AuditLog::Open((*store)->db(), cfs, scenario_.broker.sign_secret.Clone(),
                                     tools::kScenarioLogOrigin);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    rocksdb::WriteBatch batch;
    for (const audit::AuditRecord& r : records) {
      uint64_t index = 0;
      ASSERT_TRUE((*log)->Append(r, &batch, &index).ok());
    }
    ASSERT_TRUE((*log)->SignHead(kDec, &batch).ok());
    ASSERT_TRUE((*store)->Commit(batch).ok());
    (*log)->MarkWritten();
  }

  static audit::AuditRecord Event(audit::AuditEvent e, int64_t t, const std::string& sender,
                                  const std::string& kind, uint8_t id) {
    audit::AuditRecord r;
    r.event = e;
    r.time_ms = t;
    r.message_id = Bytes(16, id);
    r.envelope_hash = Bytes(32, id);
    r.sender = sender;
    r.recipients = {"TH.SHELTER.KREDTRAKARN"};
    r.kind = kind;
    r.case_ref = Bytes(16, 1);
    r.decision = e == audit::AuditEvent::kAccepted ? "allow" : "deny";
    return r;
  }

  testing::TempDir tmp_;
  Scenario scenario_;
  identity::Directory directory_;
  std::string db_ = tmp_.path() + "/db";
};

TEST_F(StatsTest, CountsByMonthPlaceKindAndOutcomeWithSmallCellsSuppressed) {
  std::vector<audit::AuditRecord> records;
  uint8_t id = 1;
  for (int i = 0; i < 7; ++i) {
    records.push_back(
        Event(audit::AuditEvent::kAccepted, kNov, "TH.POLICE.CRI-ATU", "referral_offer", id++));
  }
  for (int i = 0; i < 2; ++i) {
    records.push_back(Event(audit::AuditEvent::kRefused, kNov, "TH.SHELTER.KREDTRAKARN",
                            "counselling_notes", id++));
  }
  for (int i = 0; i < 5; ++i) {
    records.push_back(Event(audit::AuditEvent::kAccepted, kDec, "TH.SHELTER.KREDTRAKARN",
                            "referral_accept", id++));
  }
  audit::AuditRecord expired;  // one of the offers, never acknowledged
  expired.event = audit::AuditEvent::kExpired;
  expired.time_ms = kDec;
  expired.message_id = Bytes(16, 1);
  expired.sender = "TH.POLICE.CRI-ATU";
  expired.recipients = {"TH.SHELTER.KREDTRAKARN"};
  records.push_back(expired);
  WriteLog(records);

  Result<std::map<StatKey, uint64_t>> stats = ComputeAuditStats(db_, &directory_);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  std::map<StatKey, uint64_t> expected = {
      {{"2026-11", "TH", "Chiang Rai", "referral_offer", "accepted"}, 7},
      {{"2026-11", "TH", "Nonthaburi", "counselling_notes", "refused"}, 2},
      {{"2026-12", "TH", "Nonthaburi", "referral_accept", "accepted"}, 5},
      {{"2026-12", "TH", "Chiang Rai", "referral_offer", "expired"}, 1},
  };
  EXPECT_EQ(*stats, expected);
  EXPECT_EQ(StatsCsv(*stats),
            "month,country,province,kind,outcome,count\n"
            "2026-11,TH,Chiang Rai,referral_offer,accepted,7\n"
            "2026-11,TH,Nonthaburi,counselling_notes,refused,<5\n"
            "2026-12,TH,Chiang Rai,referral_offer,expired,<5\n"
            "2026-12,TH,Nonthaburi,referral_accept,accepted,5\n");
  const std::string json = StatsJson(*stats);
  EXPECT_NE(json.find("\"outcome\":\"refused\",\"count\":\"<5\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"outcome\":\"accepted\",\"count\":7"), std::string::npos) << json;
}

TEST_F(StatsTest, NoFiguresFromALogThatDoesNotVerify) {
  WriteLog({Event(audit::AuditEvent::kAccepted, kNov, "TH.POLICE.CRI-ATU", "referral_offer", 1),
            Event(audit::AuditEvent::kAccepted, kNov, "TH.POLICE.CRI-ATU", "referral_offer", 2)});
  {
    auto store = broker::MessageStore::Open(db_, audit::AuditColumnFamilyNames());
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch batch;  // delete record 0: the tree no longer matches its signed head
    std::string key(8, '\0');
    batch.Delete((*store)->Handle(audit::kRecordsColumnFamily), key);
    ASSERT_TRUE((*store)->Commit(batch).ok());
  }
  Result<std::map<StatKey, uint64_t>> stats = ComputeAuditStats(db_, &directory_);
  EXPECT_EQ(stats.status().code(), Code::kCorruption);
}

TEST(ShowCountTest, SuppressesBelowFive) {
  EXPECT_EQ(ShowCount(0), "<5");
  EXPECT_EQ(ShowCount(4), "<5");
  EXPECT_EQ(ShowCount(5), "5");
}

}  // namespace
}  // namespace nrm::tools
