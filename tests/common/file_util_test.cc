// MakeDirs: every directory it makes is 0700 (data directories hold the store, keys and the
// control socket), whatever the umask; a file in the way is an error naming it.
#include "common/file_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/testing/temp_dir.h"

namespace nrm {
namespace {

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(MakeDirsTest, EveryDirectoryItMakesIs0700WhateverTheUmask) {
  testing::TempDir tmp;
  const mode_t old = ::umask(022);
  Status s = MakeDirs(tmp.path() + "/data/broker/store");
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const char* d : {"/data", "/data/broker", "/data/broker/store"}) {
    EXPECT_EQ(ModeOf(tmp.path() + d), 0700u) << d;
  }
  EXPECT_TRUE(MakeDirs(tmp.path() + "/data/broker").ok());  // already there: fine
}

TEST(MakeDirsTest, AFileInTheWayIsNamed) {
  testing::TempDir tmp;
  ASSERT_TRUE(WriteFileAtomic(tmp.path() + "/data", "x").ok());
  Status s = MakeDirs(tmp.path() + "/data/broker");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(tmp.path() + "/data"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace nrm
