// The long-running agent (`nrm-agent --config FILE run`) and the commands people run against it.
//
// One process owns the agency's store (agent/store.h): the daemon. It keeps a link to the broker
// (agent/connection.h), submits its outbox and follows each step until its recipients' signed
// receipts arrive (agent/outbox.h), stores every delivery (sealed under the local key) before
// acknowledging it, drops repeats by message id, holds a step until its sender's earlier step
// arrives, keeps each case's workflow state and consent, and confirms every step it receives
// with a signed receipt, or refuses it with a negative one (agent/delivery.h), and erases the
// closed cases whose retention is over, when it starts and every hour (agent/retention.h). It
// logs each of these to standard error (agent/log.h). It reloads the directory on SIGHUP, and when
// its broker's WELCOME names a newer serial it asks the broker for it (DIRECTORY); either is put in
// force only if the authority signed it, it has not expired and its serial is newer, and it is
// kept in data_dir/directory.toml for the next start.
//
// People's commands (inbox, show, cases, status, offer, accept, ...) are short-lived processes
// that pass their words to the daemon over a local control socket, a ZeroMQ REP on
// ipc://<data_dir>/control; data_dir is mode 0700, so only this account reaches it. A command
// fails with a clear message when no daemon runs (it never opens the store itself: one writer,
// one code path). The daemon answers with an exit code, standard output and standard error
// (agent/command.h); the commands themselves are in the table of agent/command_table.h.
//
// With metrics_listen in its config, it serves its metrics (Prometheus text) on that loopback
// address (docs/OPERATIONS.md, "Metrics").
//
// With a [web] section in its config, the daemon also serves the agency's web inbox
// (agent/web/web_server.h): its threads read the store, and hand the steps people take in the
// browser to the daemon's thread, which runs them between two turns of its loop.
//
// Thread-compatible: Run() uses the daemon from one thread; the flags that stop it and ask for a
// reload may be set from a signal handler.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/command.h"
#include "agent/connection.h"
#include "agent/log_checks.h"
#include "agent/outbox.h"
#include "agent/status.h"
#include "agent/store.h"
#include "agent/web/web_server.h"
#include "common/http/metrics.h"
#include "common/transport/control.h"

namespace nrm::agent {

class Daemon {
 public:
  // Loads keys, directory (or the newer one kept in data_dir) and policy, opens the store with
  // the local key (protected by `passphrase` when not empty), binds the control socket and,
  // with [web], starts the web inbox. Does not need the broker.
  static Result<std::unique_ptr<Daemon>> Open(const AgentConfig& config,
                                              const std::string& passphrase);
  ~Daemon();

  // Serves until `stop` becomes true: keeps the broker link, receives, submits, answers
  // commands; reloads the directory file whenever `reload` is set (and clears it). Returns the
  // error that stopped it, or OK on request.
  Status Run(const std::atomic<bool>& stop, std::atomic<bool>& reload);

  // Runs one command (the words after --config FILE). Exposed for the control socket.
  CommandOutput Handle(const std::vector<std::string>& words);

  // The web inbox's address ("http://127.0.0.1:8470"), or "" without [web].
  std::string WebUrl() const { return web_ ? web_->Url() : ""; }

 private:
  Daemon(const AgentConfig& config, std::unique_ptr<Agent> agent, std::unique_ptr<AgentStore> store,
         std::unique_ptr<transport::ControlServer> control);

  // Reads what the broker sent for up to `ms` and acts on it.
  Status Serve(int ms);
  Status Dispatch(const transport::Frames& frames);
  // Puts the signed directory `text` (from `source`) in force if it verifies, has not expired
  // and is newer; logs either way. Keeps it in data_dir for the next start.
  void AdoptDirectory(std::string_view text, const std::string& source);
  // For a command: sends `request` and serves the broker's traffic until the answer of `verb`
  // whose second frame is `key` arrives, or `timeout_ms` passed (kUnavailable).
  Result<transport::Frames> Ask(const transport::Frames& request, std::string_view verb,
                                ByteView key, int timeout_ms);

  AgentConfig config_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<AgentStore> store_;
  std::unique_ptr<transport::ControlServer> control_;
  Outbox outbox_;
  LogChecks log_checks_;  // receipts wait here for their proof (agent/log_checks.h)
  BrokerLink link_;
  int64_t directory_asked_ms_ = 0;  // when the broker was last asked for its directory
  int64_t partners_asked_ms_ = 0;   // and for its partner countries' (PARTNER-DIRECTORY)
  // A command's question to the broker (Ask): the answer it waits for, and the answer.
  std::string awaited_verb_;
  Bytes awaited_key_;
  std::optional<transport::Frames> awaited_;
  // The metrics (metrics_listen): rendered on this thread every kMetricsEveryMs (the steps are
  // counted from the store), served from the server's thread.
  static constexpr int64_t kMetricsEveryMs = 2000;
  void RenderMetrics();
  DeliveryCounts delivered_;
  int64_t metrics_at_ms_ = 0;
  MetricsPage metrics_page_;
  std::unique_ptr<http::HttpServer> metrics_server_;  // stopped before the store closes
  std::unique_ptr<web::WebServer> web_;               // last: stopped before the store closes
};

}  // namespace nrm::agent
