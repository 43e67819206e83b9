// nrm: the admin tool. `nrm COMMAND --help` explains each command.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "audit/cli.h"
#include "common/crypto/crypto.h"
#include "tools/commands.h"

namespace {
constexpr const char* kUsage =
    "usage: nrm COMMAND [options]    (nrm COMMAND --help for each)\n"
    "  keygen      create an agency's or the broker's keys\n"
    "  directory   init | add | revoke | sign | show | verify the signed directory of agencies\n"
    "  policy      lint | explain | test the need-to-know policy\n"
    "  federation  anchor export | show, agreement draft | sign | verify | show: linking "
    "countries\n"
    "  audit       verify | checkpoint | prove | check-proof | consistency | status | stats of a\n"
    "              broker's audit log\n"
    "  witness     run a witness that cosigns brokers' checkpoints (C2SP tlog-witness)\n"
    "  backup      a checked copy of a running broker's store\n"
    "  restore     a broker data directory from a backup\n"
    "  demo        run the GMS referral scenario on real processes\n"
    "  bench       measure throughput, latency and memory of the whole system\n";

// `nrm audit verify DIR` accepts the broker's data_dir as well as the RocksDB directory in it.
std::vector<std::string> WithStoreDirectory(std::vector<std::string> args) {
  for (size_t i = 1; i < args.size() && args[0] != "check-proof"; ++i) {
    if (!args[i].starts_with("--") && std::filesystem::exists(args[i] + "/store/CURRENT")) {
      args[i] += "/store";
      break;
    }
  }
  return args;
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (!nrm::crypto::InitCrypto().ok()) {
    std::cerr << "nrm: libsodium failed to start\n";
    return 1;
  }
  if (cmd == "keygen") return nrm::tools::KeygenCommand(rest, std::cout, std::cerr);
  if (cmd == "directory") return nrm::tools::DirectoryCommand(rest, std::cout, std::cerr);
  if (cmd == "bench") return nrm::tools::BenchCommand(rest, std::cout, std::cerr);
  if (cmd == "federation") return nrm::tools::FederationCommand(rest, std::cout, std::cerr);
  if (cmd == "policy") return nrm::tools::PolicyCommand(rest, std::cout, std::cerr);
  if (cmd == "backup") return nrm::tools::BackupCommand(rest, std::cout, std::cerr);
  if (cmd == "restore") return nrm::tools::RestoreCommand(rest, std::cout, std::cerr);
  if (cmd == "demo") return nrm::tools::DemoCommand(rest, std::cout, std::cerr);
  if (cmd == "witness") return nrm::tools::WitnessCommand(rest, std::cout, std::cerr);
  if (cmd == "audit" && !rest.empty() && rest[0] == "stats") {
    return nrm::tools::AuditStatsCommand({rest.begin() + 1, rest.end()}, std::cout, std::cerr);
  }
  if (cmd == "audit")
    return nrm::audit::RunAuditCommand(WithStoreDirectory(rest), std::cout, std::cerr);
  std::cerr << "nrm: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
} catch (const std::exception& e) {
  std::cerr << "nrm: fatal: " << e.what() << "\n";
  return 1;
}
