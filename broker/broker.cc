#include "broker/broker.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <thread>

#include "common/file_util.h"
#include "policy/policy_file.h"

namespace nrm::broker {
namespace {

using transport::Frame;
using transport::Frames;
using transport::FrameText;

constexpr size_t kMaxBatch = 256;  // messages gathered into one synced write (group commit)

// The first bytes of a key, for logs: enough to tell keys apart, never a secret.
std::string Fingerprint(ByteView key) { return ToHex(key.first(std::min<size_t>(8, key.size()))); }

// Fewer SENDs than this in one gathered batch are checked on the routing thread alone: waking
// a worker costs more than it saves.
constexpr size_t kMinParallelChecks = 4;

}  // namespace

// A fixed set of threads that, with the calling thread, runs fn(0..n-1) and returns when all
// are done. Signature checks are the broker's largest cost per message (about 54 us each); the
// routing thread stays the only one that touches sockets, the store and the audit log.
// Thread-safety: Run() is called by one thread at a time (the routing thread).
class WorkerPool {
 public:
  explicit WorkerPool(size_t workers) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  size_t size() const { return threads_.size(); }

  void Run(size_t n, const std::function<void(size_t)>& fn) {
    if (threads_.empty() || n < 2) {
      for (size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      done_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    const size_t mine = Drain(fn, n);
    std::unique_lock<std::mutex> lock(mu_);
    done_ += mine;
    // Every index ran, and no worker still holds this generation's fn.
    finished_.wait(lock, [&] { return done_ == n_ && active_ == 0; });
    fn_ = nullptr;
  }

 private:
  size_t Drain(const std::function<void(size_t)>& fn, size_t n) {
    size_t count = 0;
    for (size_t i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) {
      fn(i);
      ++count;
    }
    return count;
  }

  void Work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && fn_ != nullptr); });
      if (stop_) return;
      seen = generation_;
      const std::function<void(size_t)>* fn = fn_;
      const size_t n = n_;
      ++active_;
      lock.unlock();
      const size_t count = Drain(*fn, n);
      lock.lock();
      done_ += count;
      --active_;
      finished_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_, finished_;
  const std::function<void(size_t)>* fn_ = nullptr;  // guarded by mu_
  size_t n_ = 0;                                     // guarded by mu_
  size_t done_ = 0;                                  // guarded by mu_
  size_t active_ = 0;                                // guarded by mu_
  uint64_t generation_ = 0;                          // guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::atomic<size_t> next_{0};
  std::vector<std::thread> threads_;
};

