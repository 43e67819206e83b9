// Reading and writing whole files, with the permission rules secret material needs.
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/status.h"

namespace nrm {

// The whole file, or kNotFound / kIOError naming the path.
Result<std::string> ReadFile(const std::string& path);

// Writes `contents` to `path` atomically (temp file, fsync, rename, fsync of the directory),
// created with `mode`. On failure nothing is left half-written at `path`.
Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode = 0644);

// kPermissionDenied when `path` is readable or writable by group or others (a secret key file
// must be 0600 or stricter); kNotFound when it does not exist.
Status CheckPrivateFile(const std::string& path);

// Creates `path` and its parents with mode 0700 where missing.
Status MakeDirs(const std::string& path);

}  // namespace nrm
