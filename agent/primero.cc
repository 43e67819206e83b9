#include "agent/primero.h"

#include <algorithm>

#include "common/clock.h"

namespace nrm::agent {

json::Json PrimeroTransitions(const CaseRecord& c, std::vector<MessageRecord> messages) {
  std::stable_sort(messages.begin(), messages.end(),
                   [](const MessageRecord& a, const MessageRecord& b) {
                     return a.created_at_ms < b.created_at_ms;
                   });
  json::Json transitions = json::Json::array();
  // The transition an answer from `from` belongs to: the latest one it is a party of.
  auto find = [&](const MessageRecord& answer, bool by_sender) -> json::Json* {
    for (auto it = transitions.rbegin(); it != transitions.rend(); ++it) {
      const bool match = by_sender ? (*it)["transitioned_by"] == answer.from
                                   : (*it)["transitioned_to_agency"] == answer.from;
      if (match) return &*it;
    }
    return nullptr;
  };
  for (const MessageRecord& m : messages) {
    if (m.case_ref != c.ref) continue;
    const std::string at = FormatTimeUtc(m.created_at_ms);
    if (m.kind == "referral_offer" || m.kind == "repatriation_request") {
      for (const std::string& to : m.to) {
        transitions.push_back(
            {{"id", m.id},
             {"type", "referral"},
             {"status", "pending"},
             {"record_type", "case"},
             {"record_id", c.ref},
             {"transitioned_by", m.from},
             {"transitioned_to_agency", to},
             {"service",
              m.kind == "referral_offer" ? "protection_and_shelter" : "family_tracing_and_return"},
             {"consent_overridden", m.consent_override},
             {"notes", m.consent_override ? m.note : ""},
             {"created_at", at},
             {"responded_at", nullptr},
             {"rejected_reason", nullptr}});
      }
      continue;
    }
    json::Json* t = nullptr;
    std::string status;
    if (m.kind == "referral_accept" || m.kind == "repatriation_response") {
      t = find(m, false), status = "accepted";
    } else if (m.kind == "referral_decline") {
      t = find(m, false), status = "rejected";
    } else if (m.kind == "handover_confirmed") {
      t = find(m, false), status = "in_progress";
    } else if (m.kind == "referral_revoke") {
      t = find(m, true), status = "revoked";
    } else if (m.kind == "case_close" || m.kind == "return_completed") {
      status = "done";
      for (json::Json& each : transitions) {
        if (each["status"] == "accepted" || each["status"] == "in_progress") {
          each["status"] = status;
          each["done_at"] = at;
          if (m.kind == "case_close") each["success_status"] = m.note;
        }
      }
      continue;
    }
    if (t == nullptr) continue;
    (*t)["status"] = status;
    if ((*t)["responded_at"].is_null()) (*t)["responded_at"] = at;
    if (status == "rejected") (*t)["rejected_reason"] = m.note;
  }
  return {{"record_type", "case"}, {"record_id", c.ref}, {"transitions", transitions}};
}

}  // namespace nrm::agent
