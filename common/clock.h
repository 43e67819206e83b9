// Time as nrm sees it: milliseconds since the Unix epoch, from a Clock the tests can set.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace nrm {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
};

// The system clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  static const SystemClock& Get();
};

// A clock the test sets. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_(now_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Set(int64_t now_ms) { now_.store(now_ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-29T08:20:03.123Z".
std::string FormatTimeUtc(int64_t millis);
// "2026-11-29T08:20:03Z" (the milliseconds dropped): how signed TOML documents write times.
std::string FormatTimeUtcSeconds(int64_t millis);

}  // namespace nrm
