#include "agent/workflow.h"

#include <algorithm>

namespace nrm::agent {
namespace {

struct Step {
  wire::Kind kind;
  std::vector<std::string_view> from;
  std::string_view to;
};

const std::vector<Step>& Steps() {
  using K = wire::Kind;
  static const std::vector<Step> kSteps = {
      {K::ReferralOffer, {"new", "rejected", "revoked"}, "offered"},
      {K::ReferralAccept, {"offered"}, "accepted"},
      {K::ReferralDecline, {"offered"}, "rejected"},
      {K::ReferralRevoke, {"offered", "accepted"}, "revoked"},
      {K::HandoverConfirmed, {"accepted"}, "handover_confirmed"},
      {K::RepatriationRequest, {"new", "handover_confirmed"}, "requested"},
      {K::RepatriationResponse, {"requested"}, "responded"},
      {K::TravelDocuments, {"responded", "travel_documents"}, "travel_documents"},
      {K::ReturnScheduled, {"travel_documents"}, "return_scheduled"},
      {K::ReturnCompleted, {"return_scheduled"}, "return_completed"},
      {K::ReintegrationFollowUp,
       {"return_completed", "reintegration_followup"},
       "reintegration_followup"},
      {K::CaseClose, {"handover_confirmed", "return_completed", "reintegration_followup"}, "done"},
  };
  return kSteps;
}

const Step* Find(wire::Kind kind) {
  for (const Step& s : Steps()) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

int Rank(std::string_view state) {
  const auto& all = WorkflowStates();
  auto it = std::find(all.begin(), all.end(), state);
  return it == all.end() ? -1 : static_cast<int>(it - all.begin());
}

}  // namespace

const std::vector<std::string_view>& WorkflowStates() {
  static const std::vector<std::string_view> kStates = {"new",
                                                        "offered",
                                                        "rejected",
                                                        "revoked",
                                                        "accepted",
                                                        "handover_confirmed",
                                                        "requested",
                                                        "responded",
                                                        "travel_documents",
                                                        "return_scheduled",
                                                        "return_completed",
                                                        "reintegration_followup",
                                                        "done"};
  return kStates;
}

const std::vector<wire::Kind>& WorkflowSteps() {
  static const std::vector<wire::Kind> kKinds = [] {
    std::vector<wire::Kind> k;
    for (const Step& s : Steps()) k.push_back(s.kind);
    return k;
  }();
  return kKinds;
}

bool IsStatelessKind(wire::Kind kind) { return Find(kind) == nullptr; }

std::vector<std::string> AllowedFrom(std::string_view state) {
  std::vector<std::string> out;
  for (const Step& s : Steps()) {
    if (std::find(s.from.begin(), s.from.end(), state) != s.from.end()) {
      out.emplace_back(wire::KindName(s.kind));
    }
  }
  return out;
}

Result<std::string> NextState(std::string_view state, wire::Kind kind) {
  const Step* step = Find(kind);
  if (step == nullptr) return std::string(state);
  if (std::find(step->from.begin(), step->from.end(), state) != step->from.end()) {
    return std::string(step->to);
  }
  std::string from, allowed;
  for (std::string_view f : step->from) from += (from.empty() ? "" : ", ") + std::string(f);
  for (const std::string& a : AllowedFrom(state)) allowed += (allowed.empty() ? "" : ", ") + a;
  return InvalidArgument(
      "the case is " + std::string(state) + "; " + std::string(wire::KindName(kind)) +
      " is allowed only when it is " + from + "; from " + std::string(state) +
      " the allowed steps are: " + (allowed.empty() ? "none (the case is finished)" : allowed));
}

Applied ApplyReceived(std::string_view state, wire::Kind kind) {
  const Step* step = Find(kind);
  if (step == nullptr) return {std::string(state), true};
  if (NextState(state, kind).ok()) return {std::string(step->to), true};
  // A party that joins midway sees a later step first; a re-offer after a decline or revoke
  // and a second shelter's answer are handled by the table. Anything else moving forward is
  // applied; a step backwards is recorded only.
  if (Rank(step->to) > Rank(state)) return {std::string(step->to), true};
  return {std::string(state), false};
}

}  // namespace nrm::agent
