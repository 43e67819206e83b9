// The load of `nrm bench`: the sender, the recipients and the idle agencies, all in threads of
// the bench process, each with its own keys and its own CURVE connection to the broker. The
// sender seals and signs every message as the agent does (one envelope per recipient role,
// sections kept per role), keeps a window of envelopes in flight, flat out or at a fixed rate,
// and verifies each distinct signed tree head of the broker's receipts. In a federation it also
// seals to the partner countries' agencies and verifies and acknowledges the relay receipts its
// broker passes on. A recipient is a real nrm::agent::Agent (verify, open, check the
// need-to-know sections, acknowledge after the application has the message). Each Sender and
// each RecipientRun belongs to one thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "audit/checkpoint.h"
#include "common/clock.h"
#include "common/identity/identity.h"
#include "common/status.h"
#include "common/transport/transport.h"
#include "schemas/wire/envelope.h"
#include "schemas/wire/epoch.h"
#include "tools/bench_phase.h"
#include "tools/federation_scenario.h"
#include "tools/scenario.h"

namespace nrm::tools::bench {

// The sender: seals as the agent does and keeps `window` envelopes in flight.
class Sender {
 public:
  // Connects as kSender to the running broker of `s`, with a payload that seals to about
  // kTargetEnvelopeBytes.
  static Result<std::unique_ptr<Sender>> Open(const Scenario& s);
  // Connects as `id` of the federation `f` to its own country's running broker. It seals to the
  // agencies of its own directory and of each partner country's (verified with that country's
  // authority key, as the agent verifies those its broker passes on against the anchors it
  // holds), and Run() verifies and acknowledges the relay receipts that come back.
  static Result<std::unique_ptr<Sender>> OpenFederated(const FederationSetup& f,
                                                       const std::string& id);

  // Seals as Agent::Seal does: the payload checked, only the recipients' role's sections
  // kept, sealed to every recipient and signed. The payload itself is the application's and is
  // built once (its JSON parsing is not the agent's cost).
  Result<wire::Sealed> Seal(const std::vector<std::string>& to, uint64_t i);

  // Sends `n` messages to `to`; at `rate` per second (scheduled) or flat out. Records the send
  // time of each message id (the scheduled time at a fixed rate, so that a late send counts).
  // Fills r.accepted, refused, envelope_bytes, seal_cpu_us, sender_cpu_us and the first error.
  Status Run(const std::vector<std::string>& to, size_t n, double rate, size_t window, bool preseal,
             int64_t deadline_ns, Progress& progress, PhaseResult& r);

  // Receives until `n` relay receipts in all have been verified and acknowledged, or the
  // deadline passes (then an error).
  Status AwaitRelayReceipts(size_t n, int64_t deadline_ns);

  std::vector<std::pair<Bytes, int64_t>> sent;  // message id, when it was (due to be) sent
  int64_t first_send_ns = 0, last_accept_ns = 0;
  size_t relay_receipts = 0;  // verified and acknowledged, for messages sent by this Sender

 private:
  Sender() = default;

  // Loads the keys and the policy's sections, connects to `endpoint` and builds the payload.
  Status Connect(const std::string& key_file, const std::string& policy_file,
                 const std::string& endpoint);

  // The broker's receipt: a leaf and a signed tree head holding it.
  Status CheckReceipt(const transport::Frames& f);
  // A partner broker's relay receipt as the agent checks it (Agent::OpenRelayReceipt): the leaf
  // within a checkpoint signed under the log key the partner's directory publishes. Then
  // acknowledged, which takes it off the queue.
  Status TakeRelayReceipt(const transport::Frames& f);

  // A checkpoint of one broker's log, verified under the log key its directory publishes, and
  // the size of its tree: each distinct checkpoint is verified once (every reply of one group
  // commit carries the same one).
  struct Head {
    Bytes note;
    uint64_t size = 0;
  };
  // OK when `leaf` (8 bytes, big-endian) lies in the tree of `note`, a checkpoint of `broker`'s
  // log; `head` holds the last one verified.
  static Status CheckLeaf(const identity::BrokerEntry& broker, const Bytes& note, ByteView leaf,
                          Head& head);

  identity::KeySet keys_;
  wire::SenderEpoch epoch_{SystemClock::Get()};  // as the agent's: one per sender, hourly
  identity::Directory dir_;
  std::map<std::string, identity::Directory> partners_;  // country -> its signed directory
  std::vector<std::string> sections_;
  std::unique_ptr<transport::Client> client_;
  Bytes payload_;
  Head head_;  // of this sender's own broker
  // Federated: the ids sent, so that a receipt redelivered from an earlier connection (its
  // acknowledgement lost when that connection closed) is acknowledged but not counted.
  std::unordered_set<std::string> sent_ids_;
  // Per partner country: the checkpoint of its relay receipts last verified.
  std::map<std::string, Head> relay_heads_;
};

// What one recipient agent did in a phase.
struct RecipientRun {
  std::vector<std::pair<Bytes, int64_t>> got;  // message id, when the application had it
  size_t errors = 0;
  double cpu_s = 0;
  int64_t connected_ns = 0;
  Status status;
};

// The agent of `agent_config`: connects (then counts `ready` up), receives, verifies, opens,
// checks sections and acknowledges until it has `expect` messages or the deadline passes.
void RunRecipient(const std::string& agent_config, size_t expect, int64_t deadline_ns,
                  std::atomic<int>& ready, Progress& progress, RecipientRun& out);

// Connects `n` idle agencies (each its own CURVE connection, HELLO sent).
Result<std::vector<std::unique_ptr<transport::Client>>> ConnectIdle(const Scenario& s, int n);

}  // namespace nrm::tools::bench
