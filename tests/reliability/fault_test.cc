// Faults: a power cut under the broker's store (a file system that drops unsynced writes),
// corrupted store files, a ZAP handler that refuses everything, and agents whose clocks are off.
// Every fault test runs a control the test must catch.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "broker/store/message_store.h"
#include "common/transport/transport.h"
#include "tests/reliability/power_cut_fs.h"
#include "tests/reliability/reliability_fixture.h"

namespace nrm {
namespace {

namespace fs = std::filesystem;
using testing::Frame;
using testing::FrameText;
using testing::kPolice;
using testing::kShelter;

// ---------------------------------------------------------------------------------------------
// Power loss

audit::AuditColumnFamilies AuditCfs(broker::MessageStore& store) {
  return audit::AuditColumnFamilies::From(
      [&](const std::string& name) { return store.Handle(name); });
}

struct PowerCutResult {
  size_t committed = 0;  // batches whose Commit returned OK before the cut
  size_t survived = 0;   // of those, found after the restart
  uint64_t audit_records = 0;
  bool audit_intact = false;
};

// Commits `batches` message batches (each with its audit record, a signed head every 16) to a
// store on a PowerCutFs, cuts the power, restores the disk to what was synced and reopens.
PowerCutResult CommitCutReopen(const std::string& dir, bool sync, size_t batches) {
  PowerCutResult out;
  crypto::SignKeyPair broker_key = crypto::GenerateSignKeyPair();
  auto pfs = std::make_shared<testing::PowerCutFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(pfs);
  std::vector<Bytes> ids;
  {
    auto store = broker::MessageStore::Open(dir, audit::AuditColumnFamilyNames(), env.get());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return out;
    (*store)->set_sync_for_testing(sync);
    auto log = audit::AuditLog::Open((*store)->db(), AuditCfs(**store),
                                     broker_key.secret_key.Clone(), "nrm.test/audit/v1");
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return out;
    for (size_t i = 0; i < batches; ++i) {
      rocksdb::WriteBatch batch;
      Bytes id = crypto::RandomBytes(16);
      (*store)->AddAccepted(batch, id, 1795910400000, kPolice, {kShelter}, Bytes(600, 0x5a),
                            1795910400000 + 86400000);
      audit::AuditRecord r;
      r.event = audit::AuditEvent::kAccepted;
      r.time_ms = 1795910400000;
      r.message_id = id;
      r.sender = kPolice;
      r.recipients = {kShelter};
      r.kind = "referral_offer";
      r.decision = "allow";
      uint64_t leaf = 0;
      EXPECT_TRUE((*log)->Append(r, &batch, &leaf).ok());
      if (i % 16 == 15) {
        EXPECT_TRUE((*log)->SignHead(1795910400000, &batch).ok());
      }
      if ((*store)->Commit(batch).ok()) {
        (*log)->MarkWritten();
        ids.push_back(id);
      } else {
        (*log)->DiscardPending();
      }
    }
    pfs->CutPower();
    // The objects go away with the power off: nothing they write on the way out lands.
  }
  pfs->RestoreToSynced();
  out.committed = ids.size();
  auto store = broker::MessageStore::Open(dir, audit::AuditColumnFamilyNames());
  EXPECT_TRUE(store.ok()) << "reopen after the power cut: " << store.status().ToString();
  if (!store.ok()) return out;
  for (const Bytes& id : ids) {
    Result<bool> seen = (*store)->Seen(id);
    if (seen.ok() && *seen) ++out.survived;
  }
  Result<audit::VerifyReport> report = audit::VerifyLog((*store)->db(), AuditCfs(**store));
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  if (report.ok()) {
    out.audit_intact = report->intact;
    out.audit_records = report->records;
    EXPECT_TRUE(report->intact) << report->problem;
  }
  // The broker's own start-up check of the log passes too.
  auto log = audit::AuditLog::Open((*store)->db(), AuditCfs(**store), broker_key.secret_key.Clone(),
                                   "nrm.test/audit/v1");
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return out;
}

TEST(PowerLossTest, EveryCommittedBatchAndTheAuditLogSurviveAPowerCut) {
  testing::TempDir tmp;
  ASSERT_TRUE(crypto::InitCrypto().ok());
  PowerCutResult r = CommitCutReopen(tmp.path() + "/store", /*sync=*/true, 200);
  EXPECT_EQ(r.committed, 200u);
  EXPECT_EQ(r.survived, r.committed) << "a batch whose Commit returned OK was lost";
  EXPECT_TRUE(r.audit_intact);
  EXPECT_EQ(r.audit_records, r.committed) << "the audit log does not reach the last commit";
}

// Control: without fsync the same cut must lose batches, or the file system above is not
// dropping anything and the test above proves nothing.
TEST(PowerLossTest, ControlWithoutSyncLosesBatches) {
  testing::TempDir tmp;
  ASSERT_TRUE(crypto::InitCrypto().ok());
  PowerCutResult r = CommitCutReopen(tmp.path() + "/store", /*sync=*/false, 200);
  EXPECT_EQ(r.committed, 200u);
  EXPECT_LT(r.survived, r.committed) << "the power cut dropped nothing: the fault seam is broken";
  EXPECT_TRUE(r.audit_intact) << "what survived is still a consistent log";
  EXPECT_EQ(r.audit_records, r.survived);
  std::printf("[ POWER CUT ] without fsync: %zu of %zu committed batches survived\n", r.survived,
              r.committed);
}

// ---------------------------------------------------------------------------------------------
// Corrupted files, with a real broker

class CorruptionTest : public testing::ReliabilityFixture {
 protected:
  // Sends `n` referrals and stops the broker.
  std::vector<Bytes> SendAndStop(int n) {
    auto police = OpenAgent(kPolice);
    EXPECT_TRUE(police);
    std::vector<Bytes> ids;
    for (int i = 0; i < n && police; ++i) {
      Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("c" + std::to_string(i)));
      EXPECT_TRUE(s.ok() && s->accepted);
      if (s.ok()) ids.push_back(s->message_id);
    }
    police.reset();
    EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
    broker_pid_ = -1;
    return ids;
  }
  std::string Store() const { return scenario_.broker_data + "/store"; }

