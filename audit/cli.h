// The `nrm audit` commands, for the admin tool (tools/) to call:
//
//   verify DIR [--broker-key KEY] [--witness VKEY]... [--checkpoint FILE]...
//                                             exit 0 intact; 1 and "first bad record: index N
//                                             (reason)" or "log differs from checkpoint: size S"
//   checkpoint DIR [--cosigned]               the latest checkpoint note on `out`
//   prove DIR --message-id HEX [--event NAME] [--size N]
//                                             inclusion proof JSON on `out`
//   check-proof FILE --vkey VKEY [--witness VKEY]... [--witnesses-required K]
//                                             checks a proof offline; exit 0 valid, 1 not
//   consistency DIR --from N [--size M]       consistency proof JSON on `out`
//
// Each takes --help. Exit codes: 0 success, 1 the check failed or the log cannot be read,
// 2 a usage error (named on `err`). Thread-safe; calls crypto::InitCrypto() itself.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace nrm::audit {

// `args` starts with the command name ("verify", ...), without the program name.
int RunAuditCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace nrm::audit
