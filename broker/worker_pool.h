// A fixed set of threads that, with the calling thread, runs fn(0..n-1) and returns when all
// are done. Signature checks are the broker's largest cost per message (about 54 us each); the
// routing thread stays the only one that touches sockets, the store and the audit log.
// Private to the broker.
//
// Thread-safety: Run() is called by one thread at a time (the routing thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nrm::broker {

class WorkerPool {
 public:
  explicit WorkerPool(size_t workers) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  size_t size() const { return threads_.size(); }

  void Run(size_t n, const std::function<void(size_t)>& fn) {
    if (threads_.empty() || n < 2) {
      for (size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      done_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    const size_t mine = Drain(fn, n);
    std::unique_lock<std::mutex> lock(mu_);
    done_ += mine;
    // Every index ran, and no worker still holds this generation's fn.
    finished_.wait(lock, [&] { return done_ == n_ && active_ == 0; });
    fn_ = nullptr;
  }

 private:
  size_t Drain(const std::function<void(size_t)>& fn, size_t n) {
    size_t count = 0;
    for (size_t i = next_.fetch_add(1); i < n; i = next_.fetch_add(1)) {
      fn(i);
      ++count;
    }
    return count;
  }

  void Work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || (generation_ != seen && fn_ != nullptr); });
      if (stop_) return;
      seen = generation_;
      const std::function<void(size_t)>* fn = fn_;
      const size_t n = n_;
      ++active_;
      lock.unlock();
      const size_t count = Drain(*fn, n);
      lock.lock();
      done_ += count;
      --active_;
      finished_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_, finished_;
  const std::function<void(size_t)>* fn_ = nullptr;  // guarded by mu_
  size_t n_ = 0;                                     // guarded by mu_
  size_t done_ = 0;                                  // guarded by mu_
  size_t active_ = 0;                                // guarded by mu_
  uint64_t generation_ = 0;                          // guarded by mu_
  bool stop_ = false;                                // guarded by mu_
  std::atomic<size_t> next_{0};
  std::vector<std::thread> threads_;
};

}  // namespace nrm::broker
