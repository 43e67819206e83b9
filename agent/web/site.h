// What every page of the web inbox works with: the agent (its policy, read-only from the web's
// threads), copies of what the daemon's thread may change (the directory in force, this agency's
// role in it, the broker link's status: renewed by Refresh), the store (read from the web's
// threads; steps go through the daemon's thread, DaemonQueue), the case index, the sessions, the
// templates and catalogs, the agency's time zone; and the helpers pages share (rendering in the
// layout, words for kinds and states, local times, the access log). Owned by the WebServer
// (web_server.h). Thread-safe: its parts are immutable or guard themselves.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.h"
#include "agent/command.h"
#include "agent/status.h"
#include "agent/store.h"
#include "agent/web/assets.h"
#include "agent/web/case_index.h"
#include "agent/web/daemon_queue.h"
#include "agent/web/html.h"
#include "agent/web/http.h"
#include "agent/web/i18n.h"
#include "agent/web/local_time.h"
#include "agent/web/sessions.h"
#include "agent/web/web_config.h"
#include "common/json/json.h"

namespace nrm::agent::web {

// One request of a person who is logged in.
struct Visit {
  std::string token;  // the session cookie's value
  Session session;
  std::string here;  // the page's path, to come back to after changing the language
  const std::string& lang() const { return session.language; }
  bool supervisor() const { return session.role == "supervisor"; }
};

struct AccessEntry {
  int64_t at_ms = 0;
  std::string user, what;
};

class Site {
 public:
  Site(const WebConfig& config, Agent& agent, AgentStore& store, Assets assets, Templates templates,
       Translator translator, TimeZone zone);

  const WebConfig& config() const { return config_; }
  Agent& agent() { return agent_; }
  // The directory in force and this agency's role in it, as the daemon's thread last saw them: a
  // page holds its copy for the whole request, whatever the daemon adopts meanwhile.
  std::shared_ptr<const identity::Directory> directory() const;
  std::string role() const;
  // The broker link, as `nrm-agent status` gives it.
  LinkStatus link() const;
  // The daemon's thread, between two turns of its loop: renews the copies above.
  void Refresh(const BrokerLink& link);
  AgentStore& store() { return store_; }
  CaseIndex& index() { return index_; }
  SessionTable& sessions() { return sessions_; }
  LoginThrottle& throttle() { return throttle_; }
  DaemonQueue& daemon() { return daemon_; }
  const Assets& assets() const { return assets_; }
  const Translator& translator() const { return translator_; }
  const TimeZone& zone() const { return zone_; }

  // `tmpl` rendered with `data`, inside the layout, as a response. `visit` is null on pages
  // for people not logged in.
  Response Page(const Visit* visit, std::string_view lang, std::string_view tmpl, json::Json data,
                int status = 200) const;
  // A short page saying what went wrong (status 400, 403, 404, 409, ...).
  Response Problem(const Visit* visit, std::string_view lang, int status,
                   const std::string& what) const;

  std::string Tr(std::string_view lang, std::string_view msgid) const {
    return std::string(translator_.Tr(lang, msgid));
  }
  std::string When(int64_t ms, std::string_view lang) const {
    return FormatLocalTime(ms, zone_, lang);
  }
  std::string Today() const;  // YYYY-MM-DD in the agency's zone
  // The directory's name of an agency, or its id.
  std::string AgencyName(const std::string& id) const;
  json::Json AgencyJson(const std::string& id) const;
  // Words for people (English msgids; translate with Tr).
  static std::string_view KindWords(std::string_view kind);
  static std::string_view StateWords(std::string_view state);
  static std::string_view RoleWords(std::string_view role);
  static std::string_view SectionWords(std::string_view section);

  // Runs the served command `words` on the daemon's thread, for the person of `visit`, with
  // the case data `payload_json` taken where --file would be read (and checked the same way);
  // the same code path as `nrm-agent COMMAND`. kUnavailable when the agent did not take it up
  // in time.
  Result<CommandOutput> Command(const Visit& visit, std::vector<std::string> words,
                                std::string_view payload_json = {});

  // The access log of a case: who opened it (or printed it) and when. Written from the web's
  // threads (records of their own, "w/a/<case>/<time>").
  void Access(const std::string& case_ref, const std::string& user, const std::string& what);
  std::vector<AccessEntry> AccessLog(const std::string& case_ref);

  std::string cookie_name() const { return cookie_name_; }

 private:
  const WebConfig config_;
  Agent& agent_;
  AgentStore& store_;
  mutable std::mutex mu_;  // guards directory_, role_, link_
  std::shared_ptr<const identity::Directory> directory_;
  // The partner countries' directory serials in directory_ (the daemon's thread's alone).
  std::map<std::string, int64_t> partner_serials_;
  std::string role_;
  LinkStatus link_;
  Assets assets_;
  Templates templates_;
  Translator translator_;
  TimeZone zone_;
  CaseIndex index_;
  SessionTable sessions_;
  LoginThrottle throttle_;
  DaemonQueue daemon_;
  std::string cookie_name_;
};

}  // namespace nrm::agent::web
