// nrm backup and nrm restore: a consistent copy of a running broker's store, checked, and a new
// data directory made from one (docs/OPERATIONS.md, "Backups and restore").
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "audit/audit_reader.h"
#include "common/args.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "common/transport/control.h"
#include "tools/commands.h"

namespace nrm::tools {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBackupUsage =
    "usage: nrm backup --broker-data DIR [--out DEST]\n"
    "Asks the running broker whose data directory is DIR (over DIR/control) for a consistent\n"
    "copy of its store while it runs: every message it accepted before the request, its queues,\n"
    "its replay memory and its audit log. DEST must be new and writable by the broker (under the\n"
    "shipped unit: inside /var/lib/nrm/broker); default DIR/backups/<UTC time>. The copy is then\n"
    "checked: its audit log verifies and has the size and root the broker wrote in\n"
    "DEST/manifest.json. Copy DEST off the machine with your usual tools. Exit 0: a good backup.\n";

constexpr const char* kRestoreUsage =
    "usage: nrm restore --backup SRC --broker-data DIR\n"
    "Checks the backup SRC (its audit log verifies and matches SRC/manifest.json), then copies\n"
    "its store into DIR/store, which must not exist. Start the broker on DIR afterwards (stopped\n"
    "broker, same keys). Messages accepted after the backup are not in it: each agent submits\n"
    "again every step the broker no longer holds, once its confirm_after_s has passed.\n";

// Checks the backup at `dir`: its manifest, and its audit log against it. The manifest.
Result<json::Json> CheckBackup(const std::string& dir) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/manifest.json"));
  NRM_ASSIGN_OR_RETURN(json::Json m, json::Parse(text));
  if (!m.is_object() || m.value("what", "") != "nrm broker backup" ||
      !m["audit_tree_size"].is_number_unsigned() || !m["audit_root"].is_string()) {
    return InvalidArgument(dir + "/manifest.json is not the manifest of a broker backup");
  }
  NRM_ASSIGN_OR_RETURN(audit::VerifyReport report, audit::VerifyLog(dir + "/store"));
  if (!report.intact) {
    return Corruption(dir + ": its audit log does not verify: " + report.problem);
  }
  const uint64_t size = m["audit_tree_size"].get<uint64_t>();
  const std::string root = ToHex(ByteView(report.root.data(), report.root.size()));
  if (report.records != size || root != m["audit_root"].get<std::string>()) {
    return Corruption(dir + ": its audit log holds " + std::to_string(report.records) +
                      " records with root " + root + ", the manifest says " + std::to_string(size) +
                      " with root " + m["audit_root"].get<std::string>());
  }
  return m;
}