  // Starts nrm-broker; returns its exit code if it exits within `wait_ms`, or -1 if it is running
  // (then it is stopped).
  int StartExpectingExit(std::string* log, int wait_ms = 10000) {
    const std::string out = tmp_.path() + "/logs/broker-corrupt.out";
    std::remove(out.c_str());
    Result<pid_t> pid =
        tools::Spawn({testing::BinDir() + "/nrm-broker", "--config", scenario_.broker_config}, out);
    EXPECT_TRUE(pid.ok());
    if (!pid.ok()) return -2;
    Result<int> code = tools::WaitExit(*pid, wait_ms);
    *log = testing::ReadOrEmpty(out);
    if (code.ok()) return *code;
    (void)tools::Stop(*pid, 5000);
    return -1;
  }

  // The SST files of column family `cf` after flushing every column family.
  std::vector<std::string> FlushAndFindSst(const std::string& cf) {
    auto store = broker::MessageStore::Open(Store(), audit::AuditColumnFamilyNames());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return {};
    rocksdb::DB* db = (*store)->db();
    for (const char* name :
         {"queue", "seen", "expiry", "cases", "audit", "audit_heads", "audit_meta"}) {
      if (auto* h = (*store)->Handle(name)) {
        EXPECT_TRUE(db->Flush(rocksdb::FlushOptions(), h).ok());
      }
    }
    std::vector<rocksdb::LiveFileMetaData> files;
    db->GetLiveFilesMetaData(&files);
    std::vector<std::string> out;
    for (const auto& f : files) {
      if (f.column_family_name == cf) out.push_back(f.db_path + f.name);
    }
    return out;
  }

  static void FlipByte(const std::string& path, size_t at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good()) << path;
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x20));
  }
};

