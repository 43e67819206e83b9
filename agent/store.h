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
//   c/<case ref>    CaseRecord: label, workflow state, parties, consent, timeline, the case's data
//   k/<case ref>    the case key (32 random bytes) sealed under the local key
//   t/<case ref>    Tombstone of an erased case (agent/erasure.h): who, when, why, confirmations
//   w/...           the web inbox's own records (agent/web/): its users and the access log
//
// Erasure by destroying keys: a case's records (c/ and the m/ of its messages) are sealed under
// its own case key, not the local key ("C" || case ref || ":" || secretbox), so deleting k/<ref>
// and compacting leaves nothing anyone can read, in any file (AgentStore::Erase). Records of no
// case, and the few written after a case was erased (its erasure request and receipts, which
// carry no personal data), are sealed under the local key ("L" || secretbox). The indexes (o/,
// a/, h/) hold no value; an erasure deletes the entries of the messages it deletes.
//
// Thread-compatible: one thread (the daemon's) writes records with Write(). Reads (Get*,
// Messages, Cases, GetLocal, ScanLocal) and PutLocal may also come from other threads (the web
// inbox's), since RocksDB is thread-safe; every such thread must have stopped before Close().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/consent.h"
#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

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
  std::string note;    // the step's own note: the reason of a decline, an override reason...
  std::string detail;  // out: why it is in its state and what to do (a refusal, a retry...)
  // `detail` as its words and values, for the web inbox to translate (empty when the detail
  // has none: written by an earlier version); shown only while English(detail_phrase) ==
  // detail. SetDetail() sets both.
  Phrase detail_phrase = {};
  int64_t attempts = 0;  // out: submissions to a broker
  Bytes frame;           // the signed envelope: as last sealed (out) or as delivered (in)
  Bytes payload;         // the payload FlatBuffer (out: before minimisation per role)
  // out: the broker's signed receipt (audit leaf and tree head), and the ids of the signed
  // receipt messages the recipients sent back.
  std::string broker_receipt;
  Phrase broker_receipt_phrase = {};  // broker_receipt as words and values, as detail_phrase
  Bytes broker_head;
  std::vector<std::string> receipts;
  // out: the payload's sections these recipients get, and those the policy withheld from them
  // (agent/disclosure.h).
  std::vector<std::string> sections, withheld;
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
  std::string by = {};      // who took the step here (a web inbox user); empty otherwise
  Phrase note_phrase = {};  // `note` as words and values, as MessageRecord::detail_phrase
};

// Sets m.detail to `p` in English and keeps its words and values (an empty `p` clears both).
void SetDetail(MessageRecord& m, Phrase p);

// What is left of an erased case: metadata only, never personal data.
struct Tombstone {
  std::string ref;        // hex
  int64_t at_ms = 0;      // when it was erased here
  std::string erased_by;  // this agency's caseworker command, a party's request, or retention
  std::string reason;
  std::vector<std::string> asked;      // the agencies sent an erasure request
  std::vector<std::string> confirmed;  // "AGENCY at TIME": their signed erasure receipts
  std::vector<std::string> requests;   // ids of the erasure requests sent
  bool compacted = false;              // no table file holds the erased records any more
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
  // The case's data as this agency knows it: the latest of each section sent or received
  // (agent/case_data.h), for export and for finding the same person twice.
  Bytes payload;
  // Keys that identify the person without being read (case_data.h PersonKeys): same name and
  // birth date, or same identity document.
  std::vector<std::string> person_keys;
};

// The local key of `data_dir` (created with mode 0600 when missing). With a non-empty
// `passphrase` a new key is stored under a crypto_pwhash-derived key, and an existing one is
// opened with it. kPermissionDenied when the key file or the directory is readable by others;
// kUnauthenticated for a wrong passphrase; kInvalidArgument when a passphrase is needed.
Result<crypto::SecretBytes> LoadOrCreateLocalKey(const std::string& data_dir,
                                                 const std::string& passphrase);

