// A broker double for the agent tests: a CURVE ROUTER in the test process, with the scenario's
// broker keys and a ZAP check against its directory, that speaks the protocol as a test tells
// it to (drop a SEND, answer already_exists, accept and then lose a message, forge a notice,
// deliver out of order...). The operator holds the broker's keys, so all of this is in the
// threat model. It answers HELLO with WELCOME by itself, and hands every message (HELLO too) to
// the test's handler, on its own thread; the test posts actions to that thread with Post().
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "common/file_util.h"
#include "common/identity/identity.h"
#include "common/transport/transport.h"
#include "schemas/wire/envelope.h"
#include "schemas/wire/notice.h"
#include "tools/scenario.h"

namespace nrm::testing {

class BrokerDouble {
 public:
  using Handler = std::function<void(BrokerDouble&, const transport::Incoming&)>;

  // Binds on 127.0.0.1 and writes its endpoint where the scenario's agents read it.
  BrokerDouble(const tools::Scenario& s, Handler handler) : handler_(std::move(handler)) {
    keys_.id = s.broker.id;
    keys_.sign_secret = s.broker.sign_secret.Clone();
    keys_.curve_secret = s.broker.curve_secret.Clone();
    keys_.sign_public = s.broker.sign_public;
    keys_.curve_public = s.broker.curve_public;
    Result<identity::Directory> dir = identity::Directory::Load(
        s.dir + "/directory.toml", s.authority.sign_public, SystemClock::Get().NowMillis());
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (!dir.ok()) return;
    directory_ = std::make_shared<identity::Directory>(std::move(*dir));
    transport::ServerOptions o;
    o.endpoint = "tcp://127.0.0.1:0";
    o.curve_public = keys_.curve_public;
    o.curve_secret = keys_.curve_secret.Clone();
    auto dir_ref = directory_;
    o.authorize = [dir_ref](ByteView key, std::string_view) -> std::optional<std::string> {
      const identity::Agency* a = dir_ref->FindByCurveKey(key);
      if (a == nullptr || a->revoked) return std::nullopt;
      return a->id;
    };
    Result<std::unique_ptr<transport::Server>> server = transport::Server::Start(std::move(o));
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return;
    server_ = std::move(*server);
    EXPECT_TRUE(WriteFileAtomic(s.endpoint_file, server_->endpoint() + "\n").ok());
    thread_ = std::thread([this] { Loop(); });
  }

  ~BrokerDouble() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Runs `action` on the double's thread (where the socket lives).
  void Post(std::function<void(BrokerDouble&)> action) {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(action));
  }

  // ---- For the handler and posted actions (the double's thread). ----
  void Reply(const Bytes& routing_id, const transport::Frames& frames) {
    (void)server_->Send(routing_id, frames);
  }
  // Sends to `agency` on its last connection (false when it has none yet).
  bool SendTo(const std::string& agency, const transport::Frames& frames) {
    auto it = routes_.find(agency);
    return it != routes_.end() && server_->Send(it->second, frames).ok();
  }
  // ACCEPTED with a receipt that verifies: leaf N of the double's own log, under a checkpoint
  // signed with the broker's key (the double answers CONSISTENCY about that log by itself).
  transport::Frames Accepted(const Bytes& message_id) {
    const uint64_t leaf = leaves_.size();
    leaves_.push_back(audit::HashLeaf(message_id));
    const std::string head = Checkpoint(leaves_.size());
    Bytes be(8);
    for (int i = 0; i < 8; ++i) be[i] = static_cast<uint8_t>(leaf >> (56 - 8 * i));
    return {transport::Frame("ACCEPTED"), message_id, be, ToBytes(head)};
  }
  // The double's checkpoint of its log at `size` (signed once, then the same note).
  std::string Checkpoint(uint64_t size) {
    auto it = notes_.find(size);
    if (it != notes_.end()) return it->second;
    const std::span<const audit::Hash> first(leaves_.data(), size);
    return notes_[size] = audit::SignCheckpoint(
               {tools::kScenarioLogOrigin, size, audit::RootFromLeafHashes(first), {}},
               keys_.sign_secret, SystemClock::Get().NowMillis());
  }
  // The double's log misbehaving (on its thread): leaf `i` rewritten, so that every checkpoint
  // from size i + 1 on has another root than before (a fork); or the log cut to `size` leaves
  // (a log that shrank).
  void RewriteLeaf(size_t i) {
    leaves_.at(i) = audit::HashLeaf(Bytes(1, 0xee));
    notes_.clear();
  }
  void Truncate(size_t size) {
    leaves_.resize(size);
    notes_.clear();
  }
  // A new signing key (as a broker given one signs from then on): the log stays, its
  // checkpoints are signed again with `sign`.
  void Rekey(const crypto::SignKeyPair& sign) {
    keys_.sign_secret = sign.secret_key.Clone();
    keys_.sign_public = sign.public_key;
    notes_.clear();
  }
  static transport::Frames Refused(const Bytes& message_id, const std::string& code,
                                   const std::string& reason) {
    return {transport::Frame("REFUSED"), message_id, transport::Frame(code),
            transport::Frame(reason)};
  }
  // An EXPIRED notice for `sender` about `message_id` and `recipient`, signed as the real
  // broker signs it, or not at all (`sign` false).
  transport::Frames Expired(const Bytes& message_id, const std::string& sender,
                            const std::string& recipient, bool sign) {
    transport::Frames f = {transport::Frame("EXPIRED"), message_id, transport::Frame(recipient)};
    if (sign) f.push_back(wire::SignExpiryNotice(keys_.sign_secret, message_id, sender, recipient));
    return f;
  }
  static Bytes MessageIdOf(const Bytes& envelope) {
    Result<wire::EnvelopeView> env = wire::DecodeEnvelope(envelope);
    return env.ok() ? Bytes(env->message_id().begin(), env->message_id().end()) : Bytes();
  }

