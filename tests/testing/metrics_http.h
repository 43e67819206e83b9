// For tests of the metrics endpoints: a plain HTTP/1.0 request to 127.0.0.1, a free port, a
// sample's value, and Prometheus's own checks of a text.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "common/status.h"

namespace nrm::testing {

struct HttpAnswer {
  int status = 0;
  std::string headers;  // as received, lower-cased
  std::string body;
};

inline Result<HttpAnswer> HttpRequest(uint16_t port, const std::string& method,
                                      const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Internal("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return Unavailable("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  const std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return Unavailable("cannot send the request");
  }
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = all.find("\r\n\r\n");
  if (!all.starts_with("HTTP/1.") || end == std::string::npos || all.size() < 12) {
    return Internal("not an HTTP answer: " + all.substr(0, 80));
  }
  HttpAnswer a;
  a.status = std::stoi(all.substr(9, 3));
  a.headers = all.substr(0, end);
  for (char& c : a.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.body = all.substr(end + 4);
  return a;
}

// A port no one listens on now (the system's choice for a socket closed at once).
inline uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The value of the sample `series` (its name and labels as written), or -1 when it is absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

// GET /metrics from 127.0.0.1:`port` until the sample `series` has `value` (they are rendered
// once a second, an agent's every 2 s), for at most 20 s: the last text seen.
inline std::string MetricsWhen(uint16_t port, const std::string& series, double value) {
  std::string text;
  for (int i = 0; i < 100; ++i) {
    Result<HttpAnswer> a = HttpRequest(port, "GET", "/metrics");
    if (a.ok()) {
      EXPECT_EQ(a->status, 200);
      EXPECT_NE(a->headers.find("content-type: text/plain; version=0.0.4; charset=utf-8"),
                std::string::npos)
          << a->headers;
      text = a->body;
      if (MetricValue(text, series) == value) break;
    }
    ::usleep(200 * 1000);
  }
  return text;
}

// Prometheus's own tools take `text`: the Python client's parser always (tools/setup.sh installs
// it), promtool's lint where the prometheus package is installed (CI sets NRM_REQUIRE_PROMTOOL).
// `dir` is a scratch directory.
inline ::testing::AssertionResult PrometheusAccepts(const std::string& text, const std::string& dir) {
  const std::string in = dir + "/metrics.txt";
  const std::string out = dir + "/metrics-check.out";
  if (!WriteFileAtomic(in, text).ok()) return ::testing::AssertionFailure() << "cannot write " << in;
  auto run = [&](const std::string& command) {
    const int rc = std::system((command + " < " + in + " > " + out + " 2>&1").c_str());
    return WEXITSTATUS(rc);
  };
  auto printed = [&] {
    Result<std::string> o = ReadFile(out);
    return o.ok() ? *o : o.status().ToString();
  };
  if (run("/usr/bin/python3 -c 'import sys; from prometheus_client.parser import "
          "text_string_to_metric_families as p; list(p(sys.stdin.read()))'") != 0) {
    return ::testing::AssertionFailure() << "prometheus_client's parser: " << printed();
  }
  if (std::system("command -v promtool > /dev/null") == 0) {
    if (run("promtool check metrics") != 0) {
      return ::testing::AssertionFailure() << "promtool check metrics: " << printed();
    }
  } else if (std::getenv("NRM_REQUIRE_PROMTOOL") != nullptr) {
    return ::testing::AssertionFailure() << "promtool is not installed (apt-get install prometheus)";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace nrm::testing
