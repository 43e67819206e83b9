#include "audit/witness/config.h"

#include <charconv>
#include <filesystem>

#include "common/config/toml_util.h"
#include "common/http/metrics.h"

namespace nrm::audit::witness {

Result<WitnessConfig> LoadWitnessConfig(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  const toml::table& t = doc.root;
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(
      t, {"key_file", "listen", "data_dir", "endpoint_file", "log_file", "logs", "metrics_listen"},
      path));
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (base / p).string();
  };
  auto where = [&](std::string_view key) { return config::Where(path, *t.get(key)); };
  WitnessConfig c;
  NRM_ASSIGN_OR_RETURN(std::string key_file, config::GetString(t, "key_file", path));
  NRM_ASSIGN_OR_RETURN(std::string listen, config::GetString(t, "listen", path));
  NRM_ASSIGN_OR_RETURN(std::string data_dir, config::GetString(t, "data_dir", path));
  NRM_ASSIGN_OR_RETURN(auto endpoint_file, config::GetOptionalString(t, "endpoint_file", path));
  NRM_ASSIGN_OR_RETURN(auto log_file, config::GetOptionalString(t, "log_file", path));
  NRM_ASSIGN_OR_RETURN(auto metrics, config::GetOptionalString(t, "metrics_listen", path));
  NRM_ASSIGN_OR_RETURN(std::vector<std::string> logs, config::GetStringArray(t, "logs", path));
  c.key_file = resolve(key_file);
  c.data_dir = resolve(data_dir);
  c.endpoint_file = resolve(endpoint_file.value_or(""));
  c.log_file = resolve(log_file.value_or(""));
  if (metrics) {
    if (Result<std::pair<std::string, uint16_t>> m = ParseMetricsListen(*metrics); !m.ok()) {
      return InvalidArgument(where("metrics_listen") + ": " + m.status().message());
    }
    c.metrics_listen = std::move(*metrics);
  }

  const size_t colon = listen.rfind(':');
  unsigned port = 0;
  const char* port_end = listen.data() + listen.size();
  if (colon == std::string::npos ||
      std::from_chars(listen.data() + colon + 1, port_end, port).ptr != port_end || port > 65535) {
    return InvalidArgument(where("listen") + ": 'listen' must be HOST:PORT, e.g. 127.0.0.1:8701");
  }
  c.host = listen.substr(0, colon);
  c.port = static_cast<uint16_t>(port);
  if (logs.empty()) {
    return InvalidArgument(where("logs") + ": 'logs' must name at least one log's vkey");
  }
  for (const std::string& vkey : logs) {
    Result<note::VerifierKey> k = note::ParseVerifierKey(vkey);
    if (!k || k->type != note::kTypeEd25519) {
      return InvalidArgument(where("logs") + ": \"" + vkey + "\" is not a log's vkey (type 0x01)" +
                             (k ? "" : ": " + k.status().message()));
    }
    c.logs.push_back(std::move(*k));
  }
  return c;
}

}  // namespace nrm::audit::witness
