// The web inbox each agency's agent serves when its config has a [web] section (docs/AGENT.md,
// "The web inbox"): caseworkers log in with their own accounts (users.h), see what needs their
// action, open cases, and take every step of the workflow through forms. A step taken in the
// browser runs the same command as one typed at the command line (agent/step_commands.h),
// on the daemon's thread, with the person's name in the timeline.
//
// Routes (every page but /login and /static/ needs a session; every POST a CSRF token):
//   GET  /login, POST /login, POST /logout, GET|POST /password, POST /language
//   GET  /inbox[?page=N&q=LABEL-OR-REFERENCE&name=PERSON]      what needs action, then activity
//   GET  /updates                                  the inbox's version (for live updates)
//   GET  /case/REF                                 the case page (and its print form)
//   GET|POST /new/referral_offer, /new/repatriation_request[?case=REF]
//   GET|POST /case/REF/step/ACTION                 accept, decline, close, respond, ...
//   GET  /static/NAME                              style sheets and the one script
//
// Thread-safe: HTTP requests are served on libmicrohttpd's threads; RunPending() is called by
// the daemon's thread only.
#pragma once

#include <memory>
#include <string>

#include "agent/agent.h"
#include "agent/connection.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "agent/web/web_config.h"

namespace nrm::agent::web {

class Site;
class HttpServer;

class WebServer {
 public:
  // Loads the templates and catalogs, indexes the store, and starts serving; writes the URL to
  // <data_dir>/web.url. `agent` and `store` must outlive the server. kInvalidArgument for a
  // template or certificate that does not load, kUnavailable when the address is taken.
  static Result<std::unique_ptr<WebServer>> Start(const WebConfig& config,
                                                  const std::string& data_dir, Agent& agent,
                                                  AgentStore& store);
  ~WebServer();  // stops serving, and waits for every request in progress

  // The daemon's thread, between two turns of its loop: takes the steps people asked for, and
  // notes the broker link's status and the directory in force for the pages.
  void RunPending(Outbox& outbox, const BrokerLink& link);
  // Stops serving (idempotent); pending steps are refused.
  void Stop();

  std::string Url() const;

 private:
  WebServer() = default;
  std::unique_ptr<Site> site_;
  std::unique_ptr<HttpServer> http_;
  std::string url_;
};

}  // namespace nrm::agent::web
