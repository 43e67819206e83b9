// The `nrm policy` commands of the admin tool, as a library so that tests can run them and the
// tool's main.cc stays thin:
//
//   lint FILE                 every problem as "file:line: message"
//   explain FILE --from-role R --from-country C --to-role R --to-country C --kind K
//           [--date YYYY-MM-DD]
//   test FILE CASES           run a decision table (see policy/cases.h)
//
// Exit codes: 0 ok / allowed; 1 lint problems or failing cases; 2 usage error, or a file that
// cannot be read or parsed; 3 denied (explain). Thread-compatible: only writes to the streams.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace nrm::policy {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitDenied = 3;

// Returns the hash to carry in decisions for the policy file whose bytes are given (the tool
// passes hex SHA-256; this library cannot, as it links no crypto).
using HashFn = std::function<std::string(std::string_view bytes)>;

// Runs one command. `args` starts at the command name: {"lint", "gms.toml"}. Output for people
// goes to `out`, problems and usage errors to `err`. A null `hash_fn` leaves the hash "unhashed".
// Returns the exit code.
int RunPolicyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const HashFn& hash_fn);

// Prints the decision on `q` in words, with the sections the recipient would receive, and
// returns kExitOk if allowed, kExitDenied if not. For callers that resolve agencies to
// role/country themselves (e.g. `explain --from AGENCY --to AGENCY --directory DIR`).
int Explain(const Policy& policy, const RouteQuery& q, std::ostream& out);

}  // namespace nrm::policy
