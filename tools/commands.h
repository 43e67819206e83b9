// The subcommands of the nrm admin tool. Each takes the words after its name, writes to
// out/err and returns the exit code: 0 success, 1 a check failed, 2 bad usage or input.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/identity/identity.h"

namespace nrm::tools {

using Words = std::vector<std::string>;

int KeygenCommand(const Words& args, std::ostream& out, std::ostream& err);
int DirectoryCommand(const Words& args, std::ostream& out, std::ostream& err);
int DemoCommand(const Words& args, std::ostream& out, std::ostream& err);
// nrm backup, nrm restore (tools/backup_cmd.cc).
int BackupCommand(const Words& args, std::ostream& out, std::ostream& err);
int RestoreCommand(const Words& args, std::ostream& out, std::ostream& err);
int PolicyCommand(const Words& args, std::ostream& out, std::ostream& err);
int AuditStatsCommand(const Words& args, std::ostream& out, std::ostream& err);
int BenchCommand(const Words& args, std::ostream& out, std::ostream& err);
int FederationCommand(const Words& args, std::ostream& out, std::ostream& err);

// The opening of a directory draft: authority, serial, expiry and the broker's keys.
std::string DirectoryDraftHeader(const std::string& authority, int64_t serial, int64_t expires_ms,
                                 const std::string& broker_id, ByteView broker_sign_key,
                                 ByteView broker_curve_key);
// One [[agency]] block of a directory draft.
std::string DirectoryAgencyBlock(const identity::Agency& agency);

// A public key given on the command line: 64 hex digits, or a .pub/.key file whose sign key
// is taken. kInvalidArgument naming the value.
Result<Bytes> ParseSignPublicKey(const std::string& value);

}  // namespace nrm::tools
