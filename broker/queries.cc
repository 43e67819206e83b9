// The broker's answers to what an agent asks besides sending (docs/PROTOCOL.md section 4):
// QUERY, the state of a message it sent (the receipt again, or "unknown": the broker does not
// hold it, so the sender submits it again), DIRECTORY, the signed directory in force, for an
// agent whose WELCOME named a newer serial than its own, CONSISTENCY, the proof that the log
// an agent saw before is a prefix of the one it sees now, and PROVE, the inclusion proof of the
// record of a message the agency sent (section 10). None writes anything; the receipt's frames are
// attached by the commit (commit.cc), like an ACCEPTED's. A malformed request, or one the store
// cannot answer now, is refused (Refuse, counted).
#include <spdlog/spdlog.h>

#include "audit/big_endian.h"
#include "broker/broker.h"
#include "common/file_util.h"
#include "common/rocks.h"

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

// CONSISTENCY, be64 old_size, be64 size: the stored checkpoint of `size` (0: the latest one a
// witness cosigned, else the latest) with the proof between old_size and its size, whichever is
// smaller first. The answer is CONSISTENCY, be64 old_size, the note, the proof (32-byte hashes
// back to back); or, when no checkpoint proves it, CONSISTENCY, be64 old_size, an empty frame
// and the reason. Malformed sizes, and a log the broker cannot read now, are refused.
void Broker::HandleConsistency(const transport::Incoming& in) {
  const Bytes& old_frame = in.frames[1];
  if (old_frame.size() != 8 || in.frames[2].size() != 8) {
    ++stats_.malformed;
    return Refuse(in, {}, InvalidArgument("CONSISTENCY needs two 8-byte sizes, big-endian"));
  }
  auto answer = [&](Bytes note, Bytes proof_or_reason) {
    replies_.push_back(
        {in.routing_id,
         {Frame("CONSISTENCY"), old_frame, std::move(note), std::move(proof_or_reason)},
         std::nullopt});
  };
  auto unreadable = [&](const Status& why) {
    spdlog::error("cannot answer CONSISTENCY: {}", why.ToString());
    Refuse(in, {}, Unavailable("the broker cannot read its audit log; ask again later"));
  };
  const uint64_t old_size = audit::GetBe64(old_frame.data());
  const uint64_t size = audit::GetBe64(in.frames[2].data());
  const audit::StoredTree tree(store_->db(), audit_cfs_);
  Result<audit::StoredHead> head = size == 0 ? tree.LatestCosignedHead() : tree.HeadAt(size);
  if (!head) {
    if (head.status().code() != Code::kNotFound) return unreadable(head.status());
    return answer({}, ToBytes(head.status().message()));
  }
  const uint64_t larger = std::max(old_size, head->size);
  if (larger > signed_size_) {
    return answer({}, ToBytes("no checkpoint of the log covers size " + std::to_string(larger)));
  }
  Result<std::vector<audit::Hash>> proof =
      tree.ConsistencyProof(std::min(old_size, head->size), larger);
  if (!proof) return unreadable(proof.status());
  Bytes hashes;
  for (const audit::Hash& h : *proof) hashes.insert(hashes.end(), h.begin(), h.end());
  answer(ToBytes(head->note), std::move(hashes));
}

// PROVE, message_id, be64 size: the "accepted" record of a message the asking agency sent, with
// its inclusion proof against the stored checkpoint of `size` (0: the latest). The answer is
// PROOF, message_id, be64 leaf index, the record's encoding, the checkpoint note, the proof
// (32-byte hashes back to back); or PROOF, message_id, an empty frame and the reason. Only the
// sender gets it: a record's metadata is for its parties. Malformed frames, and a store the
// broker cannot read now, are refused (never with the message id: that would read as a
// refusal of the message).
void Broker::HandleProve(const transport::Incoming& in) {
  const Bytes& id = in.frames[1];
  if (id.size() != wire::kMessageIdBytes || in.frames[2].size() != 8) {
    ++stats_.malformed;
    return Refuse(in, {}, InvalidArgument("PROVE needs a 16-byte message id and an 8-byte size"));
  }
  auto answer = [&](const std::string& why) {
    replies_.push_back({in.routing_id, {Frame("PROOF"), id, Bytes(), Frame(why)}, std::nullopt});
  };
  auto unreadable = [&](const Status& why) {
    spdlog::error("cannot answer PROVE: {}", why.ToString());
    Refuse(in, {}, Unavailable("the broker cannot read its audit log; ask again later"));
  };
  Result<std::optional<AcceptedMessage>> accepted = store_->Accepted(id);
  if (!accepted.ok()) {
    LogStoreError(accepted.status());
    return Refuse(in, {}, Unavailable("replay memory unreadable; ask again later"));
  }
  if (!*accepted || !(*accepted)->leaf || (*accepted)->sender != in.agency) {
    return answer("no accepted message of yours with this id");
  }
  const uint64_t leaf = *(*accepted)->leaf;
  const uint64_t size = audit::GetBe64(in.frames[2].data());
  const audit::StoredTree tree(store_->db(), audit_cfs_);
  Result<audit::StoredHead> head = size == 0 ? tree.LatestHead() : tree.HeadAt(size);
  if (!head) {
    if (head.status().code() != Code::kNotFound) return unreadable(head.status());
    return answer(head.status().message());
  }
  if (leaf >= head->size) {
    return answer("the record is not under the checkpoint of size " + std::to_string(head->size));
  }
  std::string value;
  const rocksdb::Status s = store_->db()->Get(rocksdb::ReadOptions(), audit_cfs_.records,
                                              rocks::ToSlice(audit::Be64Key(leaf)), &value);
  if (!s.ok() || value.size() < audit::kChainBytes) {
    return unreadable(s.ok() ? Corruption("record " + std::to_string(leaf) + " is too short")
                             : Internal(s.ToString()));
  }
  Result<std::vector<audit::Hash>> proof = tree.InclusionProof(leaf, head->size);
  if (!proof) return unreadable(proof.status());
  Bytes hashes;
  for (const audit::Hash& h : *proof) hashes.insert(hashes.end(), h.begin(), h.end());
  replies_.push_back({in.routing_id,
                      {Frame("PROOF"), id, audit::Be64Key(leaf),
                       ToBytes(std::string_view(value).substr(audit::kChainBytes)),
                       ToBytes(head->note), std::move(hashes)},
                      std::nullopt});
}

Result<std::pair<identity::Directory, std::string>> Broker::ReadDirectory() const {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(config_.directory));
  NRM_ASSIGN_OR_RETURN(identity::Directory dir,
                       identity::Directory::Parse(text, config_.directory, config_.authority_key,
                                                  clock_.NowMillis()));
  return std::make_pair(std::move(dir), std::move(text));
}

}  // namespace nrm::broker
