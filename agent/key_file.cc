#include "agent/key_file.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/file_util.h"

namespace nrm::agent {
namespace {

constexpr std::string_view kMagic = "nrm-protected-key v1\n";

// The value of "name = <hex>" in `text`, or empty.
std::string Value(const std::string& text, const std::string& name) {
  const std::string key = "\n" + name + " = ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size();
  return text.substr(start, text.find('\n', start) - start);
}

}  // namespace

Result<identity::KeySet> LoadAgencyKeys(const std::string& path, const std::string& passphrase) {
  NRM_RETURN_IF_ERROR(CheckPrivateFile(path));
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.rfind(kMagic, 0) != 0) return identity::LoadSecretKeyFile(path);
  if (passphrase.empty()) {
    return InvalidArgument(path +
                           " is protected by a passphrase: set NRM_AGENT_PASSPHRASE before "
                           "starting the agent");
  }
  Result<Bytes> salt = FromHexExact(Value(text, "salt"), crypto::kPwhashSaltBytes, "salt");
  Result<Bytes> sealed = FromHex(Value(text, "sealed"));
  if (!salt.ok() || !sealed.ok()) return InvalidArgument(path + ": damaged protected key file");
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes key, crypto::KeyFromPassphrase(passphrase, *salt));
  Result<crypto::SecretBytes> plain = crypto::SecretBoxOpen(key, *sealed);
  if (!plain.ok()) return Unauthenticated("wrong passphrase for " + path);
  // The key file parser reads a path: give it an anonymous in-memory file (never on disk),
  // mode 0600 like the file it stands for.
  const int fd = ::memfd_create("nrm-agency-key", MFD_CLOEXEC);
  if (fd < 0) return IOError("memfd_create failed");
  Result<identity::KeySet> keys = IOError("cannot write the key to memory");
  if (::fchmod(fd, 0600) == 0 &&
      ::write(fd, plain->data(), plain->size()) == static_cast<ssize_t>(plain->size())) {
    keys = identity::LoadSecretKeyFile("/proc/self/fd/" + std::to_string(fd));
  }
  ::close(fd);
  if (!keys.ok()) return keys.status().WithContext(path);
  return keys;
}

Status ProtectKeyFile(const std::string& in, const std::string& out,
                      const std::string& passphrase) {
  if (passphrase.empty()) return InvalidArgument("set NRM_AGENT_PASSPHRASE to the passphrase");
  NRM_RETURN_IF_ERROR(identity::LoadSecretKeyFile(in).status());
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(in));
  const Bytes salt = crypto::RandomBytes(crypto::kPwhashSaltBytes);
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes key, crypto::KeyFromPassphrase(passphrase, salt));
  const Bytes sealed = crypto::SecretBoxSeal(key, AsBytes(text));
  return WriteFileAtomic(
      out, std::string(kMagic) + "salt = " + ToHex(salt) + "\nsealed = " + ToHex(sealed) + "\n",
      0600);
}

namespace {

Result<std::string> ReadPassphraseFile(const std::string& path) {
  NRM_RETURN_IF_ERROR(CheckPrivateFile(path));
  NRM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return InvalidArgument(path + " holds no passphrase");
  return text;
}

}  // namespace

Result<std::string> ReadPassphrase(const AgentConfig& config) {
  if (const char* env = std::getenv("NRM_AGENT_PASSPHRASE")) return std::string(env);
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds) {
    const std::string path = std::string(creds) + "/passphrase";
    if (std::filesystem::exists(path)) return ReadPassphraseFile(path);
  }
  if (!config.passphrase_file.empty()) return ReadPassphraseFile(config.passphrase_file);
  return std::string();
}

}  // namespace nrm::agent