Result<std::unique_ptr<Broker>> Broker::Start(const BrokerConfig& config, const Clock& clock) {
  auto b = std::unique_ptr<Broker>(new Broker(config, clock));
  NRM_ASSIGN_OR_RETURN(b->keys_, identity::LoadSecretKeyFile(config.key_file));
  NRM_ASSIGN_OR_RETURN(
      identity::Directory dir,
      identity::Directory::Load(config.directory, config.authority_key, clock.NowMillis()));
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
  audit::AuditColumnFamilies cfs{b->store_->Handle(audit::kRecordsColumnFamily),
                                 b->store_->Handle(audit::kHeadsColumnFamily),
                                 b->store_->Handle(audit::kMetaColumnFamily)};
  NRM_ASSIGN_OR_RETURN(b->audit_,
                       audit::AuditLog::Open(b->store_->db(), cfs, b->keys_.sign_secret.Clone()));
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
  NRM_RETURN_IF_ERROR(b->CommitBatch());

  transport::ServerOptions so;
  so.endpoint = config.bind;
  so.curve_public = b->keys_.curve_public;
  so.curve_secret = b->keys_.curve_secret.Clone();
  so.max_message_bytes = static_cast<size_t>(config.max_message_bytes);
  Broker* raw = b.get();
  so.authorize = [raw](ByteView key, std::string_view address) -> std::optional<std::string> {
    auto current = raw->directory();
    const identity::Agency* a = current->FindByCurveKey(key);
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
  // One routing thread plus a worker per other core (at most three) check signatures.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  b->pool_ = std::make_unique<WorkerPool>(std::min<size_t>(cores - 1, 3));
  if (!config.endpoint_file.empty()) {
    NRM_RETURN_IF_ERROR(WriteFileAtomic(config.endpoint_file, b->server_->endpoint() + "\n"));
  }
  spdlog::info("broker {} listening on {} with directory serial {} ({} agencies), policy {}",
               b->keys_.id, b->server_->endpoint(), b->directory_->serial(),
               b->directory_->agencies().size(), b->policy_->hash().substr(0, 16));
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
  while (!stop.load()) {
    if (reload.exchange(false)) {
      if (Status s = ReloadDirectory(); !s.ok()) {
        spdlog::error("directory reload refused, the directory in force stays: {}", s.ToString());
      }
      if (Status s = ReloadPolicy(); !s.ok()) {
        spdlog::error("policy reload refused, the policy in force stays: {}", s.ToString());
      }
    }
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
    NRM_ASSIGN_OR_RETURN(auto first, server_->Receive(100));
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
  NRM_RETURN_IF_ERROR(CommitBatch(/*sign=*/true));
  spdlog::info(
      "broker stopping: {} accepted, {} refused, {} delivered, {} acknowledged, {} synced writes "
      "of {} records",
      stats_.accepted, stats_.refused, stats_.delivered, stats_.acknowledged, stats_.commits,
      stats_.records);
  return Status::Ok();
}

Status Broker::CommitBatch(bool sign) {
  const int64_t now = clock_.NowMillis();
  const bool unsigned_records = audit_->size() > signed_size_;
  if (batch_.Count() > 0 || (sign && unsigned_records)) {
    // A signed tree head covers every record so far. A synced batch gets one (its senders'
    // receipts need it); a batch of only acknowledgements and deliveries waits for the next
    // head, which comes within kHeadEveryMs or when the broker is idle or stops.
    std::optional<audit::SignedTreeHead> head;
    if (unsigned_records && (sign || batch_must_sync_ || now - signed_at_ms_ >= kHeadEveryMs)) {
      NRM_ASSIGN_OR_RETURN(head, audit_->SignHead(now, &batch_));
    }
    const uint32_t records = batch_.Count();
    // Only acknowledgements and deliveries in this batch: nobody is told it is durable, and
    // losing it to a power cut means a redelivery the recipient drops. It becomes durable with
    // the next synced write, so it costs no fsync of its own.
    const bool sync = batch_must_sync_;
    Status s = store_->Commit(batch_, sync);
    batch_must_sync_ = false;
    if (s.ok()) {
      stats_.records += records;
      audit_->MarkWritten();
      if (head) {
        signed_size_ = head->size;
        signed_at_ms_ = now;
      }
      const Bytes encoded = head ? audit::EncodeTreeHead(*head) : Bytes();
      for (Reply& r : replies_) {
        if (!r.receipt_leaf) continue;
        Bytes leaf(8);
        for (int i = 0; i < 8; ++i) leaf[i] = static_cast<uint8_t>(*r.receipt_leaf >> (56 - 8 * i));
        r.frames.push_back(std::move(leaf));
        r.frames.push_back(encoded);
      }
    } else {
      audit_->DiscardPending();
    }
    if (!s.ok()) {
      // Nothing of this batch is durable: no sender may be told otherwise.
      spdlog::error("store write failed, refusing this batch: {}", s.ToString());
      for (Reply& r : replies_) {
        if (!r.frames.empty() && FrameText(r.frames[0]) == "ACCEPTED") {
          r.frames = {Frame("REFUSED"), r.frames[1], Frame(CodeName(s.code())),
                      Frame("the broker could not store the message; resend later")};
          stats_.accepted--;
          stats_.refused++;
        }
      }
    }
    if (sync) ++stats_.commits;
    batch_ids_.clear();
    if (!s.ok()) {
      // Tell the senders, then stop: RocksDB keeps a failed write as a background error (a full
      // disk, an I/O error, a damaged file), and writing on would be undefined. The agents
      // resend once an operator has made room and restarted the broker.
      SendReplies();
      return s.WithContext("the broker stops because its store cannot be written");
    }
  }
  SendReplies();
  std::sort(to_pump_.begin(), to_pump_.end());
  to_pump_.erase(std::unique(to_pump_.begin(), to_pump_.end()), to_pump_.end());
  for (const std::string& agency : to_pump_) NRM_RETURN_IF_ERROR(Pump(agency));
  to_pump_.clear();
  return Status::Ok();
}

void Broker::Precheck(const std::vector<transport::Incoming>& in, std::vector<Prechecked>& out) {
  out.assign(in.size(), Prechecked{});
  std::vector<size_t> sends;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].frames.size() == 2 && FrameText(in[i].frames[0]) == "SEND") sends.push_back(i);
  }
  if (sends.size() < kMinParallelChecks) return;  // HandleSend checks them itself
  const auto dir = directory();
  pool_->Run(sends.size(), [&](size_t k) {
    const transport::Incoming& m = in[sends[k]];
    const identity::Agency* agency = dir->Find(m.agency);
    Result<wire::EnvelopeView> env = wire::DecodeEnvelope(m.frames[1]);
    // Only the case HandleSend would verify: a decodable envelope from the active agency
    // that the connection authenticated. Anything else HandleSend refuses by itself.
    if (agency == nullptr || agency->revoked || !env.ok() || env->sender() != agency->id) return;
    Prechecked& p = out[sends[k]];
    p.signature = wire::VerifySignature(*env, agency->sign_key);
    p.body_hash = crypto::Sha256(env->body);
    p.valid = true;
  });
}

