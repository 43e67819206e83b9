// Security properties against a real broker: no personal data at rest or in logs (canaries in
// every payload field, found by a scanner proven on a planted canary), transport admission
// (unknown key, wrong server key, no CURVE at all), and unsafe key file permissions.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/stat.h>
#include <zmq.h>  // a plain, unencrypted DEALER: what transport::Client can never make

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/store/message_store.h"
#include "tests/reliability/reliability_fixture.h"

namespace nrm {
namespace {

namespace fs = std::filesystem;
using testing::kPolice;
using testing::kShelter;

class SecurityTest : public testing::ReliabilityFixture {
 protected:
  // The needles for one canary token: its bytes, and its hex in both cases (a log that dumps
  // bytes as hex would leak it that way).
  static std::vector<std::string> Needles(const std::string& token) {
    std::string upper = ToHex(AsBytes(token));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return {token, ToHex(AsBytes(token)), upper};
  }
  static bool Contains(std::string_view hay, const std::vector<std::string>& needles) {
    for (const std::string& n : needles) {
      if (hay.find(n) != std::string_view::npos) return true;
    }
    return false;
  }

  // Every file under `roots` whose raw bytes hold a needle.
  static std::vector<std::string> ScanFiles(const std::vector<std::string>& roots,
                                            const std::vector<std::string>& needles,
                                            size_t* scanned) {
    std::vector<std::string> hits;
    for (const std::string& root : roots) {
      if (!fs::exists(root)) continue;
      std::vector<fs::path> files;
      if (fs::is_regular_file(root)) files.push_back(root);
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
      for (const fs::path& p : files) {
        ++*scanned;
        Result<std::string> data = ReadFile(p.string());
        EXPECT_TRUE(data.ok()) << p;
        if (data.ok() && Contains(*data, needles)) hits.push_back(p.string());
      }
    }
    return hits;
  }

  // Every key and value of every column family of the RocksDB at `path` (opened read-only)
  // that holds a needle, as "cf: key hex".
  static std::vector<std::string> ScanRocks(const std::string& path,
                                            const std::vector<std::string>& needles,
                                            size_t* entries) {
    std::vector<std::string> names;
    rocksdb::Options options;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& n : names) cfs.push_back({n, rocksdb::ColumnFamilyOptions()});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, path, cfs, &handles, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return {"cannot open"};
    std::unique_ptr<rocksdb::DB> db(raw);
    std::vector<std::string> hits;
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ++*entries;
        if (Contains(it->key().ToStringView(), needles) ||
            Contains(it->value().ToStringView(), needles)) {
          hits.push_back(h->GetName() + ": " + ToHex(AsBytes(it->key().ToStringView())));
        }
      }
      EXPECT_TRUE(it->status().ok());
    }
    for (rocksdb::ColumnFamilyHandle* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    return hits;
  }

  // What a core dump of process `pid` would hold: every readable mapping of its memory, read
  // through /proc/PID/mem while it runs. The names of the mappings that hold a needle.
  static std::vector<std::string> ScanMemory(pid_t pid, const std::vector<std::string>& needles,
                                             size_t* bytes) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::ifstream maps(proc + "/maps");
    std::ifstream mem(proc + "/mem", std::ios::binary);
    EXPECT_TRUE(maps.good() && mem.good()) << "cannot read " << proc;
    std::vector<std::string> hits;
    std::string line;
    while (std::getline(maps, line)) {
      std::istringstream fields(line);
      std::string range, perms, offset, dev, inode, name;
      fields >> range >> perms >> offset >> dev >> inode;
      std::getline(fields >> std::ws, name);
      if (perms.empty() || perms[0] != 'r' || name == "[vvar]" || name == "[vsyscall]") continue;
      const size_t dash = range.find('-');
      const uint64_t from = std::stoull(range.substr(0, dash), nullptr, 16);
      const uint64_t to = std::stoull(range.substr(dash + 1), nullptr, 16);
      // Read in chunks that overlap by a needle's length, so that none is cut in two.
      constexpr uint64_t kChunk = 16 << 20, kOverlap = 64;
      std::string chunk;
      for (uint64_t at = from; at < to; at += kChunk - kOverlap) {
        chunk.resize(std::min(kChunk, to - at));
        mem.clear();
        mem.seekg(static_cast<std::streamoff>(at));
        mem.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        chunk.resize(static_cast<size_t>(std::max<std::streamsize>(mem.gcount(), 0)));
        *bytes += chunk.size();
        if (Contains(chunk, needles)) {
          hits.push_back(range + " " + name);
          break;
        }
        if (at + chunk.size() >= to) break;
      }
    }
    return hits;
  }

  // A referral with the canary in every string field of every section: names, ids, addresses.
  Bytes CanaryPayload(const std::string& token, int i) {
    auto c = [&](const char* field) {
      return "\"" + token + "-" + field + "-" + std::to_string(i) + "\"";
    };
    const std::string json =
        "{\"case\": {\"status\": \"Active\", \"reason_for_referral\": " + c("reason") +
        ", \"referral_date\": \"2026-11-29\", \"referring_organisation\": " + c("org") +
        ", \"referring_case_worker\": " + c("worker") +
        ", \"referred_organisation\": " + c("org2") +
        ", \"referred_case_worker\": " + c("worker2") +
        "},\"person\": {\"first_name\": " + c("first") + ", \"second_name\": " + c("second") +
        ", \"birth_date\": \"2008\", \"gender\": \"female\", \"nationality\": \"MM\", \"phone\": " +
        c("phone") + ", \"languages\": [" + c("lang") + "], \"is_child\": true, " +
        "\"best_interests_assessment\": " + c("bia") + ", \"guardian\": " + c("guardian") +
        "},\"context\": {\"recruitment_methods\": [" + c("recruit") + "], \"control_methods\": [" +
        c("control") + "], \"exploitation_types\": [" + c("expl") +
        "], \"labour_sector\": " + c("sector") +
        ", \"places\": [{\"stage\": \"exploitation\", \"location\": " + c("location") +
        ", \"country\": \"TH\", \"date\": \"2026-11-27\"}]}," +
        "\"needs\": {\"immediate_needs\": [" + c("needs") + "], \"risk_to_person\": \"High\", " +
        "\"risk_to_family\": " + c("riskfam") + ", \"risk_from\": " + c("riskfrom") +
        ", \"transport_constraints\": " + c("transport") + "}," +
        "\"consent\": {\"share_sections\": [\"case\", \"person\", \"context\", \"needs\"], " +
        "\"share_with_roles\": [\"shelter\"], \"purpose\": " + c("purpose") +
        ", \"date\": \"2026-11-29\", \"recorded_by\": " + c("recorded") + "}}";
    Result<Bytes> p = wire::PayloadFromJson(json);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : Bytes();
  }
};

