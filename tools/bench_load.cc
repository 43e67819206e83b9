// The sender, recipients and idle agencies of `nrm bench` (see bench_load.h).
#include "tools/bench_load.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "agent/agent.h"
#include "audit/big_endian.h"
#include "policy/policy_file.h"
#include "schemas/wire/payload.h"
#include "tools/bench_bed.h"
#include "tools/bench_measure.h"

namespace nrm::tools::bench {

using transport::Frame;
using transport::FrameText;

Result<std::unique_ptr<Sender>> Sender::Open(const Scenario& s) {
  auto out = std::unique_ptr<Sender>(new Sender());
  NRM_ASSIGN_OR_RETURN(out->dir_,
                       identity::Directory::Load(s.dir + "/directory.toml", s.authority.sign_public,
                                                 SystemClock::Get().NowMillis()));
  NRM_ASSIGN_OR_RETURN(std::string endpoint, BrokerEndpoint(s));
  NRM_RETURN_IF_ERROR(out->Connect(s.KeyFile(kSender), s.policy, endpoint));
  return out;
}

Result<std::unique_ptr<Sender>> Sender::OpenFederated(const FederationSetup& f,
                                                      const std::string& id) {
  auto out = std::unique_ptr<Sender>(new Sender());
  const int64_t now = SystemClock::Get().NowMillis();
  const NationalSetup& own = f.Of(id);
  NRM_ASSIGN_OR_RETURN(out->dir_,
                       identity::Directory::Load(own.directory, own.authority.sign_public, now));
  for (const auto& [country, n] : f.countries) {
    if (country == own.country) continue;
    NRM_ASSIGN_OR_RETURN(identity::Directory d,
                         identity::Directory::Load(n.directory, n.authority.sign_public, now));
    out->partners_.emplace(country, std::move(d));
  }
  NRM_RETURN_IF_ERROR(out->Connect(f.KeyFile(id), f.policy, own.endpoint));
  return out;
}

Status Sender::Connect(const std::string& key_file, const std::string& policy_file,
                       const std::string& endpoint) {
  NRM_ASSIGN_OR_RETURN(keys_, identity::LoadSecretKeyFile(key_file));
  NRM_ASSIGN_OR_RETURN(policy::Policy policy, policy::LoadPolicyFile(policy_file));
  sections_ = policy.SectionsFor("shelter");
  transport::ClientOptions co;
  co.endpoint = endpoint;
  co.server_curve_public = dir_.broker().curve_key;
  co.curve_public = keys_.curve_public;
  co.curve_secret = keys_.curve_secret.Clone();
  NRM_ASSIGN_OR_RETURN(client_, transport::Client::Connect(std::move(co), 10000));
  // About 2 KB of sealed envelope: the payload's free text fills the rest.
  NRM_ASSIGN_OR_RETURN(
      payload_, wire::PayloadFromJson(R"({"case": {"status": "Active", )"
                                      R"("reason_for_referral": ")" +
                                      std::string(kTargetEnvelopeBytes - 616, 'x') + R"("}})"));
  return Status::Ok();
}

Result<wire::Sealed> Sender::Seal(const std::vector<std::string>& to, uint64_t i) {
  NRM_RETURN_IF_ERROR(wire::VerifyPayload(payload_).status());
  std::vector<wire::Recipient> recipients;
  for (const std::string& id : to) {
    const identity::Agency* a = dir_.Find(id);
    if (auto p = partners_.find(id.substr(0, 2)); a == nullptr && p != partners_.end()) {
      a = p->second.Find(id);
    }
    if (a == nullptr) return NotFound(id);
    recipients.push_back({a->id, a->box_key});
  }
  wire::HeaderFields f;
  f.sender = keys_.id;
  f.kind = wire::Kind::ReferralOffer;
  f.case_ref = Bytes(16, static_cast<uint8_t>(i % 64));  // 64 open cases
  f.handling = wire::Handling::H1;
  f.created_at_ms = SystemClock::Get().NowMillis();
  NRM_ASSIGN_OR_RETURN(Bytes minimal, wire::KeepSections(payload_, sections_));
  return wire::SealEnvelope(f, recipients, minimal, keys_.sign_secret, epoch_);
}

