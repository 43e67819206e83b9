#include "agent/web/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

namespace nrm::agent::web {
namespace {

constexpr size_t kConnectionMemory = 64 * 1024;  // headers and the read buffer of a connection

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// `s` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n == 2 && b < 0xc2) ok = false;  // overlong
    if (ok && n == 3) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 >= 0xa0)) ok = false;  // overlong, surrogate
    }
    if (ok && n == 4) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      if ((b == 0xf0 && b1 < 0x90) || b > 0xf4 || (b == 0xf4 && b1 >= 0x90)) ok = false;
    }
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return ValidUtf8(out);
}

struct Connection {
  std::string body;
};

}  // namespace

std::map<std::string, std::vector<std::string>> ParseUrlEncoded(std::string_view body) {
  std::map<std::string, std::vector<std::string>> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? "" : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out[Decode(pair.substr(0, eq))].push_back(
        eq == std::string_view::npos ? "" : Decode(pair.substr(eq + 1)));
  }
  return out;
}

std::string Request::Form(const std::string& name) const {
  auto it = form.find(name);
  return it == form.end() || it->second.empty() ? "" : it->second.front();
}
std::vector<std::string> Request::FormAll(const std::string& name) const {
  auto it = form.find(name);
  return it == form.end() ? std::vector<std::string>() : it->second;
}
std::string Request::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}
std::string Request::Cookie(const std::string& name) const {
  auto it = cookies.find(name);
  return it == cookies.end() ? "" : it->second;
}

Response Response::Redirect(const std::string& location) {
  Response r;
  r.status = 303;
  r.headers.emplace_back("Location", location);
  return r;
}

Response Response::Text(int status, const std::string& text) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = text + "\n";
  return r;
}

struct HttpServer::Impl {
  HttpOptions options;
  Handler handler;
  MHD_Daemon* daemon = nullptr;
  std::vector<std::string> hosts;    // lower case
  std::vector<std::string> origins;  // scheme://host
  bool tls = false;

  ~Impl() {
    if (daemon != nullptr) MHD_stop_daemon(daemon);
  }

  MHD_Result Send(MHD_Connection* c, const Response& r) const {
    MHD_Response* resp = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (resp == nullptr) return MHD_NO;
    // One place for every response's security headers.
    MHD_add_response_header(resp, "Content-Type", r.content_type.c_str());
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self'; font-src 'self'; connect-src 'self'; "
                            "object-src 'none'; base-uri 'none'; form-action 'self'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    // Not "no-referrer": with it a browser sends "Origin: null" on a form's POST, and the Origin
    // check below needs the real one. No URL of this inbox is sent to another site.
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Pragma", "no-cache");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy",
                            "camera=(), microphone=(), geolocation=(), interest-cohort=()");
    if (tls) {
      MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    }
    for (const auto& [name, value] : r.headers) {
      MHD_add_response_header(resp, name.c_str(), value.c_str());
    }
    const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return ok;
  }

  // What every request must pass before a handler sees it; a refusal, or nullopt.
  std::optional<Response> Check(MHD_Connection* c, const std::string& method) const {
    if (method != "GET" && method != "HEAD" && method != "POST") {
      Response r = Response::Text(405, "method not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD, POST");
      return r;
    }
    const char* host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (host == nullptr || std::find(hosts.begin(), hosts.end(), Lower(host)) == hosts.end()) {
      return Response::Text(403, "this inbox does not answer to that host name");
    }
    if (method == "POST") {
      const char* origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
      if (origin == nullptr ||
          std::find(origins.begin(), origins.end(), Lower(origin)) == origins.end()) {
        return Response::Text(403, "a form of this inbox must be sent from this inbox");
      }
      const char* site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
      if (site != nullptr && std::strcmp(site, "same-origin") != 0) {
        return Response::Text(403, "a form of this inbox must be sent from this inbox");
      }
      const char* length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
      if (length != nullptr) {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(length, &end, 10);
        if (end == length || *end != '\0' || n > options.max_body_bytes) {
          return Response::Text(413, "the request is too large");
        }
      }
    }
    return std::nullopt;
  }

  Request Build(MHD_Connection* c, const char* url, const std::string& method,
                std::string body) const {
    Request req;
    req.method = method;
    req.path = url;
    auto collect = [](void* cls, MHD_ValueKind, const char* key, const char* value) {
      auto* m = static_cast<std::map<std::string, std::string>*>(cls);
      if (key != nullptr) m->emplace(ValidUtf8(key), ValidUtf8(value ? value : ""));
      return MHD_YES;
    };
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &req.query);
    MHD_get_connection_values(c, MHD_COOKIE_KIND, collect, &req.cookies);
    if (const char* al = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Language")) {
      req.accept_language = al;
    }
    const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info != nullptr && info->client_addr != nullptr) {
      char text[INET6_ADDRSTRLEN] = {};
      if (info->client_addr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(info->client_addr)->sin_addr, text,
                  sizeof(text));
      } else if (info->client_addr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(info->client_addr)->sin6_addr,
                  text, sizeof(text));
      }
      req.client = text;
    }
    if (method == "POST") {
      const char* type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
      if (type != nullptr && Lower(type).starts_with("application/x-www-form-urlencoded")) {
        req.form = ParseUrlEncoded(body);
      }
    }
    return req;
  }

  static MHD_Result OnRequest(void* cls, MHD_Connection* c, const char* url, const char* method,
                              const char* /*version*/, const char* upload, size_t* upload_size,
                              void** con_cls) {
    auto* self = static_cast<Impl*>(cls);
    auto* conn = static_cast<Connection*>(*con_cls);
    const std::string m = method ? method : "";
    if (conn == nullptr) {
      if (std::optional<Response> refused = self->Check(c, m)) return self->Send(c, *refused);
      *con_cls = new Connection();
      return MHD_YES;
    }
    if (*upload_size != 0) {
      if (conn->body.size() + *upload_size > self->options.max_body_bytes) {
        return self->Send(c, Response::Text(413, "the request is too large"));
      }
      conn->body.append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    Response r;
    try {
      r = self->handler(self->Build(c, url ? url : "", m, std::move(conn->body)));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "nrm-agent web: a handler failed: %s\n", e.what());
      r = Response::Text(500, "internal error");
    }
    return self->Send(c, r);
  }

  static void OnCompleted(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Connection*>(*con_cls);
    *con_cls = nullptr;
  }

  static void OnLog(void*, const char* fmt, va_list ap) {
    char line[512];
    std::vsnprintf(line, sizeof(line), fmt, ap);
    std::fprintf(stderr, "nrm-agent web: %s%s", line,
                 std::strlen(line) && line[std::strlen(line) - 1] == '\n' ? "" : "\n");
  }
};