TEST_F(SecurityTest, CanariesInEveryFieldOfAThousandReferralsNeverReachBrokerFilesOrLogs) {
  const std::string token = "Cnry" + ToHex(crypto::RandomBytes(8));
  const std::vector<std::string> needles = Needles(token);
  auto police = OpenAgent(kPolice);
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(police && shelter);
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    Result<agent::SendOutcome> s = Offer(*police, kShelter, CanaryPayload(token, i));
    ASSERT_TRUE(s.ok() && s->accepted) << i;
  }
  // Half are received and acknowledged (delivery and ACK paths), half stay queued.
  for (int i = 0; i < n / 2; ++i) {
    Result<std::optional<agent::Received>> r = shelter->Receive(10000);
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_TRUE(shelter->Acknowledge((*r)->message_id).ok());
    if (i == 0) {  // the canary did travel: it is in what the recipient opened
      Result<std::string> json = wire::PayloadToJson((*r)->payload.view());
      ASSERT_TRUE(json.ok());
      ASSERT_NE(json->find(token + "-first-"), std::string::npos);
    }
  }
  // The running broker's memory (what a core dump would hold). Control: a case reference, which
  // the broker does see and keep, is found there.
  const std::string seen_token = "Ref" + ToHex(crypto::RandomBytes(6));  // 15 bytes
  Bytes case_ref(seen_token.begin(), seen_token.end());
  case_ref.push_back('!');
  ASSERT_TRUE(One(police->Send({kShelter}, wire::Kind::ReferralOffer, case_ref, wire::Handling::H1,
                               Payload("control"), 10000))
                  .ok());
  size_t memory_bytes = 0;
#if !defined(NRM_SANITIZED)  // ASan's shadow maps terabytes: the release run scans
  EXPECT_EQ(ScanMemory(broker_pid_, needles, &memory_bytes), std::vector<std::string>{});
  size_t unused_bytes = 0;
  EXPECT_FALSE(ScanMemory(broker_pid_, {seen_token}, &unused_bytes).empty())
      << "the memory scanner is blind: it misses a case reference the broker holds";
  EXPECT_GT(memory_bytes, size_t{1} << 20);
#endif

  police.reset();
  shelter.reset();
  ASSERT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;

  const std::vector<std::string> roots = {scenario_.broker_data, tmp_.path() + "/logs"};
  size_t files = 0, entries = 0;
  EXPECT_EQ(ScanFiles(roots, needles, &files), std::vector<std::string>{});
  const std::string store = scenario_.broker_data + "/store";
  EXPECT_EQ(ScanRocks(store, needles, &entries), std::vector<std::string>{});
  EXPECT_GT(files, 3u);
  EXPECT_GT(entries, size_t{n});  // the queue, replay memory and audit records were read

  // Control: the same scanners find a canary planted in a broker file and in a RocksDB value.
  {
    std::ofstream planted(scenario_.broker_data + "/planted.bin", std::ios::binary);
    planted << "\x01\x02" << token << "-first-7\x03";
  }
  size_t unused = 0;
  EXPECT_EQ(ScanFiles(roots, needles, &unused).size(), 1u) << "the file scanner is blind";
  {
    auto s = broker::MessageStore::Open(store, audit::AuditColumnFamilyNames());
    ASSERT_TRUE(s.ok());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(
        (*s)->db()->Put(wo, (*s)->Handle("seen"), "planted", "x" + ToHex(AsBytes(token))).ok());
  }
  EXPECT_EQ(ScanRocks(store, needles, &unused).size(), 1u) << "the RocksDB scanner is blind";
  std::printf(
      "[ CANARY ] %d referrals; scanned %zu files, %zu RocksDB entries and %zu MiB of the running "
      "broker's memory: no canary\n",
      n, files, entries, memory_bytes >> 20);
}