void Broker::Handle(transport::Incoming& in, const Prechecked* pre) {
  auto dir = directory();
  const identity::Agency* agency = dir->Find(in.agency);
  if (agency == nullptr || agency->revoked) {
    ++stats_.refused;
    Refuse(in.routing_id, {}, PermissionDenied("agency " + in.agency + " is not active"), nullptr,
           in.agency);
    return;
  }
  // Any message from a new connection starts a new session: what was delivered on the old
  // one and not acknowledged is delivered again (the recipient drops duplicates by id).
  Session& session = sessions_[in.agency];
  if (session.routing_id != in.routing_id) {
    session = Session{in.routing_id, 0, {}};
    to_pump_.push_back(in.agency);
  }
  if (in.frames.empty()) {
    ++stats_.malformed;
    return;
  }
  const std::string_view verb = FrameText(in.frames[0]);
  if (verb == "HELLO" && in.frames.size() == 1) {
    replies_.push_back({in.routing_id, {Frame("WELCOME"), Frame(keys_.id)}, std::nullopt});
  } else if (verb == "SEND" && in.frames.size() == 2) {
    HandleSend(in, *agency, pre != nullptr && pre->valid ? pre : nullptr);
  } else if (verb == "ACK" && in.frames.size() == 2) {
    HandleAck(in);
  } else {
    ++stats_.malformed;
    Refuse(in.routing_id, {}, InvalidArgument("unknown request (expected HELLO, SEND or ACK)"),
           nullptr, in.agency);
  }
}

void Broker::Refuse(const Bytes& routing_id, ByteView message_id, const Status& why,
                    const wire::EnvelopeView* env, const std::string& sender) {
  audit::AuditRecord r;
  if (env != nullptr) {
    r = RecordOf(audit::AuditEvent::kRefused, *env);
  } else {
    r.event = audit::AuditEvent::kRefused;
    r.sender = sender;
  }
  r.decision = "deny";
  r.rule = std::string(CodeName(why.code()));
  r.reason = why.message();  // our own words about metadata: never payload content
  Audit(std::move(r));
  replies_.push_back({routing_id,
                      {Frame("REFUSED"), Bytes(message_id.begin(), message_id.end()),
                       Frame(CodeName(why.code())), Frame(why.message())},
                      std::nullopt});
}

uint64_t Broker::Audit(audit::AuditRecord record) {
  record.time_ms = clock_.NowMillis();
  if (record.event != audit::AuditEvent::kDelivered &&
      record.event != audit::AuditEvent::kAcknowledged) {
    batch_must_sync_ = true;  // someone is (or will be) told this happened
  }
  // Text in a record may come from a peer (ids, reasons that quote them): keep it printable
  // ASCII and short, so that it always encodes and never forges a line in a log.
  auto printable = [](std::string& s, size_t max) {
    if (s.size() > max) s.resize(max);
    for (char& c : s) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
  };
  printable(record.sender, 64);
  printable(record.kind, 64);
  printable(record.rule, 200);
  printable(record.reason, 200);
  for (std::string& r : record.recipients) printable(r, 64);
  uint64_t index = 0;
  Status s = audit_->Append(record, &batch_, &index);
  if (!s.ok()) {
    // Still record that something happened, rather than stop the broker on a peer's input.
    spdlog::error("audit record does not encode ({}); recording the event alone", s.ToString());
    audit::AuditRecord minimal;
    minimal.event = record.event;
    minimal.time_ms = record.time_ms;
    minimal.reason = "record did not encode";
    s = audit_->Append(minimal, &batch_, &index);
    NRM_CHECK(s.ok());  // an event and a time always encode
  }
  return index;
}

