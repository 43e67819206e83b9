// The broker's answers to what an agent asks besides sending (docs/PROTOCOL.md section 4):
// QUERY, the state of a message it sent (the receipt again, or "unknown": the broker does not
// hold it, so the sender submits it again), and DIRECTORY, the signed directory in force, for an
// agent whose WELCOME named a newer serial than its own. Neither writes anything; the receipt's
// frames are attached by the commit (commit.cc), like an ACCEPTED's.
#include <spdlog/spdlog.h>

#include "broker/broker.h"
#include "common/file_util.h"

namespace nrm::broker {

using transport::Frame;

void Broker::HandleQuery(const transport::Incoming& in) {
  const Bytes& id = in.frames[1];
  if (id.size() != wire::kMessageIdBytes) {
    ++stats_.malformed;
    return Refuse(in, {}, InvalidArgument("QUERY needs a 16-byte message id"));
  }
  Result<std::optional<AcceptedMessage>> accepted = store_->Accepted(id);
  if (!accepted.ok()) {
    LogStoreError(accepted.status());
    return Refuse(in, id, Unavailable("replay memory unreadable; ask again later"));
  }
  // Only its sender learns what became of a message (an entry written before the sender was
  // kept answers without a receipt: the sender cannot be checked, and has nothing to check).
  const bool known = accepted->has_value() && ((*accepted)->sender == in.agency ||
                                               ((*accepted)->sender.empty() && !(*accepted)->leaf));
  if (!known) {
    spdlog::debug("QUERY from {} for {}: unknown", in.agency, ToHex(id));
    replies_.push_back({in.routing_id, {Frame("STATUS"), id, Frame("unknown")}, std::nullopt});
    return;
  }
  replies_.push_back({in.routing_id, {Frame("STATUS"), id, Frame("accepted")}, (*accepted)->leaf});
}

void Broker::HandleDirectoryRequest(const transport::Incoming& in) {
  replies_.push_back(
      {in.routing_id, {Frame("DIRECTORY"), SerialFrame(), Frame(directory_text_)}, std::nullopt});
}

Bytes Broker::SerialFrame() const {
  Bytes serial(8);
  const auto n = static_cast<uint64_t>(directory()->serial());
  for (int i = 0; i < 8; ++i) serial[i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  return serial;
}

Result<std::pair<identity::Directory, std::string>> Broker::ReadDirectory() const {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(config_.directory));
  NRM_ASSIGN_OR_RETURN(identity::Directory dir,
                       identity::Directory::Parse(text, config_.directory, config_.authority_key,
                                                  clock_.NowMillis()));
  return std::make_pair(std::move(dir), std::move(text));
}

}  // namespace nrm::broker
