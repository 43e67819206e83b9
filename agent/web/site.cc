#include "agent/web/site.h"

#include <algorithm>
#include <cstdio>

#include "agent/command_table.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"

namespace nrm::agent::web {
namespace {

using json::Json;

constexpr int kStepTimeoutMs = 60000;  // a step waits this long for the daemon to take it up

// True when the policy has a rule that lets `role` send `kind` to anyone.
bool MaySend(const policy::Policy& p, const std::string& role, const std::string& kind) {
  for (const policy::Rule& r : p.rules()) {
    if (std::find(r.from.begin(), r.from.end(), role) != r.from.end() &&
        std::find(r.kinds.begin(), r.kinds.end(), kind) != r.kinds.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace

Site::Site(const WebConfig& config, Agent& agent, AgentStore& store, Assets assets,
           Templates templates, Translator translator, TimeZone zone)
    : config_(config),
      agent_(agent),
      store_(store),
      directory_(std::make_shared<const identity::Directory>(agent.directory())),
      partner_serials_(agent.PartnerSerials()),
      role_(agent.role()),
      assets_(std::move(assets)),
      templates_(std::move(templates)),
      translator_(std::move(translator)),
      zone_(std::move(zone)),
      sessions_(SystemClock::Get(), config.idle_logout_s * 1000),
      throttle_(SystemClock::Get()) {
  // One cookie name per agency, so that two agents' inboxes open in one browser (cookies do
  // not tell ports apart) never take each other's session; __Host- under TLS.
  const crypto::Hash h = crypto::Sha256(AsBytes(agent.agency()));
  cookie_name_ = std::string(config.tls() ? "__Host-" : "") + "nrm-" + ToHex(ByteView(h.data(), 4));
}

std::shared_ptr<const identity::Directory> Site::directory() const {
  std::lock_guard<std::mutex> lock(mu_);
  return directory_;
}

std::string Site::role() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_;
}

LinkStatus Site::link() const {
  std::lock_guard<std::mutex> lock(mu_);
  return link_;
}

void Site::Refresh(const BrokerLink& link) {
  LinkStatus now = LinkStatusOf(link, agent_);
  // A new directory of its own country, or of a partner country (agent/partners.cc).
  std::map<std::string, int64_t> partners = agent_.PartnerSerials();
  const bool new_directory =
      directory()->serial() != agent_.directory().serial() || partners != partner_serials_;
  auto dir =
      new_directory ? std::make_shared<const identity::Directory>(agent_.directory()) : nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  link_ = std::move(now);
  if (dir) {
    directory_ = std::move(dir);
    partner_serials_ = std::move(partners);
    role_ = agent_.role();
  }
}

Response Site::Page(const Visit* visit, std::string_view lang, std::string_view tmpl, Json data,
                    int status) const {
  data["lang"] = std::string(lang);
  const std::string role = this->role();
  data["agency"] = {{"id", agent_.agency()},
                    {"name", AgencyName(agent_.agency())},
                    {"role", Tr(lang, RoleWords(role))}};
  Json languages = Json::array();
  for (const Language& l : Languages()) {
    languages.push_back({{"code", std::string(l.code)},
                         {"name", std::string(l.name)},
                         {"selected", l.code == lang}});
  }
  data["languages"] = languages;
  if (visit != nullptr) {
    data["user"] = {{"name", visit->session.user},
                    {"role", Tr(lang, visit->session.role == "supervisor" ? Msg("supervisor")
                                                                          : Msg("caseworker"))},
                    {"supervisor", visit->supervisor()}};
    data["csrf_logout"] = SessionTable::CsrfToken(visit->session, "/logout");
    data["csrf_language"] = SessionTable::CsrfToken(visit->session, "/language");
    data["here"] = visit->here;
    data["can_refer"] =
        !visit->session.must_change && MaySend(agent_.policy(), role, "referral_offer");
    data["can_repatriate"] =
        !visit->session.must_change && MaySend(agent_.policy(), role, "repatriation_request");
    data["live"] = true;
    // Whether the agent reaches its broker, as `nrm-agent status` says it.
    const LinkStatus link = this->link();
    data["link"] = {{"connected", link.connected},
                    {"never", !link.connected && !link.ever_connected},
                    {"since", When(link.since_ms, lang)},
                    {"class", link.connected ? "up" : "down"}};
  }
  Response r;
  r.status = status;
  Result<std::string> content = templates_.Render(tmpl, data, translator_, lang);
  if (!content.ok()) return Response::Text(500, content.status().message());
  data["content"] = std::move(*content);
  Result<std::string> page = templates_.Render("layout", data, translator_, lang);
  if (!page.ok()) return Response::Text(500, page.status().message());
  r.body = std::move(*page);
  return r;
}

Response Site::Problem(const Visit* visit, std::string_view lang, int status,
                       const std::string& what) const {
  return Page(visit, lang, "problem", {{"title", Tr(lang, "Not done")}, {"what", what}}, status);
}

std::string Site::Today() const { return LocalDate(SystemClock::Get().NowMillis(), zone_); }

std::string Site::AgencyName(const std::string& id) const {
  const identity::Agency* a = directory()->Find(id);
  return a ? a->name : id;
}

Json Site::AgencyJson(const std::string& id) const {
  return {{"id", id}, {"name", AgencyName(id)}};
}

std::string_view Site::KindWords(std::string_view kind) {
  static const WordTable kWords = {
      {"referral_offer", Msg("Referral offer")},
      {"referral_accept", Msg("Referral accepted")},
      {"referral_decline", Msg("Referral declined")},
      {"handover_confirmed", Msg("Handover confirmed")},
      {"referral_revoke", Msg("Referral withdrawn")},
      {"case_close", Msg("Case closed")},
      {"repatriation_request", Msg("Repatriation request")},
      {"repatriation_response", Msg("Repatriation response")},
      {"travel_documents", Msg("Travel documents")},
      {"return_scheduled", Msg("Return scheduled")},
      {"return_completed", Msg("Return completed")},
      {"reintegration_followup", Msg("Reintegration follow-up")},
      {"status_update", Msg("Case shared")},
      {"counselling_notes", Msg("Counselling notes")},
      {"interview_request", Msg("Interview request")},
      {"consent_revoke", Msg("Consent withdrawn")},
      {"h2_approval", "H2 approval"},
      {"receipt", Msg("Signed receipt")},
  };
  return WordsFor(kWords, kind);
}

std::string_view Site::StateWords(std::string_view state) {
  static const WordTable kWords = {
      {"new", Msg("new")},
      {"offered", Msg("offered")},
      {"rejected", Msg("declined")},
      {"revoked", Msg("withdrawn")},
      {"accepted", Msg("accepted")},
      {"handover_confirmed", Msg("handed over")},
      {"requested", Msg("repatriation requested")},
      {"responded", Msg("repatriation answered")},
      {"travel_documents", Msg("travel documents exchanged")},
      {"return_scheduled", Msg("return scheduled")},
      {"return_completed", Msg("returned")},
      {"reintegration_followup", Msg("in reintegration follow-up")},
      {"done", Msg("closed")},
  };
  return WordsFor(kWords, state);
}

std::string_view Site::RoleWords(std::string_view role) {
  static const WordTable kWords = {
      {"police", Msg("police")},
      {"shelter", Msg("shelter")},
      {"ngo", Msg("NGO")},
      {"ministry", Msg("ministry")},
      {"immigration", Msg("immigration")},
      {"io", Msg("international organisation")},
      {"monitor", Msg("oversight body")},
  };
  return WordsFor(kWords, role);
}

std::string_view Site::SectionWords(std::string_view section) {
  static const WordTable kWords = {
      {"case", Msg("Case")},
      {"person", Msg("Person")},
      {"context", Msg("Victim context")},
      {"needs", Msg("Needs and risk")},
      {"consent", Msg("Consent")},
      {"investigation", Msg("Investigation")},
      {"repatriation", Msg("Repatriation")},
      {"counselling", Msg("Counselling and health")},
      {"decision", Msg("Decision")},
  };
  return WordsFor(kWords, section);
}

Result<CommandOutput> Site::Command(const Visit& visit, std::vector<std::string> words,
                                    std::string_view payload_json) {
  words.push_back("--json");
  CommandOutput out;
  const std::string by = visit.session.user;
  const bool ran = daemon_.Run(
      [&](Outbox& outbox) {
        CommandContext ctx{agent_, store_, outbox, true};
        ctx.payload = payload_json;
        ctx.by = by;
        out = RunCommand(words, ctx);
      },
      kStepTimeoutMs);
  if (!ran) {
    return Unavailable(
        "the agent did not take the step up in time; nothing was sent. Try again in a moment.");
  }
  return out;
}

void Site::Access(const std::string& case_ref, const std::string& user, const std::string& what) {
  const int64_t now = SystemClock::Get().NowMillis();
  char at[32];
  std::snprintf(at, sizeof(at), "%016lld", static_cast<long long>(now));
  const Json entry = {{"at_ms", now}, {"user", user}, {"what", what}};
  const std::string key = "w/a/" + case_ref + "/" + at + "-" + ToHex(crypto::RandomBytes(4));
  if (Status s = store_.PutLocal(key, entry.dump()); !s.ok()) {
    std::fprintf(stderr, "nrm-agent web: the access log: %s\n", s.ToString().c_str());
  }
}

std::vector<AccessEntry> Site::AccessLog(const std::string& case_ref) {
  std::vector<AccessEntry> out;
  Result<std::vector<std::pair<std::string, std::string>>> all =
      store_.ScanLocal("w/a/" + case_ref + "/");
  if (!all.ok()) return out;
  for (const auto& [key, text] : *all) {
    Result<Json> j = json::Parse(text);
    if (!j.ok() || !j->is_object()) continue;
    AccessEntry e;
    e.at_ms = j->value("at_ms", int64_t{0});
    e.user = j->value("user", std::string());
    e.what = j->value("what", std::string());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace nrm::agent::web
