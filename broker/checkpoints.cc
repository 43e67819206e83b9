// The broker's checkpoints beyond the receipts: the witnesses it submits them to
// (witness_submit.h). CONSISTENCY, with which an agent checks that the log it saw before is a
// prefix of the one it sees now, is answered in queries.cc.
#include <spdlog/spdlog.h>

#include "audit/audit_reader.h"
#include "broker/broker.h"
#include "broker/witness_submit.h"

namespace nrm::broker {

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

}  // namespace nrm::broker
