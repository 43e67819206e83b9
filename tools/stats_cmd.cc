// nrm audit stats DIR [--directory SIGNED --authority-key KEY] [--json]
#include <filesystem>
#include <iostream>

#include "common/args.h"
#include "common/clock.h"
#include "tools/commands.h"
#include "tools/stats.h"

namespace nrm::tools {
namespace {
constexpr const char* kUsage =
    "usage: nrm audit stats DIR [--directory SIGNED --authority-key HEX|FILE] [--json]\n"
    "Counts accepted, refused and expired messages in the broker's audit log (DIR: its data\n"
    "directory) by month, sending country and province, kind and outcome, from metadata alone.\n"
    "Cells under 5 are shown as \"<5\" so that no person can be singled out. The log is\n"
    "verified first; a log that does not verify gives no figures (exit 1). CSV by default.\n"
    "--directory (with the authority's key) supplies provinces.\n";
}  // namespace

int AuditStatsCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kUsage;
    return 0;
  }
  auto a = Args::Parse(words, {"directory", "authority-key"}, {"json"});
  if (!a || a->positional().size() != 1) {
    err << "nrm audit stats: " << (a ? "needs one DIR" : a.status().message()) << "\n" << kUsage;
    return 2;
  }
  std::string db = a->positional()[0];
  if (std::filesystem::exists(db + "/store/CURRENT")) db += "/store";
  std::optional<identity::Directory> dir;
  if (a->Get("directory")) {
    if (!a->Get("authority-key")) {
      err << "nrm audit stats: --directory needs --authority-key\n" << kUsage;
      return 2;
    }
    Result<Bytes> key = ParseSignPublicKey(*a->Get("authority-key"));
    if (!key) {
      err << "nrm: " << key.status().message() << "\n";
      return 2;
    }
    Result<identity::Directory> d =
        identity::Directory::Load(*a->Get("directory"), *key, SystemClock::Get().NowMillis());
    if (!d) {
      err << "nrm: " << d.status().message() << "\n";
      return 2;
    }
    dir = std::move(*d);
  }
  Result<std::map<StatKey, uint64_t>> stats = ComputeAuditStats(db, dir ? &*dir : nullptr);
  if (!stats) {
    err << "nrm audit stats: " << stats.status().message() << "\n";
    return stats.status().code() == Code::kCorruption ? 1 : 2;
  }
  out << (a->Has("json") ? StatsJson(*stats) : StatsCsv(*stats));
  return 0;
}

}  // namespace nrm::tools
