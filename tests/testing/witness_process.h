// A real `nrm witness` process for a test: its key, its config (the logs it witnesses), start,
// stop, kill -9, restart on the same state. Header-only; for tests.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "audit/note.h"
#include "audit/witness/witness.h"
#include "common/file_util.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace nrm::testing {

class WitnessProcess {
 public:
  // Writes dir/<file-safe name>/ with a new key named `name` and a config for `logs`.
  WitnessProcess(const std::string& dir, const std::string& name,
                 const std::vector<std::string>& log_vkeys) {
    std::string safe = name;
    for (char& c : safe) {
      if (c == '/') c = '_';
    }
    dir_ = dir + "/" + safe;
    NRM_CHECK(MakeDirs(dir_).ok());
    const crypto::SignKeyPair kp = crypto::GenerateSignKeyPair();
    NRM_CHECK(audit::witness::WriteWitnessKeyFile(dir_ + "/witness.key", name, kp.secret_key).ok());
    vkey_ = audit::note::FormatVerifierKey(
        *audit::note::MakeVerifierKey(name, audit::note::kTypeCosignatureV1, kp.public_key));
    std::string logs;
    for (const std::string& v : log_vkeys) logs += (logs.empty() ? "\"" : ", \"") + v + "\"";
    NRM_CHECK(WriteFileAtomic(config(),
                              "key_file = \"witness.key\"\nlisten = \"127.0.0.1:0\"\n"
                              "data_dir = \"data\"\nendpoint_file = \"url\"\n"
                              "log_file = \"witness.log\"\nlogs = [" +
                                  logs + "]\n")
                  .ok());
  }
  ~WitnessProcess() { Stop(); }

  // Starts it (on a new port the first time, on the same port after); `fault` sets
  // NRM_WITNESS_FAULT for this run. False (with the log) when it does not come up.
  ::testing::AssertionResult Start(const std::string& fault = "") {
    std::remove((dir_ + "/url").c_str());
    if (!fault.empty()) setenv("NRM_WITNESS_FAULT", fault.c_str(), 1);
    Result<pid_t> pid =
        tools::Spawn({BinDir() + "/nrm", "witness", "--config", config()}, dir_ + "/witness.out");
    unsetenv("NRM_WITNESS_FAULT");
    if (!pid.ok()) return ::testing::AssertionFailure() << pid.status().ToString();
    pid_ = *pid;
    if (!tools::WaitForFile(dir_ + "/url", 10000).ok()) {
      Result<std::string> out = ReadFile(dir_ + "/witness.out");
      return ::testing::AssertionFailure()
             << "the witness did not start: " << (out.ok() ? *out : out.status().ToString());
    }
    url_ = *ReadFile(dir_ + "/url");
    while (!url_.empty() && url_.back() == '\n') url_.pop_back();
    PinPort();
    return ::testing::AssertionSuccess();
  }
  // SIGTERM; true when it exited 0.
  bool Stop() {
    if (pid_ <= 0) return true;
    Result<int> code = tools::Stop(pid_, 5000);
    pid_ = -1;
    return code.ok() && *code == 0;
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    (void)tools::WaitExit(pid_, 5000);
    pid_ = -1;
  }
  // Waits for it to exit by itself (e.g. a fault seam that kills it); its exit code.
  Result<int> WaitExit(int timeout_ms) {
    Result<int> code = tools::WaitExit(pid_, timeout_ms);
    if (code.ok()) pid_ = -1;
    return code;
  }

  const std::string& url() const { return url_; }
  const std::string& vkey() const { return vkey_; }
  std::string config() const { return dir_ + "/witness.toml"; }
  const std::string& dir() const { return dir_; }

 private:
  // The port it got, into its config: a restart listens where the log submits.
  void PinPort() {
    const std::string port = url_.substr(url_.rfind(':') + 1);
    std::string text = *ReadFile(config());
    const std::string any = "listen = \"127.0.0.1:0\"";
    if (size_t at = text.find(any); at != std::string::npos) {
      text.replace(at, any.size(), "listen = \"127.0.0.1:" + port + "\"");
      NRM_CHECK(WriteFileAtomic(config(), text).ok());
    }
  }

  std::string dir_;
  std::string vkey_;
  std::string url_;
  pid_t pid_ = -1;
};

}  // namespace nrm::testing
