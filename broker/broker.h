// The broker: authenticates agencies (CURVE + ZAP against the signed directory), verifies each
// envelope's sender and signature, refuses replays and stale messages, persists what it accepts
// (ciphertext only) and delivers it to each recipient until the recipient acknowledges it.
// It never sees a payload in the clear. See docs/ARCHITECTURE.md.
//
// Its parts: broker.cc starts it and runs the routing loop; requests.cc takes what arrives;
// admission.cc accepts or refuses a SEND; delivery.cc delivers queues on sessions (sessions.h)
// and takes acknowledgements; expiry.cc turns expired messages into notices; commit.cc writes
// each batch (group commit, signed checkpoints) and then answers; reload.cc reloads the policy
// and the directory; queries.cc answers a sender's QUERY about its message (the receipt again),
// an agent's DIRECTORY request (the signed directory in force), CONSISTENCY (a proof that the
// log an agent saw is a prefix of the one it sees) and PROVE (a sender's record with its
// inclusion proof); checkpoints.cc starts the witness submission; limits.cc counts refusals and
// the connections closed under the limits.
// WorkerPool (worker_pool.h) checks a batch's signatures on every core.
//
// Thread-safety: Run() owns the routing thread; Stop() may be called from any thread (or a
// signal handler via the flag it sets).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "audit/audit_log.h"
#include "broker/config.h"
#include "broker/federation.h"
#include "broker/sessions.h"
#include "broker/store/message_store.h"
#include "common/clock.h"
#include "common/http/metrics.h"
#include "common/identity/identity.h"
#include "common/transport/control.h"
#include "common/transport/transport.h"
#include "policy/policy.h"
#include "schemas/wire/envelope.h"

namespace nrm::broker {

class WorkerPool;        // worker_pool.h: checks signatures of one gathered batch on every core
class WitnessSubmitter;  // witness_submit.h: sends checkpoints to witnesses on its own thread

// The answer to a SEND of an agency over its refusal rate.
inline constexpr const char* kThrottledReason =
    "too many refused requests from this agency; slow down and resend later";

struct BrokerStats {
  uint64_t accepted = 0;
  uint64_t refused = 0;
  uint64_t delivered = 0;
  uint64_t redelivered = 0;  // delivered again (a seq at or under one delivered before)
  uint64_t acknowledged = 0;
  uint64_t malformed = 0;
  uint64_t commits = 0;  // synced writes (group commits)
  uint64_t records = 0;  // RocksDB records those writes carried
  uint64_t expired = 0;
  // For the metrics (metrics.cc): SENDs by kind, accepted by kind, refused by (kind, code),
  // connections closed under the limits by reason, and the synced writes.
  std::map<std::string, uint64_t> received, accepted_by_kind;
  std::map<std::pair<std::string, std::string>, uint64_t> refused_by;
  std::map<std::string, uint64_t> closed_by;
  HistogramCounts commit_records{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
  HistogramCounts commit_seconds{
      {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5}};
};

class Broker {
 public:
  // Loads keys and directory, opens the store, starts the ZAP handler and binds. Any problem
  // is a Status naming the file and what is wrong; nothing is left running.
  static Result<std::unique_ptr<Broker>> Start(const BrokerConfig& config, const Clock& clock);
  ~Broker();

  // Routes until `stop` becomes true; reloads the directory whenever `reload` is set (and
  // clears it). Returns a non-OK Status only when the broker cannot go on safely (its store
  // is damaged); the caller then exits non-zero.
  Status Run(const std::atomic<bool>& stop, std::atomic<bool>& reload);

  // Loads the policy file again. A broken file is refused (and audited): the policy in force
  // stays.
  Status ReloadPolicy();

  // Loads the directory file again. A file that does not verify, is stale or has a lower
  // serial is refused and the directory in force stays. Agencies it revokes lose their
  // session (every client reconnects and passes ZAP again) and their queues.
  Status ReloadDirectory();

  const std::string& endpoint() const { return server_->endpoint(); }
  const BrokerStats& stats() const { return stats_; }

 private:
  struct Reply {
    Bytes routing_id;
    transport::Frames frames;
    std::optional<uint64_t> receipt_leaf;  // ACCEPTED: the leaf of its audit record
  };

  // What was checked for a SEND before it is handled, on the worker pool: the signature's
  // verdict and the body's hash (for its audit record).
  struct Prechecked {
    bool valid = false;  // false: HandleSend checks for itself
    Status signature;
    crypto::Hash body_hash{};
  };

