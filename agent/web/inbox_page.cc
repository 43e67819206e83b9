// The inbox: what needs this agency's action first, then recent activity; search by label or
// reference (GET) and by a person's name (POST, so that the name is in no URL or history: the
// messages of the cases are opened to compare, on request).
#include <algorithm>

#include "agent/web/pages.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;

constexpr size_t kPageRows = 25;

std::string Fold(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) {
    return static_cast<char>(ch < 0x80 ? std::tolower(ch) : ch);
  });
  return s;
}

const MessageInfo* LatestOf(const CaseInfo& c, std::string_view kind) {
  for (auto it = c.messages.rbegin(); it != c.messages.rend(); ++it) {
    if (it->kind == kind) return &*it;
  }
  return nullptr;
}

struct Row {
  const CaseInfo* c = nullptr;
  const MessageInfo* m = nullptr;
  std::string why;  // msgid; empty in the activity list
  int64_t at_ms = 0;
};

class Inbox {
 public:
  Inbox(Site& site, const Visit& visit) : site_(site), lang_(visit.lang()) {}

  Json RowJson(const Row& r) const {
    const CaseInfo& c = *r.c;
    Json j = {{"case", c.ref},
              {"short", c.ref.substr(0, 8)},
              {"label", c.label},
              {"href", "/case/" + c.ref},
              {"state", site_.Tr(lang_, Site::StateWords(c.state))},
              {"risk", c.risk.empty() ? "" : site_.Tr(lang_, c.risk)},
              {"risk_class", Fold(c.risk)},
              {"why", r.why.empty() ? "" : site_.Tr(lang_, r.why)},
              {"time", site_.When(r.at_ms, lang_)}};
    if (r.m != nullptr) {
      const std::string other = r.m->direction == "in" ? r.m->from
                                : r.m->to.empty()      ? ""
                                                       : r.m->to.front();
      j["other"] = site_.AgencyName(other);
      j["kind"] = site_.Tr(lang_, Site::KindWords(r.m->kind));
      j["handling"] = r.m->handling;
      j["incoming"] = r.m->direction == "in";
      j["new"] = r.m->direction == "in" && r.m->state == "new";
      if (r.m->direction == "out") {
        j["delivery"] = site_.Tr(lang_, DeliveryWords(r.m->delivery));
        j["delivery_class"] = std::string(DeliveryClass(r.m->delivery));
      }
    } else {
      std::string parties;
      for (const std::string& p : c.parties) {
        parties += (parties.empty() ? "" : ", ") + site_.AgencyName(p);
      }
      j["other"] = parties;
    }
    return j;
  }

  // What waits for this agency, most urgent kinds first, oldest first within a kind.
  std::vector<Row> NeedsAction(const CaseInfo& c) const {
    std::vector<Row> out;
    const MessageInfo* offer = LatestOf(c, "referral_offer");
    const MessageInfo* request = LatestOf(c, "repatriation_request");
    if (c.state == "offered" && offer && offer->direction == "in") {
      out.push_back({&c, offer, Msg("Offer waiting for your decision"), offer->at_ms});
    }
    if (c.state == "accepted" && offer && offer->direction == "in") {
      out.push_back({&c, offer, Msg("Handover to confirm"), offer->at_ms});
    }
    if ((c.state == "rejected" || c.state == "revoked") && offer && offer->direction == "out") {
      const MessageInfo* answer = c.messages.empty() ? offer : &c.messages.back();
      for (auto it = c.messages.rbegin(); it != c.messages.rend(); ++it) {
        if (it->kind == "referral_decline" || it->kind == "referral_revoke") {
          answer = &*it;
          break;
        }
      }
      out.push_back({&c, answer, Msg("Declined: offer the person elsewhere"), answer->at_ms});
    }
    if (c.state == "requested" && request && request->direction == "in") {
      out.push_back({&c, request, Msg("Repatriation request to answer"), request->at_ms});
    }
    for (const MessageInfo& m : c.messages) {
      if (m.direction == "out" && m.kind != "receipt" && m.delivery == Delivery::kActionNeeded) {
        out.push_back({&c, &m, Msg("Not delivered: action needed"), m.at_ms});
      }
      if (m.direction == "in" && m.kind == "consent_revoke" && m.state == "new") {
        out.push_back({&c, &m, Msg("Consent withdrawn"), m.at_ms});
      }
    }
    return out;
  }

