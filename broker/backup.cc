// Backups while the broker runs (docs/OPERATIONS.md, "Backups and restore"). `nrm backup` asks on
// the control socket, ipc://<data_dir>/control; data_dir is 0700, so only the broker's account
// (and root) reaches it. BACKUP, DEST: what is pending is committed under a signed tree head,
// then the store (queues, replay memory and audit log are one RocksDB) is checkpointed to
// DEST/store, and DEST/manifest.json names the broker, the time and the audit log's size and
// root at that moment. The answer is OK and the manifest, or ERROR and why. The routing loop
// answers between two batches, so a backup holds every message it ACCEPTED before it.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "broker/broker.h"
#include "common/file_util.h"
#include "common/json/json.h"
#include "common/rocks.h"

namespace nrm::broker {

using transport::Frame;
using transport::FrameText;

Result<std::string> Broker::TakeBackup(const std::string& dest) {
  std::error_code ec;
  if (dest.empty() || dest.front() != '/') {
    return InvalidArgument("the backup folder must be an absolute path, not '" + dest + "'");
  }
  if (std::filesystem::exists(dest, ec)) {
    return AlreadyExists(dest + " exists: a backup goes to a new folder");
  }
  NRM_RETURN_IF_ERROR(CommitBatch(/*sign=*/true));
  NRM_RETURN_IF_ERROR(MakeDirs(dest));
  if (Status s = rocks::CheckpointTo(store_->db(), dest + "/store"); !s.ok()) {
    std::filesystem::remove_all(dest, ec);  // no half backup is left behind
    return s;
  }
  json::Json manifest = {
      {"what", "nrm broker backup"},
      {"broker", keys_.id},
      {"created_at", FormatTimeUtc(clock_.NowMillis())},
      {"audit_tree_size", audit_->size()},
      {"audit_root", ToHex(ByteView(audit_->Root().data(), audit_->Root().size()))},
      {"directory_serial", directory()->serial()}};
  const std::string text = json::Dump(manifest);
  if (Status s = WriteFileAtomic(dest + "/manifest.json", text, 0600); !s.ok()) {
    std::filesystem::remove_all(dest, ec);
    return s;
  }
  return text;
}

void Broker::ServeControl() {
  if (!control_) return;
  Result<std::optional<transport::Frames>> request = control_->Receive(0);
  if (!request.ok()) {
    spdlog::error("{}", request.status().ToString());
    return;
  }
  if (!*request) return;
  transport::Frames answer;
  const transport::Frames& frames = **request;
  if (frames.size() == 2 && FrameText(frames[0]) == "BACKUP") {
    const std::string dest(FrameText(frames[1]));
    Result<std::string> manifest = TakeBackup(dest);
    if (manifest.ok()) {
      spdlog::info("backup taken in {}: audit log of {} records", dest, audit_->size());
      answer = {Frame("OK"), Frame(*manifest)};
    } else {
      spdlog::error("backup to {} failed: {}", dest, manifest.status().ToString());
      answer = {Frame("ERROR"), Frame(manifest.status().ToString())};
    }
  } else {
    answer = {Frame("ERROR"), Frame("unknown control request (expected BACKUP, DEST)")};
  }
  if (Status s = control_->Reply(answer); !s.ok()) spdlog::error("{}", s.ToString());
}

}  // namespace nrm::broker
