#include "common/transport/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <zmq.hpp>

namespace nrm::transport {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::string_view kZapDomain = "nrm";

Status ZmqError(std::string_view what, const zmq::error_t& e) {
  return Unavailable(std::string(what) + ": " + e.what());
}

std::string ToString(const zmq::message_t& m) { return std::string(m.to_string_view()); }

// ZMQ_MAXMSGSIZE for frames of up to `max_frame` bytes. Under CURVE, libzmq applies the limit to
// the MESSAGE command that carries a frame: "\x07MESSAGE" (8 bytes), a short nonce (8), the
// box's tag (16) and a flags byte (1) around it.
int64_t CurveLimit(size_t max_frame) { return static_cast<int64_t>(max_frame) + 8 + 8 + 16 + 1; }

// Sends `frames` as one multipart message. False when the first frame could not be queued
// within the socket's send timeout (no peer, or its queue is full); later frames of a message
// whose first frame was queued never block.
bool SendFrames(zmq::socket_t& socket, const Frames& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const bool last = i + 1 == frames.size();
    auto sent = socket.send(zmq::buffer(frames[i].data(), frames[i].size()),
                            last ? zmq::send_flags::none : zmq::send_flags::sndmore);
    if (!sent && i == 0) return false;
  }
  return true;
}

// Takes the first frame of the next message into `m`: at once, without a system call, when one
// is queued; otherwise waits up to `timeout_ms` for one (polling costs a system call, which at
// thousands of messages a second is worth skipping). False when none came.
bool ReceiveFirst(zmq::socket_t& socket, zmq::message_t& m, int timeout_ms) {
  if (socket.recv(m, zmq::recv_flags::dontwait)) return true;
  if (timeout_ms == 0) return false;
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
  return (item.revents & ZMQ_POLLIN) && socket.recv(m, zmq::recv_flags::dontwait).has_value();
}

// Answers one ZAP request from the Authorizer. A request it cannot parse is refused.
void AnswerZap(zmq::socket_t& zap, const Authorizer& authorize, std::atomic<uint64_t>& refused) {
  std::vector<zmq::message_t> req;
  while (true) {
    zmq::message_t m;
    if (!zap.recv(m, zmq::recv_flags::dontwait)) break;
    const bool more = m.more();
    req.push_back(std::move(m));
    if (!more) break;
  }
  if (req.empty()) return;
  std::string request_id = req.size() > 1 ? ToString(req[1]) : "";
  std::optional<std::string> user;
  if (req.size() == 7 && req[0].to_string_view() == "1.0" &&
      req[2].to_string_view() == kZapDomain && req[5].to_string_view() == "CURVE" &&
      req[6].size() == crypto::kBoxPublicBytes) {
    user = authorize(ByteView(static_cast<const uint8_t*>(req[6].data()), req[6].size()),
                     req[3].to_string_view());
  }
  if (!user) refused.fetch_add(1);
  SendFrames(zap,
             {Frame("1.0"), Frame(request_id), Frame(user ? "200" : "400"),
              Frame(user ? "OK" : "key not in the directory"), Frame(user.value_or("")), Bytes()});
}