// Test seam: kills the process (SIGKILL) at `point` when NRM_AGENT_CRASH_AT names it, so that
// tests see what a crash there leaves. Does nothing otherwise.
void CrashPointForTesting(std::string_view point);

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

  // Called after every successful Write(), on the writing thread, with what was written (the
  // web inbox keeps its index with it). Set it before other threads use the store.
  using WriteObserver =
      std::function<void(const std::vector<MessageRecord>&, const std::vector<CaseRecord>&)>;
  void SetWriteObserver(WriteObserver observer) { observer_ = std::move(observer); }
  // Called after Erase() deleted the records of case `ref`, on the erasing thread (the web
  // inbox drops the case from its index). Set it before other threads use the store.
  using EraseObserver = std::function<void(const std::string& ref)>;
  void SetEraseObserver(EraseObserver observer) { erase_observer_ = std::move(observer); }

  // The web inbox's records, sealed like the rest: `key` must start with "w/". PutLocal is one
  // synced write; ScanLocal returns (key, value) pairs under `prefix`, in key order.
  Status PutLocal(const std::string& key, std::string_view value);
  Result<std::optional<std::string>> GetLocal(const std::string& key);
  Result<std::vector<std::pair<std::string, std::string>>> ScanLocal(const std::string& prefix);
  // A consistent copy of the store at `dir` (new), while it stays open (docs/OPERATIONS.md).
  Status Checkpoint(const std::string& dir);

  // store_erase.cc: erasure. The tombstone of case `ref`, or nullopt when it was not erased.
  Result<std::optional<Tombstone>> GetTombstone(const std::string& ref);
  Result<std::vector<Tombstone>> Tombstones();
  // Erases case `t.ref` in one synced batch: its key, its record, every message of it and
  // their index entries (o/, a/, h/) go; the tombstone `t` and `messages` (erasure requests,
  // which must hold no personal data: they are sealed under the local key) come, indexed like
  // any message. Then Compact(), and the tombstone is marked compacted. A crash before the batch
  // leaves the case whole; after it, erased (Open compacts again what a crash left uncompacted).
  Status Erase(const Tombstone& t, const std::vector<MessageRecord>& messages);
  // Writes `t` again (e.g. a confirmation), and `messages` (of the erased case) with it.
  Status WriteTombstone(const Tombstone& t, const std::vector<MessageRecord>& messages);
  // Compacts and marks compacted the tombstones a crash left uncompacted; Open calls it.
  Status FinishErasures();
  // Flushes the memtable and compacts every table file (bottommost level too), so that no file
  // holds a deleted record; the write-ahead logs they were in are deleted by the flush.
  Status Compact();
  // Flushes and closes; reports what went wrong.
  Status Close();

 private:
  AgentStore(std::unique_ptr<rocksdb::DB> db, crypto::SecretBytes key);
  Result<std::optional<std::string>> Get(const std::string& key);
  Result<std::vector<std::string>> Scan(const std::string& prefix, bool values);
  // store_erase.cc: the case keys. `plaintext` sealed under the key of case `case_ref` (made,
  // and added to `batch`, for a case that has none and was not erased) or the local key.
  Result<std::string> SealValue(const std::string& case_ref, std::string_view plaintext,
                                rocksdb::WriteBatch& batch);
  Result<crypto::SecretBytes> OpenValue(const std::string& value);
  // The key of `ref`, read from k/<ref> (cached); nullptr when it has none. keys_mu_ held.
  Result<const crypto::SecretBytes*> CaseKey(const std::string& ref);
  Result<std::vector<std::pair<std::string, std::string>>> ScanPairs(const std::string& prefix);
  Status AddTombstone(rocksdb::WriteBatch& batch, const Tombstone& t,
                      const std::vector<MessageRecord>& messages);

  std::unique_ptr<rocksdb::DB> db_;
  crypto::SecretBytes key_;
  WriteObserver observer_;
  EraseObserver erase_observer_;
  // The web inbox's thread reads records too: the cache of case keys is shared.
  std::mutex keys_mu_;
  std::map<std::string, crypto::SecretBytes> case_keys_;  // unsealed case keys, by case ref
  std::vector<std::string> fresh_keys_;                   // made for the batch being written
};

}  // namespace nrm::agent
