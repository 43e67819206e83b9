// The broker's metrics (docs/OPERATIONS.md, "Metrics"): what the routing thread counts, rendered
// on that thread once a second and served from nrm_http's thread (common/http/metrics.h). Labels
// name message kinds, refusal codes, agencies and witnesses: never a case, a label or a person.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include "broker/broker.h"
#include "broker/witness_submit.h"

namespace nrm::broker {

void Broker::CountSend(std::string_view kind, std::string_view refused_code) {
  ++stats_.received[std::string(kind)];
  if (refused_code.empty()) {
    ++stats_.accepted_by_kind[std::string(kind)];
  } else {
    ++stats_.refused_by[{std::string(kind), std::string(refused_code)}];
  }
}

Status Broker::StartMetrics() {
  if (config_.metrics_listen.empty()) {
    spdlog::info("no metrics: metrics_listen is not set");
    return Status::Ok();
  }
  RenderMetrics();
  NRM_ASSIGN_OR_RETURN(metrics_server_, ServeMetrics(config_.metrics_listen,
                                                     [this] { return metrics_page_.Text(); }));
  spdlog::info("metrics on http://{}:{}/metrics",
               config_.metrics_listen.substr(0, config_.metrics_listen.rfind(':')),
               metrics_server_->port());
  return Status::Ok();
}

void Broker::RenderMetrics() {
  const int64_t now = clock_.NowMillis();
  rendered_at_ms_ = now;
  const BrokerStats& s = stats_;
  MetricsText m;
  m.BuildInfo("nrm-broker");
  for (const auto& [kind, n] : s.received) {
    m.Counter("nrm_broker_envelopes_received_total",
              "Envelopes sent to the broker, by message kind (unknown: it did not decode).",
              static_cast<double>(n), {{"kind", kind}});
  }
  for (const auto& [kind, n] : s.accepted_by_kind) {
    m.Counter("nrm_broker_envelopes_accepted_total", "Envelopes accepted, by message kind.",
              static_cast<double>(n), {{"kind", kind}});
  }
  for (const auto& [key, n] : s.refused_by) {
    m.Counter("nrm_broker_envelopes_refused_total",
              "Envelopes refused, by message kind and refusal code.", static_cast<double>(n),
              {{"kind", key.first}, {"reason", key.second}});
  }
  m.Counter("nrm_broker_deliveries_total", "Envelopes and expiry notices delivered.",
            static_cast<double>(s.delivered));
  m.Counter("nrm_broker_redeliveries_total",
            "Deliveries of what had been delivered before (since the broker started).",
            static_cast<double>(s.redelivered));
  m.Counter("nrm_broker_acknowledged_total", "Deliveries acknowledged by their recipients.",
            static_cast<double>(s.acknowledged));
  m.Counter("nrm_broker_expired_total",
            "Messages whose time to live ran out (each becomes an expiry notice).",
            static_cast<double>(s.expired));
  m.Counter("nrm_broker_malformed_requests_total", "Requests that did not parse.",
            static_cast<double>(s.malformed));

  auto dir = directory();
  m.Gauge("nrm_broker_directory_serial", "The serial of the directory in force.",
          static_cast<double>(dir->serial()));
  for (const identity::Agency& a : dir->agencies()) {
    const size_t queued = store_->PendingCount(a.id);
    m.Gauge("nrm_broker_queue_messages",
            "Envelopes and notices waiting for a recipient agency's acknowledgement.",
            static_cast<double>(queued), {{"agency", a.id}});
  }
  for (const identity::Agency& a : dir->agencies()) {
    if (store_->PendingCount(a.id) == 0) continue;
    Result<std::optional<int64_t>> oldest = store_->OldestQueuedExpiry(a.id);
    if (!oldest.ok() || !oldest->has_value()) continue;
    const int64_t queued_at = **oldest - config_.ttl_ms;
    m.Gauge("nrm_broker_queue_oldest_age_seconds",
            "How long the oldest message in a recipient agency's queue has waited (from its "
            "expiry time less ttl_s).",
            static_cast<double>(std::max<int64_t>(0, now - queued_at)) / 1000.0,
            {{"agency", a.id}});
  }
  m.Gauge("nrm_broker_connected_agencies", "Agencies with a connection the broker heard from.",
          static_cast<double>(sessions_.Connected()));
  const transport::ConnectionCounts c = server_->connections();
  m.Gauge("nrm_broker_connections", "Open connections, by state.",
          static_cast<double>(c.authenticated), {{"state", "authenticated"}});
  m.Gauge("nrm_broker_connections", "Open connections, by state.", static_cast<double>(c.pending),
          {{"state", "unauthenticated"}});
  for (const auto& [reason, n] : s.closed_by) {
    m.Counter("nrm_broker_connections_closed_total",
              "Connections the broker closed under its limits, by reason.", static_cast<double>(n),
              {{"reason", reason}});
  }
  m.Counter("nrm_broker_handshakes_refused_total",
            "CURVE handshakes refused (a key not in the directory, or revoked).",
            static_cast<double>(server_->refused_handshakes()));

  m.Counter("nrm_broker_commits_total", "Synced writes of the store (group commits).",
            static_cast<double>(s.commits));
  s.commit_records.AddTo(m, "nrm_broker_commit_records", "Records written per synced write.");
  s.commit_seconds.AddTo(m, "nrm_broker_commit_duration_seconds",
                         "How long a synced write (with its fsync) took.");
  m.Gauge("nrm_broker_audit_tree_size", "Records in the audit log.",
          static_cast<double>(audit_->size()));
  m.Gauge("nrm_broker_audit_checkpoint_size", "The tree size of the last signed checkpoint.",
          static_cast<double>(signed_size_));
  m.Gauge("nrm_broker_audit_checkpoint_age_seconds", "Time since the last checkpoint was signed.",
          static_cast<double>(now - signed_at_ms_) / 1000.0);
  if (witnesses_) {
    for (const WitnessStatus& w : witnesses_->status()) {
      const MetricLabels l{{"witness", w.name}};
      m.Gauge("nrm_broker_witness_up",
              "1 while the witness's last answer was a cosignature, else 0.",
              w.last_error.empty() && w.cosignatures > 0 ? 1 : 0, l);
      m.Gauge("nrm_broker_witness_cosigned_size",
              "The largest checkpoint the witness cosigned (since the broker started).",
              static_cast<double>(w.cosigned_size), l);
      m.Gauge(
          "nrm_broker_witness_cosigned_age_seconds",
          "Time since the witness last cosigned (since the broker started when it never did).",
          static_cast<double>(now - (w.cosigned_at_ms != 0 ? w.cosigned_at_ms : started_at_ms_)) /
              1000.0,
          l);
      m.Counter("nrm_broker_witness_failures_total",
                "Submissions to the witness that got no cosignature (no answer, an error, a "
                "refusal).",
                static_cast<double>(w.failures), l);
      m.Counter("nrm_broker_witness_refusals_total",
                "Submissions the witness refused as inconsistent (look at the log).",
                static_cast<double>(w.refusals), l);
    }
  }
  // Each partner country's link (docs/PROTOCOL.md 12.3), by country code.
  if (const auto fed = federation(); fed != nullptr) {
    for (const auto& [country, p] : fed->partners()) {
      auto it = links_.find(country);
      const Link* link = it == links_.end() ? nullptr : &it->second;
      const std::string queue = PartnerName(country);
      const MetricLabels l{{"partner", country}};
      m.Gauge("nrm_broker_partner_connected",
              "1 while the link to the partner's broker is up (the last send went out, or an "
              "answer came), else 0.",
              link != nullptr && link->connected ? 1 : 0, l);
      const size_t queued = store_->PendingCount(queue);
      m.Gauge("nrm_broker_partner_queue_messages",
              "Messages waiting to be relayed to the partner's broker and receipted.",
              static_cast<double>(queued), l);
      if (queued > 0) {
        Result<std::optional<int64_t>> oldest = store_->OldestQueuedExpiry(queue);
        if (oldest.ok() && oldest->has_value()) {
          m.Gauge(
              "nrm_broker_partner_queue_oldest_age_seconds",
              "How long the oldest message for the partner has waited (from its expiry time "
              "less ttl_s).",
              static_cast<double>(std::max<int64_t>(0, now - (**oldest - config_.ttl_ms))) / 1000.0,
              l);
        }
      }
      m.Counter("nrm_broker_partner_relays_total",
                "Envelopes relayed to the partner's broker (sent again after a timeout: counted "
                "again).",
                static_cast<double>(link != nullptr ? link->relays_sent : 0), l);
      m.Counter("nrm_broker_partner_relay_receipts_total",
                "Relay receipts from the partner's broker that verified.",
                static_cast<double>(link != nullptr ? link->relayed : 0), l);
      const int64_t last =
          link != nullptr && link->last_receipt_ms != 0 ? link->last_receipt_ms : started_at_ms_;
      m.Gauge("nrm_broker_partner_last_relay_receipt_age_seconds",
              "Time since the last relay receipt that verified (since the broker started when "
              "none did).",
              static_cast<double>(now - last) / 1000.0, l);
    }
  }
  struct statvfs v {};
  const bool known = ::statvfs(config_.data_dir.c_str(), &v) == 0;
  const double free_bytes =
      known ? static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize) : 0;
  m.Gauge("nrm_broker_disk_free_bytes", "Free space on the data directory's file system.",
          free_bytes);
  m.Gauge("nrm_broker_disk_reserve_bytes",
          "The free space under which new messages are refused (min_free_disk_mib).",
          static_cast<double>(config_.min_free_disk_bytes));
  m.Gauge("nrm_broker_disk_reserve_reached",
          "1 while new messages are refused because the disk reserve is reached.",
          config_.min_free_disk_bytes > 0 &&
                  free_bytes < static_cast<double>(config_.min_free_disk_bytes)
              ? 1
              : 0);
  metrics_page_.Publish(m.Text());
}

}  // namespace nrm::broker