HttpServer::~HttpServer() = default;

std::string HttpServer::Url() const {
  return std::string(tls_ ? "https://" : "http://") + impl_->options.host + ":" +
         std::to_string(port_);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  impl->tls = !options.tls_cert_pem.empty();
  if (impl->tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return InvalidArgument("this libmicrohttpd cannot serve HTTPS");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("not an IPv4 address: " + options.host);
  }
  // Bound here, so that the port (when 0 was asked) and the names it answers to are known
  // before the first request.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return Unavailable("cannot serve the web inbox on " + options.host + ":" +
                       std::to_string(options.port) + ": " + why);
  }
  auto server = std::unique_ptr<HttpServer>(new HttpServer());
  server->port_ = ntohs(addr.sin_port);
  server->tls_ = impl->tls;
  const std::string scheme = impl->tls ? "https://" : "http://";
  const bool default_port = server->port_ == (impl->tls ? 443 : 80);
  for (std::string h : options.allowed_hosts) {
    const size_t at = h.find(":{port}");
    if (at != std::string::npos) {
      if (default_port) {
        impl->hosts.push_back(Lower(h.substr(0, at)));
        impl->origins.push_back(scheme + Lower(h.substr(0, at)));
      }
      h.replace(at + 1, 6, std::to_string(server->port_));
    }
    impl->hosts.push_back(Lower(h));
    impl->origins.push_back(scheme + Lower(h));
  }
  unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                   MHD_USE_ERROR_LOG;
  if (impl->tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> opts = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::OnLog), nullptr},
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, static_cast<intptr_t>(options.max_connections), nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, static_cast<intptr_t>(options.idle_timeout_s), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::OnCompleted), nullptr},
  };
  if (impl->tls) {
    opts.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options.tls_key_pem.c_str())});
    opts.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options.tls_cert_pem.c_str())});
  }
  opts.push_back({MHD_OPTION_END, 0, nullptr});
  impl->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::OnRequest, impl.get(),
                                  MHD_OPTION_ARRAY, opts.data(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    ::close(fd);
    return InvalidArgument("cannot start the web inbox on " + options.host + ":" +
                           std::to_string(server->port_) +
                           (impl->tls ? " (is the TLS certificate or key not valid PEM?)" : ""));
  }
  server->impl_ = std::move(impl);
  return server;
}

}  // namespace nrm::agent::web
