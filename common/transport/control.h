// A local control channel between a long-running daemon and the short-lived commands people
// run: a ZeroMQ REP socket bound on ipc://PATH (a Unix socket, so only local processes that can
// reach PATH connect; keep it in a directory of mode 0700) and a REQ client that makes one call.
// No CURVE: the file system's permissions are the access control.
//
// Thread-safety: a ControlServer is used by one thread only; ControlCall is thread-safe (it
// makes its own context and socket).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/transport/transport.h"

namespace nrm::transport {

class ControlServer {
 public:
  // Binds ipc://`path`, removing a stale socket file left by a killed daemon first.
  // kUnavailable when it cannot bind (e.g. another daemon holds it).
  static Result<std::unique_ptr<ControlServer>> Bind(const std::string& path);
  ~ControlServer();

  // The next request, or nullopt after `timeout_ms`. REQUIRES: the previous request was
  // answered with Reply().
  Result<std::optional<Frames>> Receive(int timeout_ms);
  // Answers the request last returned by Receive().
  Status Reply(const Frames& frames);

  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends `request` to the daemon listening on ipc://`path` and returns its answer.
// kUnavailable when no daemon answers within `timeout_ms` (none is running, or it is busy).
Result<Frames> ControlCall(const std::string& path, const Frames& request, int timeout_ms);

}  // namespace nrm::transport
