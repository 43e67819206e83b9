// Metrics in the Prometheus text exposition format 0.0.4, and the loopback HTTP endpoint that
// serves them (GET /metrics). MetricsText builds the text in memory: families in the order first
// added, each with its # HELP and # TYPE lines once, then its samples; label values are escaped
// as the format says (backslash, double quote, newline). What goes in a label is the caller's
// duty: never a case reference, a label or anything about a person (docs/OPERATIONS.md lists
// every metric).
//
// MetricsText and HistogramCounts are thread-compatible; MetricsPage is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/http/server.h"
#include "common/status.h"

namespace nrm {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  void Counter(const std::string& name, const std::string& help, double value,
               const MetricLabels& labels = {});
  void Gauge(const std::string& name, const std::string& help, double value,
             const MetricLabels& labels = {});
  // A histogram from cumulative bucket counts: `buckets` pairs an upper bound with the count of
  // observations at or below it; +Inf is `count`.
  void Histogram(const std::string& name, const std::string& help,
                 const std::vector<std::pair<double, uint64_t>>& buckets, uint64_t count,
                 double sum, const MetricLabels& labels = {});
  // nrm_build_info{program, version} 1.
  void BuildInfo(const std::string& program);
  // The whole text, ending with a newline.
  std::string Text() const;

 private:
  struct Family {
    std::string help, type;
    std::vector<std::string> samples;
  };
  Family& Of(const std::string& name, const std::string& help, const std::string& type);
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

// A fixed-bucket histogram to observe into (e.g. fsync durations, in seconds).
class HistogramCounts {
 public:
  explicit HistogramCounts(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size()) {}
  void Observe(double v);
  void AddTo(MetricsText& m, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// The text a process last rendered, for the server's threads to serve: a process whose state
// belongs to one thread renders it there (e.g. once a second) and publishes it here.
class MetricsPage {
 public:
  void Publish(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    text_ = std::move(text);
  }
  std::string Text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

// The content type of the text format 0.0.4.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Parses a `metrics_listen` setting, "127.0.0.1:PORT" (port 0: any free port). Metrics are not
// authenticated, so only a loopback address (127.0.0.0/8) is taken; anything else is
// kInvalidArgument naming the value.
Result<std::pair<std::string, uint16_t>> ParseMetricsListen(const std::string& listen);

// Serves GET /metrics with what `render` returns (called on the server's threads); any other
// path is 404, any other method 405. `listen` as ParseMetricsListen takes it.
Result<std::unique_ptr<http::HttpServer>> ServeMetrics(const std::string& listen,
                                                       std::function<std::string()> render);

}  // namespace nrm