  // broker.cc: start and the routing loop.
  Broker(const BrokerConfig& config, const Clock& clock);
  std::shared_ptr<const identity::Directory> directory() const;

  // requests.cc: what arrives.
  // Handles one incoming message; appends store writes to batch_ and answers to replies_.
  // `pre` is this message's Precheck result, or null.
  void Handle(transport::Incoming& in, const Prechecked* pre = nullptr);
  // Refuses `in` and audits the refusal. `env` is null when the envelope did not decode.
  void Refuse(const transport::Incoming& in, ByteView message_id, const Status& why,
              const wire::EnvelopeView* env = nullptr);

  // admission.cc: accepting a SEND, or refusing it.
  // Checks, in parallel, the signatures of the SENDs in `in` against the agencies their
  // connections authenticated. Pure: reads the directory, writes only `out`.
  void Precheck(const std::vector<transport::Incoming>& in, std::vector<Prechecked>& out);
  void HandleSend(const transport::Incoming& in, const identity::Agency& sender,
                  const Prechecked* pre);
  // The need-to-know decision for every recipient, then the H2 onward-sharing rule against
  // `known`, the case's parties (null for a new case). OK with the rules that allowed it, or the
  // refusal.
  // Only recipients of `only_country` are judged when it is not empty (a relay: recipients in
  // the sender's own country are its broker's business).
  Result<std::string> Decide(const wire::EnvelopeView& env, const identity::Agency& sender,
                             const identity::Directory& dir, const CaseParties* known,
                             std::string_view only_country = {});
  // kResourceExhausted while the data directory's free space, less what was accepted since it
  // was last read, is under the configured reserve. Reads it (statvfs) at most every 100 ms
  // or after each MiB accepted.
  Status CheckDiskReserve();
  // For a message about to be accepted: kAlreadyExists when the replay memory has `seen` it or
  // this batch holds it; else the case's parties (none for a new case), or kUnavailable when
  // the case registry cannot be read.
  Result<std::optional<CaseParties>> NewMessageCase(const Bytes& id, bool seen, ByteView case_ref);
  // An unreadable store (replay memory, case registry) refuses every message: tells the
  // operator, at most every ten seconds.
  void LogStoreError(const Status& s);
  // Records the case's parties after an accepted message (`known`: what they were before).
  void RecordCase(const wire::EnvelopeView& env, const CaseParties* known);

  // queries.cc: what an agent may ask besides sending.
  // QUERY, message_id: STATUS, message_id, "accepted" with the receipt (leaf and checkpoint note)
  // when the replay memory holds it for this sender, else "unknown" (send it again).
  void HandleQuery(const transport::Incoming& in);
  // DIRECTORY: DIRECTORY, serial (be64), the signed directory file in force.
  void HandleDirectoryRequest(const transport::Incoming& in);
  // CONSISTENCY, be64 old_size, be64 size: a stored checkpoint with the consistency proof
  // between it and old_size, from the stored tree (O(log n) reads).
  void HandleConsistency(const transport::Incoming& in);
  // PROVE, message_id, be64 size: the sender's message's record with its inclusion proof.
  void HandleProve(const transport::Incoming& in);
  // The directory's serial as a frame (be64), for WELCOME and DIRECTORY.
  Bytes SerialFrame() const;
  // Reads and verifies the directory file: the directory and the text it was read from.
  Result<std::pair<identity::Directory, std::string>> ReadDirectory() const;
  // erasure.cc: after an erasure_request is accepted, drops what its recipients' queues still
  // hold of the case (the envelopes are ciphertext the recipients would only erase) and audits
  // case_erased, metadata only.
  void DropErasedCase(const wire::EnvelopeView& env, const std::vector<std::string>& recipients);

  // delivery.cc: queues to sessions, and acknowledgements.
  // Delivers queued messages to `agency` while its window has room.
  Status Pump(const std::string& agency);
  // What delivers queue entry `m` to `agency`: DELIVER, EXPIRED (signed here) or RELAY-RECEIPT.
  transport::Frames DeliveryFrames(const std::string& agency, QueuedMessage m) const;
  void HandleAck(const transport::Incoming& in);
  // Closes connections that hold deliveries and acknowledged none for delivery_timeout.
  void CloseStalled();

