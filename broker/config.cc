#include "broker/config.h"

#include <filesystem>

#include "audit/checkpoint.h"
#include "broker/federation.h"
#include "common/config/toml_util.h"
#include "common/crypto/crypto.h"
#include "common/http/metrics.h"
#include "federation/signed_text.h"

namespace nrm::broker {

namespace {

// [[witness]] tables: url (http:// or https://) and vkey (a type 0x04 key); names unique.
Result<std::vector<WitnessEndpoint>> LoadWitnesses(const toml::table& t, const std::string& path) {
  std::vector<WitnessEndpoint> out;
  const toml::node* node = t.get("witness");
  if (node == nullptr) return out;
  const toml::array* list = node->as_array();
  if (list == nullptr) {
    return InvalidArgument(config::Where(path, *node) + ": 'witness' must be [[witness]] tables");
  }
  for (const toml::node& n : *list) {
    const toml::table* w = n.as_table();
    if (w == nullptr) {
      return InvalidArgument(config::Where(path, n) + ": 'witness' must be [[witness]] tables");
    }
    NRM_RETURN_IF_ERROR(config::CheckKnownKeys(*w, {"url", "vkey"}, path));
    WitnessEndpoint e;
    NRM_ASSIGN_OR_RETURN(e.url, config::GetString(*w, "url", path));
    NRM_ASSIGN_OR_RETURN(std::string vkey, config::GetString(*w, "vkey", path));
    const std::string where = config::Where(path, *w);
    if (!e.url.starts_with("http://") && !e.url.starts_with("https://")) {
      return InvalidArgument(where + ": a witness's url must start with http:// or https://");
    }
    Result<audit::note::VerifierKey> key = audit::note::ParseVerifierKey(vkey);
    if (!key) return key.status().WithContext(where + ": vkey");
    if (key->type != audit::note::kTypeCosignatureV1) {
      return InvalidArgument(where + ": vkey must be a witness's cosignature key (type 0x04)");
    }
    for (const WitnessEndpoint& other : out) {
      if (other.key.name == key->name) {
        return InvalidArgument(where + ": witness " + key->name + " is named twice");
      }
    }
    e.key = std::move(*key);
    out.push_back(std::move(e));
  }
  if (out.size() > kMaxWitnesses) {
    return InvalidArgument(config::Where(path, *node) + ": at most " +
                           std::to_string(kMaxWitnesses) + " witnesses");
  }
  return out;
}

}  // namespace

Result<BrokerConfig> LoadBrokerConfig(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(config::TomlDoc doc, config::LoadToml(path));
  const toml::table& t = doc.root;
  NRM_RETURN_IF_ERROR(config::CheckKnownKeys(t,
                                             {"bind",
                                              "data_dir",
                                              "directory",
                                              "policy",
                                              "authority_key",
                                              "key_file",
                                              "endpoint_file",
                                              "log_file",
                                              "freshness_window_s",
                                              "max_message_bytes",
                                              "delivery_window",
                                              "ttl_s",
                                              "min_free_disk_mib",
                                              "handshake_timeout_s",
                                              "max_connections",
                                              "descriptor_reserve",
                                              "max_unauthenticated",
                                              "max_unauthenticated_per_address",
                                              "first_message_timeout_s",
                                              "max_connections_per_agency",
                                              "heartbeat_s",
                                              "heartbeat_timeout_s",
                                              "delivery_window_mib",
                                              "delivery_timeout_s",
                                              "refusals_per_second",
                                              "log_origin",
                                              "witness",
                                              "witness_timeout_ms",
                                              "metrics_listen",
                                              "country",
                                              "partner",
                                              "relay_window",
                                              "relay_timeout_s"},
                                             path));
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  auto resolve = [&](const std::string& p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (base / p).string();
  };
  BrokerConfig c;
  NRM_ASSIGN_OR_RETURN(c.bind, config::GetString(t, "bind", path));
  NRM_ASSIGN_OR_RETURN(std::string data_dir, config::GetString(t, "data_dir", path));
  NRM_ASSIGN_OR_RETURN(std::string directory, config::GetString(t, "directory", path));
  NRM_ASSIGN_OR_RETURN(std::string policy, config::GetString(t, "policy", path));
  NRM_ASSIGN_OR_RETURN(std::string key_file, config::GetString(t, "key_file", path));
  NRM_ASSIGN_OR_RETURN(std::string authority, config::GetString(t, "authority_key", path));
  NRM_ASSIGN_OR_RETURN(auto endpoint_file, config::GetOptionalString(t, "endpoint_file", path));
  NRM_ASSIGN_OR_RETURN(auto log_file, config::GetOptionalString(t, "log_file", path));
  NRM_ASSIGN_OR_RETURN(auto log_origin, config::GetOptionalString(t, "log_origin", path));
  NRM_ASSIGN_OR_RETURN(auto metrics, config::GetOptionalString(t, "metrics_listen", path));
  NRM_ASSIGN_OR_RETURN(int64_t fresh_s, config::GetInt(t, "freshness_window_s", path, 600));
  NRM_ASSIGN_OR_RETURN(c.max_message_bytes, config::GetInt(t, "max_message_bytes", path, 1 << 20));
  NRM_ASSIGN_OR_RETURN(c.delivery_window, config::GetInt(t, "delivery_window", path, 256));
  NRM_ASSIGN_OR_RETURN(int64_t ttl_s, config::GetInt(t, "ttl_s", path, 14 * 24 * 3600));
  NRM_ASSIGN_OR_RETURN(int64_t reserve_mib, config::GetInt(t, "min_free_disk_mib", path, 256));
  NRM_ASSIGN_OR_RETURN(c.witness_timeout_ms, config::GetInt(t, "witness_timeout_ms", path, 3000));
  c.data_dir = resolve(data_dir);
  c.directory = resolve(directory);
  c.policy = resolve(policy);
  c.key_file = resolve(key_file);
  c.endpoint_file = resolve(endpoint_file.value_or(""));
  c.log_file = resolve(log_file.value_or(""));

  auto where = [&](std::string_view key) { return config::Where(path, *t.get(key)); };
  Result<Bytes> ak = FromHexExact(authority, crypto::kSignPublicBytes, "authority_key");
  if (!ak) return ak.status().WithContext(where("authority_key"));
  c.authority_key = std::move(*ak);
  if (!c.bind.starts_with("tcp://") && !c.bind.starts_with("ipc://")) {
    return InvalidArgument(where("bind") + ": 'bind' must be a tcp:// or ipc:// endpoint");
  }
  if (fresh_s < 1 || fresh_s > 7 * 24 * 3600) {
    return InvalidArgument(where("freshness_window_s") +
                           ": 'freshness_window_s' must be between 1 and 604800 seconds");
  }
  c.freshness_window_ms = fresh_s * 1000;
  if (c.max_message_bytes < 1024 || c.max_message_bytes > (64 << 20)) {
    return InvalidArgument(where("max_message_bytes") +
                           ": 'max_message_bytes' must be between 1024 and 67108864");
  }
  if (c.delivery_window < 1 || c.delivery_window > 100000) {
    return InvalidArgument(where("delivery_window") +
                           ": 'delivery_window' must be between 1 and 100000");
  }
  if (ttl_s < 1 || ttl_s > 365LL * 24 * 3600) {
    return InvalidArgument(where("ttl_s") + ": 'ttl_s' must be between 1 and 31536000 seconds");
  }
  c.ttl_ms = ttl_s * 1000;
  if (reserve_mib < 0 || reserve_mib > (1 << 20)) {
    return InvalidArgument(where("min_free_disk_mib") +
                           ": 'min_free_disk_mib' must be between 0 and 1048576");
  }
  c.min_free_disk_bytes = static_cast<uint64_t>(reserve_mib) << 20;
  if (c.witness_timeout_ms < 100 || c.witness_timeout_ms > 60000) {
    return InvalidArgument(where("witness_timeout_ms") +
                           ": 'witness_timeout_ms' must be between 100 and 60000");
  }
  NRM_ASSIGN_OR_RETURN(c.witnesses, LoadWitnesses(t, path));
  if (metrics) {
    if (Result<std::pair<std::string, uint16_t>> m = ParseMetricsListen(*metrics); !m.ok()) {
      return InvalidArgument(where("metrics_listen") + ": " + m.status().message());
    }
    c.metrics_listen = std::move(*metrics);
  }
  if (log_origin) {
    if (Status s = audit::CheckOrigin(*log_origin); !s.ok()) {
      return InvalidArgument(where("log_origin") + ": " + s.message());
    }
    c.log_origin = std::move(*log_origin);
  }

  // Connection limits: each an integer in [low, high], scaled to the field's unit.
  struct Limit {
    const char* key;
    int64_t low, high, scale;
    int64_t* field;
  };
  const Limit limits[] = {
      {"handshake_timeout_s", 0, 3600, 1000, &c.handshake_timeout_ms},
      {"max_connections", 0, 1 << 20, 1, &c.max_connections},
      {"descriptor_reserve", 64, 1 << 20, 1, &c.descriptor_reserve},
      {"max_unauthenticated", 0, 1 << 20, 1, &c.max_unauthenticated},
      {"max_unauthenticated_per_address", 0, 1 << 20, 1, &c.max_unauthenticated_per_address},
      {"first_message_timeout_s", 0, 24 * 3600, 1000, &c.first_message_timeout_ms},
      {"max_connections_per_agency", 0, 1024, 1, &c.max_connections_per_agency},
      {"heartbeat_s", 0, 3600, 1000, &c.heartbeat_ms},
      {"heartbeat_timeout_s", 1, 3600, 1000, &c.heartbeat_timeout_ms},
      {"delivery_window_mib", 1, 4096, 1 << 20, &c.delivery_window_bytes},
      {"delivery_timeout_s", 0, 24 * 3600, 1000, &c.delivery_timeout_ms},
      {"refusals_per_second", 1, 1 << 20, 1, &c.refusals_per_second},
  };
  for (const Limit& l : limits) {
    NRM_ASSIGN_OR_RETURN(int64_t v, config::GetInt(t, l.key, path, *l.field / l.scale));
    if (v < l.low || v > l.high) {
      return InvalidArgument(where(l.key) + ": '" + l.key + "' must be between " +
                             std::to_string(l.low) + " and " + std::to_string(l.high));
    }
    *l.field = v * l.scale;
  }

  NRM_ASSIGN_OR_RETURN(auto country, config::GetOptionalString(t, "country", path));
  c.country = country.value_or("");
  if (!c.country.empty()) {
    NRM_RETURN_IF_ERROR(
        federation::CheckCountry(c.country, "country").WithContext(where("country")));
  }
  NRM_ASSIGN_OR_RETURN(c.partners, ParsePartners(t, path, base.string()));
  if (!c.partners.empty() && c.country.empty()) {
    return InvalidArgument(path + ": [[partner]] needs 'country', this broker's own country");
  }
  NRM_ASSIGN_OR_RETURN(c.relay_window, config::GetInt(t, "relay_window", path, 1024));
  NRM_ASSIGN_OR_RETURN(int64_t relay_timeout_s, config::GetInt(t, "relay_timeout_s", path, 10));
  if (c.relay_window < 1 || c.relay_window > 100000) {
    return InvalidArgument(where("relay_window") + ": 'relay_window' must be between 1 and 100000");
  }
  if (relay_timeout_s < 1 || relay_timeout_s > 3600) {
    return InvalidArgument(where("relay_timeout_s") +
                           ": 'relay_timeout_s' must be between 1 and 3600 seconds");
  }
  c.relay_timeout_ms = relay_timeout_s * 1000;
  return c;
}

}  // namespace nrm::broker