// The peer of a connected socket: its IP address and port ("" and 0 for a Unix socket, or when
// the descriptor holds no connected socket).
std::pair<std::string, uint16_t> PeerOf(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return {"", 0};
  char text[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return {text, ntohs(in->sin_port)};
  }
  if (sa.ss_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(&sa);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    return {text, ntohs(in->sin6_port)};
  }
  return {"", 0};
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The monitor events the gate thread needs: a connection accepted, a connection gone (both
// carry the descriptor), and accept() failures (EMFILE).
constexpr int kMonitorEvents =
    ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPT_FAILED;

}  // namespace

struct Server::Impl {
  zmq::context_t ctx;  // declared first, so destroyed last
  zmq::socket_t zap;
  zmq::socket_t router;
  std::thread zap_thread;  // the gate: ZAP requests, connection events, timeouts
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> refused{0};
  std::atomic<uint64_t> accept_failed{0};
  ServerOptions options;
  std::string endpoint;
  std::unique_ptr<ConnectionTable> table;

  // The monitor of the current router, handed from the thread that opened it to the gate.
  std::mutex monitor_mu;
  std::optional<zmq::socket_t> next_monitor;
  int monitor_generation = 0;

  std::mutex events_mu;
  std::map<std::tuple<CloseReason, std::string, std::string>, uint64_t> closed;
  std::vector<GoneConnection> gone;

  // Closes `c` if its descriptor still holds the same peer (a descriptor closed and reused
  // meanwhile holds another, or none), and counts it.
  void Shut(const Closing& c) {
    if (c.fd < 0) return;
    const auto [address, port] = PeerOf(c.fd);
    if (address == c.address && port == c.port) ::shutdown(c.fd, SHUT_RDWR);
    std::lock_guard<std::mutex> lock(events_mu);
    constexpr size_t kMaxKeys = 1024;  // a flood from many addresses is counted as "*"
    auto key = std::make_tuple(c.reason, c.agency, c.address);
    if (closed.size() >= kMaxKeys && !closed.count(key)) std::get<2>(key) = "*";
    ++closed[key];
  }

  void OnMonitorEvent(zmq::socket_t& monitor) {
    zmq::message_t event, address;
    if (!monitor.recv(event, zmq::recv_flags::dontwait)) return;
    if (!event.more() || !monitor.recv(address, zmq::recv_flags::dontwait)) return;
    if (event.size() < 6) return;
    uint16_t id;
    int32_t value;
    std::memcpy(&id, event.data(), sizeof id);
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
    if (id == ZMQ_EVENT_ACCEPTED) {
      const auto [peer, port] = PeerOf(value);
      for (const Closing& c : table->Accepted(value, peer, port, SteadyMs())) Shut(c);
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      std::string agency = table->Gone(value);
      if (!agency.empty()) {
        std::lock_guard<std::mutex> lock(events_mu);
        gone.push_back({value, std::move(agency)});
      }
    } else if (id == ZMQ_EVENT_ACCEPT_FAILED) {
      accept_failed.fetch_add(1);
    }
  }

  // The gate thread: answers ZAP requests, keeps the connection table from the router's
  // monitor, and closes connections that sent nothing authenticated in time.
  void Gate() {
    std::optional<zmq::socket_t> monitor;
    int64_t next_expiry = 0;
    while (!stop.load()) {
      {
        std::lock_guard<std::mutex> lock(monitor_mu);
        if (next_monitor) {
          monitor = std::move(next_monitor);
          next_monitor.reset();
        }
      }
      zmq::pollitem_t items[2] = {{zap.handle(), 0, ZMQ_POLLIN, 0},
                                  {monitor ? monitor->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, monitor ? 2 : 1, std::chrono::milliseconds(100));
      // Connection events first: an accept is counted before the handshake it starts.
      if (monitor && (items[1].revents & ZMQ_POLLIN)) {
        for (int i = 0; i < 256; ++i) {
          if (!(monitor->get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
          OnMonitorEvent(*monitor);
        }
      }
      if (items[0].revents & ZMQ_POLLIN) AnswerZap(zap, options.authorize, refused);
      if (const int64_t now = SteadyMs(); now >= next_expiry) {
        for (const Closing& c : table->Expire(now)) Shut(c);
        next_expiry = now + 100;
      }
    }
  }

  Status OpenRouter(const std::string& where) {
    try {
      router = zmq::socket_t(ctx, zmq::socket_type::router);
      router.set(zmq::sockopt::linger, 0);
      router.set(zmq::sockopt::router_mandatory, 1);
      router.set(zmq::sockopt::sndhwm, options.high_water_mark);
      router.set(zmq::sockopt::rcvhwm, options.high_water_mark);
      router.set(zmq::sockopt::maxmsgsize, CurveLimit(options.max_message_bytes));
      router.set(zmq::sockopt::handshake_ivl, options.handshake_timeout_ms);
      // A deep listen backlog (the kernel caps it at net.core.somaxconn): under a flood of
      // connections a full backlog drops an agency's SYN, which costs it a second or more.
      router.set(zmq::sockopt::backlog, 4096);
      if (options.heartbeat_ivl_ms > 0) {
        router.set(zmq::sockopt::heartbeat_ivl, options.heartbeat_ivl_ms);
        router.set(zmq::sockopt::heartbeat_timeout, options.heartbeat_timeout_ms);
      }
      router.set(zmq::sockopt::zap_domain, std::string(kZapDomain));
      router.set(zmq::sockopt::curve_server, 1);
      router.set(zmq::sockopt::curve_secretkey,
                 zmq::const_buffer(options.curve_secret.data(), options.curve_secret.size()));
      // The monitor is connected before the router binds, so that no accept goes uncounted.
      const std::string monitor_at =
          "inproc://nrm-router-monitor-" + std::to_string(++monitor_generation);
      if (zmq_socket_monitor(router.handle(), monitor_at.c_str(), kMonitorEvents) != 0) {
        return Internal("cannot monitor the router socket");
      }
      zmq::socket_t monitor(ctx, zmq::socket_type::pair);
      monitor.set(zmq::sockopt::linger, 0);
      monitor.set(zmq::sockopt::rcvhwm, 0);  // never block libzmq's I/O thread on an event
      monitor.connect(monitor_at);
      table->Clear();  // a new router: the old one's connections are gone with it
      {
        std::lock_guard<std::mutex> lock(monitor_mu);
        next_monitor = std::move(monitor);
      }
      router.bind(where);
      endpoint = router.get(zmq::sockopt::last_endpoint);
      return Status::Ok();
    } catch (const zmq::error_t& e) {
      return InvalidArgument("cannot bind " + where + ": " + e.what());
    }
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->stop.store(true);
  if (impl_->zap_thread.joinable()) impl_->zap_thread.join();
}

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (!options.authorize) return InvalidArgument("a server needs an authorizer");
  if (options.curve_secret.size() != crypto::kBoxSecretBytes) {
    return InvalidArgument("CURVE secret key must be 32 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->table = std::make_unique<ConnectionTable>(impl->options.limits);
  try {
    impl->zap = zmq::socket_t(impl->ctx, zmq::socket_type::rep);
    impl->zap.set(zmq::sockopt::linger, 0);
    impl->zap.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot start the ZAP handler", e);
  }
  Impl* raw = impl.get();
  impl->zap_thread = std::thread([raw] {
    try {
      raw->Gate();
    } catch (const zmq::error_t&) {
      // Context terminated: the router is closing too; no client is admitted without us.
    }
  });
  auto server = std::unique_ptr<Server>(new Server(std::move(impl)));
  NRM_RETURN_IF_ERROR(server->impl_->OpenRouter(server->impl_->options.endpoint));
  return server;
}

const std::string& Server::endpoint() const { return impl_->endpoint; }
uint64_t Server::refused_handshakes() const { return impl_->refused.load(); }
uint64_t Server::accept_failures() const { return impl_->accept_failed.load(); }
ConnectionCounts Server::connections() const { return impl_->table->counts(); }

void Server::Close(int connection, CloseReason reason) {
  if (std::optional<Closing> c = impl_->table->Find(connection, reason)) impl_->Shut(*c);
}

std::vector<ClosedCount> Server::TakeClosed() {
  std::lock_guard<std::mutex> lock(impl_->events_mu);
  std::vector<ClosedCount> out;
  for (auto& [key, n] : impl_->closed) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
  }
  impl_->closed.clear();
  return out;
}

std::vector<GoneConnection> Server::TakeGone() {
  std::lock_guard<std::mutex> lock(impl_->events_mu);
  return std::exchange(impl_->gone, {});
}

Result<std::optional<Incoming>> Server::Receive(int timeout_ms) {
  try {
    zmq::message_t m;
    if (!ReceiveFirst(impl_->router, m, timeout_ms)) return std::optional<Incoming>();
    Incoming in;
    bool first = true;
    bool authenticated = true;
    while (true) {
      const bool more = m.more();
      if (first) {
        in.routing_id.assign(m.data<uint8_t>(), m.data<uint8_t>() + m.size());
        first = false;
      } else {
        const char* user = zmq_msg_gets(m.handle(), "User-Id");
        if (user == nullptr || *user == '\0') {
          authenticated = false;
        } else if (in.agency.empty()) {
          in.agency = user;
          // The descriptor it was read from (ZMQ_SRCFD): set on the frames read from the wire,
          // not on the routing id the ROUTER makes up.
          in.connection = zmq_msg_get(m.handle(), ZMQ_SRCFD);
        }
        in.frames.emplace_back(m.data<uint8_t>(), m.data<uint8_t>() + m.size());
      }
      if (!more || !impl_->router.recv(m, zmq::recv_flags::dontwait)) break;
    }
    if (!authenticated || in.agency.empty()) {
      return std::optional<Incoming>();  // never route what ZAP did not authenticate
    }
    // The connection's first authenticated message makes it the agency's (it is no longer
    // pending); one over the agency's limit closes the agency's oldest.
    if (in.connection >= 0) {
      if (std::optional<Closing> c =
              impl_->table->Identified(in.connection, in.agency, SteadyMs())) {
        impl_->Shut(*c);
      }
    }
    return std::optional<Incoming>(std::move(in));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Incoming>();  // a signal: the caller decides
    return ZmqError("receive", e);
  }
}

Status Server::Send(ByteView routing_id, const Frames& frames) {
  try {
    auto sent = impl_->router.send(zmq::buffer(routing_id.data(), routing_id.size()),
                                   zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    if (!sent) return ResourceExhausted("peer's queue is full");
    SendFrames(impl_->router, frames);
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return Unavailable("peer is not connected");
    if (e.num() == EAGAIN) return ResourceExhausted("peer's queue is full");
    return ZmqError("send", e);
  }
}

Status Server::Rebind() {
  const std::string where = impl_->endpoint;
  impl_->router.close();
  // The old listener is released asynchronously; retry the bind for up to two seconds.
  Status s;
  for (int i = 0; i < 200; ++i) {
    s = impl_->OpenRouter(where);
    if (s.ok()) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s;
}

struct Client::Impl {
  zmq::context_t ctx;
  zmq::socket_t dealer;
  zmq::socket_t lost_monitor;  // ZMQ_EVENT_DISCONNECTED of `dealer`, with count_lost_connections
  uint64_t lost = 0;

  // Watches `dealer` for lost connections (a socket has one monitor: call it after any other).
  void WatchLostConnections() {
    const std::string endpoint = "inproc://nrm-client-lost";  // the context is this client's
    if (zmq_socket_monitor(dealer.handle(), endpoint.c_str(), ZMQ_EVENT_DISCONNECTED) != 0) {
      throw zmq::error_t();
    }
    lost_monitor = zmq::socket_t(ctx, zmq::socket_type::pair);
    lost_monitor.set(zmq::sockopt::linger, 0);
    lost_monitor.connect(endpoint);
  }
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options, int handshake_timeout_ms) {
  auto impl = std::make_unique<Impl>();
  try {
    impl->dealer = zmq::socket_t(impl->ctx, zmq::socket_type::dealer);
    zmq::socket_t& d = impl->dealer;
    d.set(zmq::sockopt::linger, 0);
    d.set(zmq::sockopt::sndtimeo, options.send_timeout_ms);  // a send never blocks for long
    d.set(zmq::sockopt::immediate, options.immediate ? 1 : 0);
    d.set(zmq::sockopt::maxmsgsize, CurveLimit(options.max_message_bytes));
    d.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(options.server_curve_public.data(),
                                                           options.server_curve_public.size()));
    d.set(zmq::sockopt::curve_publickey,
          zmq::const_buffer(options.curve_public.data(), options.curve_public.size()));
    d.set(zmq::sockopt::curve_secretkey,
          zmq::const_buffer(options.curve_secret.data(), options.curve_secret.size()));
    if (handshake_timeout_ms <= 0) {  // connect in the background; see Client::Connect
      if (options.count_lost_connections) impl->WatchLostConnections();
      d.connect(options.endpoint);
      return std::unique_ptr<Client>(new Client(std::move(impl)));
    }
    const std::string monitor = "inproc://nrm-client-monitor";
    if (zmq_socket_monitor(d.handle(), monitor.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
      return Internal("cannot monitor the client socket");
    }
    zmq::socket_t mon(impl->ctx, zmq::socket_type::pair);
    mon.set(zmq::sockopt::linger, 0);
    mon.connect(monitor);
    d.connect(options.endpoint);
    if (handshake_timeout_ms < 0) {
      zmq_socket_monitor(d.handle(), nullptr, 0);
      return std::unique_ptr<Client>(new Client(std::move(impl)));
    }

    Status result = Unavailable("no broker answered at " + options.endpoint + " within " +
                                std::to_string(handshake_timeout_ms) + " ms");
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(handshake_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{mon.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t event, address;
      if (!mon.recv(event) || !mon.recv(address) || event.size() < 2) continue;
      uint16_t id;
      std::memcpy(&id, event.data(), sizeof id);
      if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        result = Status::Ok();
        break;
      }
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        result = Unauthenticated(
            "the broker refused this agency's transport key (not in its "
            "directory, or revoked)");
        break;
      }
      // A protocol failure (e.g. a wrong server key) is retried by libzmq until the deadline.
      result = Unauthenticated("CURVE handshake with the broker failed (wrong broker key?)");
    }
    zmq_socket_monitor(d.handle(), nullptr, 0);
    if (!result.ok()) return result;
    if (options.count_lost_connections) impl->WatchLostConnections();
  } catch (const zmq::error_t& e) {
    return ZmqError("cannot connect to " + options.endpoint, e);
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Status Client::Send(const Frames& frames) {
  try {
    if (!SendFrames(impl_->dealer, frames)) {
      return Unavailable("no connection to the broker (refused, or lost and not yet back)");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return ZmqError("send", e);
  }
}

uint64_t Client::ConnectionsLost() {
  if (impl_->lost_monitor.handle() == nullptr) return 0;
  try {
    zmq::message_t event;
    // Each event is one message of two frames (the event and its value, then the endpoint).
    while (impl_->lost_monitor.recv(event, zmq::recv_flags::dontwait)) {
      ++impl_->lost;
      while (event.more() && impl_->lost_monitor.recv(event, zmq::recv_flags::dontwait)) {
      }
    }
  } catch (const zmq::error_t&) {
    // The context is closing: what was counted stands.
  }
  return impl_->lost;
}

Result<std::optional<Frames>> Client::Receive(int timeout_ms) {
  try {
    zmq::message_t m;
    if (!ReceiveFirst(impl_->dealer, m, timeout_ms)) return std::optional<Frames>();
    Frames frames;
    while (true) {
      frames.emplace_back(m.data<uint8_t>(), m.data<uint8_t>() + m.size());
      if (!m.more() || !impl_->dealer.recv(m, zmq::recv_flags::dontwait)) break;
    }
    return std::optional<Frames>(std::move(frames));
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Frames>();
    return ZmqError("receive", e);
  }
}

}  // namespace nrm::transport
