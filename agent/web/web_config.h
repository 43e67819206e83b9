// The [web] section of an agent's config: where the agent serves its web inbox (agent/web/
// web_server.h) and how. Without a [web] section the agent serves none.
//
//   [web]
//   listen = "127.0.0.1:8470"          # host:port; port 0 takes any free port
//   hosts = ["inbox.example.org:443"]  # names the Host header may carry (besides the listen
//                                      # address, and localhost:PORT on loopback)
//   tls_cert = "web.crt"               # PEM; with tls_key: HTTPS only. Needed off loopback.
//   tls_key = "web.key"
//   idle_logout_s = 900                # a session ends after this long without a request
//   time_zone = "Asia/Bangkok"         # times are shown in it (tz database name)
//   language = "en"                    # the default language: en or th
//   templates = "path/to/templates"    # read templates from here rather than the built-in ones
//   max_connections = 64
//   max_body_bytes = 2097152           # a larger request body is refused unread
//
// Parsed by ParseWebConfig (web_config_parse.h). A value type; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nrm::agent::web {

struct WebConfig {
  std::string listen_host = "127.0.0.1";  // an IPv4 address
  uint16_t listen_port = 8470;
  std::vector<std::string> hosts;  // every Host header value allowed, port included
  std::string tls_cert, tls_key;   // paths; both empty: plain HTTP (loopback only)
  int64_t idle_logout_s = 900;
  std::string time_zone = "UTC";
  std::string language = "en";
  std::string templates;  // empty: the built-in templates
  int64_t max_connections = 64;
  int64_t max_body_bytes = 2 * 1024 * 1024;

  bool tls() const { return !tls_cert.empty(); }
  bool loopback() const;
  // The Host header values allowed, with "{port}" for the port the server gets (listen_port,
  // or the one the system chose for 0); HttpServer also allows them without a default port.
  std::vector<std::string> AllowedHosts() const;
};

}  // namespace nrm::agent::web