audit::AuditRecord Broker::RecordOf(audit::AuditEvent event, const wire::EnvelopeView& env,
                                    const crypto::Hash* body_hash) const {
  audit::AuditRecord r;
  r.event = event;
  r.message_id.assign(env.message_id().begin(), env.message_id().end());
  const crypto::Hash h = body_hash != nullptr ? *body_hash : crypto::Sha256(env.body);
  r.envelope_hash.assign(h.begin(), h.end());
  r.sender = env.sender();
  for (std::string_view id : env.recipients()) r.recipients.emplace_back(id);
  r.kind = wire::KindName(env.kind());
  r.case_ref.assign(env.case_ref().begin(), env.case_ref().end());
  return r;
}

void Broker::HandleSend(const transport::Incoming& in, const identity::Agency& sender,
                        const Prechecked* pre) {
  const Bytes& frame = in.frames[1];
  Result<wire::EnvelopeView> env = wire::DecodeEnvelope(frame);
  if (!env) {
    ++stats_.malformed;
    ++stats_.refused;
    Refuse(in.routing_id, {}, env.status(), nullptr, sender.id);
    return;
  }
  const ByteView id = env->message_id();
  auto refuse = [&](const Status& why) {
    ++stats_.refused;
    spdlog::debug("refused {} from {}: {}", ToHex(id), sender.id, why.ToString());
    Refuse(in.routing_id, id, why, &*env);
  };
  const crypto::Hash* body_hash = pre != nullptr ? &pre->body_hash : nullptr;
  if (env->sender() != sender.id) {
    return refuse(PermissionDenied("envelope names sender " + std::string(env->sender()) +
                                   " but the connection is authenticated as " + sender.id));
  }
  // Checked on the worker pool when the batch had enough SENDs, against the same key.
  if (Status s = pre != nullptr ? pre->signature : wire::VerifySignature(*env, sender.sign_key);
      !s.ok()) {
    return refuse(s);
  }
  const int64_t skew = clock_.NowMillis() - env->created_at_ms();
  if (skew > config_.freshness_window_ms || -skew > config_.freshness_window_ms) {
    return refuse(InvalidArgument("created_at is " + std::to_string(skew / 1000) +
                                  " s from the broker's clock; the freshness window is " +
                                  std::to_string(config_.freshness_window_ms / 1000) + " s"));
  }
  auto dir = directory();
  std::vector<std::string> recipients;
  for (std::string_view r : env->recipients()) {
    const identity::Agency* a = dir->Find(r);
    if (a == nullptr)
      return refuse(NotFound("recipient " + std::string(r) + " is not in the directory"));
    if (a->revoked) return refuse(PermissionDenied("recipient " + std::string(r) + " is revoked"));
    recipients.emplace_back(r);
  }
  Bytes id_bytes(id.begin(), id.end());
  Result<bool> seen = store_->Seen(id);
  if (!seen) {
    LogStoreError(seen.status());
    return refuse(Unavailable("replay memory unreadable: " + seen.status().message()));
  }
  if (*seen || std::find(batch_ids_.begin(), batch_ids_.end(), id_bytes) != batch_ids_.end()) {
    return refuse(AlreadyExists("message id " + ToHex(id) + " was seen before (replay)"));
  }
  // Fail closed: without the case's parties an H2 case's restriction cannot be checked.
  Result<std::optional<CaseParties>> known = store_->FindCase(env->case_ref());
  if (!known) {
    LogStoreError(known.status());
    return refuse(Unavailable("case registry unreadable: " + known.status().message()));
  }
  const CaseParties* parties = known->has_value() ? &**known : nullptr;
  Result<std::string> rules = Decide(*env, sender, *dir, parties);
  if (!rules.ok()) return refuse(rules.status());
  if (Status s = CheckDiskReserve(); !s.ok()) return refuse(s);
  disk_.accepted_since += frame.size() * recipients.size();
  RecordCase(*env, parties);
  store_->AddAccepted(batch_, id, env->created_at_ms(), sender.id, recipients, frame,
                      clock_.NowMillis() + config_.ttl_ms);
  batch_ids_.push_back(std::move(id_bytes));
  ++stats_.accepted;
  audit::AuditRecord record = RecordOf(audit::AuditEvent::kAccepted, *env, body_hash);
  record.decision = "allow";
  record.rule = *rules;
  if (env->header->consent_override()) {
    record.reason = "personal data shared without consent: the sender gave an override reason";
  }
  const uint64_t leaf = Audit(std::move(record));
  replies_.push_back({in.routing_id, {Frame("ACCEPTED"), Bytes(id.begin(), id.end())}, leaf});
  for (std::string& r : recipients) to_pump_.push_back(std::move(r));
}