TEST_F(CorruptionTest, FlippedByteInAQueueSstStopsTheBrokerWithAClearError) {
  SendAndStop(40);
  std::vector<std::string> ssts = FlushAndFindSst("queue");
  ASSERT_FALSE(ssts.empty());
  // Control: the flushed store starts.
  std::string log;
  ASSERT_EQ(StartExpectingExit(&log, 2000), -1) << "the intact store does not start: " << log;
  FlipByte(ssts[0], fs::file_size(ssts[0]) / 4);  // inside the data blocks
  const int code = StartExpectingExit(&log);
  EXPECT_NE(code, -1) << "the broker serves a corrupted store";
  EXPECT_NE(code, 0);
  EXPECT_NE(log.find("orrupt"), std::string::npos) << "no clear error: " << log;
}

// The case registry is read from disk per message. A registry it cannot read must refuse the
// message (fail closed): taken for a new case, an H2 case would lose its restriction.
TEST_F(CorruptionTest, UnreadableCaseRegistryRefusesTheMessageNotTheRestriction) {
  SendAndStop(3);  // Offer's case is now registered
  ASSERT_FALSE(FlushAndFindSst("cases").empty());
  auto offer = [&] {
    StartBroker();
    auto police = OpenAgent(kPolice);
    EXPECT_TRUE(police);
    Result<agent::SendOutcome> s =
        police ? Offer(*police, kShelter, Payload("after")) : Internal("no agent");
    police.reset();
    EXPECT_TRUE(tools::Stop(broker_pid_, 5000).ok());
    broker_pid_ = -1;
    return s;
  };
  // Control: the flushed registry is read and the message accepted.
  Result<agent::SendOutcome> before = offer();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(before->accepted) << before->code << ": " << before->reason;
  for (const std::string& sst : FlushAndFindSst("cases")) FlipByte(sst, 10);  // first data block
  Result<agent::SendOutcome> after = offer();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_FALSE(after->accepted);
  EXPECT_EQ(after->code, "unavailable");
  EXPECT_NE(after->reason.find("case registry unreadable"), std::string::npos) << after->reason;
  const std::string log = testing::ReadOrEmpty(tmp_.path() + "/logs/broker.out");
  EXPECT_NE(log.find("the broker store cannot be read"), std::string::npos)
      << "the operator is not told: " << log;
}

// RocksDB's recovery takes a cut WAL for a torn write and drops its tail without an error; the
// broker compares what it recovered with the writes it had synced (store.synced).
TEST_F(CorruptionTest, TruncatedWalIsDetectedOrLosesNothing) {
  // Killed, not stopped: what was accepted lives only in the WAL.
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  std::vector<Bytes> ids;
  for (int i = 0; i < 40; ++i) {
    Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("w" + std::to_string(i)));
    ASSERT_TRUE(s.ok() && s->accepted);
    ids.push_back(s->message_id);
  }
  police.reset();
  KillBroker();
  std::string wal;
  for (const auto& e : fs::directory_iterator(Store())) {
    if (e.path().extension() == ".log" &&
        fs::file_size(e.path()) > (wal.empty() ? 0 : fs::file_size(wal))) {
      wal = e.path().string();
    }
  }
  ASSERT_FALSE(wal.empty());
  fs::resize_file(wal, fs::file_size(wal) - 700);  // cut into the last accepted messages
  auto lost = [&] {
    auto store = broker::MessageStore::Open(Store(), audit::AuditColumnFamilyNames());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    size_t n = 0;
    for (const Bytes& id : ids) {
      Result<bool> seen = store.ok() ? (*store)->Seen(id) : Result<bool>(false);
      if (!seen.ok() || !*seen) ++n;
    }
    return n;
  };
  std::string log;
  const int code = StartExpectingExit(&log);
  if (code == -1) {  // the broker started: then it must still hold everything it ACCEPTED
    EXPECT_EQ(lost(), 0u) << "a truncated WAL silently lost messages the broker had ACCEPTED";
    return;
  }
  EXPECT_NE(code, 0);
  EXPECT_NE(log.find("corrupt"), std::string::npos) << "no clear error: " << log;
  EXPECT_NE(log.find("store.synced"), std::string::npos) << "no way out named: " << log;
  // It stays refused: the failed start changed nothing that would let the next one through.
  EXPECT_NE(StartExpectingExit(&log), -1) << "a second start serves the cut store";
  // Control: without the record of synced writes, RocksDB's recovery starts the broker on the
  // cut WAL and the loss goes unseen, which is what the check is there to catch.
  fs::remove(scenario_.broker_data + "/store.synced");
  EXPECT_GT(lost(), 0u) << "control: the cut did not lose anything, so the test proves nothing";
  EXPECT_EQ(StartExpectingExit(&log, 2000), -1) << "without store.synced: " << log;
}

