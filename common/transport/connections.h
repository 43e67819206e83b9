// The server's table of live connections, by file descriptor, and the limits that keep any one
// peer from taking the broker's descriptors: connections in total, connections that have not yet
// sent an authenticated message ("pending": in the handshake, or authenticated and silent) in
// total and per source address, and authenticated connections per agency. It only decides: the
// server closes what it names (shutdown(2) on the descriptor, after checking that the
// descriptor still holds the same peer, so that a descriptor reused meanwhile is never touched;
// libzmq then closes it and reports it gone).
//
// Policy: a new connection over a pending limit evicts the oldest pending one (of its address,
// or of all): a flood of idle connections never locks out an agency, whose handshake and first
// message take milliseconds. A new connection over the total limit evicts the oldest pending
// one, or is itself closed when every connection is authenticated. An agency's connection over
// its limit closes that agency's oldest. A pending connection older than
// `first_message_timeout_ms` is closed.
//
// Thread-safe: the server's gate thread reports accepts and closes, the routing thread reports
// each message's connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nrm::transport {

struct ConnectionLimits {
  size_t max_connections = 0;            // every connection; 0: no limit (tests only)
  size_t max_pending = 0;                // without an authenticated message yet; 0: no limit
  size_t max_pending_per_address = 0;    // the same, from one source address; 0: no limit
  size_t max_per_agency = 0;             // authenticated connections of one agency; 0: no limit
  int64_t first_message_timeout_ms = 0;  // a pending connection lives this long; 0: for ever
};

enum class CloseReason {
  kTooManyConnections,  // over max_connections, and every other one authenticated
  kPendingEvicted,      // the oldest pending one, evicted by a new connection over max_pending
  kAddressEvicted,      // the same, over max_pending_per_address
  kNoFirstMessage,      // pending for longer than first_message_timeout_ms
  kAgencyLimit,         // the agency's oldest, over max_per_agency
  kStalled,             // closed by the server's owner (it did not read what it was sent)
};

// "too_many_connections", ... for logs and audit records.
const char* CloseReasonName(CloseReason reason);

// A connection the table wants closed.
struct Closing {
  int fd = -1;
  std::string address;  // the peer's IP address
  uint16_t port = 0;    // the peer's port: with the address, tells a reused descriptor apart
  std::string agency;   // empty while pending
  CloseReason reason = CloseReason::kTooManyConnections;
};

struct ConnectionCounts {
  size_t total = 0;
  size_t pending = 0;
  size_t authenticated = 0;
};

class ConnectionTable {
 public:
  explicit ConnectionTable(ConnectionLimits limits) : limits_(limits) {}

  // A connection was accepted on `fd` from `address`:`port`. Returns what to close: nothing,
  // an older pending connection, or this one.
  std::vector<Closing> Accepted(int fd, const std::string& address, uint16_t port, int64_t now_ms);
  // A message authenticated as `agency` arrived on `fd`. The first one makes the connection the
  // agency's; returns the agency's oldest connection when it now holds more than its limit.
  // Cheap when `fd` is already the agency's (one lookup under the lock).
  std::optional<Closing> Identified(int fd, const std::string& agency, int64_t now_ms);
  // The connection on `fd` is gone (libzmq closed it). Returns the agency it was authenticated
  // as, or "" when it was pending (or unknown).
  std::string Gone(int fd);
  // Pending connections older than first_message_timeout_ms.
  std::vector<Closing> Expire(int64_t now_ms);
  // The connection on `fd`, for closing it with `reason`; nullopt when the table has none.
  std::optional<Closing> Find(int fd, CloseReason reason);
  // Every connection is gone (the socket was closed).
  void Clear();

  ConnectionCounts counts() const;
  // Authenticated connections of `agency`.
  size_t OfAgency(const std::string& agency) const;

 private:
  struct Entry {
    std::string address;
    uint16_t port = 0;
    int64_t since_ms = 0;  // accepted; for pending eviction and the first-message timeout
    uint64_t order = 0;    // accept order: "oldest" without ties
    std::string agency;    // empty while pending
    bool closing = false;  // named for closing; no longer counted
  };
  Closing Close(int fd, Entry& e, CloseReason reason);
  // The oldest pending connection (of `address`, or of all when empty) other than `except`.
  std::optional<int> OldestPending(const std::string& address, int except) const;

  const ConnectionLimits limits_;
  mutable std::mutex mu_;
  std::map<int, Entry> by_fd_;
  std::map<std::string, size_t> pending_by_address_;
  std::map<std::string, size_t> by_agency_;
  size_t pending_ = 0;
  size_t authenticated_ = 0;
  uint64_t next_order_ = 0;
};

}  // namespace nrm::transport
