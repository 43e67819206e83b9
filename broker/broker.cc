// The broker's life: Start() wires keys, directory, policy, store, audit log, the ZAP check and
// the worker pool together; Run() is the routing loop, which reloads on request, scans for
// expired messages, audits refused handshakes and gathers what has arrived into one group
// commit. What happens to each message is in requests.cc (dispatch), admission.cc (SEND),
// delivery.cc (queues and acknowledgements), expiry.cc, reload.cc and commit.cc (the write).
#include "broker/broker.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "broker/witness_submit.h"
#include "broker/worker_pool.h"
#include "common/file_util.h"
#include "policy/policy_file.h"

namespace nrm::broker {
namespace {

// The first bytes of a key, for logs: enough to tell keys apart, never a secret.
std::string Fingerprint(ByteView key) { return ToHex(key.first(std::min<size_t>(8, key.size()))); }

// The audit log's origin: the one the directory publishes (its log_vkey, else the default for
// the broker's id), which the config's log_origin, if set, must repeat: agents take the origin
// from the directory.
Result<std::string> LogOrigin(const BrokerConfig& config, const identity::Directory& dir) {
  NRM_ASSIGN_OR_RETURN(
      audit::note::VerifierKey published,
      audit::PublishedLogKey(dir.broker().log_vkey, dir.broker().id, dir.broker().sign_key));
  if (!config.log_origin.empty() && config.log_origin != published.name) {
    return InvalidArgument("log_origin \"" + config.log_origin + "\" is not the origin the " +
                           "directory publishes for the broker's audit log (\"" + published.name +
                           "\"): add its log_vkey to the directory, or change log_origin");
  }
  return published.name;
}

// Raises the soft limit on open descriptors to the hard one (systemd's LimitNOFILE) and returns
// the soft limit in force.
Result<uint64_t> RaiseDescriptorLimit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) {
    return Internal(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  const rlim_t soft = r.rlim_cur;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
      spdlog::warn("cannot raise the descriptor limit from {} to {}: {}", soft, r.rlim_max,
                   std::strerror(errno));
      r.rlim_cur = soft;
    }
  }
  return static_cast<uint64_t>(r.rlim_cur == RLIM_INFINITY ? (1u << 20) : r.rlim_cur);
}

// The server's connection limits from the configuration and the descriptor limit: every
// connection fits under the limit with `descriptor_reserve` left for the store and the rest.
Result<transport::ConnectionLimits> ConnectionLimitsFor(const BrokerConfig& c,
                                                        uint64_t descriptors) {
  const int64_t room = static_cast<int64_t>(descriptors) - c.descriptor_reserve;
  if (c.max_connections > 0 && room < 16) {
    return InvalidArgument("the descriptor limit (" + std::to_string(descriptors) +
                           ") leaves fewer than 16 connections after descriptor_reserve (" +
                           std::to_string(c.descriptor_reserve) +
                           "); raise LimitNOFILE (docs/OPERATIONS.md)");
  }
  transport::ConnectionLimits l;
  l.max_connections = static_cast<size_t>(std::min(c.max_connections, std::max<int64_t>(room, 0)));
  l.max_pending = static_cast<size_t>(c.max_unauthenticated);
  if (l.max_connections > 0 && l.max_pending > 0) {
    l.max_pending = std::min(l.max_pending, std::max<size_t>(1, l.max_connections / 2));
  }
  l.max_pending_per_address = static_cast<size_t>(c.max_unauthenticated_per_address);
  l.max_per_agency = static_cast<size_t>(c.max_connections_per_agency);
  l.first_message_timeout_ms = c.first_message_timeout_ms;
  return l;
}

}  // namespace

