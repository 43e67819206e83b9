// The people who use the web inbox: one account each, never a shared login. A user has a name,
// a role (caseworker: works on cases; supervisor: also sees who opened which case, and erases
// cases), a password stored as crypto_pwhash_str (Argon2id) and, when an administrator set a
// one-time password, the duty to choose a new one at the first login. Users are records of the
// agent's own store (sealed under its local key, agent/store.h), written only by the daemon's
// thread.
//
// `nrm-agent --config FILE user add NAME --role caseworker|supervisor` asks for the password
// twice on the terminal (or, with --one-time-password, makes one up and prints it), hashes it in
// its own process and passes only the hash to the running agent; `user list`, `user disable
// NAME`, `user enable NAME` and `user password NAME` (a new password) do the rest.
//
// Functions taking an AgentStore follow its threading rules; the rest are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/command.h"
#include "agent/store.h"

namespace nrm::agent::web {

struct User {
  std::string name;
  std::string role;  // "caseworker" or "supervisor"
  std::string password_hash;
  bool disabled = false;
  bool must_change = false;  // a one-time password: a new one is chosen at the first login
  std::string language;      // the user's choice; empty: the inbox's default
  int64_t created_ms = 0;
};

// OK for a name people can use: 1 to 64 characters, no control characters, no spaces at
// either end. kInvalidArgument saying what is wrong otherwise.
Status CheckUserName(const std::string& name);
bool IsUserRole(const std::string& role);

Result<std::optional<User>> LoadUser(AgentStore& store, const std::string& name);
Result<std::vector<User>> LoadUsers(AgentStore& store);
Status SaveUser(AgentStore& store, const User& user);

// A new password people can type: 16 letters and digits from an unambiguous alphabet, in
// groups of four.
std::string MakeOneTimePassword();

// The `user` command's usage and handler (served by the running agent).
const CommandSpec& UserCommand();

// What nrm-agent does in its own process before passing `user add|password` to the running
// agent: asks for the password twice (on the terminal without echo, else two lines of standard
// input) or, with --one-time-password, makes one up and prints it; then replaces it by its hash
// (--password-hash). `words` start at the command name. kInvalidArgument when the two entries
// differ or the password is too short (fewer than 10 characters).
Status PrepareUserCommand(std::vector<std::string>& words);

}  // namespace nrm::agent::web
