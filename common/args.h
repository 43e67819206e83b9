// A small command-line parser for nrm's commands: "--name value" options, "--flag" switches
// and positional words. Errors name the word that was wrong. Every command accepts `--help`
// (or `-h`): Parse records it as the flag "help", and the command then prints its own usage
// and exits 0 (see WantsHelp). Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace nrm {

class Args {
 public:
  // kInvalidArgument for an option that is in neither set, or a valued option without value.
  static Result<Args> Parse(const std::vector<std::string>& words,
                            const std::set<std::string>& valued,
                            const std::set<std::string>& flags);

  std::optional<std::string> Get(const std::string& name) const;
  // The value, or kInvalidArgument "missing --name".
  Result<std::string> Require(const std::string& name) const;
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  bool help() const { return Has("help"); }
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

// True when `words` ask for help (`--help` or `-h` anywhere): a command checks this before
// anything else, so that its usage is shown even when other words are wrong or missing.
bool WantsHelp(const std::vector<std::string>& words);

}  // namespace nrm
