// tools::Spawn: a child dies with the process that started it, however that process ends, and
// a program that cannot be started is an error, not a pid.
#include "tools/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/testing/temp_dir.h"

namespace nrm::tools {
namespace {

// True while `pid` exists and is not a zombie.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z" && state != "X";
}

bool DiesWithin(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (Alive(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Forks a middle process that starts `sleep 30` with Spawn (or, for the control, with a plain
// fork and exec), reports the grandchild's pid through a pipe and waits to be killed.
pid_t StartGrandchild(bool with_spawn, const std::string& log, pid_t* middle) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t m = ::fork();
  if (m == 0) {
    ::close(fds[0]);
    pid_t child = -1;
    if (with_spawn) {
      Result<pid_t> r = Spawn({"/bin/sleep", "30"}, log);
      child = r.ok() ? *r : -1;
    } else if ((child = ::fork()) == 0) {
      ::execl("/bin/sleep", "sleep", "30", nullptr);
      ::_exit(127);
    }
    (void)!::write(fds[1], &child, sizeof child);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t grandchild = -1;
  EXPECT_EQ(::read(fds[0], &grandchild, sizeof grandchild),
            static_cast<ssize_t>(sizeof grandchild));
  ::close(fds[0]);
  *middle = m;
  return grandchild;
}

TEST(SpawnTest, ChildDiesWhenItsParentIsKilled) {
  testing::TempDir tmp;
  pid_t middle = -1;
  const pid_t child = StartGrandchild(/*with_spawn=*/true, tmp.path() + "/log", &middle);
  ASSERT_GT(child, 0);
  ASSERT_TRUE(Alive(child));
  ASSERT_EQ(::kill(middle, SIGKILL), 0);
  ::waitpid(middle, nullptr, 0);
  EXPECT_TRUE(DiesWithin(child, std::chrono::seconds(2)));
  ::kill(child, SIGKILL);  // in case it did not
}

TEST(SpawnTest, ControlAPlainForkLeavesAnOrphan) {
  testing::TempDir tmp;
  pid_t middle = -1;
  const pid_t child = StartGrandchild(/*with_spawn=*/false, tmp.path() + "/log", &middle);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(middle, SIGKILL), 0);
  ::waitpid(middle, nullptr, 0);
  EXPECT_FALSE(DiesWithin(child, std::chrono::milliseconds(500)));  // what Spawn prevents
  ::kill(child, SIGKILL);
}

TEST(SpawnTest, AProgramThatCannotStartIsAnError) {
  testing::TempDir tmp;
  Result<pid_t> r = Spawn({tmp.path() + "/no-such-program"}, tmp.path() + "/log");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find("no-such-program"), std::string::npos);
}

}  // namespace
}  // namespace nrm::tools
