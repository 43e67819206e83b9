#include "agent/web/case_index.h"

#include <algorithm>

#include "agent/web/i18n.h"
#include "common/clock.h"
#include "schemas/wire/envelope.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

const MessageInfo* LatestOf(const CaseInfo& c, std::string_view kind) {
  for (auto it = c.messages.rbegin(); it != c.messages.rend(); ++it) {
    if (it->kind == kind) return &*it;
  }
  return nullptr;
}

}  // namespace

Status CaseIndex::Build(AgentStore& store) {
  NRM_ASSIGN_OR_RETURN(std::vector<CaseRecord> cases, store.Cases());
  NRM_ASSIGN_OR_RETURN(std::vector<MessageRecord> messages, store.Messages());
  NRM_ASSIGN_OR_RETURN(std::vector<Tombstone> erased, store.Tombstones());
  std::lock_guard<std::mutex> lock(mu_);
  cases_.clear();
  for (const Tombstone& t : erased) erased_.emplace(t.ref, t.at_ms);
  ApplyLocked(messages, cases);
  return Status::Ok();
}

void CaseIndex::Apply(const std::vector<MessageRecord>& messages,
                      const std::vector<CaseRecord>& cases) {
  std::lock_guard<std::mutex> lock(mu_);
  ApplyLocked(messages, cases);
}

void CaseIndex::Erased(const std::string& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  ++version_;
  erased_.emplace(ref, SystemClock::Get().NowMillis());
  cases_.erase(ref);
}

std::vector<std::string> CaseIndex::ErasedPage(size_t rows, size_t* page, size_t* pages) const {
  std::vector<std::pair<int64_t, std::string>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.reserve(erased_.size());
    for (const auto& [ref, at] : erased_) all.emplace_back(at, ref);
  }
  *pages = std::max<size_t>(1, (all.size() + rows - 1) / rows);
  *page = std::clamp<size_t>(*page, 1, *pages);
  const size_t from = std::min(all.size(), (*page - 1) * rows);
  const auto first = all.begin() + static_cast<long>(from);
  const auto last = all.begin() + static_cast<long>(std::min(all.size(), from + rows));
  auto newer = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (first != all.begin()) std::nth_element(all.begin(), first, all.end(), newer);
  if (last != all.end()) std::nth_element(first, last, all.end(), newer);
  std::sort(first, last, newer);
  std::vector<std::string> out;
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

void CaseIndex::ApplyLocked(const std::vector<MessageRecord>& messages,
                            const std::vector<CaseRecord>& cases) {
  ++version_;
  for (const CaseRecord& c : cases) {
    if (erased_.count(c.ref) != 0) continue;
    CaseInfo& info = cases_[c.ref];
    info.ref = c.ref;
    info.label = c.label;
    info.state = c.state;
    info.parties = c.parties;
    info.consent_revoked = c.consent && c.consent->revoked;
    info.attention = c.attention;
    for (const TimelineStep& s : c.timeline) info.last_ms = std::max(info.last_ms, s.at_ms);
  }
  for (const MessageRecord& m : messages) {
    if (m.case_ref.empty() || erased_.count(m.case_ref) != 0) continue;
    CaseInfo& info = cases_[m.case_ref];
    info.ref = m.case_ref;
    MessageInfo mi;
    mi.id = m.id;
    mi.direction = m.direction;
    mi.kind = m.kind;
    mi.from = m.from;
    mi.to = m.to;
    mi.at_ms = m.created_at_ms;
    mi.state = m.state;
    mi.note = m.note;
    mi.detail = m.detail;
    mi.detail_phrase = m.detail_phrase;
    mi.delivery = DeliveryOf(m);
    if (Result<wire::EnvelopeView> env = wire::DecodeEnvelope(m.frame); env.ok()) {
      mi.handling = std::string(wire::HandlingName(env->handling()));
    }
    if (Result<const payload::Payload*> p = wire::VerifyPayload(m.payload); p.ok()) {
      mi.person = (*p)->person() != nullptr;
      if ((*p)->needs() && (*p)->needs()->risk_to_person() &&
          (info.risk.empty() || m.created_at_ms >= info.risk_at_ms)) {
        info.risk = (*p)->needs()->risk_to_person()->str();
        info.risk_at_ms = m.created_at_ms;
      }
    }
    auto it = std::find_if(info.messages.begin(), info.messages.end(),
                           [&](const MessageInfo& x) { return x.id == m.id; });
    if (it != info.messages.end()) {
      *it = std::move(mi);
    } else {
      auto at = std::upper_bound(info.messages.begin(), info.messages.end(), mi.at_ms,
                                 [](int64_t t, const MessageInfo& x) { return t < x.at_ms; });
      info.messages.insert(at, std::move(mi));
    }
    info.last_ms = std::max(info.last_ms, m.created_at_ms);
  }
}

