// The broker's part of an erasure (docs/DATA.md, "Erasure"): once an erasure_request is
// accepted, what the recipients' queues still hold of the case is dropped, and the broker audits
// case_erased with metadata only. The audit log itself is never rewritten: its records hold
// hashes and pseudonymous references, and every earlier proof stays valid.
#include <spdlog/spdlog.h>

#include "broker/broker.h"

namespace nrm::broker {
namespace {

// Queued entries read per recipient at most: an erasure is rare; a recipient's queue is short
// unless it has been offline long, and what is not reached here is erased by the recipient.
constexpr size_t kMaxScan = 100000;

}  // namespace

void Broker::DropErasedCase(const wire::EnvelopeView& env,
                            const std::vector<std::string>& recipients) {
  const ByteView ref = env.case_ref();
  size_t dropped = 0;
  for (const std::string& recipient : recipients) {
    Result<std::vector<QueuedMessage>> queued = store_->Pending(recipient, 0, kMaxScan);
    if (!queued.ok()) {
      LogStoreError(queued.status());
      continue;
    }
    for (const QueuedMessage& q : *queued) {
      if (q.type != EntryType::kEnvelope) continue;
      Result<wire::EnvelopeView> e = wire::DecodeEnvelope(q.data);
      if (!e.ok() || e->kind() == wire::Kind::ErasureRequest) continue;
      const ByteView other = e->case_ref();
      if (!std::equal(other.begin(), other.end(), ref.begin(), ref.end())) continue;
      if (store_->AddAcknowledged(batch_, recipient, q.message_id, q.seq).ok()) ++dropped;
    }
  }
  audit::AuditRecord record = RecordOf(audit::AuditEvent::kCaseErased, env);
  record.decision = "allow";
  record.reason = std::to_string(dropped) + " queued envelope(s) of the case dropped";
  Audit(std::move(record));
  spdlog::info("case erased: {} queued envelope(s) dropped", dropped);
}

}  // namespace nrm::broker
