#include "audit/witness/add_checkpoint.h"

#include <algorithm>

#include "audit/checkpoint.h"

namespace nrm::audit::witness {

std::string FormatAddCheckpoint(const AddCheckpointRequest& request) {
  NRM_CHECK(request.proof.size() <= kMaxProofLines);
  std::string out = "old " + std::to_string(request.old_size) + "\n";
  for (const Hash& h : request.proof) out += ToBase64(h) + "\n";
  out += "\n";
  out += request.checkpoint;
  return out;
}

Result<AddCheckpointRequest> ParseAddCheckpoint(std::string_view body) {
  if (body.size() > kMaxRequestBytes) {
    return InvalidArgument("add-checkpoint: the request is larger than " +
                           std::to_string(kMaxRequestBytes) + " bytes");
  }
  auto next_line = [&body]() -> std::optional<std::string_view> {
    const size_t nl = body.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    return line;
  };
  AddCheckpointRequest r;
  const std::optional<std::string_view> old_line = next_line();
  if (!old_line || !old_line->starts_with("old ")) {
    return InvalidArgument("add-checkpoint: the first line is not \"old <size>\"");
  }
  const std::optional<uint64_t> old_size = ParseTreeSize(old_line->substr(4));
  if (!old_size) return InvalidArgument("add-checkpoint: the old size is not a decimal size");
  r.old_size = *old_size;
  while (true) {
    const std::optional<std::string_view> line = next_line();
    if (!line) return InvalidArgument("add-checkpoint: no empty line before the checkpoint");
    if (line->empty()) break;
    if (r.proof.size() == kMaxProofLines) {
      return InvalidArgument("add-checkpoint: more than 63 consistency proof lines");
    }
    Result<Bytes> hash = FromBase64(*line);
    if (!hash || hash->size() != crypto::kHashBytes) {
      return InvalidArgument("add-checkpoint: a proof line is not the base64 of 32 bytes");
    }
    Hash h;
    std::copy(hash->begin(), hash->end(), h.begin());
    r.proof.push_back(h);
  }
  if (body.empty()) return InvalidArgument("add-checkpoint: no checkpoint");
  r.checkpoint = std::string(body);
  return r;
}

Result<uint64_t> ParseConflictSize(std::string_view body) {
  if (body.empty() || body.back() != '\n') {
    return InvalidArgument("409 answer: not \"<size>\\n\"");
  }
  const std::optional<uint64_t> size = ParseTreeSize(body.substr(0, body.size() - 1));
  if (!size) return InvalidArgument("409 answer: not \"<size>\\n\"");
  return *size;
}

}  // namespace nrm::audit::witness
