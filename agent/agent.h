// The agency's agent: holds the agency's keys, seals and signs what the agency sends, and
// verifies and opens what it receives. It keeps its sender epoch key (wire::SenderEpoch) in
// memory only: a new one per process, replaced every hour. Thread-compatible: one thread uses
// an Agent.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/log_watch.h"
#include "agent/validate.h"
#include "agent/web/web_config.h"
#include "common/clock.h"
#include "common/identity/identity.h"
#include "common/transport/transport.h"
#include "federation/anchor.h"
#include "policy/policy.h"
#include "schemas/wire/envelope.h"

namespace nrm::agent {

struct AgentConfig {
  std::string agency;                // this agency's id in the directory
  std::string key_file;              // its secret keys (mode 0600)
  std::string directory;             // the signed directory
  std::string policy;                // the need-to-know policy (TOML)
  Bytes authority_key;               // the national authority's Ed25519 public key
  std::string broker;                // the broker's endpoint, e.g. "tcp://127.0.0.1:7700"
  std::string broker_endpoint_file;  // optional: read the endpoint from this file instead
  // The daemon's store, local key and control socket (mode 0700). Optional in the file:
  // default $STATE_DIRECTORY when systemd sets it (the unit's StateDirectory=), otherwise
  // "<agency>-data" beside the config file.
  std::string data_dir;
  // Optional: a file (mode 0600 or stricter) holding the key file's passphrase; see
  // ReadPassphrase in agent/key_file.h for where else it may come from.
  std::string passphrase_file;
  // Never in the file: the passphrase of a protected key file (agent/key_file.h), which
  // nrm-agent takes from NRM_AGENT_PASSPHRASE. Empty: the key file must be unprotected.
  std::string key_passphrase;
  // The delivery timers (docs/AGENT.md, "What the running agent does"). Optional in the file,
  // in whole seconds: confirm_after_s, answer_timeout_s, earlier_step_wait_s, max_step_age_s,
  // max_step_ahead_s.
  int64_t confirm_after_ms = 24LL * 3600 * 1000;  // no recipient receipt by then: ask the broker
  int64_t answer_timeout_ms = 10 * 1000;          // a submission unanswered this long is sent again
  int64_t earlier_step_wait_ms = 3600 * 1000;     // a step held this long for an earlier one flags
  // A delivered step whose created_at is older than this, or further ahead of this agency's
  // clock than max_step_ahead_ms, is refused (negative receipt): no broker holds a message
  // that long (its time-to-live is 14 days by default), and no clock is that far off.
  int64_t max_step_age_ms = 30LL * 24 * 3600 * 1000;
  int64_t max_step_ahead_ms = 3600 * 1000;
  // The broker's audit log (agent/log_watch.h; docs/AGENT.md, "The broker's log"). Optional in
  // the file: witnesses (their vkeys), witnesses_required (k of them; default all named),
  // cosignature_delay_s, checkpoint_max_age_s.
  LogWatchConfig log;
  // Retention (docs/DATA.md, "Retention"; agent/retention.h): a closed case is erased this many
  // whole days after it was closed. Optional in the file: retention_days_after_close, whole
  // days from 1 to kMaxRetentionDays, or "never"; missing: kDefaultRetentionDays. nullopt here:
  // "never" (closed cases are kept until `erase`).
  static constexpr int64_t kDefaultRetentionDays = 365;
  static constexpr int64_t kMaxRetentionDays = 36500;  // 100 years: anything longer is a typo
  std::optional<int64_t> retention_days_after_close = kDefaultRetentionDays;
  bool retention_in_file = false;  // false: the default is in force
  // "127.0.0.1:PORT": the running agent's Prometheus metrics (docs/OPERATIONS.md, "Metrics");
  // loopback only. Optional in the file (metrics_listen); empty: none.
  std::string metrics_listen;
  // [web]: the web inbox the running agent serves (agent/web/web_config.h); none without it.
  std::optional<web::WebConfig> web;
  // Optional: the trust anchors of partner countries (docs/PROTOCOL.md section 12), installed
  // after comparing their fingerprints. The agent then asks its broker for those countries'
  // directories, verifies each with its anchor's authority key, and seals to and verifies the
  // agencies they name.
  std::vector<std::string> partner_anchors;
};

// kInvalidArgument naming file, line and what was expected. Relative paths are taken relative
// to the file's directory.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

// What arrived: a message, opened and checked; or the broker's notice, signed, that a message
// this agency sent expired before `recipients[0]` acknowledged it (then there is no payload); or
// a partner broker's relay receipt for a message this agency sent, verified with that broker's
// log key (`recipients[0]` is "@KH"; `relay_receipt` says what it proves); or
// a message from an agency of the directory, signed by it, that this agency cannot accept
// (`refusal` says why; the payload is empty): its sender is told with a negative receipt.
struct Received {
  enum class Type { kMessage, kExpiryNotice, kRelayReceipt, kRefused };
  Type type = Type::kMessage;
  Bytes message_id;
  std::string sender;
  std::vector<std::string> recipients;
  wire::Kind kind = wire::Kind::Unknown;
  Bytes case_ref;
  wire::Handling handling = wire::Handling::H0;
  int64_t created_at_ms = 0;
  Bytes in_reply_to;  // empty when it answers nothing
  bool consent_override = false;
  Bytes frame;  // the signed envelope as delivered: the sender's proof, kept by the inbox
  crypto::SecretBytes payload;  // the decrypted payload (a nrm.payload.Payload FlatBuffer)
  // Header.previous for this agency: the sender's previous step on this case to it (16 bytes;
  // all zero: none), or empty when the sender does not order its messages.
  Bytes previous;
  Status refusal;  // kRefused: why
  // kRefused: refusal.message() as words and values (agent/validate.h), for the web inbox.
  Phrase refusal_phrase;
  // kRelayReceipt: "KH.BROKER leaf N of its log of size M", the checkpoint verified.
  std::string relay_receipt;
};

// True for what the broker delivers to be acknowledged: DELIVER, EXPIRED and RELAY-RECEIPT.
inline bool IsDelivery(std::string_view verb) {
  return verb == "DELIVER" || verb == "EXPIRED" || verb == "RELAY-RECEIPT";
}

// The broker's answer to a send.
struct SendOutcome {
  Bytes message_id;
  bool accepted = false;
  std::string code;    // "ok", or the refusal's code, e.g. "permission_denied"
  std::string reason;  // the broker's reason for a refusal
  // For an accepted message: the broker's receipt, the leaf of its "accepted" audit record and
  // a checkpoint signed by the broker (verified against the directory's log_vkey) that holds it.
  // Always present when `accepted`: a repeat answered already_exists counts as accepted only
  // once the broker gave the original receipt again (QUERY).
  std::optional<uint64_t> receipt_leaf;
  Bytes receipt_head;  // the checkpoint note (audit/checkpoint.h) that covers the leaf
};

// The broker's answer to a QUERY about a message this agency sent.
struct QueryAnswer {
  Bytes message_id;
  // True: the broker holds it (its replay memory does), with its receipt, verified. False: the
  // broker does not hold it (never accepted, or lost): it may be submitted again.
  bool held = false;
  std::optional<uint64_t> receipt_leaf;
  Bytes receipt_head;
};

class Agent {
 public:
  // Loads keys and directory (refusing unsafe key files and bad directories) and connects to
  // the broker. kUnauthenticated when the broker refuses this agency's key.
  static Result<std::unique_ptr<Agent>> Open(const AgentConfig& config, const Clock& clock,
                                             int connect_timeout_ms = 5000);

