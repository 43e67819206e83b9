// A small HTTP/1.1 server over libmicrohttpd (Debian's libmicrohttpd-dev), for the witness's API
// and for the metrics of the broker, the agent and the witness: one handler for every request,
// bodies up to a limit, a bounded number of connections, each with a memory limit and an idle
// timeout. Plain HTTP: put it behind a TLS terminator (or the C2SP https-bastion) when it faces
// another network. (The web inbox has its own, with TLS: agent/web/http.h.)
//
// Thread-safety: the handler is called from the server's threads, several at once; Start and
// the destructor from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

struct MHD_Daemon;

namespace nrm::http {

struct HttpRequest {
  std::string method;
  std::string path;  // the URL path, without the query
  std::string body;
  bool body_too_large = false;  // then `body` is empty and the handler should answer 413
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // an IPv4 address to listen on
  uint16_t port = 0;               // 0: any free port (see port())
  size_t max_body_bytes = 64 * 1024;
  unsigned threads = 2;
  unsigned connection_limit = 256;
  unsigned connection_timeout_s = 30;
  size_t connection_memory_bytes = 128 * 1024;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens and serves until destroyed. kInvalidArgument for a bad host; kUnavailable when the
  // address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler);
  ~HttpServer();  // stops serving (waits for the handlers that run)
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const { return port_; }

 private:
  HttpServer(Handler handler, size_t max_body)
      : handler_(std::move(handler)), max_body_(max_body) {}
  friend struct HttpServerAccess;

  Handler handler_;
  size_t max_body_;
  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
};

}  // namespace nrm::http
