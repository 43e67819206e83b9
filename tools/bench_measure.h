// What `nrm bench` measures with, besides the messages themselves: a monotonic clock in
// nanoseconds, the CPU time of the calling thread and of this whole process, the CPU time and
// resident memory (now and at peak) of another process read from /proc, and latency
// percentiles. Linux only. Stateless functions, thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nrm::tools::bench {

// steady_clock, in nanoseconds.
int64_t NowNs();
// CPU seconds (user + system) of the calling thread.
double ThreadCpuSeconds();
// CPU seconds (user + system) of this process, every thread.
double SelfCpuSeconds();

// CPU seconds (user + system) and resident memory of another process, from /proc.
struct ProcSample {
  double cpu_s = 0;
  double rss_mib = 0;
  double hwm_mib = 0;
};
// Zeros for what cannot be read (e.g. the process has gone).
ProcSample SampleProcess(pid_t pid);

struct Percentiles {
  double p50_us = 0, p99_us = 0, max_us = 0;
  size_t count = 0;
};
// Percentiles of latencies given in nanoseconds; all zero for none.
Percentiles Summarize(std::vector<int64_t> ns);

}  // namespace nrm::tools::bench