void Broker::LogStoreError(const Status& s) {
  const int64_t now = clock_.NowMillis();
  if (store_error_logged_ms_ != 0 && now - store_error_logged_ms_ < 10000) return;
  store_error_logged_ms_ = now;
  spdlog::error(
      "the broker store cannot be read; messages are refused until it is restored from a "
      "backup (OPERATIONS.md): {}",
      s.ToString());
}

Status Broker::CheckDiskReserve() {
  const uint64_t reserve = config_.min_free_disk_bytes;
  if (reserve == 0) return Status::Ok();
  const int64_t now = clock_.NowMillis();
  if (disk_.checked_ms == 0 || now - disk_.checked_ms >= 100 || disk_.accepted_since >= 1 << 20) {
    struct statvfs v {};
    // Unknown free space counts as none: refuse rather than risk the store.
    disk_.free_bytes = ::statvfs(config_.data_dir.c_str(), &v) == 0
                           ? static_cast<uint64_t>(v.f_bavail) * v.f_frsize
                           : 0;
    disk_.checked_ms = now;
    disk_.accepted_since = 0;
  }
  // Each accepted byte is written twice before long: to the WAL, then to a table file.
  const uint64_t used = 2 * disk_.accepted_since;
  const uint64_t free = disk_.free_bytes > used ? disk_.free_bytes - used : 0;
  const bool low = free < reserve;
  if (low != disk_.low) {
    disk_.low = low;
    if (low) {
      spdlog::warn(
          "{} MiB free on the data directory's disk, under the {} MiB reserve: new "
          "messages are refused until space returns",
          free >> 20, reserve >> 20);
    } else {
      spdlog::info("{} MiB free on the data directory's disk: accepting messages again",
                   free >> 20);
    }
  }
  if (!low) return Status::Ok();
  return ResourceExhausted("the broker's disk is nearly full (" + std::to_string(free >> 20) +
                           " MiB free, " + std::to_string(reserve >> 20) +
                           " MiB kept in reserve); resend later");
}

Result<std::string> Broker::Decide(const wire::EnvelopeView& env, const identity::Agency& sender,
                                   const identity::Directory& dir, const CaseParties* known) {
  const std::string kind(wire::KindName(env.kind()));
  const std::string date = FormatTimeUtc(env.created_at_ms()).substr(0, 10);
  std::string rules;
  for (std::string_view r : env.recipients()) {
    const identity::Agency* to = dir.Find(r);
    policy::Decision d = policy_->Route(
        {{sender.id, sender.role, sender.country}, {to->id, to->role, to->country}, kind, date});
    if (!d.allowed) {
      return PermissionDenied("policy " + d.policy_hash.substr(0, 12) + " refuses " + sender.id +
                              " -> " + to->id + ": " + d.reason);
    }
    const std::string rule = d.agreement_id.empty() ? d.rule_id : d.rule_id + "@" + d.agreement_id;
    if (rules.find(rule) == std::string::npos) rules += (rules.empty() ? "" : ",") + rule;
  }
  // H2: not to be passed on without the provider's permission. Only envelope metadata is
  // needed: who opened the case, who is on it, whom the originator approved.
  const CaseParties* c = known;
  if (c != nullptr && env.kind() == wire::Kind::H2Approval && sender.id != c->originator) {
    return PermissionDenied("only " + c->originator +
                            ", which opened this case, may approve "
                            "onward sharing");
  }
  if (c != nullptr && c->h2 && sender.id != c->originator) {
    for (std::string_view r : env.recipients()) {
      const std::string id(r);
      if (!c->parties.count(id) && !c->approved.count(id)) {
        return PermissionDenied("case is H2: " + id + " is not on it, and " + c->originator +
                                " (which opened it) has not approved passing it on");
      }
    }
  }
  return rules + " (policy " + policy_->hash().substr(0, 12) + ")";
}