Status Sender::Run(const std::vector<std::string>& to, size_t n, double rate, size_t window,
                   bool preseal, int64_t deadline_ns, Progress& progress, PhaseResult& r) {
  std::vector<wire::Sealed> presealed;
  if (preseal) {
    const double c0 = ThreadCpuSeconds();
    for (size_t i = 0; i < n; ++i) {
      NRM_ASSIGN_OR_RETURN(wire::Sealed s, Seal(to, i));
      presealed.push_back(std::move(s));
    }
    r.seal_cpu_us = (ThreadCpuSeconds() - c0) * 1e6 / static_cast<double>(std::max<size_t>(n, 1));
  }
  const double c0 = ThreadCpuSeconds();
  double seal_cpu = 0;
  size_t next = 0, outstanding = 0;
  const int64_t t0 = NowNs();
  first_send_ns = t0;
  while (r.accepted + r.refused < n && NowNs() < deadline_ns) {
    while (next < n && outstanding < window) {
      const int64_t due =
          rate > 0 ? t0 + static_cast<int64_t>(static_cast<double>(next) * 1e9 / rate) : 0;
      if (rate > 0 && NowNs() < due) break;
      wire::Sealed sealed;
      if (preseal) {
        sealed = std::move(presealed[next]);
      } else {
        const double s0 = ThreadCpuSeconds();
        NRM_ASSIGN_OR_RETURN(sealed, Seal(to, next));
        seal_cpu += ThreadCpuSeconds() - s0;
      }
      r.envelope_bytes = sealed.frame.size();
      sent.emplace_back(sealed.message_id, rate > 0 ? due : NowNs());
      if (!partners_.empty()) sent_ids_.emplace(AsChars(sealed.message_id));
      NRM_RETURN_IF_ERROR(client_->Send({Frame("SEND"), sealed.frame}));
      ++next;
      ++outstanding;
      progress.sent++;
    }
    NRM_ASSIGN_OR_RETURN(auto got, client_->Receive(0));
    if (!got) {
      const bool can_send = next < n && outstanding < window;
      if (can_send && rate > 0) {
        const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(next) * 1e9 / rate);
        const int64_t wait = std::clamp<int64_t>(due - NowNs(), 0, 200'000);
        std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        continue;
      }
      if (can_send) continue;
      NRM_ASSIGN_OR_RETURN(got, client_->Receive(1));
      if (!got) continue;
    }
    if (got->empty()) continue;
    const std::string_view verb = FrameText((*got)[0]);
    if (verb == "ACCEPTED" && got->size() == 4) {
      NRM_RETURN_IF_ERROR(CheckReceipt(*got));
      ++r.accepted;
      progress.accepted++;
      --outstanding;
      last_accept_ns = NowNs();
    } else if (verb == "REFUSED") {
      ++r.refused;
      --outstanding;
      if (r.error.empty() && got->size() >= 4) {
        r.error = "refused: " + std::string(FrameText((*got)[2])) + ": " +
                  std::string(FrameText((*got)[3]));
      }
    } else if (verb == "RELAY-RECEIPT") {
      NRM_RETURN_IF_ERROR(TakeRelayReceipt(*got));
    }
  }
  const double total = ThreadCpuSeconds() - c0;
  const double per = 1e6 / static_cast<double>(std::max<size_t>(next, 1));
  if (!preseal) r.seal_cpu_us = seal_cpu * per;
  r.sender_cpu_us = total * per + (preseal ? r.seal_cpu_us : 0);
  if (r.accepted + r.refused < n) {
    return Unavailable("the sender ran out of time: " + std::to_string(r.accepted) + " of " +
                       std::to_string(n) + " accepted");
  }
  return Status::Ok();
}

Status Sender::CheckLeaf(const identity::BrokerEntry& broker, const Bytes& note, ByteView leaf,
                         Head& head) {
  if (leaf.size() != 8) return Unauthenticated("receipt without a leaf");
  if (note != head.note) {
    NRM_ASSIGN_OR_RETURN(audit::note::VerifierKey key,
                         audit::PublishedLogKey(broker.log_vkey, broker.id, broker.sign_key));
    NRM_ASSIGN_OR_RETURN(audit::VerifiedCheckpoint cp,
                         audit::VerifyCheckpointNote(AsChars(note), key));
    head = {note, cp.checkpoint.size};
  }
  if (audit::GetBe64(leaf.data()) >= head.size) {
    return Unauthenticated("receipt names a leaf past its tree");
  }
  return Status::Ok();
}

