// The broker's checkpoints beyond the receipts: the witnesses it submits them to
// (witness_submit.h), and the CONSISTENCY request with which an agent checks that the log it
// saw before is a prefix of the one it sees now (docs/PROTOCOL.md section 10).
#include <spdlog/spdlog.h>

#include "audit/audit_reader.h"
#include "audit/big_endian.h"
#include "broker/broker.h"
#include "broker/witness_submit.h"

namespace nrm::broker {

using transport::Frame;

Status Broker::StartWitnesses() {
  if (config_.witnesses.empty()) return Status::Ok();
  std::vector<audit::note::VerifierKey> keys;
  for (const WitnessEndpoint& w : config_.witnesses) keys.push_back(w.key);
  NRM_RETURN_IF_ERROR(audit::StoreWitnessKeys(store_->db(), audit_cfs_, keys));
  WitnessSubmitter::Options o;
  o.witnesses = config_.witnesses;
  o.status_file = config_.data_dir + "/" + audit::kWitnessStatusFile;
  o.timeout_ms = config_.witness_timeout_ms;
  witnesses_ = std::make_unique<WitnessSubmitter>(std::move(o), store_->db(), audit_cfs_, clock_);
  std::string names;
  for (const WitnessEndpoint& w : config_.witnesses) names += " " + w.key.name;
  spdlog::info("submitting checkpoints to {} witness(es):{}", config_.witnesses.size(), names);
  return Status::Ok();
}

// CONSISTENCY, be64 old_size, be64 size: the stored checkpoint of `size` (0: the latest one a
// witness cosigned, else the latest) with the proof between old_size and its size, whichever is
// smaller first. The answer is CONSISTENCY, be64 old_size, the note, the proof (32-byte hashes
// back to back); or CONSISTENCY, be64 old_size, an empty frame and the reason.
void Broker::HandleConsistency(const transport::Incoming& in) {
  auto answer = [&](const Bytes& old, Bytes note, Bytes proof_or_reason) {
    replies_.push_back({in.routing_id,
                        {Frame("CONSISTENCY"), old, std::move(note), std::move(proof_or_reason)},
                        std::nullopt});
  };
  const Bytes& old_frame = in.frames[1];
  if (old_frame.size() != 8 || in.frames[2].size() != 8) {
    answer(old_frame, {}, ToBytes("sizes are 8 bytes, big-endian"));
    return;
  }
  const uint64_t old_size = audit::GetBe64(old_frame.data());
  const uint64_t size = audit::GetBe64(in.frames[2].data());
  const audit::StoredTree tree(store_->db(), audit_cfs_);
  Result<audit::StoredHead> head = size == 0 ? tree.LatestCosignedHead() : tree.HeadAt(size);
  if (!head) {
    answer(old_frame, {}, ToBytes(head.status().message()));
    return;
  }
  if (std::max(old_size, head->size) > signed_size_) {
    answer(old_frame, {},
           ToBytes("no checkpoint of the log covers size " +
                   std::to_string(std::max(old_size, head->size))));
    return;
  }
  Result<std::vector<audit::Hash>> proof =
      tree.ConsistencyProof(std::min(old_size, head->size), std::max(old_size, head->size));
  if (!proof) {
    spdlog::error("cannot prove consistency from {} to {}: {}", old_size, head->size,
                  proof.status().ToString());
    answer(old_frame, {}, ToBytes("the broker cannot read its log"));
    return;
  }
  Bytes hashes;
  for (const audit::Hash& h : *proof) hashes.insert(hashes.end(), h.begin(), h.end());
  answer(old_frame, ToBytes(head->note), std::move(hashes));
}

}  // namespace nrm::broker