void Broker::RecordCase(const wire::EnvelopeView& env, const CaseParties* known) {
  CaseParties c = known ? *known : CaseParties{std::string(env.sender()), false, {}, {}};
  c.h2 = c.h2 || env.handling() == wire::Handling::H2;
  c.parties.insert(std::string(env.sender()));
  for (std::string_view r : env.recipients()) {
    (env.kind() == wire::Kind::H2Approval ? c.approved : c.parties).insert(std::string(r));
  }
  if (known == nullptr || c != *known) store_->AddCase(batch_, env.case_ref(), std::move(c));
}

Status Broker::ReloadPolicy() {
  Result<policy::Policy> fresh = policy::LoadPolicyFile(config_.policy);
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kPolicyLoaded;
  if (fresh.ok()) {
    r.decision = "allow";
    r.rule = "sha256 " + fresh->hash();
    policy_ = std::make_unique<policy::Policy>(std::move(*fresh));
    spdlog::info("policy {} in force", policy_->hash().substr(0, 16));
  } else {
    r.decision = "deny";
    r.rule = "invalid_argument";
    r.reason = fresh.status().message();
  }
  Audit(std::move(r));
  NRM_RETURN_IF_ERROR(CommitBatch());
  return fresh.status();
}

void Broker::HandleAck(const transport::Incoming& in) {
  const Bytes& id = in.frames[1];
  if (id.size() != wire::kMessageIdBytes) {
    ++stats_.malformed;
    return Refuse(in.routing_id, {}, InvalidArgument("ACK needs a 16-byte message id"));
  }
  // Only what was delivered on this connection can be acknowledged on it; anything else is
  // delivered again on this one, and then acknowledged.
  Session& session = sessions_[in.agency];
  auto delivered = session.unacknowledged.find(id);
  if (delivered == session.unacknowledged.end()) {
    spdlog::debug("ignored acknowledgement from {}: not delivered on this connection", in.agency);
    return;
  }
  const uint64_t seq = delivered->second;
  session.unacknowledged.erase(delivered);
  to_pump_.push_back(in.agency);
  if (Status s = store_->AddAcknowledged(batch_, in.agency, id, seq); !s.ok()) {
    spdlog::debug("ignored acknowledgement from {}: {}", in.agency, s.ToString());
    return;
  }
  ++stats_.acknowledged;
  audit::AuditRecord r;
  r.event = audit::AuditEvent::kAcknowledged;
  r.message_id = id;
  r.recipients = {in.agency};
  Audit(std::move(r));
}

Status Broker::Pump(const std::string& agency) {
  auto it = sessions_.find(agency);
  if (it == sessions_.end()) return Status::Ok();
  Session& s = it->second;
  const size_t window = static_cast<size_t>(config_.delivery_window);
  // Reads the queue a chunk at a time, so that a socket that fills up early (ZeroMQ's
  // high-water mark, under a large window) wastes at most one chunk of reads.
  constexpr size_t kChunk = 64;
  while (s.unacknowledged.size() < window) {
    NRM_ASSIGN_OR_RETURN(
        std::vector<QueuedMessage> pending,
        store_->Pending(agency, s.last_sent, std::min(kChunk, window - s.unacknowledged.size())));
    for (QueuedMessage& m : pending) {
      const auto delivered = s.unacknowledged.emplace(m.message_id, m.seq);
      Frames frames = m.type == EntryType::kEnvelope
                          ? Frames{Frame("DELIVER"), std::move(m.data)}
                          : Frames{Frame("EXPIRED"), std::move(m.message_id), std::move(m.data)};
      Status sent = server_->Send(s.routing_id, frames);
      if (sent.code() == Code::kUnavailable) {  // gone: its queue waits on disk
        sessions_.erase(it);
        return Status::Ok();
      }
      if (!sent.ok()) {  // its socket queue is full: go on when it acknowledges
        s.unacknowledged.erase(delivered);
        return Status::Ok();
      }
      s.last_sent = m.seq;
      ++stats_.delivered;
      audit::AuditRecord r;
      r.event = audit::AuditEvent::kDelivered;
      r.message_id = delivered->first;
      r.recipients = {agency};
      r.reason = m.type == EntryType::kEnvelope ? "" : "expiry notice";
      Audit(std::move(r));
    }
    if (pending.size() < kChunk) break;  // the queue holds no more
  }
  return Status::Ok();
}

