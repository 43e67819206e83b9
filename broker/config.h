// The broker's configuration file (TOML). See docs/OPERATIONS.md for an annotated example.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/note.h"
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

// A witness the broker submits its checkpoints to (C2SP tlog-witness v1.0.0).
struct WitnessEndpoint {
  std::string url;               // its submission prefix; requests go to url + "/add-checkpoint"
  audit::note::VerifierKey key;  // its cosigning key (type 0x04), named as it names itself
};
inline constexpr size_t kMaxWitnesses = 8;

struct BrokerConfig {
  std::string bind;           // ZeroMQ endpoint, e.g. "tcp://127.0.0.1:7700"
  std::string data_dir;       // the broker's RocksDB lives here
  std::string directory;      // the signed directory of agencies
  std::string policy;         // the need-to-know policy (TOML); the broker never runs without
  Bytes authority_key;        // the national authority's Ed25519 public key
  std::string key_file;       // the broker's secret keys (mode 0600)
  std::string endpoint_file;  // optional: the bound endpoint is written here once listening
  std::string log_file;       // optional: log here as well as to stderr
  // The audit log's origin (the first line of its checkpoints, the name of its key); it must be
  // the one the directory publishes (its log_vkey, else audit::DefaultOrigin(broker id)). Empty:
  // the directory's. Never changes over a log's life.
  std::string log_origin;
  int64_t freshness_window_ms = 10 * 60 * 1000;  // created_at must be within this of now
  int64_t max_message_bytes = 1 << 20;
  int64_t delivery_window = 256;             // unacknowledged deliveries in flight per recipient
  int64_t ttl_ms = 14LL * 24 * 3600 * 1000;  // an unacknowledged message expires after this
  // New messages are refused (resource_exhausted, "resend later") while the data directory's
  // file system has less free space than this, so the store never meets a full disk; 0 turns
  // the check off. Deliveries and acknowledgements go on, and so does accepting once space
  // returns.
  uint64_t min_free_disk_bytes = 256ull << 20;
  // [[witness]] url = "http://...", vkey = "<name>+<key ID>+<key>": each new checkpoint goes to
  // them, off the routing thread (broker/witness_submit.h); none: no witnesses.
  std::vector<WitnessEndpoint> witnesses;
  int64_t witness_timeout_ms = 3000;  // one add-checkpoint request, connection included
  // "127.0.0.1:PORT": Prometheus metrics at http://127.0.0.1:PORT/metrics (docs/OPERATIONS.md,
  // "Metrics"); loopback only. Empty: none.
  std::string metrics_listen;

  // Connections (docs/OPERATIONS.md, "Connection limits"). A limit of 0 is off: for tests
  // that show what the limit prevents, never for a broker in service.
  // The CURVE handshake must complete within this, or libzmq closes the connection.
  int64_t handshake_timeout_ms = 5000;
  // Every connection, capped at the descriptor limit less descriptor_reserve.
  int64_t max_connections = 4096;
  // Descriptors kept for the store, the log and the rest of the process.
  int64_t descriptor_reserve = 256;
  // Connections that have not yet sent an authenticated message (in the handshake, or silent
  // after it), in all (capped at half of max_connections) and from one source address; a new
  // one over either limit evicts the oldest.
  int64_t max_unauthenticated = 1024;
  int64_t max_unauthenticated_per_address = 32;
  // A connection that has sent no authenticated message this long after it was accepted is
  // closed.
  int64_t first_message_timeout_ms = 60 * 1000;
  // Authenticated connections of one agency; a further one closes the agency's oldest.
  int64_t max_connections_per_agency = 4;
  // libzmq pings every connection this often and closes one that answers nothing within
  // heartbeat_timeout (a dead peer, or one stopped whole).
  int64_t heartbeat_ms = 10 * 1000;
  int64_t heartbeat_timeout_ms = 30 * 1000;
  // Bytes delivered and not yet acknowledged, per recipient agency across all its connections
  // (at least one message is always let through).
  int64_t delivery_window_bytes = 8 << 20;
  // A connection holding unacknowledged deliveries from which nothing arrived for this long is
  // closed, and what was in flight on it is delivered again on the agency's next connection.
  int64_t delivery_timeout_ms = 60 * 1000;
  // Refusals of one agency audited one by one, per second (bursts of ten times that); beyond,
  // they are counted into one audit record per agency and code a second, and the agency's
  // SENDs are refused unchecked (resource_exhausted) until it is under the rate again.
  int64_t refusals_per_second = 20;

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
