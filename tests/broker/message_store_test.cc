// MessageStore on a real RocksDB in a temporary directory.
#include "broker/store/message_store.h"

#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "common/crypto/crypto.h"
#include "tests/testing/temp_dir.h"

namespace nrm::broker {
namespace {

constexpr int64_t kT0 = 1795910400000;  // 2026-11-29
constexpr int64_t kDay = 86400000;

// Every acknowledged message leaves deleted entries in the queue and in the expiry index until
// compaction. The broker scans the expiry index every second (the deleted entries sort before
// those still queued: they expire earlier) and reads a queue whenever it may deliver; neither
// may step over them, or each costs time growing with the load.
TEST(MessageStoreTest, ScansStepOverNoDeletedEntry) {
  testing::TempDir dir;
  auto store = MessageStore::Open(dir.path() + "/store");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  MessageStore& s = **store;
  const int kAcknowledged = 2000;
  for (int i = 0; i <= kAcknowledged; ++i) {
    rocksdb::WriteBatch batch;
    s.AddAccepted(batch, crypto::RandomBytes(16), kT0, "police", {"shelter"}, Bytes(100, 1),
                  kT0 + kDay + i);
    ASSERT_TRUE(s.Commit(batch, /*sync=*/false).ok());
  }
  Result<std::vector<QueuedMessage>> queued = s.Pending("shelter", 0, kAcknowledged);
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  ASSERT_EQ(queued->size(), static_cast<size_t>(kAcknowledged));  // all but the last
  rocksdb::WriteBatch acks;
  for (const QueuedMessage& m : *queued) {
    ASSERT_TRUE(s.AddAcknowledged(acks, "shelter", m.message_id, m.seq).ok());
  }
  ASSERT_TRUE(s.Commit(acks, /*sync=*/false).ok());
  ASSERT_EQ(s.PendingCount("shelter"), 1u);

  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  rocksdb::WriteBatch batch;
  Result<std::vector<ExpiredMessage>> none = s.AddExpired(batch, kT0 + 1000, 100);
  const uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  EXPECT_LE(skipped, 1u) << "the scan stepped over the deleted entries of acknowledged messages";

  // Nor does a read of another queue (the broker reads one whenever it may deliver).
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  Result<std::vector<QueuedMessage>> police = s.Pending("police", 0, 64);
  const uint64_t skipped_reading = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  ASSERT_TRUE(police.ok()) << police.status().ToString();
  EXPECT_TRUE(police->empty());
  EXPECT_LE(skipped_reading, 1u) << "reading police's queue stepped over shelter's";

  // Control: what is due is still found, and only that.
  Result<std::vector<ExpiredMessage>> due = s.AddExpired(batch, kT0 + kDay + kAcknowledged, 100);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ(due->front().recipient, "shelter");
}

}  // namespace
}  // namespace nrm::broker
