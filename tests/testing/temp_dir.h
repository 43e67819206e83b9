// A fresh directory for one test, removed afterwards unless NRM_KEEP_TEST_DIRS is set.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace nrm::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/nrm-test-XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty() && std::getenv("NRM_KEEP_TEST_DIRS") == nullptr) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Where the build put nrm, nrm-broker and nrm-agent (set by CTest; falls back to the cwd).
inline std::string BinDir() {
  const char* dir = std::getenv("NRM_BIN_DIR");
  return dir ? dir : ".";
}

}  // namespace nrm::testing