bool ActionFirst(const Listed& a, const Listed& b) {
  return a.rank != b.rank ? a.rank < b.rank : a.at_ms < b.at_ms;
}

void CaseIndex::List(const CaseInfo& c, std::vector<Listed>& action,
                     std::vector<Listed>& activity) {
  // First what did not get through.
  bool held = false;
  for (const MessageInfo& m : c.messages) {
    if (m.kind == "receipt" || !NeedsAction(m.delivery)) continue;
    const bool out = m.direction == "out";
    held = held || !out;
    action.push_back(
        {&c, &m, out ? Msg("Not delivered: action needed") : Msg("Waiting for an earlier step"),
         m.at_ms, 0});
  }
  if (!c.attention.empty() && !held) {
    action.push_back({&c, c.messages.empty() ? nullptr : &c.messages.back(), Msg("Needs attention"),
                      c.last_ms, 0});
  }
  const MessageInfo* offer = LatestOf(c, "referral_offer");
  const MessageInfo* request = LatestOf(c, "repatriation_request");
  if (c.state == "offered" && offer && offer->direction == "in") {
    action.push_back({&c, offer, Msg("Offer waiting for your decision"), offer->at_ms});
  }
  if (c.state == "accepted" && offer && offer->direction == "in") {
    action.push_back({&c, offer, Msg("Handover to confirm"), offer->at_ms});
  }
  if ((c.state == "rejected" || c.state == "revoked") && offer && offer->direction == "out") {
    const MessageInfo* answer = c.messages.empty() ? offer : &c.messages.back();
    for (auto it = c.messages.rbegin(); it != c.messages.rend(); ++it) {
      if (it->kind == "referral_decline" || it->kind == "referral_revoke") {
        answer = &*it;
        break;
      }
    }
    action.push_back({&c, answer, Msg("Declined: offer the person elsewhere"), answer->at_ms});
  }
  if (c.state == "requested" && request && request->direction == "in") {
    action.push_back({&c, request, Msg("Repatriation request to answer"), request->at_ms});
  }
  for (const MessageInfo& m : c.messages) {
    if (m.direction == "in" && m.kind == "consent_revoke" && m.delivery == Delivery::kNew) {
      action.push_back({&c, &m, Msg("Consent withdrawn"), m.at_ms});
    }
  }
  for (const MessageInfo& m : c.messages) {
    if (m.kind != "receipt") activity.push_back({&c, &m, nullptr, m.at_ms});
  }
}

void CaseIndex::ReadLists(const std::function<void(const std::vector<Listed>& action,
                                                   const std::vector<Listed>& activity)>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (lists_version_ != version_) {
    action_.clear();
    activity_.clear();
    for (const auto& [ref, c] : cases_) List(c, action_, activity_);
    std::sort(action_.begin(), action_.end(), ActionFirst);
    std::sort(activity_.begin(), activity_.end(),
              [](const Listed& a, const Listed& b) { return a.at_ms > b.at_ms; });
    lists_version_ = version_;
  }
  f(action_, activity_);
}

uint64_t CaseIndex::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

size_t CaseIndex::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cases_.size();
}

void CaseIndex::Read(const std::function<void(const std::map<std::string, CaseInfo>&)>& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  f(cases_);
}

std::optional<CaseInfo> CaseIndex::Find(const std::string& ref) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cases_.find(ref);
  if (it == cases_.end()) return std::nullopt;
  return it->second;
}

}  // namespace nrm::agent::web