void Broker::SendReplies() {
  for (Reply& r : replies_) {
    if (Status s = server_->Send(r.routing_id, r.frames); !s.ok()) {
      spdlog::debug("reply not sent: {}", s.ToString());
    }
  }
  replies_.clear();
}

Status Broker::ExpireDue() {
  NRM_ASSIGN_OR_RETURN(std::vector<ExpiredMessage> expired,
                       store_->AddExpired(batch_, clock_.NowMillis(), kMaxBatch));
  for (const ExpiredMessage& e : expired) {
    spdlog::info("message {} expired unacknowledged by {}; {} is told", ToHex(e.message_id),
                 e.recipient, e.sender);
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kExpired;
    r.message_id = e.message_id;
    r.sender = e.sender;
    r.recipients = {e.recipient};
    r.reason = "time-to-live ran out before the recipient acknowledged";
    Audit(std::move(r));
    to_pump_.push_back(e.sender);
    // Delivered and never acknowledged: it no longer holds a place in the recipient's window.
    if (auto s = sessions_.find(e.recipient); s != sessions_.end()) {
      auto [first, last] = s->second.unacknowledged.equal_range(e.message_id);
      for (auto it = first; it != last; ++it) {
        if (it->second == e.seq) {
          s->second.unacknowledged.erase(it);
          to_pump_.push_back(e.recipient);
          break;
        }
      }
    }
  }
  stats_.expired += expired.size();
  return CommitBatch();
}

Status Broker::ReloadDirectory() {
  auto old = directory();
  auto refuse = [&](const Status& why) {
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kDirectoryLoaded;
    r.decision = "deny";
    r.rule = std::string(CodeName(why.code()));
    r.reason = why.message();
    Audit(std::move(r));
    Status committed = CommitBatch();
    return committed.ok() ? why : committed;
  };
  Result<identity::Directory> loaded =
      identity::Directory::Load(config_.directory, config_.authority_key, clock_.NowMillis());
  if (!loaded.ok()) return refuse(loaded.status());
  identity::Directory& fresh = *loaded;
  if (fresh.serial() < old->serial()) {
    return refuse(PermissionDenied("serial " + std::to_string(fresh.serial()) + " is older than " +
                                   std::to_string(old->serial()) + " in force (a rollback?)"));
  }
  if (fresh.broker().sign_key != keys_.sign_public ||
      fresh.broker().curve_key != keys_.curve_public) {
    return refuse(InvalidArgument("the new directory names other keys for the broker"));
  }
  std::vector<std::string> revoked;
  for (const identity::Agency& a : old->agencies()) {
    const identity::Agency* now = fresh.Find(a.id);
    if (!a.revoked && (now == nullptr || now->revoked)) revoked.push_back(a.id);
  }
  {
    std::lock_guard<std::mutex> lock(directory_mu_);
    directory_ = std::make_shared<const identity::Directory>(std::move(fresh));
  }
  audit::AuditRecord loaded_record;
  loaded_record.event = audit::AuditEvent::kDirectoryLoaded;
  loaded_record.decision = "allow";
  loaded_record.rule = "serial " + std::to_string(directory()->serial());
  Audit(std::move(loaded_record));
  size_t dropped = 0;
  for (const std::string& id : revoked) {
    NRM_ASSIGN_OR_RETURN(size_t n, store_->AddDropQueue(batch_, id));
    dropped += n;
    audit::AuditRecord r;
    r.event = audit::AuditEvent::kRevoked;
    r.sender = id;
    r.reason = std::to_string(n) + " queued messages removed";
    Audit(std::move(r));
  }
  NRM_RETURN_IF_ERROR(CommitBatch());
  spdlog::info(
      "directory serial {} in force: {} agencies, {} newly revoked, {} queued messages "
      "dropped for them",
      directory()->serial(), directory()->agencies().size(), revoked.size(), dropped);
  if (!revoked.empty()) {
    // ZAP ran only at the handshake: close every connection so each client passes it again.
    sessions_.clear();
    NRM_RETURN_IF_ERROR(server_->Rebind());
    spdlog::info("closed all connections so that revoked agencies lose their sessions");
  }
  return Status::Ok();
}

}  // namespace nrm::broker