  // expiry.cc
  // Moves messages whose time-to-live ran out to expiry notices for their senders.
  Status ExpireDue();

  // commit.cc: the group commit and its audit records.
  // Writes batch_ (group commit), then answers and delivers. A failed write is answered with
  // REFUSED and returned: the broker then stops. Signs a tree head over the log when the batch
  // is synced, when the last head is kHeadEveryMs old, or when `sign` (idle, stopping).
  Status CommitBatch(bool sign = false);
  void SendReplies();
  // Appends an audit record (metadata only) to batch_; returns its leaf index.
  uint64_t Audit(audit::AuditRecord record);
  // The audit record's fields taken from an envelope's header.
  // `body_hash` is the SHA-256 of env.body when already known, else null.
  audit::AuditRecord RecordOf(audit::AuditEvent event, const wire::EnvelopeView& env,
                              const crypto::Hash* body_hash = nullptr) const;

  // reload.cc: ReloadPolicy() and ReloadDirectory() above.

  // federation_link.cc and federation_relay.cc: links to partner countries' brokers
  // (docs/PROTOCOL.md section 12.3). Null federation(): not a national broker of a federation.
  std::shared_ptr<const Federation> federation() const;
  // Loads the [[partner]] tables and audits what was loaded (at start and on SIGHUP); a
  // reload that fails keeps the federation in force.
  Status LoadFederation(bool reload);
  // An agency of the directory in force, or of a partner's directory; null when unknown.
  const identity::Agency* FindAgency(const identity::Directory& dir, std::string_view id) const;
  // The queue that takes a message for `a`: its own, or its country's partner broker's.
  std::string QueueFor(const identity::Agency& a) const;
  // What a partner broker (in.agency "@KH") asks: RELAY, RELAY-EXPIRED.
  void HandleFromPartner(const transport::Incoming& in);
  void HandleRelay(const transport::Incoming& in, const std::string& country);
  void HandleRelayExpired(const transport::Incoming& in, const std::string& country);
  void RefuseRelay(const transport::Incoming& in, ByteView message_id, const Status& why,
                   const wire::EnvelopeView* env);
  // Sends what waits for each partner, within its window; resends what got no answer in time.
  Status PumpLinks();
  // Takes the partners' answers (receipts, refusals) and commits what they change.
  Status PollLinks();
  void OnRelayed(Link& link, const transport::Frames& frames);
  void OnRelayRefused(Link& link, const transport::Frames& frames);
  // A partner's answer to PEER-DIRECTORY: a newer directory is verified with its anchor's
  // authority key, kept in place of the old one and put in force.
  void OnPartnerDirectory(Link& link, const transport::Frames& frames);
  // federation_status.cc: serving directories, and data_dir/federation.json.
  // PEER-DIRECTORY (a partner broker asks for this country's directory) and PARTNER-DIRECTORY
  // (an agency asks for a partner country's): the file in force, when newer than what the asker
  // has.
  void ServeDirectory(const transport::Incoming& in, const std::string& country,
                      const std::string& reply_verb);
  // Writes the links' state for `nrm federation status`, at most every kStatusEveryMs unless
  // `now`.
  void WriteFederationStatus(bool now = false);
  // True while some relay waits for its answer: the routing loop then polls the links often.
  bool LinksBusy() const;
  // checkpoints.cc: the witnesses.
  // Starts witnesses_ when the config names witnesses (and records their keys in the log).
  Status StartWitnesses();
  // backup.cc: answers a request on the control socket, if one waits (BACKUP, DEST).
  void ServeControl();
  // Commits what is pending under a signed head, checkpoints the store to `dest`/store and
  // writes `dest`/manifest.json; returns the manifest. `dest` must be absolute and new.
  Result<std::string> TakeBackup(const std::string& dest);

  // limits.cc: what the broker does against floods: counted audit records, the refusal rate
  // per agency, and the connections the server closed or lost.
  // Counts one event for the record of (event, agency, rule) written at the next second.
  void CountEvent(audit::AuditEvent event, const std::string& agency, const std::string& rule,
                  const std::string& reason);
  // Writes the counted records when a second has passed since the last (or `now`).
  void FlushCounted(bool now = false);
  // Takes a refusal of `agency` from its budget: true while the agency is under its refusal
  // rate (its refusals of envelopes are then audited one by one).
  bool ChargeRefusal(const std::string& agency);
  // True while the agency has spent its refusal budget: its SENDs are refused unchecked.
  bool Throttled(const std::string& agency);
  // Audits the connections the server closed under its limits and forgets the sessions of
  // connections that are gone.
  void TakeConnectionEvents();

