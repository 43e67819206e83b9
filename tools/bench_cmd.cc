// nrm bench: throughput, latency and memory of the whole system (issue 7). Not built yet.
#include <iostream>

#include "tools/commands.h"

namespace nrm::tools {

int BenchCommand(const Words& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "--help") {
    out << "usage: nrm bench [--json]\n(not built yet)\n";
    return 0;
  }
  err << "nrm bench: not built yet; see issue 7\n";
  return 2;
}

}  // namespace nrm::tools
