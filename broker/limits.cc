// The broker against floods: repeated refusals and connections closed under the server's limits
// are counted into one audit record per agency, reason and second (a counted record, AUDIT.md),
// so that a flood of garbage costs the disk a few records, not one fsynced record per frame; an
// agency over its refusal rate has its SENDs refused unchecked until it is under it again; and
// the sessions of connections that are gone are forgotten.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/broker.h"

namespace nrm::broker {

void Broker::CountEvent(audit::AuditEvent event, const std::string& agency, const std::string& rule,
                        const std::string& reason) {
  Counted& c = counted_[{event, agency, rule}];
  if (c.count++ == 0) c.reason = reason;
}

void Broker::FlushCounted(bool now) {
  const int64_t t = clock_.NowMillis();
  if (!now && t - counted_since_ms_ < 1000) return;
  counted_since_ms_ = t;
  for (auto& [key, c] : counted_) {
    audit::AuditRecord r;
    r.event = std::get<0>(key);
    r.sender = std::get<1>(key);
    r.decision = "deny";
    r.rule = std::get<2>(key);
    r.reason = c.count > 1 ? c.reason + " (the first of " + std::to_string(c.count) + ")"
                           : std::move(c.reason);
    r.count = c.count;
    Audit(std::move(r));
  }
  counted_.clear();
}

bool Broker::ChargeRefusal(const std::string& agency) {
  const double rate = static_cast<double>(config_.refusals_per_second);
  const int64_t t = clock_.NowMillis();
  auto [it, fresh] = refusal_budget_.try_emplace(agency, RefusalBudget{10 * rate, t});
  RefusalBudget& b = it->second;
  b.tokens = std::min(10 * rate, b.tokens + rate * static_cast<double>(t - b.at_ms) / 1000.0);
  b.at_ms = t;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

bool Broker::Throttled(const std::string& agency) {
  auto it = refusal_budget_.find(agency);
  if (it == refusal_budget_.end()) return false;
  const RefusalBudget& b = it->second;
  const double rate = static_cast<double>(config_.refusals_per_second);
  return b.tokens + rate * static_cast<double>(clock_.NowMillis() - b.at_ms) / 1000.0 < 1;
}

void Broker::TakeConnectionEvents() {
  for (const transport::ClosedCount& c : server_->TakeClosed()) {
    Counted& counted = counted_[{audit::AuditEvent::kConnectionRefused, c.agency,
                                 transport::CloseReasonName(c.reason)}];
    if (counted.count == 0) {
      counted.reason = "connection from " + c.address + " closed under the broker's limits";
    }
    counted.count += c.count;
    stats_.closed_by[transport::CloseReasonName(c.reason)] += c.count;
  }
  for (const transport::GoneConnection& g : server_->TakeGone()) {
    if (sessions_.Gone(g.agency, g.connection)) {
      spdlog::debug("{}'s connection is gone; its queue waits on disk", g.agency);
    }
    to_pump_.push_back(g.agency);  // a superseded one may have freed the window
    memory_to_trim_ = true;
  }
  const int64_t now = clock_.NowMillis();
  if (memory_to_trim_ && now - trimmed_at_ms_ >= 2000) {
    // What libzmq held for those connections (their send queues) was freed; glibc keeps freed
    // memory in its arenas unless asked.
    ::malloc_trim(0);
    memory_to_trim_ = false;
    trimmed_at_ms_ = now;
  }
}

}  // namespace nrm::broker