Status Sender::CheckReceipt(const transport::Frames& f) {
  return CheckLeaf(dir_.broker(), f[3], f[2], head_);
}

Status Sender::TakeRelayReceipt(const transport::Frames& f) {
  if (f.size() != 5 || f[1].size() != wire::kMessageIdBytes) {
    return InvalidArgument("a malformed relay receipt");
  }
  const std::string country(FrameText(f[2]));
  auto partner = partners_.find(country);
  if (partner == partners_.end()) {
    return PermissionDenied("a relay receipt from '" + country + "', not a partner country");
  }
  NRM_RETURN_IF_ERROR(CheckLeaf(partner->second.broker(), f[4], f[3], relay_heads_[country])
                          .WithContext("relay receipt from " + country));
  if (sent_ids_.count(std::string(AsChars(f[1])))) ++relay_receipts;
  return client_->Send({Frame("ACK"), f[1]});
}

Status Sender::AwaitRelayReceipts(size_t n, int64_t deadline_ns) {
  while (relay_receipts < n) {
    if (NowNs() >= deadline_ns) {
      return Unavailable("only " + std::to_string(relay_receipts) + " of " + std::to_string(n) +
                         " relay receipts came back in time");
    }
    NRM_ASSIGN_OR_RETURN(auto got, client_->Receive(100));
    if (got && !got->empty() && FrameText((*got)[0]) == "RELAY-RECEIPT") {
      NRM_RETURN_IF_ERROR(TakeRelayReceipt(*got));
    }
  }
  return Status::Ok();
}

void RunRecipient(const std::string& agent_config, size_t expect, int64_t deadline_ns,
                  std::atomic<int>& ready, Progress& progress, RecipientRun& out) {
  Result<agent::AgentConfig> config = agent::LoadAgentConfig(agent_config);
  if (!config.ok()) {
    out.status = config.status();
    ready++;
    return;
  }
  Result<std::unique_ptr<agent::Agent>> a = agent::Agent::Open(*config, SystemClock::Get(), 10000);
  out.connected_ns = NowNs();
  ready++;
  if (!a.ok()) {
    out.status = a.status();
    return;
  }
  const double c0 = ThreadCpuSeconds();
  out.got.reserve(expect);
  while (out.got.size() < expect && NowNs() < deadline_ns) {
    Result<std::optional<agent::Received>> r = (*a)->Receive(200);
    if (!r.ok()) {
      ++out.errors;  // a delivery that failed its checks (already acknowledged by the agent)
      if (out.status.ok()) out.status = r.status();
      continue;
    }
    if (!r->has_value() || (*r)->type != agent::Received::Type::kMessage) continue;
    out.got.emplace_back((*r)->message_id, NowNs());
    progress.delivered++;
    if (Status st = (*a)->Acknowledge((*r)->message_id); !st.ok() && out.status.ok()) {
      out.status = st;
    }
  }
  out.cpu_s = ThreadCpuSeconds() - c0;
  // Let the last acknowledgements leave before the socket closes.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Connects `n` idle agencies (each its own CURVE connection, HELLO sent).
Result<std::vector<std::unique_ptr<transport::Client>>> ConnectIdle(const Scenario& s, int n) {
  std::vector<std::unique_ptr<transport::Client>> out;
  if (n == 0) return out;
  NRM_ASSIGN_OR_RETURN(const std::string endpoint, BrokerEndpoint(s));
  for (int i = 0; i < n; ++i) {
    NRM_ASSIGN_OR_RETURN(identity::KeySet k, identity::LoadSecretKeyFile(s.KeyFile(IdleId(i))));
    transport::ClientOptions co;
    co.endpoint = endpoint;
    co.server_curve_public = s.broker.curve_public;
    co.curve_public = k.curve_public;
    co.curve_secret = k.curve_secret.Clone();
    NRM_ASSIGN_OR_RETURN(auto c, transport::Client::Connect(std::move(co), 10000));
    NRM_RETURN_IF_ERROR(c->Send({Frame("HELLO")}));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace nrm::tools::bench
