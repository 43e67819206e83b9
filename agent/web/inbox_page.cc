// The inbox: what needs this agency's action first, then recent activity; search by label or
// reference (GET) and by a person's name (POST, so that the name is in no URL or history: the
// messages of the cases are opened to compare, on request).
#include <algorithm>

#include "agent/web/forms.h"
#include "agent/web/pages.h"
#include "schemas/wire/payload.h"

namespace nrm::agent::web {
namespace {

using json::Json;

constexpr size_t kPageRows = 25;  // rows a page, in each list

std::string Fold(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) {
    return static_cast<char>(ch < 0x80 ? std::tolower(ch) : ch);
  });
  return s;
}

using Row = Listed;

// What the inbox shows changes with this: the index's version, and whether the broker answers.
std::string InboxVersion(Site& site) {
  return std::to_string(site.index().version()) + (site.link().connected ? "-c" : "-n");
}

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
              {"why", r.why == nullptr ? "" : site_.Tr(lang_, r.why)},
              {"time", site_.When(r.at_ms, lang_)}};
    if (r.m != nullptr) {
      std::string other;  // the sender, or every recipient
      for (const std::string& id :
           r.m->direction == "in" ? std::vector<std::string>{r.m->from} : r.m->to) {
        other += (other.empty() ? "" : ", ") + site_.AgencyName(id);
      }
      j["other"] = other;
      j["kind"] = site_.Tr(lang_, Site::KindWords(r.m->kind));
      j["handling"] = r.m->handling;
      j["incoming"] = r.m->direction == "in";
      j["new"] = r.m->delivery == Delivery::kNew;
      // Where the step is, in the words of `nrm-agent inbox` (a step received that was simply
      // read needs none: the activity list is of steps that arrived).
      if (r.m->direction == "out" || r.m->delivery == Delivery::kHeld ||
          r.m->delivery == Delivery::kRefusedHere) {
        j["delivery"] = site_.Tr(lang_, DeliveryWords(r.m->delivery));
        j["delivery_class"] = std::string(DeliveryClass(r.m->delivery));
      }
      if (r.why != nullptr && r.rank == 0) {
        // Why, and what to do, in the agent's words.
        j["detail"] = r.m->delivery == Delivery::kActionNeeded
                          ? SaidText(site_.translator(), lang_, r.m->detail, r.m->detail_phrase)
                          : c.attention;
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

  // Rows [from, to) of `rows` (sorted), as the template shows them.
  Json Slice(const std::vector<Row>& rows, size_t page) const {
    const size_t from = std::min(rows.size(), (page - 1) * kPageRows);
    const size_t to = std::min(rows.size(), page * kPageRows);
    Json out = Json::array();
    for (size_t i = from; i < to; ++i) out.push_back(RowJson(rows[i]));
    return out;
  }

  // Sorts `rows` as far as page `page` needs (newest first, or what needs action in
  // ActionFirst order): the rows before the page are left in some order, those after it too.
  static void SortFor(std::vector<Row>& rows, size_t page, bool newest_first) {
    const auto from = static_cast<long>(std::min(rows.size(), (page - 1) * kPageRows));
    const auto to = static_cast<long>(std::min(rows.size(), page * kPageRows));
    auto before = [&](const Row& x, const Row& y) {
      return newest_first ? x.at_ms > y.at_ms : ActionFirst(x, y);
    };
    if (from > 0) std::nth_element(rows.begin(), rows.begin() + from, rows.end(), before);
    if (to < static_cast<long>(rows.size())) {
      std::nth_element(rows.begin() + from, rows.begin() + to, rows.end(), before);
    }
    std::sort(rows.begin() + from, rows.begin() + to, before);
  }

  static size_t Pages(size_t n) { return std::max<size_t>(1, (n + kPageRows - 1) / kPageRows); }
  static size_t PageOf(const std::string& asked, size_t pages) {
    const long n = std::atol(asked.c_str());
    return std::min<size_t>(pages, static_cast<size_t>(std::max(1L, n)));
  }

  Response Render(const Visit& visit, const Request& req) {
    const std::string q = Fold(req.Query("q"));
    const std::string name = req.method == "POST" ? req.Form("name") : "";
    const std::string version = InboxVersion(site_);
    Json action_rows, rows;
    size_t page = 1, pages = 1, apage = 1, apages = 1, waiting = 0;
    std::vector<std::pair<std::string, std::vector<std::string>>> with_person;
    // REQUIRES: the pages asked for are sorted.
    auto pages_of = [&](const std::vector<Row>& action, const std::vector<Row>& activity) {
      waiting = action.size();
      action_rows = Slice(action, apage);
      rows = Slice(activity, page);
    };
    auto choose_pages = [&](size_t actions, size_t activities) {
      apages = Pages(actions);
      apage = PageOf(req.Query("apage"), apages);
      pages = Pages(activities);
      page = PageOf(req.Query("page"), pages);
    };
    if (q.empty() && name.empty()) {
      // The lists as the index keeps them, sorted once after each write.
      site_.index().ReadLists(
          [&](const std::vector<Row>& action, const std::vector<Row>& activity) {
            choose_pages(action.size(), activity.size());
            pages_of(action, activity);
          });
    } else {
      // Everything from the index under its lock: rows point into it until the JSON is built.
      site_.index().Read([&](const std::map<std::string, CaseInfo>& all) {
        std::vector<Row> action, activity;
        for (const auto& [ref, c] : all) {
          if (!q.empty() && Fold(c.label).find(q) == std::string::npos && !ref.starts_with(q)) {
            continue;
          }
          if (!name.empty()) {
            // Opened outside the lock: the messages that carry a person section.
            std::vector<std::string> ids;
            for (const MessageInfo& m : c.messages) {
              if (m.person) ids.push_back(m.id);
            }
            if (!ids.empty()) with_person.emplace_back(ref, std::move(ids));
            continue;
          }
          CaseIndex::List(c, action, activity);
        }
        choose_pages(action.size(), activity.size());
        SortFor(action, apage, false);
        SortFor(activity, page, true);
        pages_of(action, activity);
      });
    }
    if (!name.empty()) {
      // The cases whose messages name the person, newest first, on one page.
      std::vector<std::string> found;
      const std::string folded = Fold(name);
      for (const auto& [ref, ids] : with_person) {
        if (HoldsName(ids, folded)) found.push_back(ref);
      }
      std::vector<CaseInfo> cases;
      for (const std::string& ref : found) {
        if (std::optional<CaseInfo> c = site_.index().Find(ref)) cases.push_back(std::move(*c));
      }
      std::vector<Row> list;
      for (const CaseInfo& c : cases) list.push_back({&c, nullptr, nullptr, c.last_ms});
      SortFor(list, 1, true);
      rows = Slice(list, 1);
    }
    auto link = [&](const char* key, size_t n, size_t other) {
      return "/inbox?" + std::string(key) + "=" + std::to_string(n) + "&" +
             (std::string(key) == "page" ? "apage" : "page") + "=" + std::to_string(other) +
             (q.empty() ? "" : "&q=" + Escape(q));
    };
    Json data = {{"title", site_.Tr(lang_, "Inbox")},
                 {"q", req.Query("q")},
                 {"name", name},
                 {"searching_name", !name.empty()},
                 {"action", action_rows},
                 {"waiting", std::to_string(waiting)},
                 {"apage", std::to_string(apage)},
                 {"apages", std::to_string(apages)},
                 {"aprev", apage > 1 ? link("apage", apage - 1, page) : ""},
                 {"anext", apage < apages ? link("apage", apage + 1, page) : ""},
                 {"rows", rows},
                 {"page", std::to_string(page)},
                 {"pages", std::to_string(pages)},
                 {"prev", page > 1 ? link("page", page - 1, apage) : ""},
                 {"next", page < pages ? link("page", page + 1, apage) : ""},
                 {"version", version},
                 {"csrf_search", SessionTable::CsrfToken(visit.session, "/inbox")}};
    return site_.Page(&visit, lang_, "inbox", std::move(data));
  }

 private:
  // Opens the messages `ids` (they carry a person section) and compares the names.
  bool HoldsName(const std::vector<std::string>& ids, const std::string& folded) const {
    for (const std::string& id : ids) {
      Result<std::optional<MessageRecord>> r = site_.store().GetMessage(id);
      if (!r.ok() || !*r) continue;
      Result<const payload::Payload*> p = wire::VerifyPayload((**r).payload);
      if (!p.ok() || (*p)->person() == nullptr) continue;
      const payload::PersonSection& person = *(*p)->person();
      std::string full;
      for (const flatbuffers::String* s : {person.first_name(), person.second_name()}) {
        if (s != nullptr) full += (full.empty() ? "" : " ") + s->str();
      }
      if (Fold(full).find(folded) != std::string::npos) return true;
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
  r.body = json::Json({{"version", InboxVersion(site)}}).dump();
  return r;
}

}  // namespace nrm::agent::web