TEST_F(SecurityTest, UnknownKeyWrongServerKeyAndNoCurveRouteNothing) {
  auto police = OpenAgent(kPolice);
  ASSERT_TRUE(police);
  const wire::Sealed s = SealOne(*police, kShelter, Payload("Intruder"));

  // 1. A CURVE key that is not in the directory: the handshake is refused.
  identity::KeySet stranger = identity::GenerateKeySet("KH.STRANGER.X");
  Result<std::unique_ptr<transport::Client>> c1 = RawClient(stranger);
  EXPECT_FALSE(c1.ok()) << "an unknown key completed the handshake";
  if (c1.ok()) (void)(*c1)->Send({testing::Frame("SEND"), s.frame});

  // 2. The right client key but a wrong server key: no handshake.
  {
    Result<std::string> endpoint = ReadFile(scenario_.endpoint_file);
    ASSERT_TRUE(endpoint.ok());
    endpoint->pop_back();
    identity::KeySet mine = Keys(kPolice);
    transport::ClientOptions o;
    o.endpoint = *endpoint;
    o.server_curve_public = crypto::GenerateBoxKeyPair().public_key;
    o.curve_public = mine.curve_public;
    o.curve_secret = mine.curve_secret.Clone();
    Result<std::unique_ptr<transport::Client>> c2 = transport::Client::Connect(std::move(o), 1500);
    EXPECT_FALSE(c2.ok()) << "a client with a wrong server key completed the handshake";
    if (c2.ok()) (void)(*c2)->Send({testing::Frame("SEND"), s.frame});
  }

  // 3. No security at all: a plain DEALER.
  {
    Result<std::string> endpoint = ReadFile(scenario_.endpoint_file);
    ASSERT_TRUE(endpoint.ok());
    endpoint->pop_back();
    void* ctx = zmq_ctx_new();
    void* sock = zmq_socket(ctx, ZMQ_DEALER);
    const int linger = 0, timeout = 1000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    ASSERT_EQ(zmq_connect(sock, endpoint->c_str()), 0);
    zmq_send(sock, "SEND", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(sock, s.frame.data(), s.frame.size(), ZMQ_DONTWAIT);
    char buf[64];
    EXPECT_EQ(zmq_recv(sock, buf, sizeof buf, 0), -1) << "the broker answered a plain socket";
    zmq_close(sock);
    zmq_ctx_term(ctx);
  }
  ASSERT_TRUE(BrokerAlive());
  auto shelter = OpenAgent(kShelter);
  ASSERT_TRUE(shelter);
  EXPECT_TRUE(Drain(*shelter, 1000).empty()) << "an intruder's message was routed";

  const std::vector<audit::AuditRecord> records = StopAndReadAudit();
  EXPECT_EQ(Count(records, audit::AuditEvent::kAccepted), 0u);
  const std::string fingerprint = ToHex(ByteView(stranger.curve_public).first(8));
  bool audited = false;
  for (const audit::AuditRecord& r : records) {
    if (r.event == audit::AuditEvent::kConnectionRefused &&
        r.reason.find(fingerprint) != std::string::npos) {
      audited = true;
    }
  }
  EXPECT_TRUE(audited) << "no connection_refused record names key " << fingerprint;
}

TEST_F(SecurityTest, BrokerRefusesSecretKeyReadableByGroupOrOthers) {
  ASSERT_TRUE(tools::Stop(broker_pid_, 5000).ok());
  broker_pid_ = -1;
  const std::string key = scenario_.dir + "/keys/broker.key";
  ASSERT_TRUE(fs::exists(key));
  for (mode_t mode : {0640, 0604, 0644}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(::chmod(key.c_str(), mode), 0);
    const std::string out = tmp_.path() + "/logs/perm.out";
    Result<pid_t> pid =
        tools::Spawn({testing::BinDir() + "/nrm-broker", "--config", scenario_.broker_config}, out);
    ASSERT_TRUE(pid.ok());
    Result<int> code = tools::WaitExit(*pid, 10000);
    if (!code.ok()) (void)tools::Stop(*pid, 2000);
    ASSERT_TRUE(code.ok()) << "the broker started with key mode " << std::oct << mode;
    EXPECT_EQ(*code, 2);
    EXPECT_NE(testing::ReadOrEmpty(out).find("broker.key"), std::string::npos)
        << testing::ReadOrEmpty(out);
  }
  // Control: mode 0600 starts.
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  StartBroker();
  EXPECT_TRUE(BrokerAlive());
}

}  // namespace
}  // namespace nrm
