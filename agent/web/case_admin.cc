// What a case page offers besides steps: a new local label (`relabel`), and for supervisors
// erasure (`erase`, issue 18: a reason, then a confirmation that says what will happen), what
// is left of an erased case, its tombstone: who erased it, when and why, and which parties
// confirmed with a signed erasure receipt and which have not yet; and the supervisors' list of
// the erased cases and of those the retention rule will erase (`retention report`).
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "agent/erasure.h"
#include "agent/retention.h"
#include "agent/validate.h"
#include "agent/web/case_view.h"
#include "agent/web/pages.h"

namespace nrm::agent::web {
namespace {

using json::Json;

// The longest reason an erasure form takes, in bytes.
constexpr size_t kMaxReasonBytes = 1000;
constexpr size_t kErasedRows = 50;  // erased cases a page

// "2026-12-07T06:23:28.643Z" (FormatTimeUtc, as a tombstone keeps a receipt's time) in the
// agency's time and words; the text itself when it is not that.
std::string ReceiptTime(Site& site, std::string_view lang, const std::string& utc) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return utc;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return site.When(static_cast<int64_t>(timegm(&tm)) * 1000 + ms, lang);
}

// Who erased a case, for people: a user of this agency, the retention rule, or the erasure
// request of another agency.
std::string ErasedBy(Site& site, std::string_view lang, const std::string& by) {
  static constexpr std::string_view kRequestOf = "erasure request of ";
  if (by == kRetentionRule) return site.Tr(lang, "the retention rule");
  if (by.starts_with(kRequestOf)) {
    return FillPlaceholders(site.Tr(lang, "the erasure request of %1"),
                            {site.AgencyName(by.substr(kRequestOf.size()))});
  }
  return by;
}

}  // namespace

Response ErasedCasesPage(Site& site, const Visit& visit, const Request& req) {
  const std::string& lang = visit.lang();
  if (!visit.supervisor()) {
    return site.Problem(&visit, lang, 403,
                        site.Tr(lang, "Only a supervisor may see the erased cases."));
  }
  // From the index: the page's erased cases (newest first, kErasedRows a page, ?page=N from 1)
  // and which cases are closed; only those are read from the store.
  size_t page = static_cast<size_t>(std::max(1L, std::atol(req.Query("page").c_str())));
  size_t pages = 1;
  const std::vector<std::string> refs = site.index().ErasedPage(kErasedRows, &page, &pages);
  std::vector<std::string> closed;
  size_t open = 0;
  site.index().Read([&](const std::map<std::string, CaseInfo>& cases) {
    for (const auto& [ref, info] : cases) {
      if (info.state == "done") {
        closed.push_back(ref);
      } else if (!info.state.empty()) {
        ++open;
      }
    }
  });
  Result<RetentionPlan> plan = PlanRetentionOf(site.store(), site.agent().config(), closed);
  if (!plan.ok()) return site.Problem(&visit, lang, 500, plan.status().message());
  plan->open_cases += open;
  // What erasure leaves: the reference, when, by whom and who confirmed; nothing of the
  // person (the reason is on the tombstone's own page, in the words of the one who erased).
  std::vector<Tombstone> tombstones;
  for (const std::string& ref : refs) {
    Result<std::optional<Tombstone>> t = site.store().GetTombstone(ref);
    if (!t.ok()) return site.Problem(&visit, lang, 500, t.status().message());
    if (*t) tombstones.push_back(std::move(**t));
  }
  Json erased = Json::array();
  for (const Tombstone& t : tombstones) {
    erased.push_back(
        {{"ref", t.ref},
         {"short", t.ref.substr(0, 8)},
         {"at", site.When(t.at_ms, lang)},
         {"by", ErasedBy(site, lang, t.erased_by)},
         {"confirmed", t.asked.empty() ? site.Tr(lang, "not shared with other agencies")
                                       : FillPlaceholders(site.Tr(lang, "%1 of %2 confirmed"),
                                                          {std::to_string(t.confirmed.size()),
                                                           std::to_string(t.asked.size())})},
         {"all_confirmed", t.confirmed.size() >= t.asked.size()}});
  }
  const AgentConfig& config = site.agent().config();
  const int64_t now = RetentionClock().NowMillis();
  Json due = Json::array();
  for (const RetentionEntry& e : plan->closed) {
    if (!e.erase_at_ms) continue;
    due.push_back({{"ref", e.ref},
                   {"label", e.label.empty() ? e.ref.substr(0, 8) : e.label},
                   {"closed", site.When(e.closed_at_ms, lang)},
                   {"erase_at", site.When(*e.erase_at_ms, lang)},
                   {"due", *e.erase_at_ms <= now},
                   {"waiting", !e.waiting.empty()}});
  }
  const std::string rule =
      config.retention_days_after_close
          ? FillPlaceholders(site.Tr(lang, "A closed case is erased %1 days after it was closed."),
                             {std::to_string(*config.retention_days_after_close)})
          : site.Tr(lang,
                    "The retention rule is off: closed cases are kept until a supervisor erases "
                    "them.");
  auto link = [](size_t n) { return "/erased?page=" + std::to_string(n); };
  Json data = {{"title", site.Tr(lang, "Erased cases")},
               {"erased", erased},
               {"page", std::to_string(page)},
               {"pages", std::to_string(pages)},
               {"prev", page > 1 ? link(page - 1) : ""},
               {"next", page < pages ? link(page + 1) : ""},
               {"retention_rule", rule},
               {"due", due},
               {"open_cases", std::to_string(plan->open_cases)}};
  return site.Page(&visit, lang, "erased_cases", std::move(data));
}

