// nrm_transport: the only code that includes <zmq.hpp>. A CURVE ROUTER server whose ZAP
// handler admits only keys the caller authorizes, and whose gate thread (the ZAP thread) keeps
// its connections under the limits of connections.h; and a CURVE DEALER client. Messages are
// multipart: a list of frames. See docs/PROTOCOL.md §Frames.
//
// Thread-safety: a Server or Client is used by one thread only (ZeroMQ sockets are not
// thread-safe); the Authorizer is called on the server's ZAP thread, so it must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"
#include "common/transport/connections.h"

namespace nrm::transport {

using Frames = std::vector<Bytes>;

// Returns the agency id for a client's CURVE public key, or nullopt to refuse the handshake.
// `address` is the peer's IP address (for the refusal's audit record).
using Authorizer =
    std::function<std::optional<std::string>(ByteView curve_key, std::string_view address)>;

struct ServerOptions {
  std::string endpoint;  // e.g. "tcp://127.0.0.1:0" (port 0: any free port) or "ipc://path"
  Bytes curve_public;
  crypto::SecretBytes curve_secret;
  Authorizer authorize;
  size_t max_message_bytes = 1 << 20;  // a larger frame disconnects its peer
  int high_water_mark = 10000;         // per peer, each direction (ZMQ_SNDHWM, ZMQ_RCVHWM)
  // A connection whose ZMTP and CURVE handshake has not completed within this is closed by
  // libzmq (ZMQ_HANDSHAKE_IVL); 0: never.
  int handshake_timeout_ms = 5000;
  // libzmq pings a connection this often and closes it when nothing came back within the
  // timeout (ZMQ_HEARTBEAT_IVL, ZMQ_HEARTBEAT_TIMEOUT); 0: no heartbeats.
  int heartbeat_ivl_ms = 0;
  int heartbeat_timeout_ms = 0;
  ConnectionLimits limits;  // connections.h
};

struct Incoming {
  Bytes routing_id;     // the connection; pass to Send to answer it
  std::string agency;   // the agency the ZAP handler authenticated for this connection
  int connection = -1;  // the connection's descriptor: for Close(), and for telling it gone
  Frames frames;
};

// Connections the server closed under its limits, counted by reason, agency and address since
// the last TakeClosed().
struct ClosedCount {
  CloseReason reason;
  std::string agency;   // "" for a connection that never sent an authenticated message
  std::string address;  // "*" once too many addresses were counted
  uint64_t count = 0;
};

// An authenticated connection that is gone.
struct GoneConnection {
  int connection = -1;
  std::string agency;
};

class Server {
 public:
  // Starts the ZAP handler, then binds: a client is never admitted without the handler.
  // kInvalidArgument / kUnavailable when the endpoint cannot be bound.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  // The bound endpoint, with the real port when options.endpoint asked for port 0.
  const std::string& endpoint() const;

  // The next message, or nullopt after `timeout_ms` (-1: wait forever). A message without an
  // authenticated agency is dropped here and never returned: the server fails closed.
  Result<std::optional<Incoming>> Receive(int timeout_ms);

  // Sends to one connection. kUnavailable when the peer is gone (ROUTER_MANDATORY), and
  // kResourceExhausted when its queue is full: a frame is never dropped silently.
  Status Send(ByteView routing_id, const Frames& frames);

  // Closes every connection and binds again: each client reconnects and passes the ZAP
  // handler again, so a revoked key loses its session.
  Status Rebind();

  // How many handshakes the ZAP handler refused so far.
  uint64_t refused_handshakes() const;

  // Closes the connection on descriptor `connection` (from Incoming::connection), as `reason`
  // (counted for TakeClosed()). A connection that is already gone is left alone: the
  // descriptor is touched only while it still holds the same peer.
  void Close(int connection, CloseReason reason);
  // What was closed under the limits since the last call.
  std::vector<ClosedCount> TakeClosed();
  // Authenticated connections that are gone since the last call. A connection's is recorded
  // before the server admits (ZAP) a new one on the same descriptor: a caller that takes these
  // when a new connection's first message arrives never mistakes it for the one that went.
  std::vector<GoneConnection> TakeGone();
  ConnectionCounts connections() const;
  // accept() failures so far (EMFILE: the descriptor table was full).
  uint64_t accept_failures() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ClientOptions {
  std::string endpoint;
  Bytes server_curve_public;
  Bytes curve_public;
  crypto::SecretBytes curve_secret;
  size_t max_message_bytes = 1 << 20;
  // ZMQ_IMMEDIATE: a message is queued only on a connection whose handshake is complete, so
  // nothing piles up in ZeroMQ while the broker is away (Send fails instead, and the caller
  // decides what to send when it is back). False only for a test's control of the old
  // behaviour, where every copy sent during an outage is delivered on reconnection.
  bool immediate = true;
  // How long Send waits for room (or, with `immediate`, for a connection) before kUnavailable.
  int send_timeout_ms = 2000;
  // Count the connections lost (Client::ConnectionsLost), for a caller that must know when what
  // it sent may have been lost with one: ZeroMQ reconnects by itself, without a word.
  bool count_lost_connections = false;
};

class Client {
 public:
  // Connects and waits up to `handshake_timeout_ms` for the CURVE handshake.
  // kUnauthenticated when the broker refused this key; kUnavailable when no broker answered.
  // With `handshake_timeout_ms` <= 0 it does not wait: ZeroMQ connects (and reconnects) in the
  // background, and with `immediate` nothing can be sent until the handshake succeeded; a
  // refused key is then not reported.
  static Result<std::unique_ptr<Client>> Connect(ClientOptions options, int handshake_timeout_ms);
  ~Client();

  Status Send(const Frames& frames);
  // How many times the connection was lost since Connect (0 without count_lost_connections).
  // ZeroMQ reports a loss before it reconnects, at least its reconnect interval (100 ms) later:
  // a caller that looks right before a send knows whether that send can go on a newer
  // connection than what it sent before.
  uint64_t ConnectionsLost();
  // The next message, or nullopt after `timeout_ms`.
  Result<std::optional<Frames>> Receive(int timeout_ms);

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Frame helpers.
inline Bytes Frame(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string_view FrameText(const Bytes& b) { return AsChars(b); }

}  // namespace nrm::transport
