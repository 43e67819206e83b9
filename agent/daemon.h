// The long-running agent (`nrm-agent --config FILE run`) and the commands people run against it.
//
// One process owns the agency's store (agent/store.h): the daemon. It keeps a connection to the
// broker, resends its outbox until the broker accepts each message (agent/outbox.h), stores
// every delivery (sealed under the local key) before acknowledging it, drops repeats by message
// id, keeps each case's workflow state and consent, and confirms every workflow step it
// receives with a signed receipt (Kind receipt, in_reply_to the step) back to the sender
// (agent/delivery.h).
//
// People's commands (inbox, show, cases, timeline, offer, accept, ...) are short-lived processes
// that pass their words to the daemon over a local control socket, a ZeroMQ REP on
// ipc://<data_dir>/control; data_dir is mode 0700, so only this account reaches it. A command
// fails with a clear message when no daemon runs (it never opens the store itself: one writer,
// one code path). The daemon answers with an exit code, standard output and standard error
// (agent/command.h); the commands themselves are in the table of agent/command_table.h.
//
// With a [web] section in its config, the daemon also serves the agency's web inbox
// (agent/web/web_server.h): its threads read the store, and hand the steps people take in the
// browser to the daemon's thread, which runs them between two turns of its loop.
//
// Thread-compatible: Run() uses the daemon from one thread; the flag that stops it may be set
// from a signal handler.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/command.h"
#include "agent/outbox.h"
#include "agent/store.h"
#include "agent/web/web_server.h"
#include "common/transport/control.h"

namespace nrm::agent {

class Daemon {
 public:
  // Loads keys, directory and policy, opens the store with the local key (protected by
  // `passphrase` when not empty), binds the control socket and, with [web], starts the web
  // inbox. Does not need the broker.
  static Result<std::unique_ptr<Daemon>> Open(const AgentConfig& config,
                                              const std::string& passphrase);
  ~Daemon();

  // Serves until `stop` becomes true: reconnects to the broker, receives, resends, answers
  // commands. Returns the error that stopped it, or OK on request.
  Status Run(const std::atomic<bool>& stop);

  // Runs one command (the words after --config FILE). Exposed for the control socket.
  CommandOutput Handle(const std::vector<std::string>& words);

  // The web inbox's address ("http://127.0.0.1:8470"), or "" without [web].
  std::string WebUrl() const { return web_ ? web_->Url() : ""; }

 private:
  Daemon(std::unique_ptr<Agent> agent, std::unique_ptr<AgentStore> store,
         std::unique_ptr<transport::ControlServer> control)
      : agent_(std::move(agent)),
        store_(std::move(store)),
        control_(std::move(control)),
        outbox_(*agent_, *store_) {}

  std::unique_ptr<Agent> agent_;
  std::unique_ptr<AgentStore> store_;
  std::unique_ptr<transport::ControlServer> control_;
  Outbox outbox_;
  std::unique_ptr<web::WebServer> web_;  // last: stopped before the store closes
};

}  // namespace nrm::agent