TEST_F(CorruptionTest, EditedAuditRecordIsNamedByAuditVerify) {
  SendAndStop(10);
  auto verify = [&]() -> std::pair<int, std::string> {
    const std::string out = tmp_.path() + "/logs/verify.out";
    std::remove(out.c_str());
    Result<pid_t> pid = tools::Spawn({testing::BinDir() + "/nrm", "audit", "verify", Store()}, out);
    EXPECT_TRUE(pid.ok());
    Result<int> code = tools::WaitExit(*pid, 60000);
    return {code.ok() ? *code : -1, testing::ReadOrEmpty(out)};
  };
  auto [ok_code, ok_out] = verify();
  ASSERT_EQ(ok_code, 0) << "control: the untouched log does not verify: " << ok_out;
  {
    auto store = broker::MessageStore::Open(Store(), audit::AuditColumnFamilyNames());
    ASSERT_TRUE(store.ok());
    rocksdb::ColumnFamilyHandle* records = (*store)->Handle(audit::kRecordsColumnFamily);
    const std::string key("\0\0\0\0\0\0\0\x05", 8);  // be64 index 5
    std::string value;
    ASSERT_TRUE((*store)->db()->Get(rocksdb::ReadOptions(), records, key, &value).ok());
    value[value.size() - 3] ^= 0x01;  // in the record's reason
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE((*store)->db()->Put(wo, records, key, value).ok());
  }
  auto [bad_code, bad_out] = verify();
  EXPECT_EQ(bad_code, 1) << bad_out;
  EXPECT_NE(bad_out.find("first bad record: index 5"), std::string::npos) << bad_out;
}

// ---------------------------------------------------------------------------------------------
// The ZAP handler failing, at the transport level

struct TransportPair {
  crypto::BoxKeyPair server = crypto::GenerateBoxKeyPair();
  crypto::BoxKeyPair client = crypto::GenerateBoxKeyPair();

  Result<std::unique_ptr<transport::Server>> Start(transport::Authorizer a) {
    transport::ServerOptions o;
    o.endpoint = "tcp://127.0.0.1:0";
    o.curve_public = server.public_key;
    o.curve_secret = server.secret_key.Clone();
    o.authorize = std::move(a);
    return transport::Server::Start(std::move(o));
  }
  Result<std::unique_ptr<transport::Client>> Connect(const std::string& endpoint) {
    transport::ClientOptions o;
    o.endpoint = endpoint;
    o.server_curve_public = server.public_key;
    o.curve_public = client.public_key;
    o.curve_secret = client.secret_key.Clone();
    return transport::Client::Connect(std::move(o), 2000);
  }
};

// Receives for up to `ms`; true if any message came through.
bool AnyReceived(transport::Server& s, int ms) {
  Result<std::optional<transport::Incoming>> in = s.Receive(ms);
  return in.ok() && in->has_value();
}

