// nrm_transport: the only code that includes <zmq.hpp>. A CURVE ROUTER server whose ZAP
// handler admits only keys the caller authorizes, and a CURVE DEALER client. Messages are
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
  int high_water_mark = 10000;         // per peer, each direction
};

struct Incoming {
  Bytes routing_id;    // the connection; pass to Send to answer it
  std::string agency;  // the agency the ZAP handler authenticated for this connection
  Frames frames;
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
  // How long Send may wait for room (or for a connection). A broker's link to a partner broker
  // uses 0 with `immediate`: a send fails at once when the partner is not connected, and what
  // was not sent stays in the broker's store.
  int send_timeout_ms = 2000;
  bool immediate = false;  // ZMQ_IMMEDIATE: queue messages only on completed connections
};

class Client {
 public:
  // Connects and waits up to `handshake_timeout_ms` for the CURVE handshake.
  // kUnauthenticated when the broker refused this key; kUnavailable when no broker answered.
  // A negative `handshake_timeout_ms` does not wait: the client is returned at once and
  // ZeroMQ connects (and reconnects) in the background.
  static Result<std::unique_ptr<Client>> Connect(ClientOptions options, int handshake_timeout_ms);
  ~Client();

  Status Send(const Frames& frames);
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
