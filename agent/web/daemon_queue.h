// Work the web inbox's threads hand to the daemon's thread: the one thread that may use the
// agent's broker connection and outbox (agent/daemon.h). A browser's step waits here until the
// daemon runs it between two turns of its loop, exactly as a command from the control socket.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "agent/outbox.h"

namespace nrm::agent::web {

class DaemonQueue {
 public:
  using Task = std::function<void(Outbox&)>;

  // Runs `task` on the daemon's thread and waits for it. False when it did not start within
  // `timeout_ms` (it then never runs) or the queue is stopped; once started, it is waited for.
  bool Run(Task task, int timeout_ms);
  // Runs `task` on the daemon's thread some time soon, without waiting.
  void Post(Task task);

  // The daemon's thread: runs every task queued so far.
  void RunPending(Outbox& outbox);
  // Refuses new tasks and drops the queued ones (their callers hear false).
  void Stop();

 private:
  struct Item {
    Task task;
    enum class State { kQueued, kRunning, kDone, kDropped } state = State::kQueued;
  };

  std::mutex mu_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Item>> queue_;
  bool stopped_ = false;
};

}  // namespace nrm::agent::web