  // Open without connecting: keys, directory and policy only, so that a daemon can seal into
  // its outbox while the broker is unreachable. Connect() later.
  static Result<std::unique_ptr<Agent>> Load(const AgentConfig& config, const Clock& clock);
  // Connects (or reconnects) to the broker and greets it. kUnavailable when no broker
  // answered within `timeout_ms`, kUnauthenticated when it refused this agency's key. The
  // socket queues nothing while the connection is down (transport::ClientOptions::immediate).
  Status Connect(int timeout_ms);
  bool connected() const { return client_ != nullptr; }
  // Drops the connection and whatever was queued on it.
  void Disconnect();
  // How long a send waits for a connection before it fails (default 2000 ms; the daemon,
  // which must not stall, uses 0). Takes effect at the next Connect.
  void set_send_timeout_ms(int ms) { send_timeout_ms_ = ms; }
  const std::string& endpoint() const { return client_options_.endpoint; }

  // Seals `payload` to `recipients` (ids in the directory), sends it and waits up to
  // `timeout_ms` for the broker's answer (see Submit). A refusal is an outcome, not an error;
  // an error is a Status (unknown recipient, no answer in time).
  // Recipients of different roles get separate envelopes, each holding only the payload
  // sections their role may receive: one outcome per envelope, in the order of first
  // appearance of each role.
  Result<std::vector<SendOutcome>> Send(const std::vector<std::string>& recipients, wire::Kind kind,
                                        ByteView case_ref, wire::Handling handling,
                                        ByteView payload, int timeout_ms);

