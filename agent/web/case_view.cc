#include "agent/web/case_view.h"

#include <algorithm>
#include <set>

#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;

bool In(std::string_view state, std::initializer_list<std::string_view> states) {
  return std::find(states.begin(), states.end(), state) != states.end();
}

}  // namespace

const MessageRecord* CaseView::Latest(std::string_view kind, std::string_view direction) const {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->kind == kind && it->direction == direction) return &*it;
  }
  return nullptr;
}

const MessageRecord* CaseView::Find(const std::string& id) const {
  for (const MessageRecord& m : messages) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

Result<CaseView> LoadCase(Site& site, const std::string& ref) {
  NRM_ASSIGN_OR_RETURN(std::optional<CaseRecord> record, site.store().GetCase(ref));
  if (!record) return NotFound("no such case here");
  CaseView c;
  c.record = std::move(*record);
  std::set<std::string> seen;
  for (const TimelineStep& s : c.record.timeline) {
    if (s.message_id.empty() || !seen.insert(s.message_id).second) continue;
    NRM_ASSIGN_OR_RETURN(std::optional<MessageRecord> m, site.store().GetMessage(s.message_id));
    if (m) c.messages.push_back(std::move(*m));
  }
  std::stable_sort(c.messages.begin(), c.messages.end(),
                   [](const MessageRecord& a, const MessageRecord& b) {
                     return a.created_at_ms < b.created_at_ms;
                   });
  auto merge = [&](ByteView payload) {
    Result<std::string> text = wire::PayloadToJson(payload);
    if (!text.ok()) return;
    Result<Json> p = json::Parse(*text);
    if (!p.ok() || !p->is_object()) return;
    for (auto& [section, fields] : p->items()) {
      if (section == "decision" || !fields.is_object()) continue;
      Json& into = c.merged[section];
      if (!into.is_object()) into = Json::object();
      for (auto& [k, v] : fields.items()) into[k] = v;
    }
  };
  // The case's data as the agent keeps it (an imported case has no message), then each step's.
  if (!c.record.payload.empty()) merge(c.record.payload);
  for (const MessageRecord& m : c.messages) {
    if (m.kind != "receipt") merge(m.payload);
  }
  return c;
}

bool MaySend(Site& site, std::string_view kind) {
  const std::string role = site.role();
  for (const policy::Rule& r : site.agent().policy().rules()) {
    if (std::find(r.from.begin(), r.from.end(), role) != r.from.end() &&
        std::find(r.kinds.begin(), r.kinds.end(), kind) != r.kinds.end()) {
      return true;
    }
  }
  return false;
}

std::vector<CaseAction> ActionsFor(Site& site, const CaseView& c) {
  std::vector<CaseAction> out;
  const std::string& state = c.record.state;
  const std::string base = "/case/" + c.record.ref + "/step/";
  auto add = [&](std::string id, std::string_view kind, std::string label, bool primary,
                 std::string href = "") {
    if (!MaySend(site, kind)) return;
    if (href.empty()) href = base + id;
    out.push_back({std::move(id), std::move(label), std::move(href), primary});
  };
  const MessageRecord* offer_in = c.Latest("referral_offer", "in");
  const MessageRecord* offer_out = c.Latest("referral_offer", "out");
  // Which side of the latest offer this agency is on.
  const bool offered_to_us =
      offer_in && (!offer_out || offer_in->created_at_ms > offer_out->created_at_ms);
  const bool we_offered = offer_out && !offered_to_us;
  if (state == "offered" && offered_to_us) {
    add("accept", "referral_accept", Msg("Accept"), true);
    add("decline", "referral_decline", Msg("Decline"), false);
  }
  if (state == "accepted" && offered_to_us) {
    add("confirm_handover", "handover_confirmed", Msg("Confirm handover"), true);
  }
  if (In(state, {"offered", "accepted"}) && we_offered) {
    add("revoke", "referral_revoke", Msg("Withdraw the offer"), false);
  }
  if (In(state, {"rejected", "revoked"}) && we_offered) {
    add("reoffer", "referral_offer", Msg("Offer to another agency"), true,
        "/new/referral_offer?case=" + c.record.ref);
  }
  if (In(state, {"new", "handover_confirmed"})) {
    add("request_repatriation", "repatriation_request", Msg("Request repatriation"), false,
        "/new/repatriation_request?case=" + c.record.ref);
  }
  const MessageRecord* request_in = c.Latest("repatriation_request", "in");
  if (state == "requested" && request_in && !c.Latest("repatriation_request", "out")) {
    add("respond", "repatriation_response", Msg("Answer the repatriation request"), true);
  }
  if (In(state, {"responded", "travel_documents"})) {
    add("travel_documents", "travel_documents", Msg("Send travel documents"), true);
  }
  if (state == "travel_documents") {
    add("schedule_return", "return_scheduled", Msg("Schedule the return"), true);
  }
  if (state == "return_scheduled") {
    add("complete_return", "return_completed", Msg("Confirm the return"), true);
  }
  if (In(state, {"return_completed", "reintegration_followup"})) {
    add("followup", "reintegration_followup", Msg("Report on reintegration"), true);
  }
  if (In(state, {"handover_confirmed", "return_completed", "reintegration_followup"})) {
    add("close", "case_close", Msg("Close the case"), false);
  }
  if (state != "done") {
    // Caregivers only: the policy lets no other role send them (policy/rules/gms.toml).
    add("counselling_notes", "counselling_notes", Msg("Add counselling notes"), false);
    add("share", "status_update", Msg("Share the case with an agency"), false);
  }
  if (c.record.consent && !c.record.consent->revoked && state != "done") {
    add("revoke_consent", "consent_revoke", Msg("The person withdrew consent"), false);
  }
  return out;
}

std::optional<CaseAction> FindAction(Site& site, const CaseView& c, std::string_view id) {
  for (CaseAction& a : ActionsFor(site, c)) {
    if (a.id == id) return a;
  }
  return std::nullopt;
}

}  // namespace nrm::agent::web
