#include "agent/web/users.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "agent/words.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/json/json.h"

namespace nrm::agent::web {
namespace {

using json::Json;

constexpr size_t kMinPassword = 10;

std::string Key(const std::string& name) {
  // Staff names are not the data nrm protects, but keys are not sealed: keep them out of sight.
  const crypto::Hash h = crypto::Sha256(AsBytes("nrm web user\n" + name));
  return "w/u/" + ToHex(ByteView(h.data(), h.size()));
}

Result<User> FromJson(const std::string& text) {
  NRM_ASSIGN_OR_RETURN(Json j, json::Parse(text));
  User u;
  auto str = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  u.name = str("name");
  u.role = str("role");
  u.password_hash = str("password_hash");
  u.language = str("language");
  u.disabled = j.contains("disabled") && j["disabled"].is_boolean() && j["disabled"].get<bool>();
  u.must_change =
      j.contains("must_change") && j["must_change"].is_boolean() && j["must_change"].get<bool>();
  u.created_ms = j.contains("created_ms") && j["created_ms"].is_number_integer()
                     ? j["created_ms"].get<int64_t>()
                     : 0;
  if (u.name.empty()) return Corruption("a user record without a name");
  return u;
}

std::string ReadSecretLine(const std::string& prompt) {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

CommandOutput Users(const CommandContext& ctx, const Args& args) {
  const auto& p = args.positional();
  const std::string sub = p.size() > 1 ? p[1] : "";
  if (sub == "list") {
    Result<std::vector<User>> all = LoadUsers(ctx.store);
    if (!all.ok()) return Refused(all.status());
    std::ostringstream out;
    Json list = Json::array();
    for (const User& u : *all) {
      const std::string state = u.disabled      ? "disabled"
                                : u.must_change ? "one-time password"
                                                : "active";
      list.push_back({{"name", u.name}, {"role", u.role}, {"state", state}});
      out << u.name << "  " << u.role << "  " << state << "\n";
    }
    if (ctx.json) return {0, JsonLine(list), ""};
    if (all->empty()) out << "no users (add one: user add NAME --role caseworker)\n";
    return {0, out.str(), ""};
  }
  if (p.size() != 3) return Usage("usage: user add|password|disable|enable NAME, or user list");
  const std::string& name = p[2];
  if (Status s = CheckUserName(name); !s.ok()) return Usage(s.message());
  Result<std::optional<User>> found = LoadUser(ctx.store, name);
  if (!found.ok()) return Refused(found.status());
  User u;
  if (sub == "add") {
    if (*found) return Refused(AlreadyExists("a user " + name + " exists already"));
    u.name = name;
    u.role = args.Get("role").value_or("");
    if (!IsUserRole(u.role)) return Usage("give --role caseworker or --role supervisor");
    u.created_ms = SystemClock::Get().NowMillis();
  } else {
    if (!*found) return Refused(NotFound("no user " + name + " (see: user list)"));
    u = **found;
  }
  std::string what;
  if (sub == "add" || sub == "password") {
    std::optional<std::string> hash = args.Get("password-hash");
    if (!hash || !hash->starts_with("$argon2id$")) {
      return Usage("no password given (nrm-agent asks for it on the terminal)");
    }
    u.password_hash = *hash;
    u.must_change = args.Has("one-time-password");
    what = sub == "add" ? "added as " + u.role : "has a new password";
    if (u.must_change) what += "; they choose their own password at the first login";
  } else if (sub == "disable" || sub == "enable") {
    u.disabled = sub == "disable";
    what = u.disabled ? "disabled: logged out and refused from now on" : "enabled";
  } else {
    return Usage("unknown: user " + sub + " (add, password, disable, enable, list)");
  }
  if (Status s = SaveUser(ctx.store, u); !s.ok()) return Refused(s);
  if (ctx.json) return {0, JsonLine({{"name", u.name}, {"role", u.role}, {"done", sub}}), ""};
  return {0, "user " + name + " " + what + "\n", ""};
}

}  // namespace

Status CheckUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) return InvalidArgument("a user name has 1 to 64 bytes");
  if (name.front() == ' ' || name.back() == ' ') {
    return InvalidArgument("a user name does not start or end with a space");
  }
  for (unsigned char ch : name) {
    if (ch < 0x20 || ch == 0x7f) return InvalidArgument("a user name has no control characters");
  }
  return Status::Ok();
}

