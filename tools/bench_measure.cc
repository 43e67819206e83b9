// Clocks, CPU time, /proc samples of the broker process and latency percentiles for
// `nrm bench` (see bench_measure.h).
#include "tools/bench_measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace nrm::tools::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

ProcSample SampleProcess(pid_t pid) {
  ProcSample out;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = all.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream rest(all.substr(paren + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field && fields.size() < 13) fields.push_back(field);
    if (fields.size() >= 13) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      out.cpu_s = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    auto kib = [&](const char* key) {
      return line.starts_with(key) ? std::stod(line.substr(std::strlen(key))) / 1024.0 : -1.0;
    };
    if (double v = kib("VmRSS:"); v >= 0) out.rss_mib = v;
    if (double v = kib("VmHWM:"); v >= 0) out.hwm_mib = v;
  }
  return out;
}

Percentiles Summarize(std::vector<int64_t> ns) {
  Percentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    const size_t i = static_cast<size_t>(q * static_cast<double>(ns.size() - 1));
    return static_cast<double>(ns[i]) / 1000.0;
  };
  p.p50_us = at(0.50);
  p.p99_us = at(0.99);
  p.max_us = static_cast<double>(ns.back()) / 1000.0;
  return p;
}

}  // namespace nrm::tools::bench
