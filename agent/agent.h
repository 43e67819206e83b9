// The agency's agent: holds the agency's keys, seals and signs what the agency sends, and
// verifies and opens what it receives. It keeps its sender epoch key (wire::SenderEpoch) in
// memory only: a new one per process, replaced every hour. Thread-compatible: one thread uses
// an Agent.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/web/web_config.h"
#include "common/clock.h"
#include "common/identity/identity.h"
#include "common/transport/transport.h"
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
  // default "<agency>-data" beside the config file.
  std::string data_dir;
  // Never in the file: the passphrase of a protected key file (agent/key_file.h), which
  // nrm-agent takes from NRM_AGENT_PASSPHRASE. Empty: the key file must be unprotected.
  std::string key_passphrase;
  // [web]: the web inbox the running agent serves (agent/web/web_config.h); none without it.
  std::optional<web::WebConfig> web;
};

// kInvalidArgument naming file, line and what was expected. Relative paths are taken relative
// to the file's directory.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

// What arrived: a message, opened and checked, or the broker's notice that a message this
// agency sent expired before `recipients[0]` acknowledged it (then there is no payload).
struct Received {
  enum class Type { kMessage, kExpiryNotice };
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
};

// The broker's answer to a send.
struct SendOutcome {
  Bytes message_id;
  bool accepted = false;
  std::string code;    // "ok", or the refusal's code, e.g. "permission_denied"
  std::string reason;  // the broker's reason for a refusal
  // For an accepted message: the broker's receipt, the leaf of its "accepted" audit record and
  // a tree head signed by the broker (verified against the directory) whose tree holds it.
  // Absent when acceptance was inferred from a repeat (already_exists).
  std::optional<uint64_t> receipt_leaf;
  Bytes receipt_head;  // audit::EncodeTreeHead form
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
  // answered within `timeout_ms`, kUnauthenticated when it refused this agency's key.
  Status Connect(int timeout_ms);
  bool connected() const { return client_ != nullptr; }

  // Seals `payload` to `recipients` (ids in the directory), sends it and waits up to
  // `timeout_ms` for the broker's answer, sending the same envelope again every 2 s (a
  // reconnect may have lost it; the broker answers a repeat of an accepted id with
  // already_exists, which is taken as accepted). A refusal is an outcome, not an error; an
  // error is a Status (unknown recipient, no answer in time).
  // Recipients of different roles get separate envelopes, each holding only the payload
  // sections their role may receive: one outcome per envelope, in the order of first
  // appearance of each role.
  Result<std::vector<SendOutcome>> Send(const std::vector<std::string>& recipients, wire::Kind kind,
                                        ByteView case_ref, wire::Handling handling,
                                        ByteView payload, int timeout_ms);

  // The two halves of Send, for a caller that keeps the sealed envelope until it is accepted
  // (an outbox): Seal once, then Submit the same envelope (same message id) as often as it
  // takes. `sent_before` says an earlier Submit of it may have reached the broker, so that
  // already_exists is taken as accepted.
  Result<std::vector<wire::Sealed>> Seal(const std::vector<std::string>& recipients,
                                         wire::Kind kind, ByteView case_ref,
                                         wire::Handling handling, ByteView payload);
  Result<SendOutcome> Submit(const wire::Sealed& sealed, int timeout_ms, bool sent_before);

  // Seal with the header fields a workflow step needs: the message it answers and whether a
  // personal section goes to a recipient the person's consent does not cover.
  struct StepFields {
    Bytes in_reply_to;              // empty or 16 bytes
    bool consent_override = false;  // Header.consent_override, audited by the broker
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
  // its checks (unknown sender, bad signature, not for us) is acknowledged, so it is not
  // delivered again, and returned as its Status; so is a payload holding a section this
  // agency's role may not hold. While idle it greets the broker every
  // second, so that a session the broker closed (a restart, a revocation) is restored.
  Result<std::optional<Received>> Receive(int timeout_ms);
  // As Receive, but never greets the broker: for a caller that polls often and greets it
  // itself (Greet()) once in a while.
  Result<std::optional<Received>> ReceiveQuietly(int timeout_ms);
  Status Greet();

  // Tells the broker `message_id` is safely stored here; it will not be delivered again.
  Status Acknowledge(ByteView message_id);

  // Wipes the sender epoch key if its hour is over (a new one is made at the next seal). A
  // long-running caller calls this often (the daemon: every turn of its loop), so that an idle
  // or disconnected agent holds no old epoch key.
  void WipeExpiredEpochKey() { epoch_.WipeIfExpired(); }

  const identity::Directory& directory() const { return directory_; }
  const std::string& agency() const { return keys_.id; }
  const std::string& role() const { return role_; }
  const policy::Policy& policy() const { return policy_; }

 private:
  // Checks the receipt frames of an ACCEPTED answer and records them in `out`.
  Status CheckReceipt(const transport::Frames& frames, SendOutcome& out) const;
  Result<std::optional<Received>> ReceiveImpl(int timeout_ms, bool greet);

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
  identity::Directory directory_;
  policy::Policy policy_;
  std::string role_;  // this agency's role, from the directory
  const Clock& clock_;
  wire::SenderEpoch epoch_;                  // what this agent seals with
  wire::Reader reader_;                      // what it opens with
  transport::ClientOptions client_options_;  // to connect again
  std::unique_ptr<transport::Client> client_;
  std::vector<transport::Frames> early_;  // deliveries that arrived while waiting for an answer
};

}  // namespace nrm::agent
