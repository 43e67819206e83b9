// The witnesses of `nrm demo` (docs/AUDIT.md, "In the demo"): two `nrm witness` processes, run
// in the GMS setup by the ministries of two partner countries, that cosign the scenario broker's
// checkpoints; the broker's config and every agent's name them (both required).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "tools/scenario.h"

namespace nrm::tools {

class DemoWitnesses {
 public:
  struct Witness {
    std::string name, dir;
    pid_t pid = -1;
  };
  // What a witness kept: the note it last cosigned, in `file`.
  struct Kept {
    std::string name, file;
    bool ok = false;
    std::string size;  // the note's tree size, as written
  };

  ~DemoWitnesses();  // stops those still running

  // Starts the two witnesses under s.dir/witnesses/ (their output in `logs_dir`), each with a
  // new key, and adds them to the broker's config and to every agent's. `bin_dir` holds nrm.
  Status Start(const Scenario& s, const std::string& bin_dir, const std::string& logs_dir);
  // Starts them only, on fresh state (s.dir/witnesses/ is emptied first), and returns the
  // broker's [[witness]] tables naming them (`nrm bench` adds them to a config of its own).
  Result<std::string> Launch(const Scenario& s, const std::string& bin_dir,
                             const std::string& logs_dir);
  // Stops each; the names of those that did not exit 0.
  std::vector<std::string> Stop();
  // `nrm witness latest` of each, into logs_dir/<name>-latest.out.
  Result<std::vector<Kept>> Latest(const std::string& bin_dir, const std::string& logs_dir) const;

  const std::vector<Witness>& all() const { return witnesses_; }
  const std::string& log_vkey() const { return log_vkey_; }  // the broker's log's vkey

 private:
  std::vector<Witness> witnesses_;
  std::string log_vkey_;
  std::string agent_vkeys_;  // the witnesses' vkeys, quoted, for the agents' `witnesses`
};

// What the agents' `nrm-agent status` says of the broker's log: how many of `agencies` raised an
// alarm (status exits 1), and the "broker log" line of `shown` (one of them).
struct LogAsSeen {
  size_t alarms = 0;
  std::string shown;
};
Result<LogAsSeen> AgentsOnTheLog(const Scenario& s, const std::vector<std::string>& agencies,
                                 const std::string& shown, const std::string& bin_dir,
                                 const std::string& logs_dir);

}  // namespace nrm::tools