bool IsUserRole(const std::string& role) { return role == "caseworker" || role == "supervisor"; }

Result<std::optional<User>> LoadUser(AgentStore& store, const std::string& name) {
  NRM_ASSIGN_OR_RETURN(std::optional<std::string> text, store.GetLocal(Key(name)));
  if (!text) return std::optional<User>();
  NRM_ASSIGN_OR_RETURN(User u, FromJson(*text));
  if (u.name != name) return std::optional<User>();
  return std::optional<User>(std::move(u));
}

Result<std::vector<User>> LoadUsers(AgentStore& store) {
  NRM_ASSIGN_OR_RETURN(auto records, store.ScanLocal("w/u/"));
  std::vector<User> out;
  for (const auto& [key, text] : records) {
    NRM_ASSIGN_OR_RETURN(User u, FromJson(text));
    out.push_back(std::move(u));
  }
  std::sort(out.begin(), out.end(), [](const User& a, const User& b) { return a.name < b.name; });
  return out;
}

Status SaveUser(AgentStore& store, const User& u) {
  const Json j = {{"name", u.name},
                  {"role", u.role},
                  {"password_hash", u.password_hash},
                  {"disabled", u.disabled},
                  {"must_change", u.must_change},
                  {"language", u.language},
                  {"created_ms", u.created_ms}};
  return store.PutLocal(Key(u.name), j.dump());
}

std::string MakeOneTimePassword() {
  static constexpr std::string_view kAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";
  std::string out;
  const Bytes random = crypto::RandomBytes(16);
  for (size_t i = 0; i < random.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[random[i] % kAlphabet.size()];  // 256 % 31: a negligible bias
  }
  return out;
}

const CommandSpec& UserCommand() {
  static const CommandSpec kSpec = {
      "user",
      "add NAME --role caseworker|supervisor | password NAME | disable NAME | enable NAME | list",
      "Manage the people who log in to the web inbox (passwords are asked on the terminal).",
      {{"--role ROLE", "caseworker, or supervisor (also sees who opened which case; erases cases)"},
       {"--one-time-password", "make up a password, print it, and have it changed at first login"},
       {"--password-hash H", "set by nrm-agent after asking for the password; not for people"},
       kJsonOption},
      Users,
      "add and password ask for the password twice, without echo; only its Argon2id hash\n"
      "reaches the running agent. disable logs the user out at once."};
  return kSpec;
}

Status PrepareUserCommand(std::vector<std::string>& words) {
  if (words.size() < 2 || (words[1] != "add" && words[1] != "password")) return Status::Ok();
  if (std::find(words.begin(), words.end(), "--password-hash") != words.end()) {
    return InvalidArgument("--password-hash is set by nrm-agent itself");
  }
  NRM_RETURN_IF_ERROR(crypto::InitCrypto());
  std::string password;
  if (std::find(words.begin(), words.end(), "--one-time-password") != words.end()) {
    password = MakeOneTimePassword();
    std::cout << "one-time password for " << (words.size() > 2 ? words[2] : "") << ": " << password
              << "\n";
  } else {
    password = ReadSecretLine("new password: ");
    if (password.size() < kMinPassword) {
      return InvalidArgument("a password has at least " + std::to_string(kMinPassword) +
                             " characters");
    }
    if (ReadSecretLine("the same password again: ") != password) {
      return InvalidArgument("the two passwords differ; nothing was changed");
    }
  }
  NRM_ASSIGN_OR_RETURN(std::string hash, crypto::HashPassword(password));
  words.push_back("--password-hash");
  words.push_back(hash);
  return Status::Ok();
}

}  // namespace nrm::agent::web