  // metrics.cc: the metrics (docs/OPERATIONS.md, "Metrics").
  // Counts a SEND's outcome: accepted when `refused_code` is empty.
  void CountSend(std::string_view kind, std::string_view refused_code);
  // Serves the metrics when the config has metrics_listen.
  Status StartMetrics();
  // Renders the metrics into metrics_page_ (routing thread).
  void RenderMetrics();

  BrokerConfig config_;
  const Clock& clock_;
  identity::KeySet keys_;
  mutable std::mutex directory_mu_;  // the ZAP thread reads the directory too
  std::shared_ptr<const identity::Directory> directory_;
  std::string directory_text_;  // the signed file of directory_, served to agents (routing thread)
  std::unique_ptr<policy::Policy> policy_;
  mutable std::mutex federation_mu_;  // the ZAP thread reads the federation too
  std::shared_ptr<const Federation> federation_;
  std::map<std::string, Link> links_;  // by partner country; the routing thread's
  int64_t status_written_ms_ = 0;
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<audit::AuditLog> audit_;
  audit::AuditColumnFamilies audit_cfs_;
  std::mutex refused_mu_;  // handshakes the ZAP thread refused, audited by the routing thread
  std::vector<audit::AuditRecord> refused_handshakes_;
  std::unique_ptr<transport::Server> server_;
  std::unique_ptr<transport::ControlServer> control_;  // ipc://<data_dir>/control; may be null
  std::unique_ptr<WorkerPool> pool_;
  std::vector<transport::Incoming> gathered_;  // one group commit's messages
  std::vector<Prechecked> prechecked_;

  Sessions sessions_;
  rocksdb::WriteBatch batch_;
  bool batch_must_sync_ = false;  // batch_ holds more than acknowledgements and deliveries
  // Messages gathered into one synced write (group commit).
  static constexpr size_t kMaxBatch = 256;
  static constexpr int64_t kHeadEveryMs = 1000;
  uint64_t signed_size_ = 0;  // audit records the last signed head covers
  Bytes last_head_;           // that head, encoded: the head of every receipt sent
  int64_t signed_at_ms_ = 0;
  std::vector<Bytes> batch_ids_;  // message ids accepted in batch_, for in-batch replays
  std::vector<std::string_view> batch_kinds_;  // their kinds, in the order of their ACCEPTED
  std::vector<Reply> replies_;                 // sent only after batch_ is durable
  std::vector<std::string> to_pump_;
  struct DiskReserve {
    int64_t checked_ms = 0;       // when statvfs was last read
    uint64_t free_bytes = 0;      // what it said
    uint64_t accepted_since = 0;  // bytes queued since
    bool low = false;             // for logging the change only
  } disk_;
  int64_t store_error_logged_ms_ = 0;
  // Events counted into one record per key and second: (event, agency, rule) -> count and the
  // first reason.
  struct Counted {
    uint64_t count = 0;
    std::string reason;
  };
  std::map<std::tuple<audit::AuditEvent, std::string, std::string>, Counted> counted_;
  int64_t counted_since_ms_ = 0;
  // Each agency's refusal budget (a token bucket of refusals_per_second, burst ten times that).
  struct RefusalBudget {
    double tokens = 0;
    int64_t at_ms = 0;
  };
  std::map<std::string, RefusalBudget> refusal_budget_;
  // Connections went away holding deliveries: return the freed memory to the system (glibc
  // keeps it otherwise), at most every few seconds.
  bool memory_to_trim_ = false;
  int64_t trimmed_at_ms_ = 0;
  BrokerStats stats_;
  // agency -> the highest queue seq delivered to it since the start, to count redeliveries.
  std::map<std::string, uint64_t> delivered_upto_;
  int64_t started_at_ms_ = 0;
  int64_t rendered_at_ms_ = 0;
  MetricsPage metrics_page_;  // what metrics_server_ serves; outlives it
  std::unique_ptr<http::HttpServer> metrics_server_;
  // Last: stopped (its thread joined) before the store it reads is closed.
  std::unique_ptr<WitnessSubmitter> witnesses_;
};

}  // namespace nrm::broker