TEST(ZapFailureTest, AnAuthorizerThatRefusesEverythingAdmitsNoone) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  TransportPair p;
  // Control: an authorizer that admits the client lets its message through, named.
  {
    auto server = p.Start([](ByteView, std::string_view) { return std::string("TH.TEST.OK"); });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto client = p.Connect((*server)->endpoint());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    ASSERT_TRUE((*client)->Send({Frame("HELLO")}).ok());
    Result<std::optional<transport::Incoming>> in = (*server)->Receive(5000);
    ASSERT_TRUE(in.ok() && in->has_value());
    EXPECT_EQ((*in)->agency, "TH.TEST.OK");
  }
  auto server = p.Start([](ByteView, std::string_view) { return std::nullopt; });
  ASSERT_TRUE(server.ok());
  for (int i = 0; i < 3; ++i) {
    auto client = p.Connect((*server)->endpoint());
    EXPECT_FALSE(client.ok()) << "a refused key completed the handshake";
    if (client.ok()) (void)(*client)->Send({Frame("HELLO")});
  }
  EXPECT_FALSE(AnyReceived(**server, 500));
  EXPECT_GE((*server)->refused_handshakes(), 3u);
}

TEST(ZapFailureTest, AMessageWithoutAuthenticatedUserIdIsNeverReturned) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  TransportPair p;
  // The handshake succeeds but names no agency (an empty ZAP User-Id).
  auto server = p.Start([](ByteView, std::string_view) { return std::string(); });
  ASSERT_TRUE(server.ok());
  auto client = p.Connect((*server)->endpoint());
  if (client.ok()) {
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*client)->Send({Frame("HELLO")}).ok());
  }
  EXPECT_FALSE(AnyReceived(**server, 1000)) << "a message without a User-Id was returned";
}

// ---------------------------------------------------------------------------------------------
// Clock skew on an agent: the broker's freshness window (default 10 minutes) decides.

class ClockSkewTest : public testing::ReliabilityFixture {};

TEST_F(ClockSkewTest, JustInsideTheWindowIsAcceptedJustOutsideIsRefused) {
  const int64_t now = SystemClock::Get().NowMillis();
  const int64_t window = 10 * 60 * 1000;
  struct Case {
    int64_t skew;
    bool accepted;
  };
  for (Case c : {Case{-window + 30000, true}, Case{window - 30000, true},
                 Case{-window - 30000, false}, Case{window + 30000, false}}) {
    SCOPED_TRACE("skew " + std::to_string(c.skew / 1000) + " s");
    FakeClock clock(now + c.skew);
    auto police = OpenAgent(kPolice, clock);
    ASSERT_TRUE(police);
    Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("Skew"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->accepted, c.accepted) << s->code << ": " << s->reason;
    if (!c.accepted) {
      EXPECT_EQ(s->code, "invalid_argument");
    }
  }
}

}  // namespace
}  // namespace nrm

namespace nrm {
namespace {

// ---------------------------------------------------------------------------------------------
// kill -9 of a recipient (`nrm-agent receive`) in the middle of consuming its queue: every
// message is still had, by what the killed process wrote out or by the next receive (duplicates
// allowed, loss not).

class RecipientKillTest : public testing::ReliabilityFixture {};

TEST_F(RecipientKillTest, KilledMidConsumptionLosesNothing) {
  const int n = 200;
  std::set<std::string> sent;
  {
    auto police = OpenAgent(kPolice);
    ASSERT_TRUE(police);
    for (int i = 0; i < n; ++i) {
      Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("k" + std::to_string(i)));
      ASSERT_TRUE(s.ok() && s->accepted);
      sent.insert(ToHex(s->message_id));
    }
  }
  const std::string out = tmp_.path() + "/logs/receive.out";
  Result<pid_t> pid =
      tools::Spawn({testing::BinDir() + "/nrm-agent", "--config", scenario_.AgentConfig(kShelter),
                    "receive", "--count", std::to_string(n), "--timeout", "60", "--json"},
                   out);
  ASSERT_TRUE(pid.ok());
  // Mid-consumption: once it has written something out, and before it is done.
  bool started = false;
  for (int i = 0; i < 2000 && !started; ++i) {
    started = testing::ReadOrEmpty(out).find("message_id") != std::string::npos;
    if (!started && tools::WaitExit(*pid, 5).ok()) break;
  }
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  Result<int> code = tools::WaitExit(*pid, 5000);
  ASSERT_TRUE(code.ok());
  // What the killed process wrote out.
  std::set<std::string> had;
  const std::string text = testing::ReadOrEmpty(out);
  for (size_t at = text.find("\"message_id\":\""); at != std::string::npos;
       at = text.find("\"message_id\":\"", at + 1)) {
    had.insert(text.substr(at + 14, 32));
  }
  const size_t before_kill = had.size();
  EXPECT_LT(before_kill, size_t{n}) << "the receiver was done before the kill";
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  for (const agent::Received& r : Drain(*shelter, 1500)) had.insert(ToHex(r.message_id));
  size_t lost = 0;
  for (const std::string& id : sent) lost += had.count(id) == 0 ? 1 : 0;
  std::printf("[ KILL -9 ] receiver killed (status %d) after writing out %zu of %d; %zu lost\n",
              *code, before_kill, n, lost);
  EXPECT_TRUE(started) << "the receiver wrote nothing out before the deadline";
  EXPECT_EQ(lost, 0u) << "messages acknowledged by the killed receiver but never written out";
}

}  // namespace
}  // namespace nrm

