// What a case page offers besides steps: a new local label (`relabel`), and for supervisors
// erasure (`erase`, issue 18: a reason, then a confirmation that says what will happen), and what
// is left of an erased case, its tombstone: who erased it, when and why, and which parties
// confirmed with a signed erasure receipt and which have not yet.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "agent/web/case_view.h"
#include "agent/web/pages.h"

namespace nrm::agent::web {
namespace {

using json::Json;

// The longest reason an erasure form takes, in bytes.
constexpr size_t kMaxReasonBytes = 1000;

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

}  // namespace

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
