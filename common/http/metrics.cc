#include "common/http/metrics.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace nrm {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Sample(const std::string& name, const MetricLabels& labels, double value) {
  std::string out = name;
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      out += (i ? "," : "") + labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
    }
    out += '}';
  }
  return out + " " + Number(value);
}

}  // namespace

MetricsText::Family& MetricsText::Of(const std::string& name, const std::string& help,
                                     const std::string& type) {
  auto [it, added] = families_.try_emplace(name);
  if (added) {
    order_.push_back(name);
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

void MetricsText::Counter(const std::string& name, const std::string& help, double value,
                          const MetricLabels& labels) {
  Of(name, help, "counter").samples.push_back(Sample(name, labels, value));
}

void MetricsText::Gauge(const std::string& name, const std::string& help, double value,
                        const MetricLabels& labels) {
  Of(name, help, "gauge").samples.push_back(Sample(name, labels, value));
}

void MetricsText::Histogram(const std::string& name, const std::string& help,
                            const std::vector<std::pair<double, uint64_t>>& buckets,
                            uint64_t count, double sum, const MetricLabels& labels) {
  Family& f = Of(name, help, "histogram");
  for (const auto& [le, n] : buckets) {
    MetricLabels l = labels;
    l.emplace_back("le", Number(le));
    f.samples.push_back(Sample(name + "_bucket", l, static_cast<double>(n)));
  }
  MetricLabels inf = labels;
  inf.emplace_back("le", "+Inf");
  f.samples.push_back(Sample(name + "_bucket", inf, static_cast<double>(count)));
  f.samples.push_back(Sample(name + "_sum", labels, sum));
  f.samples.push_back(Sample(name + "_count", labels, static_cast<double>(count)));
}

void MetricsText::BuildInfo(const std::string& program) {
  Gauge("nrm_build_info", "The program and its version (the value is always 1).", 1,
        {{"program", program}, {"version", NRM_VERSION}});
}

std::string MetricsText::Text() const {
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.at(name);
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const std::string& s : f.samples) out += s + "\n";
  }
  return out;
}

void HistogramCounts::Observe(double v) {
  ++count_;
  sum_ += v;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (v <= bounds_[i]) {
      ++counts_[i];
      return;
    }
  }
}

void HistogramCounts::AddTo(MetricsText& m, const std::string& name,
                            const std::string& help) const {
  std::vector<std::pair<double, uint64_t>> cumulative;
  uint64_t running = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i];
    cumulative.emplace_back(bounds_[i], running);
  }
  m.Histogram(name, help, cumulative, count_, sum_);
}

Result<std::pair<std::string, uint16_t>> ParseMetricsListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  in_addr addr{};
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::atoi(port.c_str()) > 65535 || inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    return InvalidArgument("metrics_listen \"" + listen +
                           "\" is not an address and port such as 127.0.0.1:9470");
  }
  if ((ntohl(addr.s_addr) >> 24) != 127) {
    return InvalidArgument("metrics_listen \"" + listen +
                           "\": metrics are served on a loopback address (127.0.0.1) only");
  }
  return std::make_pair(host, static_cast<uint16_t>(std::atoi(port.c_str())));
}

Result<std::unique_ptr<http::HttpServer>> ServeMetrics(const std::string& listen,
                                                       std::function<std::string()> render) {
  NRM_ASSIGN_OR_RETURN(const auto where, ParseMetricsListen(listen));
  http::HttpServerOptions options;
  options.host = where.first;
  options.port = where.second;
  options.max_body_bytes = 0;
  options.threads = 1;
  options.connection_limit = 16;
  options.connection_timeout_s = 10;
  return http::HttpServer::Start(
      options, [render = std::move(render)](const http::HttpRequest& req) -> http::HttpResponse {
        if (req.path != "/metrics") return {404, "text/plain; charset=utf-8", "not found\n"};
        if (req.method != "GET") return {405, "text/plain; charset=utf-8", "GET only\n"};
        return {200, kMetricsContentType, render()};
      });
}

}  // namespace nrm
