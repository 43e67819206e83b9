// The text and JSON report of `nrm bench` (see bench_report.h).
#include "tools/bench_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "common/json/json.h"

namespace nrm::tools::bench {
namespace {

const PhaseResult* FirstFlatOut(const std::vector<PhaseResult>& phases) {
  for (const PhaseResult& r : phases) {
    if (r.spec.rate == 0 && !r.spec.offline && r.spec.recipients == 1) return &r;
  }
  return nullptr;
}

const PhaseResult* FirstOffline(const std::vector<PhaseResult>& phases) {
  for (const PhaseResult& r : phases) {
    if (r.spec.offline) return &r;
  }
  return nullptr;
}

std::string PhaseJson(const PhaseResult& r) {
  std::ostringstream o;
  o << "{\"name\":" << json::Quote(r.spec.name) << ",\"recipients\":" << r.spec.recipients
    << ",\"messages\":" << r.spec.messages << ",\"offered_per_s\":" << Num(r.spec.rate)
    << ",\"idle_agencies\":" << r.spec.idle_agencies
    << ",\"presealed\":" << (r.spec.preseal ? "true" : "false")
    << ",\"recipients_offline\":" << (r.spec.offline ? "true" : "false")
    << ",\"envelope_bytes\":" << r.envelope_bytes << ",\"accepted\":" << r.accepted
    << ",\"refused\":" << r.refused << ",\"delivered\":" << r.delivered
    << ",\"delivery_errors\":" << r.delivery_errors << ",\"accepted_per_s\":" << Num(r.accept_per_s)
    << ",\"end_to_end_per_s\":" << Num(r.e2e_per_s) << ",\"drain_per_s\":" << Num(r.drain_per_s)
    << ",\"latency_us\":{\"p50\":" << Num(r.latency.p50_us) << ",\"p99\":" << Num(r.latency.p99_us)
    << ",\"max\":" << Num(r.latency.max_us) << ",\"samples\":" << r.latency.count << "}"
    << ",\"broker_cpu_us_per_msg\":" << Num(r.broker_cpu_us, 1)
    << ",\"broker_rss_mib\":" << Num(r.broker_rss_mib, 1)
    << ",\"broker_peak_rss_mib\":" << Num(r.broker_hwm_mib, 1)
    << ",\"broker_rss_queued_mib\":" << Num(r.broker_rss_queued_mib, 1)
    << ",\"broker_accept_only_cpu_us_per_msg\":" << Num(r.broker_accept_cpu_us, 1)
    << ",\"broker_rss_kib_per_msg\":"
    << Num(r.broker_hwm_mib * 1024 / static_cast<double>(std::max<size_t>(r.accepted, 1)), 3)
    << ",\"fsyncs\":" << r.fsyncs << ",\"records_per_fsync\":" << Num(r.records_per_fsync, 1)
    << ",\"messages_per_fsync\":" << Num(r.messages_per_fsync, 1)
    << ",\"sender_seal_cpu_us_per_msg\":" << Num(r.seal_cpu_us, 1)
    << ",\"sender_cpu_us_per_msg\":" << Num(r.sender_cpu_us, 1)
    << ",\"recipient_cpu_us_per_delivery\":" << Num(r.recipient_cpu_us, 1)
    << ",\"bench_process_cpu_us_per_msg\":" << Num(r.agents_cpu_us, 1)
    << ",\"witnesses\":" << (r.spec.witnesses ? 2 : 0);
  if (r.spec.witnesses) {
    o << ",\"witness_submissions\":" << r.witness_submissions
      << ",\"witness_cosignatures\":" << r.witness_cosignatures
      << ",\"witness_failures\":" << r.witness_failures;
  }
  o << ",\"error\":" << json::Quote(r.error) << "}";
  return o.str();
}

void PrintPhase(std::ostream& out, const PhaseResult& r) {
  out << "  " << r.spec.name << ": " << r.accepted << " accepted";
  if (r.refused) out << ", " << r.refused << " refused";
  out << ", " << r.delivered << " delivered to " << r.spec.recipients << " recipient(s)"
      << (r.spec.idle_agencies ? ", " + std::to_string(r.spec.idle_agencies) + " idle agencies"
                               : "")
      << ", envelope " << r.envelope_bytes << " B\n";
  if (r.spec.offline) {
    out << "    accepted " << Num(r.accept_per_s)
        << " msg/s with the recipient offline; broker RSS " << Num(r.broker_rss_queued_mib, 1)
        << " MiB with all queued, " << Num(r.broker_accept_cpu_us, 1)
        << " us CPU/msg to accept; drain on reconnect " << Num(r.drain_per_s) << " deliveries/s\n";
  } else {
    out << "    " << Num(r.e2e_per_s) << " msg/s end to end (offered "
        << (r.spec.rate > 0 ? Num(r.spec.rate) + "/s" : std::string("flat out")) << "), accepted "
        << Num(r.accept_per_s) << "/s; latency p50 " << Num(r.latency.p50_us / 1000, 2)
        << " ms, p99 " << Num(r.latency.p99_us / 1000, 2) << " ms, max "
        << Num(r.latency.max_us / 1000, 2) << " ms\n";
  }
  out << "    broker " << Num(r.broker_cpu_us, 1) << " us CPU/msg, RSS " << Num(r.broker_rss_mib, 1)
      << " MiB (peak " << Num(r.broker_hwm_mib, 1) << "), " << Num(r.records_per_fsync, 1)
      << " records (" << Num(r.messages_per_fsync, 1) << " messages) per fsync\n"
      << "    sender " << Num(r.sender_cpu_us, 1) << " us CPU/msg (seal+sign "
      << Num(r.seal_cpu_us, 1) << "), recipient " << Num(r.recipient_cpu_us, 1)
      << " us CPU/delivery, whole bench process " << Num(r.agents_cpu_us, 1) << " us/msg\n";
  if (r.spec.witnesses) {
    out << "    two witnesses: " << r.witness_submissions << " submissions, "
        << r.witness_cosignatures << " cosignatures, " << r.witness_failures << " failures\n";
  }
  if (!r.error.empty()) out << "    ERROR: " << r.error << "\n";
}

// The limit the building blocks imply for the broker, and which block sets it.
struct Implied {
  double per_s = 0;
  std::string by;
};
Implied ImpliedLimit(const Limits& l, const PhaseResult& flat) {
  // Per message the broker verifies one signature (spread over every core), writes the
  // envelope once per recipient in synced batches, and moves it twice through CURVE
  // (SEND in, DELIVER out) — what one forwarded frame costs.
  Implied out{l.verify_all_cores, "Ed25519 verification on all cores"};
  const double per_records = l.synced_records_per_s / std::max(1, flat.spec.recipients);
  if (per_records < out.per_s) out = {per_records, "synced RocksDB batches"};
  if (l.curve_forward_per_s / flat.spec.recipients < out.per_s) {
    out = {l.curve_forward_per_s / flat.spec.recipients, "CURVE forwarding through one ROUTER"};
  }
  return out;
}

// End to end on this machine, with the sender, the broker and the recipient sharing its cores:
// every message costs one Ed25519 signature and two verifications (broker, recipient). The rate
// those alone allow, whatever else a message costs.
double EndToEndSignatureLimit(const Limits& l) {
  if (l.sign_per_core <= 0 || l.verify_per_core <= 0) return 0;
  return l.cores / (1 / l.sign_per_core + 2 / l.verify_per_core);
}

std::string WitnessJson(const BenchReport& report) {
  std::ostringstream o;
  const WitnessComparison c = CompareWitnessPhases(report.phases);
  if (c.pairs > 0) {
    o << ",\"witness_comparison\":{\"phases_each\":" << c.pairs
      << ",\"accepted_per_s_without\":" << Num(c.without_per_s)
      << ",\"accepted_per_s_with_two\":" << Num(c.with_per_s)
      << ",\"difference_pct\":" << Num(c.difference_pct, 1)
      << ",\"broker_accept_cpu_us_per_msg_without\":" << Num(c.without_cpu_us, 1)
      << ",\"broker_accept_cpu_us_per_msg_with_two\":" << Num(c.with_cpu_us, 1)
      << ",\"broker_cpu_us_per_msg_without\":" << Num(c.without_total_cpu_us, 1)
      << ",\"broker_cpu_us_per_msg_with_two\":" << Num(c.with_total_cpu_us, 1) << "}";
  }
  for (const auto& [key, rate] :
       {std::pair{"witness_add_checkpoint", &report.witness_rate},
        std::pair{"witness_add_checkpoint_tmpfs", &report.witness_rate_tmpfs}}) {
    if (!*rate) continue;
    const WitnessRate& w = **rate;
    o << ",\"" << key << "\":{\"requests\":" << w.requests << ",\"seconds\":" << Num(w.seconds, 3)
      << ",\"per_s\":" << Num(w.per_s) << ",\"latency_us\":{\"p50\":" << Num(w.latency.p50_us)
      << ",\"p99\":" << Num(w.latency.p99_us) << ",\"max\":" << Num(w.latency.max_us) << "}"
      << ",\"witness_cpu_us_per_request\":" << Num(w.witness_cpu_us, 1)
      << ",\"rocksdb_synced_single_writes_per_s\":" << Num(w.synced_writes_per_s)
      << ",\"error\":" << json::Quote(w.error) << "}";
  }
  return o.str();
}

void PrintWitnesses(std::ostream& out, const BenchReport& report) {
  const WitnessComparison c = CompareWitnessPhases(report.phases);
  if (c.pairs > 0) {
    out << "witnesses: the broker alone accepted " << Num(c.without_per_s)
        << " msg/s without witnesses and " << Num(c.with_per_s) << " msg/s with two (medians of "
        << c.pairs << " phase(s) each): " << (c.difference_pct >= 0 ? "+" : "")
        << Num(c.difference_pct, 1)
        << "%\n  broker CPU per message without and with: " << Num(c.without_cpu_us, 1) << " and "
        << Num(c.with_cpu_us, 1) << " us to accept, " << Num(c.without_total_cpu_us, 1) << " and "
        << Num(c.with_total_cpu_us, 1) << " us in all (accept, deliver, acknowledge)\n";
  }
  for (const auto& [label, rate] :
       {std::pair{"one witness, add-checkpoint (one log growing by one leaf per request, one "
                  "request at a time)",
                  &report.witness_rate},
        std::pair{"the same with the witness's state on tmpfs (fsync costs nothing)",
                  &report.witness_rate_tmpfs}}) {
    if (!*rate) continue;
    const WitnessRate& w = **rate;
    out << label << ": " << w.requests << " in " << Num(w.seconds, 2) << " s = " << Num(w.per_s)
        << " requests/s; latency p50 " << Num(w.latency.p50_us / 1000, 2) << " ms, p99 "
        << Num(w.latency.p99_us / 1000, 2) << " ms, max " << Num(w.latency.max_us / 1000, 2)
        << " ms; witness " << Num(w.witness_cpu_us, 1) << " us CPU/request\n"
        << "  synced single RocksDB writes right after, on the same disk: "
        << Num(w.synced_writes_per_s) << "/s";
    if (rate == &report.witness_rate) {
      out << " (one is in every answer: "
          << Num(100 * w.per_s / std::max(w.synced_writes_per_s, 1.0), 1) << "% of that)";
    }
    out << "\n";
    if (!w.error.empty()) out << "  ERROR: " << w.error << "\n";
  }
}

// The goals for the federation (issue 16).
constexpr double kFederationGoalPerS = 5000;
constexpr double kFederationGoalRatio = 2;

std::string FederationJson(const BenchReport& report) {
  if (!report.federation) return "";
  const FederationResult& f = *report.federation;
  std::ostringstream o;
  o << ",\"federation\":{\"brokers\":[\"TH\",\"KH\"],\"transport\":\"ipc\",\"runs\":[";
  for (size_t i = 0; i < f.runs.size(); ++i) {
    const FederationRun& run = f.runs[i];
    std::string phase = PhaseJson(run.phase);
    phase.pop_back();  // its closing brace: the federation's own fields follow
    o << (i ? "," : "") << phase << ",\"cross_border\":" << (run.cross_border ? "true" : "false")
      << ",\"sending_broker_cpu_us_per_msg\":" << Num(run.phase.broker_cpu_us, 1)
      << ",\"partner_broker_cpu_us_per_msg\":" << Num(run.partner_broker_cpu_us, 1)
      << ",\"relay_receipts\":" << run.relay_receipts << "}";
  }
  o << "],\"offered_per_s\":" << Num(f.rate)
    << ",\"cross_border_flat_out_per_s\":" << Num(f.flat_out_per_s)
    << ",\"domestic_p99_us\":" << Num(f.domestic_p99_us)
    << ",\"cross_border_p99_us\":" << Num(f.cross_border_p99_us)
    << ",\"p99_ratio\":" << Num(f.p99_ratio, 2)
    << ",\"goal_flat_out_per_s\":" << Num(kFederationGoalPerS)
    << ",\"goal_p99_ratio\":" << Num(kFederationGoalRatio, 2) << ",\"goals_met\":"
    << (f.error.empty() && f.flat_out_per_s >= kFederationGoalPerS && f.p99_ratio > 0 &&
                f.p99_ratio <= kFederationGoalRatio
            ? "true"
            : "false")
    << ",\"elapsed_s\":" << Num(f.elapsed_s, 1) << ",\"error\":" << json::Quote(f.error) << "}";
  return o.str();
}

void PrintFederation(std::ostream& out, const BenchReport& report) {
  if (!report.federation) return;
  const FederationResult& f = *report.federation;
  out << "federation: a Thai and a Cambodian broker (two nrm-broker processes, ipc:// on this "
         "machine), linked under the TH-KH agreement; "
      << Num(f.elapsed_s, 1) << " s\n";
  for (const FederationRun& run : f.runs) {
    const PhaseResult& r = run.phase;
    out << "  " << r.spec.name << ": " << r.accepted << " accepted";
    if (r.refused) out << ", " << r.refused << " refused";
    out << ", " << r.delivered << " delivered";
    if (run.cross_border) out << ", " << run.relay_receipts << " relay receipts to the sender";
    out << ", envelope " << r.envelope_bytes << " B\n"
        << "    " << Num(r.e2e_per_s) << " msg/s end to end, accepted " << Num(r.accept_per_s)
        << "/s; latency p50 " << Num(r.latency.p50_us / 1000, 2) << " ms, p99 "
        << Num(r.latency.p99_us / 1000, 2) << " ms, max " << Num(r.latency.max_us / 1000, 2)
        << " ms\n"
        << "    Thai broker " << Num(r.broker_cpu_us, 1) << " us CPU/msg, Cambodian broker "
        << Num(run.partner_broker_cpu_us, 1) << "; sender " << Num(r.sender_cpu_us, 1)
        << " us CPU/msg, recipient " << Num(r.recipient_cpu_us, 1) << " us CPU/delivery\n";
    if (!r.error.empty()) out << "    ERROR: " << r.error << "\n";
  }
  out << "  cross-border flat out: " << Num(f.flat_out_per_s) << " msg/s (goal "
      << Num(kFederationGoalPerS) << ")\n"
      << "  at " << Num(f.rate) << "/s: cross-border p99 " << Num(f.cross_border_p99_us / 1000, 2)
      << " ms, domestic p99 " << Num(f.domestic_p99_us / 1000, 2) << " ms: ratio "
      << Num(f.p99_ratio, 2) << " (goal at most " << Num(kFederationGoalRatio, 0) << ")\n";
  if (!f.error.empty()) out << "  ERROR: " << f.error << "\n";
}

}  // namespace

std::string Num(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string ReportJson(const BenchReport& report) {
  const PhaseResult* flat = FirstFlatOut(report.phases);
  const PhaseResult* alone = FirstOffline(report.phases);
  std::ostringstream o;
  o << "{\"machine\":{\"cores\":" << report.cores << ",\"host\":" << json::Quote(report.host)
    << "},\"window\":" << report.window << ",\"warmup_messages\":" << report.warmup_messages
    << ",\"phases\":[";
  for (size_t i = 0; i < report.phases.size(); ++i) {
    o << (i ? "," : "") << PhaseJson(report.phases[i]);
  }
  o << "]";
  if (report.limits) {
    const Limits& limits = *report.limits;
    o << ",\"limits\":{\"ed25519_verify_per_s_per_core\":" << Num(limits.verify_per_core)
      << ",\"ed25519_verify_per_s_all_cores\":" << Num(limits.verify_all_cores)
      << ",\"rocksdb_synced_batches_per_s\":" << Num(limits.synced_batches_per_s)
      << ",\"rocksdb_synced_batch_records\":" << limits.batch_records
      << ",\"rocksdb_synced_records_per_s\":" << Num(limits.synced_records_per_s)
      << ",\"rocksdb_synced_single_writes_per_s\":" << Num(limits.synced_single_per_s)
      << ",\"curve_router_forward_per_s\":" << Num(limits.curve_forward_per_s)
      << ",\"ed25519_sign_per_s_per_core\":" << Num(limits.sign_per_core) << "}"
      << ",\"end_to_end_signature_limit_per_s\":" << Num(EndToEndSignatureLimit(limits));
    if (flat) {
      const Implied lim = ImpliedLimit(limits, *flat);
      o << ",\"implied_broker_limit_per_s\":" << Num(lim.per_s)
        << ",\"implied_limit_set_by\":" << json::Quote(lim.by)
        << ",\"end_to_end_fraction_of_limit\":" << Num(flat->e2e_per_s / lim.per_s, 3);
      if (alone) {
        o << ",\"broker_alone_fraction_of_limit\":" << Num(alone->accept_per_s / lim.per_s, 3);
      }
      o << ",\"end_to_end_fraction_of_signature_limit\":"
        << Num(flat->e2e_per_s / EndToEndSignatureLimit(limits), 3);
    }
  }
  o << WitnessJson(report);
  o << FederationJson(report);
  o << ",\"elapsed_s\":" << Num(report.elapsed_s, 1) << "}\n";
  return o.str();
}

void PrintReport(std::ostream& out, const BenchReport& report) {
  const PhaseResult* flat = FirstFlatOut(report.phases);
  const PhaseResult* alone = FirstOffline(report.phases);
  out << "nrm bench on " << report.host << " (" << report.cores << " cores), sender window "
      << report.window << ", workdir " << report.workdir << "\n";
  if (report.limits) {
    const Limits& limits = *report.limits;
    out << "limits measured now:\n"
        << "  Ed25519 verify (2 KB): " << Num(limits.verify_per_core) << "/s per core, "
        << Num(limits.verify_all_cores) << "/s on " << limits.cores
        << " cores; sign (2 KB): " << Num(limits.sign_per_core) << "/s per core\n"
        << "  RocksDB synced batches of " << limits.batch_records
        << " x 2 KB: " << Num(limits.synced_batches_per_s)
        << " batches/s = " << Num(limits.synced_records_per_s)
        << " records/s; single synced writes " << Num(limits.synced_single_per_s) << "/s\n"
        << "  CURVE forwarding through one ROUTER (2 KB): " << Num(limits.curve_forward_per_s)
        << " msg/s\n";
  }
  const size_t warmup = report.warmup_messages;
  if (!report.phases.empty()) {
    out << "phases"
        << (warmup ? " (after a warm-up of " + std::to_string(warmup) + " messages)" : "") << ":\n";
  }
  for (const PhaseResult& r : report.phases) PrintPhase(out, r);
  PrintWitnesses(out, report);
  PrintFederation(out, report);
  if (report.limits && flat) {
    const Limits& limits = *report.limits;
    const Implied lim = ImpliedLimit(limits, *flat);
    out << "implied broker limit: " << Num(lim.per_s) << " msg/s (set by " << lim.by << ")\n"
        << "  end to end, flat out: " << Num(flat->e2e_per_s)
        << " msg/s = " << Num(100 * flat->e2e_per_s / lim.per_s, 1) << "% of it\n";
    if (alone) {
      out << "  broker alone (presealed, recipient offline): " << Num(alone->accept_per_s)
          << " msg/s = " << Num(100 * alone->accept_per_s / lim.per_s, 1) << "% of it\n";
    }
    const double sig = EndToEndSignatureLimit(limits);
    out << "end to end with sender, broker and recipient on these " << limits.cores
        << " cores, Ed25519 alone (1 signature + 2 verifications per message) allows " << Num(sig)
        << " msg/s\n"
        << "  end to end, flat out: " << Num(flat->e2e_per_s)
        << " msg/s = " << Num(100 * flat->e2e_per_s / sig, 1) << "% of it\n";
  }
}

}  // namespace nrm::tools::bench
