#include "agent/web/daemon_queue.h"

#include <chrono>

namespace nrm::agent::web {

bool DaemonQueue::Run(Task task, int timeout_ms) {
  auto item = std::make_shared<Item>();
  item->task = std::move(task);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopped_) return false;
  queue_.push_back(item);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  done_.wait_until(lock, deadline, [&] { return item->state != Item::State::kQueued; });
  if (item->state == Item::State::kQueued) {
    item->state = Item::State::kDropped;  // the daemon skips it
    return false;
  }
  done_.wait(lock, [&] { return item->state != Item::State::kRunning; });
  return item->state == Item::State::kDone;
}

void DaemonQueue::Post(Task task) {
  auto item = std::make_shared<Item>();
  item->task = std::move(task);
  std::lock_guard<std::mutex> lock(mu_);
  if (!stopped_) queue_.push_back(std::move(item));
}

void DaemonQueue::RunPending(Outbox& outbox) {
  std::deque<std::shared_ptr<Item>> now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    now.swap(queue_);
  }
  for (const std::shared_ptr<Item>& item : now) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (item->state != Item::State::kQueued) continue;
      item->state = Item::State::kRunning;
    }
    item->task(outbox);
    {
      std::lock_guard<std::mutex> lock(mu_);
      item->state = Item::State::kDone;
    }
    done_.notify_all();
  }
}

void DaemonQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (const auto& item : queue_) {
      if (item->state == Item::State::kQueued) item->state = Item::State::kDropped;
    }
    queue_.clear();
  }
  done_.notify_all();
}

}  // namespace nrm::agent::web
