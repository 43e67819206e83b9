// The agent's own store: a RocksDB database under <data_dir>/store that only the `run` daemon
// opens (RocksDB's LOCK file refuses a second writer). Every value is sealed with secretbox under
// a local key (<data_dir>/local.key, mode 0600, optionally protected by a passphrase), so
// personal data never lies in the clear on disk; keys are hex message ids and case references,
// which reveal nobody. Every write is one synced WriteBatch: a record is on disk before the
// daemon acknowledges a delivery or reports a step as queued.
//
//   m/<message id>  MessageRecord: every message sent (the outbox) or received (the inbox)
//   o/<message id>  (empty) the outbox index: sent steps waiting to send (agent/step_state.h)
//   a/<message id>  (empty) sent steps at the broker, waiting for their recipients' receipts
//   h/<message id>  (empty) received steps held until an earlier step of their sender arrives
//   c/<case ref>    CaseRecord: label, workflow state, parties, consent, timeline
//
// Thread-compatible: one thread (the daemon's) uses a store.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/consent.h"
#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace rocksdb {
class DB;
}

namespace nrm::agent {

struct MessageRecord {
  std::string id;         // hex
  std::string direction;  // "in" or "out"
  std::string kind;       // e.g. "referral_offer"
  std::string from;
  std::vector<std::string> to;
  std::string case_ref;     // hex
  std::string in_reply_to;  // hex or empty
  int64_t created_at_ms = 0;
  bool consent_override = false;
  // agent/step_state.h: out "waiting to send", "at the broker", "delivered", "not delivered:
  // action needed"; in "new" (not yet shown to a person), "read", "waiting for an earlier
  // step", "refused".
  std::string state;
  std::string note;      // the step's own note: the reason of a decline, an override reason...
  std::string detail;    // out: why it is in its state and what to do (a refusal, a retry...)
  int64_t attempts = 0;  // out: submissions to a broker
  Bytes frame;           // the signed envelope: as last sealed (out) or as delivered (in)
  Bytes payload;         // the payload FlatBuffer (out: before minimisation per role)
  // out: the broker's signed receipt (audit leaf and tree head), and the ids of the signed
  // receipt messages the recipients sent back.
  std::string broker_receipt;
  Bytes broker_head;
  std::vector<std::string> receipts;
  std::string prev_state;       // out: the case state before this step (restored on a refusal)
  std::string handling = "H0";  // out: sealed again with it
  int64_t taken_at_ms = 0;      // out: when the step was taken (created_at_ms: its last seal)
  int64_t accepted_at_ms = 0;   // out: when the broker accepted it
  int64_t checked_at_ms = 0;    // out: when the agent last asked the broker about it
  // out: recipients whose signed receipt arrived (a negative one ends the step not delivered).
  std::vector<std::string> confirmed_by;
  int64_t received_at_ms = 0;  // in: when it arrived
  // in: hex id of the sender's previous step on the case to this agency; empty when none (or
  // an unordered message).
  std::string previous;
};

struct TimelineStep {
  int64_t at_ms = 0;
  std::string message_id, kind, from, to, state, note;
};

struct CaseRecord {
  std::string ref;    // hex
  std::string label;  // the caseworker's local label; never sent
  std::string state = "new";
  std::vector<std::string> parties;  // agencies on the case, this one excluded
  std::optional<ConsentRecord> consent;
  std::vector<TimelineStep> timeline;
  // Set while a step of this case waits too long for an earlier one: what is missing, for
  // people ("waiting for an earlier step ..."); empty otherwise.
  std::string attention;
};

// The local key of `data_dir` (created with mode 0600 when missing). With a non-empty
// `passphrase` a new key is stored under a crypto_pwhash-derived key, and an existing one is
// opened with it. kPermissionDenied when the key file or the directory is readable by others;
// kUnauthenticated for a wrong passphrase; kInvalidArgument when a passphrase is needed.
Result<crypto::SecretBytes> LoadOrCreateLocalKey(const std::string& data_dir,
                                                 const std::string& passphrase);

class AgentStore {
 public:
  // Opens (creating) <data_dir>/store. kIOError when another process holds it.
  static Result<std::unique_ptr<AgentStore>> Open(const std::string& data_dir,
                                                  crypto::SecretBytes key);
  ~AgentStore();

  Result<std::optional<MessageRecord>> GetMessage(const std::string& id);
  Result<std::optional<CaseRecord>> GetCase(const std::string& ref);
  // Writes all of them in one synced batch, keeping the outbox index in step.
  Status Write(const std::vector<MessageRecord>& messages, const std::vector<CaseRecord>& cases);
  // All messages, oldest first; all cases.
  Result<std::vector<MessageRecord>> Messages();
  Result<std::vector<CaseRecord>> Cases();
  // Ids of the sent steps waiting to send, and of those at the broker waiting for receipts
  // (receipts themselves are done once at the broker), in id order.
  Result<std::vector<std::string>> WaitingOutbox();
  Result<std::vector<std::string>> AtTheBroker();
  // Ids of the received steps held for an earlier one.
  Result<std::vector<std::string>> HeldInbox();
  // Flushes and closes; reports what went wrong.
  Status Close();

 private:
  AgentStore(std::unique_ptr<rocksdb::DB> db, crypto::SecretBytes key);
  Result<std::optional<std::string>> Get(const std::string& key);
  Result<std::vector<std::string>> Scan(const std::string& prefix, bool values);

  std::unique_ptr<rocksdb::DB> db_;
  crypto::SecretBytes key_;
};

}  // namespace nrm::agent