  // The two halves of Send, for a caller that keeps the sealed envelope until it is accepted:
  // Seal once, then Submit the same envelope (same message id) until the broker answers. Submit
  // keeps one copy in flight: it sends the envelope, and again only when no answer came within
  // 2 s (a reconnection may have lost it). A repeat of an accepted id is answered already_exists;
  // it counts as accepted only once the broker hands over the original receipt (QUERY), which
  // Submit then asks for.
  Result<std::vector<wire::Sealed>> Seal(const std::vector<std::string>& recipients,
                                         wire::Kind kind, ByteView case_ref,
                                         wire::Handling handling, ByteView payload);
  Result<SendOutcome> Submit(const wire::Sealed& sealed, int timeout_ms);

  // Seal with the header fields a workflow step needs: the message it answers, whether a
  // personal section goes to a recipient the person's consent does not cover, and, for a step
  // sealed again, its message id and the previous step to each recipient (Header.previous).
  struct StepFields {
    Bytes in_reply_to;              // empty or 16 bytes
    bool consent_override = false;  // Header.consent_override, audited by the broker
    // Empty: a new id per envelope. 16 bytes: this id; then the recipients must all be of one
    // role (one envelope).
    Bytes message_id;
    // Recipient id -> the message id of this sender's previous step on the case to it (absent:
    // none). Empty map: Header.previous is left out (an unordered message, e.g. a receipt).
    std::map<std::string, Bytes> previous;
    bool ordered = false;  // write Header.previous (zeros where `previous` names none)
  };
  Result<std::vector<wire::Sealed>> SealStep(const std::vector<std::string>& recipients,
                                             wire::Kind kind, ByteView case_ref,
                                             wire::Handling handling, ByteView payload,
                                             const StepFields& step);
  // The payload sections a recipient of `role` gets (need-to-know policy).
  std::vector<std::string> SectionsFor(std::string_view role) const {
    return policy_.SectionsFor(role);
  }

  // The next delivered message, opened, or nullopt after `timeout_ms`. A delivery that fails
  // its checks (unknown sender, bad signature, not for us, a section this agency's role may not
  // hold, an implausible time, an unsigned expiry notice) is acknowledged, so it is not
  // delivered again, and returned as its Status. While idle it greets the broker every second,
  // so that a session the broker closed (a restart, a revocation) is restored.
  Result<std::optional<Received>> Receive(int timeout_ms);
  // As Receive, but never greets the broker: for a caller that polls often and greets it
  // itself (Greet()) once in a while.
  Result<std::optional<Received>> ReceiveQuietly(int timeout_ms);
  Status Greet();

  // Tells the broker `message_id` is safely stored here; it will not be delivered again.
  Status Acknowledge(ByteView message_id);

  // ---- For a caller that drives the connection itself (the daemon, agent/connection.h). ----
  // Sends frames as they are. kUnavailable when not connected (nothing is queued).
  Status SendFrames(const transport::Frames& frames);
  // The next frames from the broker (those set aside while Submit waited come first), or
  // nullopt after `timeout_ms`.
  Result<std::optional<transport::Frames>> ReceiveFrames(int timeout_ms);
  // A DELIVER, an EXPIRED or a RELAY-RECEIPT, checked and opened. Received::Type::kRefused for
  // a message that its sender signed and that this agency cannot accept; an error for anything
  // else that fails (it names why; nothing in it came from a verified sender). Acknowledges
  // nothing.
  Result<Received> OpenDelivery(const transport::Frames& frames);
  // Acknowledges a delivery that OpenDelivery refused, so that the broker does not deliver it
  // again; nothing in it is believed. An envelope too malformed to name a message id is not
  // acknowledged: there is nothing to name (the broker never accepts one).
  Status AcknowledgeDropped(const transport::Frames& frames);
  // An ACCEPTED or REFUSED, with the receipt of an ACCEPTED checked against the directory's
  // broker key (kUnauthenticated when it does not verify: then nothing is accepted).
  Result<SendOutcome> ReadAnswer(const transport::Frames& frames) const;
  // A STATUS (the answer to QUERY), its receipt checked likewise.
  Result<QueryAnswer> ReadStatus(const transport::Frames& frames) const;

  // Puts `dir` in force (a newer directory: from the file on SIGHUP, or from the broker).
  // kInvalidArgument when it no longer names this agency with these keys, kPermissionDenied
  // when it revokes it, kInvalidArgument when its broker's log key is malformed; the directory
  // in force then stays. A new broker CURVE key takes effect at the next Connect; a new log
  // key at once (LogWatch::UseLogKey: the checkpoint held must still be extended).
  Status ReplaceDirectory(identity::Directory dir);

  // Wipes the sender epoch key if its hour is over (a new one is made at the next seal). A
  // long-running caller calls this often (the daemon: every turn of its loop), so that an idle
  // or disconnected agent holds no old epoch key.
  void WipeExpiredEpochKey() { epoch_.WipeIfExpired(); }