// Copies the files of `from` into the new directory `to`, each synced, then the directory.
Status CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directory(to, ec);
  if (ec) return IOError("cannot make " + to.string() + ": " + ec.message());
  fs::permissions(to, fs::perms::owner_all, ec);
  for (const fs::directory_entry& e : fs::directory_iterator(from, ec)) {
    const fs::path target = to / e.path().filename();
    if (e.is_directory()) {
      NRM_RETURN_IF_ERROR(CopyTree(e.path(), target));
      continue;
    }
    if (!fs::copy_file(e.path(), target, ec) || ec) {
      return IOError("cannot copy " + e.path().string() + ": " + ec.message());
    }
    const int fd = ::open(target.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      return IOError("cannot sync " + target.string());
    }
    ::close(fd);
  }
  if (ec) return IOError("cannot read " + from.string() + ": " + ec.message());
  const int dfd = ::open(to.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

// OK when a process listens on the Unix socket `path` (a ZeroMQ ipc:// endpoint); otherwise
// why not, at once (a ZeroMQ client would wait for one to appear).
Status Listening(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return InvalidArgument(path + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IOError(std::string("socket: ") + std::strerror(errno));
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int error = errno;
  ::close(fd);
  if (rc == 0) return Status::Ok();
  return Unavailable(path + ": " + std::strerror(error));
}

std::string Summary(const json::Json& m) {
  return "broker " + m.value("broker", std::string("?")) + ", taken " +
         m.value("created_at", std::string("?")) + ": audit log of " +
         std::to_string(m["audit_tree_size"].get<uint64_t>()) + " records, root " +
         m["audit_root"].get<std::string>().substr(0, 16) + "...";
}
}  // namespace

int BackupCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kBackupUsage;
    return 0;
  }
  Result<Args> a = Args::Parse(words, {"broker-data", "out"}, {});
  if (!a || !a->Get("broker-data") || !a->positional().empty()) {
    err << "nrm backup: " << (a ? "needs --broker-data DIR" : a.status().message()) << "\n"
        << kBackupUsage;
    return 2;
  }
  const fs::path data = fs::absolute(*a->Get("broker-data"));
  std::string stamp = FormatTimeUtc(SystemClock::Get().NowMillis());
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':' || c == '.'; });
  const fs::path dest = a->Get("out") ? fs::absolute(*a->Get("out")) : data / "backups" / stamp;
  if (Status s = Listening((data / "control").string()); !s.ok()) {
    err << "nrm backup: no running broker answered on " << (data / "control").string() << ": "
        << s.message() << "\n";
    return 1;
  }
  if (!a->Get("out")) {
    if (Status s = MakeDirs((data / "backups").string()); !s.ok()) {
      err << "nrm backup: " << s.message() << "\n";
      return 1;
    }
  }
  out << "asking the broker in " << data.string() << " for a backup in " << dest.string()
      << " ...\n";
  Result<transport::Frames> answer =
      transport::ControlCall((data / "control").string(),
                             {transport::Frame("BACKUP"), transport::Frame(dest.string())}, 120000);
  if (!answer.ok()) {
    err << "nrm backup: no running broker answered on " << (data / "control").string() << ": "
        << answer.status().message() << "\n";
    return 1;
  }
  if (answer->size() != 2 || transport::FrameText((*answer)[0]) != "OK") {
    err << "nrm backup: the broker refused: "
        << (answer->size() == 2 ? transport::FrameText((*answer)[1]) : "malformed answer") << "\n";
    return 1;
  }
  Result<json::Json> m = CheckBackup(dest.string());
  if (!m.ok()) {
    err << "nrm backup: " << dest.string() << " is NOT a good backup: " << m.status().message()
        << "\n";
    return 1;
  }
  out << "backup in " << dest.string() << " checked: " << Summary(*m) << "\n";
  return 0;
}

int RestoreCommand(const Words& words, std::ostream& out, std::ostream& err) {
  if (WantsHelp(words)) {
    out << kRestoreUsage;
    return 0;
  }
  Result<Args> a = Args::Parse(words, {"backup", "broker-data"}, {});
  if (!a || !a->Get("backup") || !a->Get("broker-data") || !a->positional().empty()) {
    err << "nrm restore: "
        << (a ? "needs --backup SRC and --broker-data DIR" : a.status().message()) << "\n"
        << kRestoreUsage;
    return 2;
  }
  const fs::path src = fs::absolute(*a->Get("backup"));
  const fs::path data = fs::absolute(*a->Get("broker-data"));
  if (fs::exists(data / "store")) {
    err << "nrm restore: " << (data / "store").string()
        << " exists: restore into a data directory without a store (move the old one aside)\n";
    return 1;
  }
  Result<json::Json> m = CheckBackup(src.string());
  if (!m.ok()) {
    err << "nrm restore: " << m.status().message() << "\n";
    return 1;
  }
  const fs::path partial = data / "store.restoring";
  std::error_code ec;
  // The lost store's sync mark would make the broker refuse the older store (exit 2): the
  // restore is the operator saying the loss is accepted (agents resend what it lacks).
  if (fs::exists(data / "store.synced")) {
    fs::rename(data / "store.synced", data / "store.synced.before-restore", ec);
    if (ec) {
      err << "nrm restore: cannot move " << (data / "store.synced").string()
          << " aside: " << ec.message() << "\n";
      return 1;
    }
    out << "moved the lost store's " << (data / "store.synced").string()
        << " aside (store.synced.before-restore)\n";
  }
  fs::remove_all(partial, ec);
  Status s = MakeDirs(data.string());
  if (s.ok()) s = CopyTree(src / "store", partial);
  if (s.ok()) {
    fs::rename(partial, data / "store", ec);
    if (ec) s = IOError("cannot rename " + partial.string() + ": " + ec.message());
  }
  if (!s.ok()) {
    err << "nrm restore: " << s.message() << "\n";
    return 1;
  }
  out << "restored into " << (data / "store").string() << ": " << Summary(*m) << "\n"
      << "Start the broker on " << data.string()
      << ". Agents submit again what was accepted after the backup.\n";
  return 0;
}

}  // namespace nrm::tools
