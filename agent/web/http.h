// The HTTP side of the web inbox, on Debian's libmicrohttpd: a thread per connection, with
// limits on connections, per-connection memory, idle time and request bodies. It checks what no
// handler should have to: the Host header against the names the inbox answers to (DNS
// rebinding), the Origin of every POST (and the browser's Sec-Fetch-Site), the method, and the
// size of a body before reading it (a body over the limit is refused unread). Every response
// leaves with the same security headers (strict Content-Security-Policy, no caching, no
// framing, no sniffing, no referrer; HSTS under TLS).
//
// Thread-safe: the handler is called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace nrm::agent::web {

struct Request {
  std::string method;  // GET, HEAD or POST
  std::string path;    // as sent, %-decoded by libmicrohttpd
  std::map<std::string, std::string> query;
  std::map<std::string, std::vector<std::string>> form;  // a POST's urlencoded body
  std::map<std::string, std::string> cookies;
  std::string client;  // the peer's IP address
  std::string accept_language;

  // The first value of form field `name`, or "".
  std::string Form(const std::string& name) const;
  // Every value of form field `name` (checkboxes, multiple selects).
  std::vector<std::string> FormAll(const std::string& name) const;
  std::string Query(const std::string& name) const;
  std::string Cookie(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Location, Set-Cookie, ...

  static Response Redirect(const std::string& location);  // 303 See Other
  static Response Text(int status, const std::string& text);
};

using Handler = std::function<Response(const Request&)>;

struct HttpOptions {
  std::string host = "127.0.0.1";          // IPv4
  uint16_t port = 0;                       // 0: any free port
  std::string tls_cert_pem, tls_key_pem;   // both set: HTTPS only
  std::vector<std::string> allowed_hosts;  // Host header values; {port} is replaced by the port
  unsigned max_connections = 64;
  size_t max_body_bytes = 2 * 1024 * 1024;
  unsigned idle_timeout_s = 30;
};

// The pairs of an application/x-www-form-urlencoded text, decoded; invalid UTF-8 is replaced
// by U+FFFD, so that what a handler stores is always text.
std::map<std::string, std::vector<std::string>> ParseUrlEncoded(std::string_view body);

class HttpServer {
 public:
  // Binds and starts serving. kUnavailable when the address cannot be bound;
  // kInvalidArgument for a bad certificate or key, or TLS without libmicrohttpd support.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, Handler handler);
  ~HttpServer();  // stops: waits for the connections' threads to finish

  uint16_t port() const { return port_; }
  bool tls() const { return tls_; }
  // "http://127.0.0.1:8470" or "https://...".
  std::string Url() const;

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace nrm::agent::web