Result<std::unique_ptr<Broker>> Broker::Start(const BrokerConfig& config, const Clock& clock) {
  auto b = std::unique_ptr<Broker>(new Broker(config, clock));
  NRM_ASSIGN_OR_RETURN(const uint64_t descriptors, RaiseDescriptorLimit());
  NRM_ASSIGN_OR_RETURN(const transport::ConnectionLimits limits,
                       ConnectionLimitsFor(config, descriptors));
  NRM_ASSIGN_OR_RETURN(b->keys_, identity::LoadSecretKeyFile(config.key_file));
  NRM_ASSIGN_OR_RETURN(auto read, b->ReadDirectory());
  identity::Directory& dir = read.first;
  b->directory_text_ = std::move(read.second);
  if (dir.broker().sign_key != b->keys_.sign_public ||
      dir.broker().curve_key != b->keys_.curve_public) {
    return InvalidArgument(config.key_file + ": these keys are not the broker's keys in " +
                           config.directory);
  }
  b->directory_ = std::make_shared<const identity::Directory>(std::move(dir));
  NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(config.policy));
  b->policy_ = std::make_unique<policy::Policy>(std::move(policy));
  NRM_RETURN_IF_ERROR(MakeDirs(config.data_dir));
  NRM_ASSIGN_OR_RETURN(
      b->store_, MessageStore::Open(config.data_dir + "/store", audit::AuditColumnFamilyNames()));
  NRM_RETURN_IF_ERROR(b->store_->TrackSyncedWrites(config.data_dir + "/store.synced"));
  b->audit_cfs_ = audit::AuditColumnFamilies::From(
      [&](const std::string& name) { return b->store_->Handle(name); });
  NRM_ASSIGN_OR_RETURN(const std::string origin, LogOrigin(config, *b->directory_));
  NRM_ASSIGN_OR_RETURN(b->audit_, audit::AuditLog::Open(b->store_->db(), b->audit_cfs_,
                                                        b->keys_.sign_secret.Clone(), origin));
  NRM_RETURN_IF_ERROR(b->StartWitnesses());
  audit::AuditRecord loaded;
  loaded.event = audit::AuditEvent::kDirectoryLoaded;
  loaded.rule = "serial " + std::to_string(b->directory_->serial());
  loaded.reason = "directory in force at start";
  b->Audit(std::move(loaded));
  audit::AuditRecord policy_loaded;
  policy_loaded.event = audit::AuditEvent::kPolicyLoaded;
  policy_loaded.decision = "allow";
  policy_loaded.rule = "sha256 " + b->policy_->hash();
  policy_loaded.reason = "policy in force at start";
  b->Audit(std::move(policy_loaded));
  NRM_RETURN_IF_ERROR(b->LoadFederation(/*reload=*/false));
  NRM_RETURN_IF_ERROR(b->CommitBatch());

  transport::ServerOptions so;
  so.endpoint = config.bind;
  so.curve_public = b->keys_.curve_public;
  so.curve_secret = b->keys_.curve_secret.Clone();
  so.max_message_bytes = static_cast<size_t>(config.max_message_bytes);
  so.handshake_timeout_ms = static_cast<int>(config.handshake_timeout_ms);
  so.heartbeat_ivl_ms = static_cast<int>(config.heartbeat_ms);
  so.heartbeat_timeout_ms = static_cast<int>(config.heartbeat_timeout_ms);
  so.limits = limits;
  // ZeroMQ's queue per connection (each way), to match the delivery window: deliveries in
  // flight are bounded by it, the rest is for replies (and never more than 10,000).
  so.high_water_mark = static_cast<int>(std::min<int64_t>(config.delivery_window + 1024, 10000));
  Broker* raw = b.get();
  so.authorize = [raw](ByteView key, std::string_view address) -> std::optional<std::string> {
    auto current = raw->directory();
    const identity::Agency* a = current->FindByCurveKey(key);
    if (a == nullptr) {
      // A partner country's broker, under an agreement in force: its connection is "@KH".
      if (auto fed = raw->federation()) {
        if (auto partner = fed->AuthorizePartner(key, raw->clock_.NowMillis())) return partner;
      }
    }
    if (a == nullptr || a->revoked) {
      const char* why = a == nullptr ? "transport key not in the directory" : "agency revoked";
      spdlog::warn("refused connection from {} with transport key {}… ({})", address,
                   Fingerprint(key), why);
      audit::AuditRecord r;
      r.event = audit::AuditEvent::kConnectionRefused;
      r.sender = a == nullptr ? "" : a->id;
      r.rule = "unauthenticated";
      r.reason = std::string(why) + ", key " + Fingerprint(key);
      std::lock_guard<std::mutex> lock(raw->refused_mu_);
      raw->refused_handshakes_.push_back(std::move(r));
      return std::nullopt;
    }
    return a->id;
  };
  NRM_ASSIGN_OR_RETURN(b->server_, transport::Server::Start(std::move(so)));
  b->started_at_ms_ = clock.NowMillis();
  NRM_RETURN_IF_ERROR(b->StartMetrics());
  // The control socket, for `nrm backup`. A path too long for a Unix socket (about 100
  // bytes) leaves the broker without one: it routes as before, and says so.
  if (Result<std::unique_ptr<transport::ControlServer>> control =
          transport::ControlServer::Bind(config.data_dir + "/control");
      control.ok()) {
    b->control_ = std::move(*control);
  } else {
    spdlog::warn("no control socket, so nrm backup cannot reach this broker: {}",
                 control.status().ToString());
  }
  // One routing thread plus a worker per other core (at most three) check signatures.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  b->pool_ = std::make_unique<WorkerPool>(std::min<size_t>(cores - 1, 3));
  if (!config.endpoint_file.empty()) {
    NRM_RETURN_IF_ERROR(WriteFileAtomic(config.endpoint_file, b->server_->endpoint() + "\n"));
  }
  spdlog::info("broker {} listening on {} with directory serial {} ({} agencies), policy {}",
               b->keys_.id, b->server_->endpoint(), b->directory_->serial(),
               b->directory_->agencies().size(), b->policy_->hash().substr(0, 16));
  spdlog::info(
      "descriptor limit {}: up to {} connections ({} unauthenticated, {} from one address, {} "
      "per agency; 0 = no limit), {} descriptors kept in reserve",
      descriptors, limits.max_connections, limits.max_pending, limits.max_pending_per_address,
      limits.max_per_agency, config.descriptor_reserve);
  return b;
}

