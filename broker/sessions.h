// The broker's sessions: for each agency, the connection its last message came from and what
// was delivered on that connection and not yet acknowledged. A message from a new connection
// starts a new session, so that what the old one left unacknowledged is delivered again (the
// recipient drops duplicates by id). The old session is kept, retired, while it still holds
// deliveries: they count against the agency's window in bytes until they are acknowledged on
// that connection or the connection is gone, so the stalled connections of one agency never
// hold more than one window between them. Held in memory only: a broker starts with none, and
// every client's first message opens its session. Private to the broker.
//
// Thread-compatible: used by the broker's one routing thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace nrm::broker {

struct Delivery {
  uint64_t seq = 0;    // its queue position
  uint64_t bytes = 0;  // its frame's size
};

struct Session {
  Bytes routing_id;
  int connection = -1;     // its descriptor (transport::Incoming::connection)
  uint64_t last_sent = 0;  // highest queue seq delivered on this connection
  // Delivered on this connection and not yet acknowledged: message id -> delivery (several
  // expiry notices can carry the same id). At most delivery_window entries.
  std::multimap<Bytes, Delivery> unacknowledged;
  uint64_t bytes = 0;       // the sizes of `unacknowledged`
  int64_t progress_ms = 0;  // when it last had nothing in flight, or was last acknowledged
};

// A connection that does not read: what it holds, and whose it is.
struct Stalled {
  std::string agency;
  int connection = -1;
  uint64_t bytes = 0;
  size_t messages = 0;
};

class Sessions {
 public:
  // Makes `routing_id` the agency's connection. True when that starts a new session (its first
  // message, or one from another connection): what was in flight on the old one is delivered
  // again on this one; the old one is retired while it holds deliveries.
  bool Connect(const std::string& agency, const Bytes& routing_id, int connection);
  // True when a message from `routing_id` would start a new session (see Connect).
  bool IsNew(const std::string& agency, const Bytes& routing_id) const {
    auto it = sessions_.find(agency);
    return it == sessions_.end() || it->second.routing_id != routing_id;
  }
  // The agency's session, or null when it has none.
  Session* Find(const std::string& agency);
  // Bytes in flight to the agency on all its sessions, current and retired.
  uint64_t BytesInFlight(const std::string& agency) const;
  // Records a delivery on the agency's session. REQUIRES: Find(agency) is not null.
  void Delivered(const std::string& agency, const Bytes& message_id, Delivery d, int64_t now_ms);
  // Takes the agency's acknowledgement of `message_id` (on any of its connections): the queue
  // seq it was delivered from, or nullopt when no session of the agency holds it in flight.
  std::optional<uint64_t> Acknowledge(const std::string& agency, const Bytes& message_id,
                                      int64_t now_ms);
  // The delivery of `message_id` from queue seq `seq` expired: frees its place in the agency's
  // windows. True when it held one.
  bool Expire(const std::string& agency, const Bytes& message_id, uint64_t seq);
  // The agency's connection is gone: its queue waits on disk until it connects again.
  void Close(const std::string& agency);
  // The agency's connection `connection` is gone (or closed by the broker): forgets the session
  // it held, current or retired. True when it held the current one.
  bool Gone(const std::string& agency, int connection);
  // Connections holding deliveries without an acknowledgement for `timeout_ms`.
  std::vector<Stalled> StalledSince(int64_t now_ms, int64_t timeout_ms) const;
  // Agencies with a session.
  size_t Connected() const { return sessions_.size(); }
  // Forgets every session (all connections are being closed).
  void Clear() {
    sessions_.clear();
    retired_.clear();
  }

 private:
  std::map<std::string, Session> sessions_;
  // agency -> connection -> a superseded session that still holds deliveries.
  std::map<std::string, std::map<int, Session>> retired_;
};

}  // namespace nrm::broker
