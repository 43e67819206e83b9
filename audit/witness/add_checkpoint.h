// The body of a C2SP tlog-witness v1.0.0 add-checkpoint request (c2sp.org/tlog-witness@v1.0.0),
// which a log POSTs to <submission prefix>/add-checkpoint:
//
//   old <size>\n                 the size of the checkpoint the witness last cosigned (or 0)
//   <base64 hash>\n              zero to 63 lines: the RFC 6962 consistency proof from old size
//   \n                           an empty line
//   <checkpoint note>            the signed checkpoint (checkpoint.h), which may carry several
//                                signatures
//
// and of its 409 answer, "<size>\n" with Content-Type text/x.tlog.size. Parsers take input from
// anyone: they never abort. Pure functions and value types; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audit/merkle.h"
#include "common/status.h"

namespace nrm::audit::witness {

inline constexpr size_t kMaxProofLines = 63;
// An upper bound on a request: 63 proof lines, a checkpoint note (note::kMaxNoteBytes) and the
// old size line.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
inline constexpr std::string_view kTreeSizeContentType = "text/x.tlog.size";
inline constexpr std::string_view kAddCheckpointPath = "/add-checkpoint";

struct AddCheckpointRequest {
  uint64_t old_size = 0;
  std::vector<Hash> proof;  // from old_size to the checkpoint's size
  std::string checkpoint;   // the note, as sent (not parsed here)

  bool operator==(const AddCheckpointRequest&) const = default;
};

// REQUIRES: proof.size() <= kMaxProofLines.
std::string FormatAddCheckpoint(const AddCheckpointRequest& request);
// kInvalidArgument (a 400 answer) when `body` is not an old size line, at most 63 lines of
// base64 32-byte hashes and an empty line, followed by something (the checkpoint, which the
// caller parses), or is longer than kMaxRequestBytes.
Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body);

// The size of a 409 answer's body, "<size>\n". kInvalidArgument otherwise.
Result<uint64_t> ParseConflictSize(std::string_view body);

}  // namespace nrm::audit::witness