  Response Render(const Visit& visit, const Request& req) {
    const std::string q = Fold(req.Query("q"));
    const std::string name = req.method == "POST" ? req.Form("name") : "";
    const long page = std::max(1L, std::atol(req.Query("page").c_str()));
    std::vector<Row> action, activity, found;
    const uint64_t version = site_.index().version();
    // Copies of the cases that matter, taken under the index's lock.
    std::vector<CaseInfo> cases;
    site_.index().ForEach([&](const CaseInfo& c) {
      if (!q.empty() && Fold(c.label).find(q) == std::string::npos && !c.ref.starts_with(q)) {
        return;
      }
      cases.push_back(c);
    });
    for (const CaseInfo& c : cases) {
      if (!name.empty()) {
        if (HoldsName(c, Fold(name))) found.push_back({&c, nullptr, "", c.last_ms});
        continue;
      }
      for (Row& r : NeedsAction(c)) action.push_back(r);
      for (const MessageInfo& m : c.messages) {
        if (m.kind != "receipt") activity.push_back({&c, &m, "", m.at_ms});
      }
    }
    std::sort(action.begin(), action.end(),
              [](const Row& a, const Row& b) { return a.at_ms < b.at_ms; });
    auto newest_first = [](const Row& a, const Row& b) { return a.at_ms > b.at_ms; };
    const size_t total = name.empty() ? activity.size() : found.size();
    std::vector<Row>& list = name.empty() ? activity : found;
    const size_t pages = std::max<size_t>(1, (total + kPageRows - 1) / kPageRows);
    const size_t p = std::min<size_t>(static_cast<size_t>(page), pages);
    const size_t from = (p - 1) * kPageRows, to = std::min(total, p * kPageRows);
    std::partial_sort(list.begin(), list.begin() + static_cast<long>(to), list.end(), newest_first);
    Json action_rows = Json::array(), rows = Json::array();
    for (const Row& r : action) action_rows.push_back(RowJson(r));
    for (size_t i = from; i < to; ++i) rows.push_back(RowJson(list[i]));
    auto link = [&](size_t n) {
      return "/inbox?page=" + std::to_string(n) + (q.empty() ? "" : "&q=" + Escape(q));
    };
    Json data = {{"title", site_.Tr(lang_, "Inbox")},
                 {"q", req.Query("q")},
                 {"name", name},
                 {"searching_name", !name.empty()},
                 {"action", action_rows},
                 {"rows", rows},
                 {"page", std::to_string(p)},
                 {"pages", std::to_string(pages)},
                 {"prev", p > 1 ? link(p - 1) : ""},
                 {"next", p < pages ? link(p + 1) : ""},
                 {"version", std::to_string(version)},
                 {"csrf_search", SessionTable::CsrfToken(visit.session, "/inbox")}};
    return site_.Page(&visit, lang_, "inbox", std::move(data));
  }

 private:
  // Opens the messages of `c` that carry a person section and compares the names.
  bool HoldsName(const CaseInfo& c, const std::string& folded) const {
    for (const MessageInfo& m : c.messages) {
      if (!m.person) continue;
      Result<std::optional<MessageRecord>> r = site_.store().GetMessage(m.id);
      if (!r.ok() || !*r) continue;
      Result<const payload::Payload*> p = wire::VerifyPayload((**r).payload);
      if (!p.ok() || (*p)->person() == nullptr) continue;
      const payload::PersonSection& person = *(*p)->person();
      for (const flatbuffers::String* s : {person.first_name(), person.second_name()}) {
        if (s != nullptr && Fold(s->str()).find(folded) != std::string::npos) return true;
      }
      if (person.first_name() && person.second_name() &&
          Fold(person.first_name()->str() + " " + person.second_name()->str()).find(folded) !=
              std::string::npos) {
        return true;
      }
    }
    return false;
  }

  // A query value for a link (letters, digits and -_. as they are; the rest %-encoded).
  static std::string Escape(const std::string& s) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : s) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
        out += static_cast<char>(ch);
      } else {
        out += '%';
        out += kHex[ch >> 4];
        out += kHex[ch & 15];
      }
    }
    return out;
  }

  Site& site_;
  std::string lang_;
};

}  // namespace

Response InboxPage(Site& site, const Visit& visit, const Request& req) {
  return Inbox(site, visit).Render(visit, req);
}

Response UpdatesJson(Site& site, const Visit&) {
  Response r;
  r.content_type = "application/json";
  r.body = "{\"version\":\"" + std::to_string(site.index().version()) + "\"}";
  return r;
}

}  // namespace nrm::agent::web
