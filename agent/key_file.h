// The agency's secret key file, optionally protected by a passphrase. A protected file
// (`nrm-agent protect-key`) holds the ordinary key file (docs/PROTOCOL.md §Keys) sealed with
// secretbox under a key derived from the passphrase with crypto_pwhash (Argon2id):
//
//   nrm-protected-key v1
//   salt = <32 hex>
//   sealed = <hex: nonce || secretbox(key file text)>
//
// Either kind of file is refused when group or others may read it. Thread-safe.
#pragma once

#include <string>

#include "agent/agent.h"
#include "common/identity/identity.h"

namespace nrm::agent {

// Loads the keys at `path`, protected or not. kInvalidArgument when the file is protected and
// `passphrase` is empty; kUnauthenticated for a wrong passphrase; kPermissionDenied for a file
// others can read; otherwise as identity::LoadSecretKeyFile.
Result<identity::KeySet> LoadAgencyKeys(const std::string& path, const std::string& passphrase);

// Writes `out` (mode 0600): the key file `in` protected by `passphrase` (not empty). `in` must
// load as a key file; it is left as it is (delete it once the protected file works).
Status ProtectKeyFile(const std::string& in, const std::string& out, const std::string& passphrase);

// The passphrase of the agency's protected key file, from the first of: the environment
// variable NRM_AGENT_PASSPHRASE (for tests and one-off commands: it is visible to the process's
// user and may end up in a shell history or a unit file); a systemd credential
// `$CREDENTIALS_DIRECTORY/passphrase` (LoadCredential=passphrase:FILE in the unit); the
// config's `passphrase_file`, refused (kPermissionDenied) when group or others may read it.
// Empty when none is given. A trailing newline in a file is not part of the passphrase.
Result<std::string> ReadPassphrase(const AgentConfig& config);

}  // namespace nrm::agent