  // The broker's audit log as this agent has checked it (agent/log_watch.h).
  LogWatch& log_watch() { return *log_watch_; }
  const LogWatch& log_watch() const { return *log_watch_; }
  // A receipt's checkpoint against what this agent holds of the log: OK when it counts; when
  // the log watch needs a proof, asks the broker (CONSISTENCY) and waits up to `timeout_ms`
  // for it (deliveries that arrive meanwhile are kept for Receive). kUnauthenticated with the
  // alarm when it does not count; kUnavailable when the broker did not answer in time.
  // `fresh`: the note of an ACCEPTED (LogWatch::OnReceipt).
  Status CheckLog(ByteView note, bool fresh, int timeout_ms);
  // Parses a CONSISTENCY answer for the log watch: old size, note (empty when refused), proof,
  // reason. kInvalidArgument when malformed.
  struct ConsistencyAnswer {
    uint64_t old_size = 0;
    std::string note;
    std::vector<audit::Hash> proof;
    std::string reason;
  };
  static Result<ConsistencyAnswer> ReadConsistency(const transport::Frames& frames);
  static transport::Frames ConsistencyRequest(uint64_t old_size, uint64_t size);

  // Partner countries' directories (AgentConfig::partner_anchors; agent/partners.cc). Asks the
  // broker for each one newer than the one held (PARTNER-DIRECTORY) and waits up to
  // `timeout_ms` for the answers; other frames are kept for ReceiveFrames. Connect() calls it.
  Status FetchPartnerDirectories(int timeout_ms);
  // The same requests without waiting: the answers come through ReceiveFrames (the daemon).
  Status AskPartnerDirectories();
  // A PARTNER-DIRECTORY answer: OK when it holds nothing newer, or when the newer directory
  // verified with its country's anchor and is in force (kept under data_dir/partners/ for the
  // next start). kUnauthenticated / kInvalidArgument when it does not verify: the one held stays.
  Status AdoptPartnerDirectory(const transport::Frames& frames);
  // A RELAY-RECEIPT: the partner broker's checkpoint, verified with the log key that the
  // partner's directory (held, and verified with its anchor) publishes for the anchor's broker.
  // kUnauthenticated / kPermissionDenied / kInvalidArgument when it does not verify.
  Result<Received> OpenRelayReceipt(const transport::Frames& frames) const;
  // The serial of each partner country's directory held (0: none yet).
  std::map<std::string, int64_t> PartnerSerials() const;

  // This country's directory, with the agencies of the partners' directories held.
  const identity::Directory& directory() const { return directory_; }
  const std::string& agency() const { return keys_.id; }
  const std::string& role() const { return role_; }
  const policy::Policy& policy() const { return policy_; }
  const AgentConfig& config() const { return config_; }

 private:
  // Checks the receipt frames (leaf, checkpoint note) at `frames[first]` and records them.
  Status CheckReceipt(const transport::Frames& frames, size_t first, std::optional<uint64_t>& leaf,
                      Bytes& head) const;
  Result<std::optional<Received>> ReceiveImpl(int timeout_ms, bool greet);
  // Loads the partner anchors of the config and the partner directories kept under data_dir.
  Status LoadPartners();
  // directory_ = own_directory_ with the partners' agencies.
  void MergePartners();
  // Asks the broker for the receipt of `message_id` (Submit after already_exists).
  Result<QueryAnswer> QueryReceipt(ByteView message_id, int timeout_ms);
  // Sends CONSISTENCY old_size size and waits for its answer (deliveries are kept for later).
  Result<ConsistencyAnswer> AskConsistency(uint64_t old_size, uint64_t size, int timeout_ms);

  Agent(identity::KeySet keys, identity::Directory dir, policy::Policy policy, std::string role,
        const Clock& clock)
      : keys_(std::move(keys)),
        directory_(std::move(dir)),
        policy_(std::move(policy)),
        role_(std::move(role)),
        clock_(clock),
        epoch_(clock),
        reader_(keys_.id, keys_.box_secret.Clone()) {}

  identity::KeySet keys_;
  identity::Directory directory_;      // own_directory_ with the partners' agencies
  identity::Directory own_directory_;  // this country's, as the authority signed it
  std::map<std::string, federation::Anchor> partner_anchors_;       // by country
  std::map<std::string, identity::Directory> partner_directories_;  // by country
  policy::Policy policy_;
  std::string role_;  // this agency's role, from the directory
  const Clock& clock_;
  AgentConfig config_;
  wire::SenderEpoch epoch_;                  // what this agent seals with
  wire::Reader reader_;                      // what it opens with
  transport::ClientOptions client_options_;  // to connect again
  int send_timeout_ms_ = 2000;
  std::unique_ptr<transport::Client> client_;
  std::vector<transport::Frames> early_;  // what arrived while Submit waited for its answer
  std::unique_ptr<LogWatch> log_watch_;
};

}  // namespace nrm::agent