namespace nrm {
namespace {

// ---------------------------------------------------------------------------------------------
// Disk full: the whole scenario (keys, logs, the broker's RocksDB) on an 8 MiB tmpfs. Sends
// until the disk is full: whatever the broker ACCEPTED is delivered once space returns (after a
// restart if the broker stopped); nothing is accepted and then lost. Skipped when mount(2) is
// not permitted (not root, or in a container without CAP_SYS_ADMIN).
// Observed (reported in issue 8): the broker does not refuse with resource_exhausted; after the
// first failed write the next one trips an assertion in Debian's librocksdb
// (WritableFileWriter::AssertFalseAndGetStatusForPrevError) and it aborts (exit 134). What it
// had accepted survives, which is what this test holds it to.

class DiskFullTest : public testing::ReliabilityFixture {
 protected:
  std::string ExtraBrokerConfig() const override {
    return "min_free_disk_mib = " + std::to_string(reserve_mib_) + "\n";
  }
  void SetUp() override {
    if (::geteuid() != 0 ||
        std::system(("mount -t tmpfs -o size=8m tmpfs " + tmp_.path() + " 2>/dev/null").c_str()) !=
            0) {
      GTEST_SKIP() << "cannot mount a small tmpfs here";
    }
    mounted_ = true;
    ReliabilityFixture::SetUp();
  }
  void TearDown() override {
    if (broker_pid_ > 0) (void)tools::Stop(broker_pid_, 5000);
    broker_pid_ = -1;
    if (mounted_) {
      EXPECT_EQ(std::system(("umount " + tmp_.path()).c_str()), 0);
    }
  }

  struct Outcome {
    std::vector<Bytes> accepted;
    std::vector<std::string> refusals;  // "code: reason"
    size_t unanswered = 0;              // no answer: the broker stopped
  };
  // Sends large referrals until three are refused or one goes unanswered.
  Outcome FillTheDisk(agent::Agent& police) {
    Outcome out;
    for (int i = 0; i < 40 && out.unanswered == 0 && out.refusals.size() < 3; ++i) {
      Result<std::vector<agent::SendOutcome>> s =
          police.Send({kShelter}, wire::Kind::ReferralOffer, Bytes(16, 1), wire::Handling::H1,
                      Payload(std::string(200000, static_cast<char>('a' + i % 26))), 3000);
      if (!s.ok() || s->empty()) {
        ++out.unanswered;
      } else if (s->front().accepted) {
        out.accepted.push_back(s->front().message_id);
      } else {
        out.refusals.push_back(s->front().code + ": " + s->front().reason);
      }
    }
    return out;
  }
  // Fills the running broker's disk up to the reserve plus 1.5 MiB, so that a few large
  // referrals fill the rest.
  std::string PlaceFiller() {
    struct statvfs v {};
    EXPECT_EQ(::statvfs(tmp_.path().c_str(), &v), 0);
    const int64_t free = static_cast<int64_t>(v.f_bavail * v.f_frsize);
    const int64_t size = free - (int64_t{reserve_mib_} << 20) - (3 << 19);
    EXPECT_GT(size, 0) << free << " bytes free at the start";
    const std::string filler = tmp_.path() + "/filler";
    std::ofstream f(filler, std::ios::binary);
    f << std::string(static_cast<size_t>(std::max<int64_t>(size, 0)), 'f');
    return filler;
  }

