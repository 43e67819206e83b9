// The witness's configuration file (TOML), for `nrm witness --config FILE`:
//
//   key_file = "keys/witness.key"     # from `nrm witness keygen` (mode 0600); holds its name
//   listen = "127.0.0.1:8701"         # IPv4 address and port (0: any free port)
//   data_dir = "witness-data"         # its state (RocksDB)
//   endpoint_file = "witness.url"     # optional: "http://HOST:PORT" written once listening
//   log_file = "logs/witness.log"     # optional
//   metrics_listen = "127.0.0.1:9471" # optional: Prometheus metrics (loopback only)
//   logs = ["nrm.th/audit/v1+1a2b3c4d+AX..."]   # the vkeys of the logs it witnesses
//
// Relative paths are taken relative to the file's directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/note.h"
#include "common/status.h"

namespace nrm::audit::witness {

struct WitnessConfig {
  std::string key_file;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string data_dir;
  std::string endpoint_file;
  std::string log_file;
  std::string metrics_listen;  // empty: no metrics
  std::vector<note::VerifierKey> logs;  // type 0x01 keys, named by their origins
};

// kInvalidArgument naming the file, the line and what was expected.
Result<WitnessConfig> LoadWitnessConfig(const std::string& path);

}  // namespace nrm::audit::witness
