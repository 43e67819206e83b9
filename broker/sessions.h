// The broker's sessions: for each agency, the connection its last message came from and what
// was delivered on that connection and not yet acknowledged. A message from a new connection
// starts a new session, so that what the old one left unacknowledged is delivered again (the
// recipient drops duplicates by id). Held in memory only: a broker starts with none, and every
// client's first message opens its session. Private to the broker.
//
// Thread-compatible: used by the broker's one routing thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/bytes.h"

namespace nrm::broker {

struct Session {
  Bytes routing_id;
  int connection = -1;     // its descriptor (transport::Incoming::connection)
  uint64_t last_sent = 0;  // highest queue seq delivered on this connection
  // Delivered on this connection and not yet acknowledged: message id -> queue seq (several
  // expiry notices can carry the same id). At most delivery_window entries.
  std::multimap<Bytes, uint64_t> unacknowledged;
};

class Sessions {
 public:
  // Makes `routing_id` the agency's connection. True when that starts a new session (its first
  // message, or one from another connection): what was in flight on the old one is forgotten.
  bool Connect(const std::string& agency, const Bytes& routing_id, int connection);
  // The agency's session, or null when it has none.
  Session* Find(const std::string& agency);
  // Takes the acknowledgement of `message_id` delivered on the agency's session: the queue seq
  // it was delivered from, or nullopt when it was not delivered on this session.
  std::optional<uint64_t> Acknowledge(const std::string& agency, const Bytes& message_id);
  // The delivery of `message_id` from queue seq `seq` expired: frees its place in the agency's
  // window. True when it held one.
  bool Expire(const std::string& agency, const Bytes& message_id, uint64_t seq);
  // The agency's connection is gone: its queue waits on disk until it connects again.
  void Close(const std::string& agency) { sessions_.erase(agency); }
  // The agency's connection `connection` is gone: forgets its session if that connection held
  // it. True when it did.
  bool Gone(const std::string& agency, int connection);
  // Forgets every session (all connections are being closed).
  void Clear() { sessions_.clear(); }

 private:
  std::map<std::string, Session> sessions_;
};

}  // namespace nrm::broker
