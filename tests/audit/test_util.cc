#include "tests/audit/test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "audit/big_endian.h"

namespace nrm::audit::testing {
namespace {

// libsodium must be initialised before any test runs.
class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};
[[maybe_unused]] const auto* const kCryptoEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

void Die(const std::string& what) {
  std::fprintf(stderr, "audit test setup failed: %s\n", what.c_str());
  std::abort();
}

}  // namespace

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path().string() + "/nrm_audit_test.XXXXXX";
  if (mkdtemp(base.data()) == nullptr) Die("mkdtemp " + base);
  path_ = base;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TestDb::TestDb(const std::string& path) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, {}}};
  for (const std::string& name : AuditColumnFamilyNames()) descriptors.push_back({name, {}});
  descriptors.push_back({"messages", {}});
  rocksdb::Status s = rocksdb::DB::Open(options, path, descriptors, &handles_, &db_);
  if (!s.ok()) Die("open " + path + ": " + s.ToString());
  cfs_ = AuditColumnFamilies::From([&](const std::string& name) {
    for (size_t i = 0; i < descriptors.size(); ++i) {
      if (descriptors[i].name == name) return handles_[i];
    }
    return static_cast<rocksdb::ColumnFamilyHandle*>(nullptr);
  });
}

TestDb::~TestDb() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) (void)db_->DestroyColumnFamilyHandle(h);
  (void)db_->Close();
  delete db_;
}

Status TestDb::Write(rocksdb::WriteBatch* batch) {
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status s = db_->Write(options, batch);
  return s.ok() ? Status::Ok() : IOError(s.ToString());
}

Bytes SampleMessageId(uint64_t i) {
  Bytes id = Be64Key(i);
  id.insert(id.end(), {0x6d, 0x73, 0x67, 0x2d, 0x69, 0x64, 0x21, 0x21});
  return id;
}

AuditRecord SampleRecord(uint64_t i) {
  static constexpr AuditEvent kEvents[] = {AuditEvent::kAccepted, AuditEvent::kDelivered,
                                           AuditEvent::kAcknowledged, AuditEvent::kRefused};
  AuditRecord r;
  r.event = kEvents[i % 4];
  r.time_ms = 1'780'000'000'000 + static_cast<int64_t>(i);
  r.message_id = SampleMessageId(i);
  r.envelope_hash = Bytes(32, static_cast<uint8_t>(i));
  r.sender = "police.nl";
  r.recipients = {"ngo.fairwork.nl", "labour-inspectorate.nl"};
  r.kind = "referral";
  r.case_ref = Bytes{0xca, 0x5e, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
  r.decision = r.event == AuditEvent::kRefused ? "deny" : "allow";
  r.rule = "R" + std::to_string(i % 7);
  r.reason = "sample record";
  return r;
}

std::vector<Bytes> BuildLog(const std::string& path, uint64_t n, uint64_t head_every,
                            const crypto::SecretBytes& secret) {
  TestDb db(path);
  Result<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(db.db(), db.cfs(), secret.Clone(), kTestOrigin);
  if (!log) Die(log.status().ToString());
  std::vector<Bytes> encodings;
  rocksdb::WriteBatch batch;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t index = 0;
    if (!(*log)->Append(SampleRecord(i), &batch, &index).ok() || index != i) Die("append");
    encodings.push_back(*EncodeRecord(SampleRecord(i)));
    if ((i + 1) % head_every == 0 || i + 1 == n) {
      if (!(*log)->SignHead(2'000'000'000'000 + static_cast<int64_t>(i), &batch)) Die("sign");
      if (!db.Write(&batch).ok()) Die("write");
      (*log)->MarkWritten();
      batch.Clear();
    }
  }
  return encodings;
}

std::vector<Hash> LeafHashes(const std::vector<Bytes>& encodings) {
  std::vector<Hash> out;
  for (const Bytes& e : encodings) out.push_back(HashLeaf(e));
  return out;
}

}  // namespace nrm::audit::testing
