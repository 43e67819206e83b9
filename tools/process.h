// Child processes for the admin tool (demo, bench): spawn with redirected output, wait with a
// deadline, stop. Thread-compatible.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace nrm::tools {

// The directory holding the running executable (where nrm-broker and nrm-agent are).
std::string SelfDirectory();

// Starts argv[0] with `argv`, stdout and stderr appended to `log_path`. The child gets SIGKILL
// when the calling thread ends (PR_SET_PDEATHSIG), so a test or a demo that dies, even by
// kill -9, leaves no broker or agent behind: call it from a thread that outlives the child.
// kIOError when argv[0] cannot be executed.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path);

// The exit code, or kUnavailable when it has not exited within `timeout_ms`. A process
// killed by a signal reports 128 + the signal number.
Result<int> WaitExit(pid_t pid, int timeout_ms);

// SIGTERM, then SIGKILL if it has not exited after `grace_ms`; returns the exit code.
Result<int> Stop(pid_t pid, int grace_ms);

// Polls until `path` exists and is not empty, up to `timeout_ms`.
Status WaitForFile(const std::string& path, int timeout_ms);

}  // namespace nrm::tools
