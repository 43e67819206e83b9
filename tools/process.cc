#include "tools/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

extern char** environ;

namespace nrm::tools {

std::string SelfDirectory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  // Everything the child needs is prepared before fork: between fork and exec it makes only
  // async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return IOError("cannot open " + log_path + ": " + std::strerror(errno));
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) {
    ::close(log);
    return IOError(std::string("cannot open /dev/null: ") + std::strerror(errno));
  }
  // A close-on-exec pipe tells the parent whether exec failed: it closes empty when exec works.
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    ::close(log);
    ::close(null);
    return IOError(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // No orphans: the child is killed when the thread that started it ends (the parent died,
    // however it died), and if the parent is already gone it does not start at all.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
    if (::dup2(null, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) ::_exit(127);
    ::execve(args[0], args.data(), environ);
    const int exec_errno = errno;
    (void)!::write(status_pipe[1], &exec_errno, sizeof exec_errno);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log);
  ::close(null);
  ::close(status_pipe[1]);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (pid < 0) return IOError("cannot start " + argv[0] + ": " + std::strerror(fork_errno));
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    ::waitpid(pid, nullptr, 0);
    return IOError("cannot start " + argv[0] + ": " + std::strerror(exec_errno));
  }
  return pid;
}

Result<int> WaitExit(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    } else if (r < 0) {
      return Internal("waitpid failed for " + std::to_string(pid));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable("process " + std::to_string(pid) + " still running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<int> Stop(pid_t pid, int grace_ms) {
  ::kill(pid, SIGTERM);
  Result<int> code = WaitExit(pid, grace_ms);
  if (code.ok()) return code;
  ::kill(pid, SIGKILL);
  return WaitExit(pid, 5000);
}

Status WaitForFile(const std::string& path, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Unavailable(path + " did not appear within " + std::to_string(timeout_ms) + " ms");
}

}  // namespace nrm::tools