Broker::Broker(const BrokerConfig& config, const Clock& clock) : config_(config), clock_(clock) {}
Broker::~Broker() = default;

std::shared_ptr<const identity::Directory> Broker::directory() const {
  std::lock_guard<std::mutex> lock(directory_mu_);
  return directory_;
}

Status Broker::Run(const std::atomic<bool>& stop, std::atomic<bool>& reload) {
  int64_t next_expiry_scan = 0;
  int64_t next_stall_scan = 0;
  while (!stop.load()) {
    if (reload.exchange(false)) {
      if (Status s = ReloadDirectory(); !s.ok()) {
        spdlog::error("directory reload refused, the directory in force stays: {}", s.ToString());
      }
      if (Status s = ReloadPolicy(); !s.ok()) {
        spdlog::error("policy reload refused, the policy in force stays: {}", s.ToString());
      }
      if (Status s = LoadFederation(/*reload=*/true); !s.ok()) {
        spdlog::error("partners reload refused, the partners in force stay: {}", s.ToString());
      }
      WriteFederationStatus(/*now=*/true);  // `nrm federation status` shows what is in force
    }
    NRM_RETURN_IF_ERROR(PollLinks());
    NRM_RETURN_IF_ERROR(PumpLinks());
    WriteFederationStatus();
    if (const int64_t now = clock_.NowMillis(); now >= next_expiry_scan) {
      NRM_RETURN_IF_ERROR(ExpireDue());
      next_expiry_scan = now + 1000;
    }
    {
      std::vector<audit::AuditRecord> refused;
      {
        std::lock_guard<std::mutex> lock(refused_mu_);
        refused.swap(refused_handshakes_);
      }
      for (audit::AuditRecord& r : refused) Audit(std::move(r));
    }
    TakeConnectionEvents();
    if (const int64_t now = clock_.NowMillis(); now >= next_stall_scan) {
      CloseStalled();
      next_stall_scan = now + 1000;
    }
    FlushCounted();
    ServeControl();
    if (metrics_server_ && clock_.NowMillis() - rendered_at_ms_ >= 1000) RenderMetrics();
    // While relays wait for their receipts, come back soon to read them.
    NRM_ASSIGN_OR_RETURN(auto first, server_->Receive(LinksBusy() ? 1 : 100));
    if (!first) {
      // Idle: write what is still pending (e.g. the audit of the last deliveries) under a
      // signed head.
      NRM_RETURN_IF_ERROR(CommitBatch(/*sign=*/true));
      continue;
    }
    // Group commit: gather what has already arrived into the same synced write; check its
    // signatures on every core, then handle it in arrival order on this thread.
    gathered_.clear();
    gathered_.push_back(std::move(*first));
    while (gathered_.size() < kMaxBatch) {
      NRM_ASSIGN_OR_RETURN(auto more, server_->Receive(0));
      if (!more) break;
      gathered_.push_back(std::move(*more));
    }
    Precheck(gathered_, prechecked_);
    for (size_t i = 0; i < gathered_.size(); ++i) Handle(gathered_[i], &prechecked_[i]);
    NRM_RETURN_IF_ERROR(CommitBatch());
  }
  TakeConnectionEvents();
  FlushCounted(/*now=*/true);
  NRM_RETURN_IF_ERROR(CommitBatch(/*sign=*/true));
  WriteFederationStatus(/*now=*/true);
  spdlog::info(
      "broker stopping: {} accepted, {} refused, {} delivered, {} acknowledged, {} synced writes "
      "of {} records",
      stats_.accepted, stats_.refused, stats_.delivered, stats_.acknowledged, stats_.commits,
      stats_.records);
  return Status::Ok();
}

}  // namespace nrm::broker
