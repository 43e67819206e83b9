#include "common/http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

namespace nrm::http {

// One request being received: its body so far.
struct Upload {
  std::string body;
  bool too_large = false;
};

struct HttpServerAccess {
  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* url,
                           const char* method, const char* /*version*/, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* server = static_cast<HttpServer*>(cls);
    if (*con_cls == nullptr) {  // the headers: start the upload
      *con_cls = new Upload();
      return MHD_YES;
    }
    auto* upload = static_cast<Upload*>(*con_cls);
    if (*upload_data_size > 0) {  // a piece of the body
      if (upload->body.size() + *upload_data_size > server->max_body_) {
        upload->too_large = true;
        upload->body.clear();
      } else if (!upload->too_large) {
        upload->body.append(upload_data, *upload_data_size);
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    HttpRequest req{method, url, std::move(upload->body), upload->too_large};
    HttpResponse resp;
    try {
      resp = server->handler_(req);
    } catch (const std::exception&) {
      resp = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
    MHD_Response* r =
        MHD_create_response_from_buffer(resp.body.size(), resp.body.data(), MHD_RESPMEM_MUST_COPY);
    if (r == nullptr) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", resp.content_type.c_str());
    MHD_add_response_header(r, "Cache-Control", "no-store");
    const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(resp.status), r);
    MHD_destroy_response(r);
    return queued;
  }

  static void Completed(void* /*cls*/, MHD_Connection* /*connection*/, void** con_cls,
                        MHD_RequestTerminationCode /*code*/) {
    delete static_cast<Upload*>(*con_cls);
    *con_cls = nullptr;
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("listen: \"" + options.host + "\" is not an IPv4 address");
  }
  auto server =
      std::unique_ptr<HttpServer>(new HttpServer(std::move(handler), options.max_body_bytes));
  server->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, nullptr, nullptr,
      &HttpServerAccess::Access, server.get(), MHD_OPTION_SOCK_ADDR, &addr,
      MHD_OPTION_THREAD_POOL_SIZE, options.threads, MHD_OPTION_CONNECTION_LIMIT,
      options.connection_limit, MHD_OPTION_CONNECTION_TIMEOUT, options.connection_timeout_s,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.connection_memory_bytes,
      MHD_OPTION_NOTIFY_COMPLETED, &HttpServerAccess::Completed, nullptr, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return Unavailable("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                       ": " + std::strerror(errno));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : options.port;
  return server;
}

HttpServer::~HttpServer() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
}

}  // namespace nrm::http
