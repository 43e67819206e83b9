#include "common/transport/control.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <zmq.hpp>

namespace nrm::transport {
namespace {

Result<std::optional<Frames>> ReceiveFrames(zmq::socket_t& socket, int timeout_ms) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
  if (!(item.revents & ZMQ_POLLIN)) return std::optional<Frames>();
  Frames frames;
  while (true) {
    zmq::message_t m;
    if (!socket.recv(m, zmq::recv_flags::dontwait)) break;
    const bool more = m.more();
    const auto* p = static_cast<const uint8_t*>(m.data());
    frames.emplace_back(p, p + m.size());
    if (!more) break;
  }
  return std::optional<Frames>(std::move(frames));
}

void SendAll(zmq::socket_t& socket, const Frames& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    socket.send(zmq::buffer(frames[i].data(), frames[i].size()),
                i + 1 == frames.size() ? zmq::send_flags::none : zmq::send_flags::sndmore);
  }
}

}  // namespace

struct ControlServer::Impl {
  zmq::context_t ctx{1};  // declared first, so destroyed last
  zmq::socket_t socket{ctx, zmq::socket_type::rep};
  std::string path;
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlServer::~ControlServer() {
  if (impl_) {
    try {
      impl_->socket.close();
    } catch (const zmq::error_t&) {
    }
    ::unlink(impl_->path.c_str());
  }
}

Result<std::unique_ptr<ControlServer>> ControlServer::Bind(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    impl->socket.set(zmq::sockopt::linger, 0);
    ::unlink(path.c_str());  // a socket file left by a daemon that was killed
    impl->socket.bind("ipc://" + path);
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot bind the control socket ipc://" + path + ": " + e.what());
  }
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

Result<std::optional<Frames>> ControlServer::Receive(int timeout_ms) {
  try {
    return ReceiveFrames(impl_->socket, timeout_ms);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return std::optional<Frames>();  // a signal: the caller decides

    return Unavailable(std::string("control socket: ") + e.what());
  }
}

Status ControlServer::Reply(const Frames& frames) {
  try {
    SendAll(impl_->socket, frames);
  } catch (const zmq::error_t& e) {
    return Unavailable(std::string("control socket: ") + e.what());
  }
  return Status::Ok();
}

Result<Frames> ControlCall(const std::string& path, const Frames& request, int timeout_ms) {
  try {
    zmq::context_t ctx(1);
    zmq::socket_t socket(ctx, zmq::socket_type::req);
    socket.set(zmq::sockopt::linger, 0);
    socket.connect("ipc://" + path);
    SendAll(socket, request);
    NRM_ASSIGN_OR_RETURN(std::optional<Frames> answer, ReceiveFrames(socket, timeout_ms));
    if (!answer) {
      return Unavailable("no agent daemon answered on " + path +
                         " (start it with: nrm-agent --config FILE run)");
    }
    return std::move(*answer);
  } catch (const zmq::error_t& e) {
    return Unavailable("control socket " + path + ": " + e.what());
  }
}

}  // namespace nrm::transport