  // What the double received, by verb (for assertions from the test thread).
  size_t Count(const std::string& verb) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[verb];
  }
  std::vector<Bytes> Sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sends_;
  }

 private:
  void Loop() {
    while (!stop_) {
      std::vector<std::function<void(BrokerDouble&)>> actions;
      {
        std::lock_guard<std::mutex> lock(mu_);
        actions.swap(posted_);
      }
      for (auto& a : actions) a(*this);
      Result<std::optional<transport::Incoming>> in = server_->Receive(20);
      if (!in.ok() || !*in || (*in)->frames.empty()) continue;
      const transport::Incoming& m = **in;
      routes_[m.agency] = m.routing_id;
      const std::string verb(transport::FrameText(m.frames[0]));
      {
        std::lock_guard<std::mutex> lock(mu_);
        counts_[verb]++;
        if (verb == "SEND" && m.frames.size() == 2) sends_.push_back(m.frames[1]);
      }
      if (verb == "HELLO") {
        Bytes serial(8, 0);
        serial[7] = static_cast<uint8_t>(directory_->serial());
        Reply(m.routing_id, {transport::Frame("WELCOME"), transport::Frame(keys_.id), serial});
      }
      if (verb == "CONSISTENCY" && m.frames.size() == 3) AnswerConsistency(m);
      handler_(*this, m);
    }
  }

  // As the real broker answers CONSISTENCY (broker/checkpoints.cc), from the double's log.
  void AnswerConsistency(const transport::Incoming& m) {
    uint64_t old_size = 0, size = 0;
    for (uint8_t b : m.frames[1]) old_size = old_size << 8 | b;
    for (uint8_t b : m.frames[2]) size = size << 8 | b;
    if (size == 0) size = leaves_.size();
    if (size > leaves_.size() || old_size > leaves_.size()) {
      Reply(m.routing_id, {transport::Frame("CONSISTENCY"), m.frames[1], Bytes(),
                           transport::Frame("no such size")});
      return;
    }
    const uint64_t lo = std::min(old_size, size), hi = std::max(old_size, size);
    Result<std::vector<audit::Hash>> proof =
        audit::ConsistencyProof(std::span<const audit::Hash>(leaves_.data(), hi), lo);
    Bytes hashes;
    for (const audit::Hash& h : *proof) hashes.insert(hashes.end(), h.begin(), h.end());
    Reply(m.routing_id,
          {transport::Frame("CONSISTENCY"), m.frames[1], ToBytes(Checkpoint(size)), hashes});
  }

  Handler handler_;
  identity::KeySet keys_;
  std::shared_ptr<identity::Directory> directory_;
  std::unique_ptr<transport::Server> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::function<void(BrokerDouble&)>> posted_;
  std::map<std::string, size_t> counts_;
  std::vector<Bytes> sends_;
  std::map<std::string, Bytes> routes_;  // agency -> its last connection
  // The double's log: ten leaves of its own before the tests' messages.
  std::vector<audit::Hash> leaves_ = std::vector<audit::Hash>(10, audit::HashLeaf(Bytes(1, 0)));
  std::map<uint64_t, std::string> notes_;
};

}  // namespace nrm::testing
