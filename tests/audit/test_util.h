// Helpers for the audit tests: temp dirs under $TMPDIR, a broker-like RocksDB with the audit
// column families (plus a "messages" one standing for the broker's own data), sample records.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/record.h"
#include "common/crypto/crypto.h"

namespace nrm::audit::testing {

// The origin of the test logs.
inline constexpr char kTestOrigin[] = "nrm.test/audit/v1";

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The broker's database as the broker would open it. Aborts the test binary on failure (tests
// only).
class TestDb {
 public:
  explicit TestDb(const std::string& path);
  ~TestDb();
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  rocksdb::DB* db() { return db_; }
  const AuditColumnFamilies& cfs() const { return cfs_; }
  rocksdb::ColumnFamilyHandle* messages() { return handles_.back(); }
  // Writes `batch` with sync = true.
  Status Write(rocksdb::WriteBatch* batch);

 private:
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  AuditColumnFamilies cfs_;
};

// Record i of the sample logs: message id 16 bytes derived from i, events cycling.
AuditRecord SampleRecord(uint64_t i);
Bytes SampleMessageId(uint64_t i);

// Builds a log of `n` sample records at `path` (origin kTestOrigin): batches of `head_every`
// records, each batch ending with a signed checkpoint (heads at sizes head_every, 2*head_every,
// ..., and n). Returns the record encodings.
std::vector<Bytes> BuildLog(const std::string& path, uint64_t n, uint64_t head_every,
                            const crypto::SecretBytes& secret);

std::vector<Hash> LeafHashes(const std::vector<Bytes>& encodings);

}  // namespace nrm::audit::testing