Response EraseForm(Site& site, const Visit& visit, const Request& req, const std::string& ref) {
  const std::string& lang = visit.lang();
  if (!visit.supervisor()) {
    return site.Problem(&visit, lang, 403, site.Tr(lang, "Only a supervisor may erase a case."));
  }
  Result<CaseView> c = LoadCase(site, ref);
  if (!c.ok())
    return site.Problem(&visit, lang, 404, site.Tr(lang, "This agency holds no such case."));
  const std::string path = "/case/" + ref + "/erase";
  const std::string action = req.method == "POST" ? req.Form("action") : "";
  std::string reason = req.method == "POST" ? req.Form("reason") : "";
  while (!reason.empty() &&
         (reason.back() == ' ' || reason.back() == '\n' || reason.back() == '\r')) {
    reason.pop_back();
  }
  Json parties = Json::array();
  for (const std::string& p : c->record.parties) parties.push_back(site.AgencyName(p));
  Json data = {{"title", site.Tr(lang, "Erase this case")},
               {"case", ref},
               {"case_label", c->record.label.empty() ? ref.substr(0, 8) : c->record.label},
               {"action", path},
               {"csrf", SessionTable::CsrfToken(visit.session, path)},
               {"reason", reason},
               {"parties", parties},
               {"confirm", false}};
  if (action.empty()) return site.Page(&visit, lang, "erase", std::move(data));
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    data["reason_error"] = site.Tr(lang,
                                   "Say why the law requires the erasure (at most 1000 "
                                   "characters).");
    return site.Page(&visit, lang, "erase", std::move(data), 400);
  }
  if (action != "erase") {  // the confirmation: what will happen, and nothing done yet
    data["confirm"] = true;
    return site.Page(&visit, lang, "erase", std::move(data));
  }
  site.Access(ref, visit.session.user, Msg("erased the case"));
  Result<CommandOutput> out = site.Command(visit, {"erase", ref, "--reason", reason});
  if (!out.ok()) return site.Problem(&visit, lang, 503, out.status().message());
  if (out->code != 0) {
    data["refused"] = out->err;
    return site.Page(&visit, lang, "erase", std::move(data), 409);
  }
  return Response::Redirect("/case/" + ref + "?done=erased");
}

Response Relabel(Site& site, const Visit& visit, const Request& req, const std::string& ref) {
  const std::string& lang = visit.lang();
  if (req.method != "POST") return Response::Redirect("/case/" + ref);
  const std::string label = req.Form("label");
  if (label.empty() || label.size() > 200) {
    return site.Problem(&visit, lang, 400,
                        site.Tr(lang, "Give the case a label of at most 200 characters."));
  }
  Result<CommandOutput> out = site.Command(visit, {"relabel", ref, label});
  if (!out.ok()) return site.Problem(&visit, lang, 503, out.status().message());
  if (out->code != 0) return site.Problem(&visit, lang, 409, out->err);
  return Response::Redirect("/case/" + ref + "?done=relabel");
}

Response ErasedCasePage(Site& site, const Visit& visit, const Request& req, const Tombstone& t) {
  const std::string& lang = visit.lang();
  Json parties = Json::array();
  for (const std::string& a : t.asked) {
    auto done = std::find_if(t.confirmed.begin(), t.confirmed.end(),
                             [&](const std::string& c) { return c.rfind(a + " at ", 0) == 0; });
    parties.push_back(
        {{"name", site.AgencyName(a)},
         {"confirmed", done != t.confirmed.end()},
         {"at",
          done != t.confirmed.end() ? ReceiptTime(site, lang, done->substr(a.size() + 4)) : ""}});
  }
  Json access = Json::array();
  if (visit.supervisor()) {
    for (const AccessEntry& e : site.AccessLog(t.ref)) {
      access.push_back(
          {{"time", site.When(e.at_ms, lang)}, {"user", e.user}, {"what", site.Tr(lang, e.what)}});
    }
  }
  Json data = {
      {"title", site.Tr(lang, "Erased case") + " " + t.ref.substr(0, 8)},
      {"ref", t.ref},
      {"at", site.When(t.at_ms, lang)},
      {"by", t.erased_by},
      {"reason", t.reason},
      {"compacted", t.compacted},
      {"parties", parties},
      {"supervisor", visit.supervisor()},
      {"access", access},
      {"done", req.Query("done") == "erased" ? site.Tr(lang, "The case was erased here.") : ""}};
  return site.Page(&visit, lang, "erased", std::move(data));
}

}  // namespace nrm::agent::web
