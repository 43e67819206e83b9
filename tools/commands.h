// The subcommands of the nrm admin tool. Each takes the words after its name, writes to
// out/err and returns the exit code: 0 success, 1 a check failed, 2 bad usage or input.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/identity/identity.h"

namespace nrm::tools {

using Words = std::vector<std::string>;

int KeygenCommand(const Words& args, std::ostream& out, std::ostream& err);
int DirectoryCommand(const Words& args, std::ostream& out, std::ostream& err);
int DemoCommand(const Words& args, std::ostream& out, std::ostream& err);
// nrm demo --web (tools/demo_web.cc), which DemoCommand hands --web to.
int DemoWebCommand(const Words& args, std::ostream& out, std::ostream& err);
// The demo's folder: `workdir` made absolute (kInvalidArgument unless new or empty), or a new
// temporary folder /tmp/PREFIX-XXXXXX (kIOError when it cannot be made).
Result<std::string> DemoWorkdir(const std::optional<std::string>& workdir,
                                const std::string& prefix);
// Adds a web inbox user with a one-time password to the running agent of `config` (nrm-agent
// user add ... --one-time-password, its output appended to `log`); returns the password.
Result<std::string> AddInboxUser(const std::string& config, const std::string& user,
                                 const std::string& role, const std::string& log);
// nrm backup, nrm restore (tools/backup_cmd.cc).
int BackupCommand(const Words& args, std::ostream& out, std::ostream& err);
int RestoreCommand(const Words& args, std::ostream& out, std::ostream& err);
int PolicyCommand(const Words& args, std::ostream& out, std::ostream& err);
int AuditStatsCommand(const Words& args, std::ostream& out, std::ostream& err);
int BenchCommand(const Words& args, std::ostream& out, std::ostream& err);
int FederationCommand(const Words& args, std::ostream& out, std::ostream& err);
int WitnessCommand(const Words& args, std::ostream& out, std::ostream& err);
// nrm bench --web (tools/bench_web.cc), which BenchCommand hands --web to.
int BenchWebCommand(const Words& args, std::ostream& out, std::ostream& err);

// The opening of a directory draft: authority, serial, expiry and the broker's keys, with its
// audit log's verifier key when `log_vkey` is not empty.
std::string DirectoryDraftHeader(const std::string& authority, int64_t serial, int64_t expires_ms,
                                 const std::string& broker_id, ByteView broker_sign_key,
                                 ByteView broker_curve_key, std::string_view log_vkey = "");
// One [[agency]] block of a directory draft.
std::string DirectoryAgencyBlock(const identity::Agency& agency);

// A public key given on the command line: 64 hex digits, or a .pub/.key file whose sign key
// is taken. kInvalidArgument naming the value.
Result<Bytes> ParseSignPublicKey(const std::string& value);

}  // namespace nrm::tools
