#include "tools/bench_limits.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/crypto/crypto.h"
#include "common/transport/transport.h"

namespace nrm::tools {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Verifications per second on this thread for about `seconds`.
double VerifyRate(ByteView public_key, ByteView message, ByteView signature, double seconds) {
  const auto t0 = SteadyClock::now();
  uint64_t n = 0;
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (!crypto::Verify(public_key, message, signature).ok()) return 0;
    }
    n += 64;
    const double s = SecondsSince(t0);
    if (s >= seconds) return static_cast<double>(n) / s;
  }
}

// Signatures per second on this thread for about `seconds`.
double SignRate(const crypto::SignKeyPair& kp, ByteView message, double seconds) {
  const auto t0 = SteadyClock::now();
  uint64_t n = 0;
  while (true) {
    for (int i = 0; i < 64; ++i) (void)crypto::Sign(kp.secret_key, message);
    n += 64;
    const double s = SecondsSince(t0);
    if (s >= seconds) return static_cast<double>(n) / s;
  }
}

Status MeasureVerify(size_t message_bytes, double seconds, Limits& out) {
  crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
  const Bytes message = crypto::RandomBytes(message_bytes);
  const Bytes signature = crypto::Sign(kp.secret_key, message);
  out.sign_per_core = SignRate(kp, message, seconds);
  out.verify_per_core = VerifyRate(kp.public_key, message, signature, seconds);
  if (out.verify_per_core == 0) return Internal("a valid signature did not verify");
  std::vector<double> rates(static_cast<size_t>(out.cores));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < rates.size(); ++i) {
    threads.emplace_back(
        [&, i] { rates[i] = VerifyRate(kp.public_key, message, signature, seconds); });
  }
  for (std::thread& t : threads) t.join();
  out.verify_all_cores = 0;
  for (double r : rates) out.verify_all_cores += r;
  return Status::Ok();
}

// A new scratch RocksDB at `dir`, default options.
Result<std::unique_ptr<rocksdb::DB>> OpenScratch(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return IOError("cannot open " + dir + ": " + s.ToString());
  return std::unique_ptr<rocksdb::DB>(raw);
}

Status MeasureRocks(const std::string& dir, size_t message_bytes, double seconds, Limits& out) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenScratch(dir));
  rocksdb::Status s;
  const std::string value(message_bytes, 'x');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  uint64_t key = 0;
  auto next_key = [&key] {
    std::string k(8, '\0');
    for (int i = 0; i < 8; ++i) k[static_cast<size_t>(i)] = static_cast<char>(key >> (56 - 8 * i));
    ++key;
    return k;
  };
  out.batch_records = 64;
  auto t0 = SteadyClock::now();
  uint64_t batches = 0;
  while (SecondsSince(t0) < seconds) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < out.batch_records; ++i) batch.Put(next_key(), value);
    s = db->Write(wo, &batch);
    if (!s.ok()) return IOError("synced batch write failed: " + s.ToString());
    ++batches;
  }
  out.synced_batches_per_s = static_cast<double>(batches) / SecondsSince(t0);
  out.synced_records_per_s = out.synced_batches_per_s * out.batch_records;
  db->Close();
  NRM_ASSIGN_OR_RETURN(out.synced_single_per_s,
                       MeasureSyncedWrites(dir + "-single", message_bytes, seconds / 2));
  return Status::Ok();
}

// 2 KB frames from client A through one CURVE ROUTER, forwarded by one thread to client B.
Status MeasureCurve(size_t message_bytes, double seconds, Limits& out) {
  crypto::BoxKeyPair server = crypto::GenerateBoxKeyPair();
  crypto::BoxKeyPair a = crypto::GenerateBoxKeyPair();
  crypto::BoxKeyPair b = crypto::GenerateBoxKeyPair();
  transport::ServerOptions so;
  so.endpoint = "tcp://127.0.0.1:0";
  so.curve_public = server.public_key;
  so.curve_secret = server.secret_key.Clone();
  so.authorize = [&](ByteView key, std::string_view) -> std::optional<std::string> {
    if (Bytes(key.begin(), key.end()) == a.public_key) return std::string("A");
    if (Bytes(key.begin(), key.end()) == b.public_key) return std::string("B");
    return std::nullopt;
  };
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::Server> srv,
                       transport::Server::Start(std::move(so)));
  auto connect = [&](const crypto::BoxKeyPair& kp) {
    transport::ClientOptions co;
    co.endpoint = srv->endpoint();
    co.server_curve_public = server.public_key;
    co.curve_public = kp.public_key;
    co.curve_secret = kp.secret_key.Clone();
    return transport::Client::Connect(std::move(co), 5000);
  };
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::Client> ca, connect(a));
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<transport::Client> cb, connect(b));
  NRM_RETURN_IF_ERROR(cb->Send({transport::Frame("HELLO")}));
  Bytes b_route;
  const auto setup_deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (b_route.empty() && SteadyClock::now() < setup_deadline) {
    NRM_ASSIGN_OR_RETURN(auto in, srv->Receive(100));
    if (in && in->agency == "B") b_route = in->routing_id;
  }
  if (b_route.empty()) return Unavailable("CURVE forwarding: client B never arrived");

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  const Bytes payload = crypto::RandomBytes(message_bytes);
  std::thread forwarder([&] {
    while (!stop.load()) {
      Result<std::optional<transport::Incoming>> in = srv->Receive(50);
      if (!in.ok() || !*in) continue;
      while (!stop.load() && srv->Send(b_route, (*in)->frames).code() == Code::kResourceExhausted) {
        std::this_thread::yield();
      }
    }
  });
  std::thread producer([&] {
    // Flat out: the sockets' high-water marks bound what is in flight.
    while (!stop.load()) {
      if (ca->Send({transport::Frame("SEND"), payload}).ok()) sent++;
    }
  });
  uint64_t received = 0;
  const auto t0 = SteadyClock::now();
  while (SecondsSince(t0) < seconds) {
    Result<std::optional<transport::Frames>> got = cb->Receive(50);
    if (got.ok() && *got) ++received;
  }
  out.curve_forward_per_s = static_cast<double>(received) / SecondsSince(t0);
  stop.store(true);
  producer.join();
  forwarder.join();
  return Status::Ok();
}

}  // namespace

Result<double> MeasureSyncedWrites(const std::string& dir, size_t value_bytes, double seconds) {
  NRM_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenScratch(dir));
  const std::string value(value_bytes, 'x');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const auto t0 = SteadyClock::now();
  uint64_t writes = 0;
  while (SecondsSince(t0) < seconds) {
    const rocksdb::Status s = db->Put(wo, "key" + std::to_string(writes), value);
    if (!s.ok()) return IOError("synced write failed: " + s.ToString());
    ++writes;
  }
  const double rate = static_cast<double>(writes) / SecondsSince(t0);
  db->Close();
  return rate;
}

Result<Limits> MeasureLimits(const std::string& dir, size_t message_bytes, bool quick) {
  Limits out;
  out.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const double seconds = quick ? 0.3 : 1.0;
  NRM_RETURN_IF_ERROR(MeasureVerify(message_bytes, seconds, out));
  NRM_RETURN_IF_ERROR(MeasureRocks(dir, message_bytes, seconds, out));
  NRM_RETURN_IF_ERROR(MeasureCurve(message_bytes, seconds, out));
  return out;
}

}  // namespace nrm::tools
