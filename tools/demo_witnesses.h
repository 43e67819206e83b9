// The witnesses of `nrm demo` (docs/AUDIT.md, "In the demo"): two `nrm witness` processes, run
// in the GMS setup by the ministries of two countries, that cosign the checkpoints of every
// national broker's log; each broker's config and every agent's name them (both required).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace nrm::tools {

class DemoWitnesses {
 public:
  struct Witness {
    std::string name, dir;
    pid_t pid = -1;
  };
  // What a witness kept of one log: the note it last cosigned, in `file`.
  struct Kept {
    std::string name, file;
    bool ok = false;
    std::string size;  // the note's tree size, as written
  };

  ~DemoWitnesses();  // stops those still running

  // Starts the two witnesses under `dir` (their output in `logs_dir`), each with a new key,
  // witnessing the logs of `log_vkeys`, and adds them to each of `broker_configs` (as [[witness]]
  // tables, appended) and of `agent_configs` (both required). `bin_dir` holds nrm.
  Status Start(const std::string& dir, const std::vector<std::string>& log_vkeys,
               const std::vector<std::string>& broker_configs,
               const std::vector<std::string>& agent_configs, const std::string& bin_dir,
               const std::string& logs_dir);
  // Stops each; the names of those that did not exit 0.
  std::vector<std::string> Stop();
  // `nrm witness latest --origin ORIGIN` of each, into logs_dir/<name>.<tag>.latest.out.
  Result<std::vector<Kept>> Latest(const std::string& origin, const std::string& tag,
                                   const std::string& bin_dir, const std::string& logs_dir) const;

  const std::vector<Witness>& all() const { return witnesses_; }

 private:
  std::vector<Witness> witnesses_;
};

// What the agents' `nrm-agent status` says of their broker's log: how many of `agencies` (id,
// config) raised an alarm (status exits 1), and the "broker log" line of `shown` (one of them).
struct LogAsSeen {
  size_t alarms = 0;
  std::string shown;
};
Result<LogAsSeen> AgentsOnTheLog(const std::vector<std::pair<std::string, std::string>>& agencies,
                                 const std::string& shown, const std::string& bin_dir,
                                 const std::string& logs_dir);

}  // namespace nrm::tools
