// The broker's configuration file (TOML). See docs/OPERATIONS.md for an annotated example.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace nrm::broker {

// One [[partner]] table: a partner country whose broker this one links to (docs/OPERATIONS.md,
// "Linking two countries").
struct PartnerConfig {
  std::string anchor;                   // the partner's trust anchor
  std::string directory;                // the partner's signed directory (kept fresh by the link)
  std::vector<std::string> agreements;  // agreement files between the two countries
  std::string endpoint;                 // optional: overrides the anchor's endpoint
};

struct BrokerConfig {
  std::string bind;           // ZeroMQ endpoint, e.g. "tcp://127.0.0.1:7700"
  std::string data_dir;       // the broker's RocksDB lives here
  std::string directory;      // the signed directory of agencies
  std::string policy;         // the need-to-know policy (TOML); the broker never runs without
  Bytes authority_key;        // the national authority's Ed25519 public key
  std::string key_file;       // the broker's secret keys (mode 0600)
  std::string endpoint_file;  // optional: the bound endpoint is written here once listening
  std::string log_file;       // optional: log here as well as to stderr
  int64_t freshness_window_ms = 10 * 60 * 1000;  // created_at must be within this of now
  int64_t max_message_bytes = 1 << 20;
  int64_t delivery_window = 256;             // unacknowledged deliveries in flight per recipient
  int64_t ttl_ms = 14LL * 24 * 3600 * 1000;  // an unacknowledged message expires after this
  // New messages are refused (resource_exhausted, "resend later") while the data directory's
  // file system has less free space than this, so the store never meets a full disk; 0 turns
  // the check off. Deliveries and acknowledgements go on, and so does accepting once space
  // returns.
  uint64_t min_free_disk_bytes = 256ull << 20;
  // Federation (docs/PROTOCOL.md section 12). `country` set: this is a national broker, and a
  // message to another country's agency also needs a signed agreement; its recipients are
  // found in the partners' directories and relayed to their brokers.
  std::string country;
  std::vector<PartnerConfig> partners;
  int64_t relay_window = 1024;        // relays in flight per partner, not yet receipted
  int64_t relay_timeout_ms = 10'000;  // no receipt for this long: resend what is in flight
};

// Loads and checks the file; kInvalidArgument naming the file, the line and what was expected.
// Relative paths in the file are taken relative to the file's directory.
Result<BrokerConfig> LoadBrokerConfig(const std::string& path);

}  // namespace nrm::broker
