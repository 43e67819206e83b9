#include <arpa/inet.h>

#include <charconv>

#include "agent/web/i18n.h"
#include "agent/web/local_time.h"
#include "agent/web/web_config_parse.h"
#include "common/config/toml_util.h"

namespace nrm::agent::web {

bool WebConfig::loopback() const {
  in_addr a{};
  return inet_pton(AF_INET, listen_host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::vector<std::string> WebConfig::AllowedHosts() const {
  std::vector<std::string> out = hosts;
  out.push_back(listen_host + ":{port}");
  if (loopback()) out.push_back("localhost:{port}");
  return out;
}

Result<WebConfig> ParseWebConfig(const toml::table& t, const std::string& path,
                                 const std::function<std::string(const std::string&)>& resolve) {
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(
      t,
      {"listen", "hosts", "tls_cert", "tls_key", "idle_logout_s", "time_zone", "language",
       "templates", "max_connections", "max_body_bytes"},
      path));
  WebConfig c;
  auto where = [&](std::string_view key) {
    const toml::node* n = t.get(key);
    return n ? config::Where(path, *n) : config::Where(path, t);
  };
  NRM_ASSIGN_OR_RETURN(auto listen, config::GetOptionalString(t, "listen", path));
  if (listen) {
    const size_t colon = listen->rfind(':');
    in_addr a{};
    unsigned port = 0;
    const char* end = listen->data() + listen->size();
    if (colon == std::string::npos ||
        std::from_chars(listen->data() + colon + 1, end, port).ptr != end || port > 65535 ||
        inet_pton(AF_INET, listen->substr(0, colon).c_str(), &a) != 1) {
      return InvalidArgument(where("listen") + ": listen must be an IPv4 address and a port, " +
                             "e.g. \"127.0.0.1:8470\"; got \"" + *listen + "\"");
    }
    c.listen_host = listen->substr(0, colon);
    c.listen_port = static_cast<uint16_t>(port);
  }
  NRM_ASSIGN_OR_RETURN(c.hosts, config::GetStringArray(t, "hosts", path, false));
  NRM_ASSIGN_OR_RETURN(auto cert, config::GetOptionalString(t, "tls_cert", path));
  NRM_ASSIGN_OR_RETURN(auto key, config::GetOptionalString(t, "tls_key", path));
  if (cert.has_value() != key.has_value()) {
    return InvalidArgument(where(cert ? "tls_cert" : "tls_key") +
                           ": give both tls_cert and tls_key, or neither");
  }
  if (cert) {
    c.tls_cert = resolve(*cert);
    c.tls_key = resolve(*key);
  }
  if (!c.loopback() && !c.tls()) {
    return InvalidArgument(where("listen") + ": the web inbox listens on " + c.listen_host +
                           ", which is not a loopback address: give tls_cert and tls_key so that "
                           "it serves HTTPS only (people's data must not cross a network in the "
                           "clear)");
  }
  NRM_ASSIGN_OR_RETURN(c.idle_logout_s, config::GetInt(t, "idle_logout_s", path, 900));
  if (c.idle_logout_s < 1 || c.idle_logout_s > 86400) {
    return InvalidArgument(where("idle_logout_s") + ": idle_logout_s must be 1 to 86400 seconds");
  }
  NRM_ASSIGN_OR_RETURN(c.max_connections, config::GetInt(t, "max_connections", path, 64));
  if (c.max_connections < 4 || c.max_connections > 4096) {
    return InvalidArgument(where("max_connections") + ": max_connections must be 4 to 4096");
  }
  NRM_ASSIGN_OR_RETURN(c.max_body_bytes,
                       config::GetInt(t, "max_body_bytes", path, 2 * 1024 * 1024));
  if (c.max_body_bytes < 4096 || c.max_body_bytes > 64 * 1024 * 1024) {
    return InvalidArgument(where("max_body_bytes") + ": max_body_bytes must be 4 KiB to 64 MiB");
  }
  NRM_ASSIGN_OR_RETURN(auto tz, config::GetOptionalString(t, "time_zone", path));
  if (tz) {
    Result<TimeZone> zone = TimeZone::Load(*tz);
    if (!zone.ok()) return zone.status().WithContext(where("time_zone"));
    c.time_zone = *tz;
  }
  NRM_ASSIGN_OR_RETURN(auto language, config::GetOptionalString(t, "language", path));
  if (language) {
    if (!IsLanguage(*language)) {
      return InvalidArgument(where("language") + ": language must be one of: " + LanguageCodes());
    }
    c.language = *language;
  }
  NRM_ASSIGN_OR_RETURN(auto templates, config::GetOptionalString(t, "templates", path));
  if (templates) c.templates = resolve(*templates);
  return c;
}

}  // namespace nrm::agent::web