  int reserve_mib_ = 2;
  bool mounted_ = false;
};

TEST_F(DiskFullTest, NearlyFullDiskRefusesNewMessagesAndResumesWhenSpaceReturns) {
  const std::string filler = PlaceFiller();
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Outcome full = FillTheDisk(*police);
  std::printf("[ DISK FULL ] %zu accepted, %zu refused, %zu unanswered; broker %s\n",
              full.accepted.size(), full.refusals.size(), full.unanswered,
              BrokerAlive() ? "up" : "stopped");
  EXPECT_EQ(full.unanswered, 0u) << "the broker stopped answering on a nearly full disk";
  ASSERT_EQ(full.refusals.size(), 3u) << "the disk never filled: the test proves nothing";
  EXPECT_FALSE(full.accepted.empty()) << "nothing was accepted before the disk filled";
  for (const std::string& r : full.refusals) {
    EXPECT_TRUE(r.starts_with("resource_exhausted: the broker's disk is nearly full")) << r;
  }
  ASSERT_TRUE(BrokerAlive()) << testing::ReadOrEmpty(tmp_.path() + "/logs/broker.out");

  // Space returns: the same broker, not restarted, accepts again once it has looked.
  std::remove(filler.c_str());
  std::vector<Bytes> accepted = full.accepted;
  bool resumed = false;
  for (int i = 0; i < 50 && !resumed; ++i) {
    Result<agent::SendOutcome> s = Offer(*police, kShelter, Payload("after " + std::to_string(i)));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    if (s->accepted) {
      accepted.push_back(s->message_id);
      resumed = true;
    } else {
      EXPECT_EQ(s->code, "resource_exhausted") << s->reason;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  EXPECT_TRUE(resumed) << "the broker did not accept again after space returned";
  police.reset();
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  std::multiset<Bytes> got;
  for (const agent::Received& r : Drain(*shelter, 2000)) got.insert(r.message_id);
  for (const Bytes& id : accepted) {
    EXPECT_EQ(got.count(id), 1u) << "an ACCEPTED message was lost or doubled on a full disk";
  }
  EXPECT_EQ(got.size(), accepted.size());
  EXPECT_TRUE(BrokerAlive());
}

// Control: with the reserve turned off the same load runs the store into ENOSPC and the broker
// stops (the check above is what keeps it up). What it accepted survives the restart.
class DiskFullWithoutReserveTest : public DiskFullTest {
 protected:
  DiskFullWithoutReserveTest() { reserve_mib_ = 0; }
};

TEST_F(DiskFullWithoutReserveTest, ControlTheStoreMeetsENOSPCAndTheBrokerStops) {
  const std::string filler = PlaceFiller();
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  Outcome full = FillTheDisk(*police);
  const Result<int> exit = tools::WaitExit(broker_pid_, 2000);
  std::printf("[ DISK FULL, no reserve ] %zu accepted, %zu refused, %zu unanswered; broker %s\n",
              full.accepted.size(), full.refusals.size(), full.unanswered,
              exit.ok() ? ("exit " + std::to_string(*exit)).c_str() : "up");
  ASSERT_TRUE(exit.ok()) << "control: without the reserve the broker still runs, so the test "
                            "above does not show the reserve at work";
  EXPECT_NE(*exit, 0);
  police.reset();
  broker_pid_ = -1;
  std::remove(filler.c_str());
  StartBroker();
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  std::set<Bytes> got;
  for (const agent::Received& r : Drain(*shelter, 2000)) got.insert(r.message_id);
  for (const Bytes& id : full.accepted) {
    EXPECT_TRUE(got.count(id)) << "an ACCEPTED message was lost on a full disk";
  }
}

}  // namespace
}  // namespace nrm
