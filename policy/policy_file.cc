#include "policy/policy_file.h"

#include "common/crypto/crypto.h"
#include "common/file_util.h"

namespace nrm::policy {

std::string PolicyHash(std::string_view bytes) { return ToHex(crypto::Sha256(AsBytes(bytes))); }

Result<Policy> LoadPolicyFile(const std::string& path) {
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Policy::Parse(text, path, PolicyHash(text));
}

}  // namespace nrm::policy
