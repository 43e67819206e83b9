// Who is logged in to the web inbox, and how often a login may be tried.
//
// A session is named by 32 random bytes (the cookie's value, 64 hex digits); the table keeps
// only their SHA-256, so a memory dump does not hand out live cookies. A session ends after
// `idle` without a request, at logout, or when its user is disabled. Each session has its own
// CSRF key: the token of a form is a keyed hash of the form's path under it, so a token is good
// for one session and one form only. Sessions live in memory: restarting the agent logs
// everybody out.
//
// Failed logins slow down, per address and per user (LoginThrottle): after 5 failures from an
// address, that address waits 1 s, 2 s, 4 s ... (at most 15 minutes) between attempts; after 10
// failures on one user within an hour, that user may be tried only from addresses that have not
// failed, so an attacker cannot lock the real user out while the user can still log in from
// their own desk.
//
// Thread-safe (one mutex each).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"

namespace nrm::agent::web {

struct Session {
  std::string user, role, language;
  bool must_change = false;  // only the new-password page until it is changed
  Bytes csrf_key;            // 32 random bytes
  int64_t last_ms = 0;
};

class SessionTable {
 public:
  SessionTable(const Clock& clock, int64_t idle_ms) : clock_(clock), idle_ms_(idle_ms) {}

  // A new session; returns the cookie value.
  std::string Create(Session s);
  // The live session of cookie `token`, its idle time restarted; nullopt when unknown or idle
  // for too long (then it is gone).
  std::optional<Session> Touch(const std::string& token);
  // The same without restarting the idle time: what a page asks by itself (live updates) must
  // not keep an unattended session alive.
  std::optional<Session> Peek(const std::string& token);
  // Changes the live session of `token` (language, must_change); no-op when unknown.
  void Update(const std::string& token, const Session& s);
  void End(const std::string& token);
  // Ends every session of `user` (disabled, or a new password).
  void EndUser(const std::string& user);
  size_t size() const;

  // The CSRF token of form `form` (its path) in session `s`, and its check (constant time).
  static std::string CsrfToken(const Session& s, std::string_view form);
  static bool CheckCsrf(const Session& s, std::string_view form, std::string_view token);

 private:
  static std::string KeyOf(const std::string& token);
  std::optional<Session> Find(const std::string& token, bool touch);

  const Clock& clock_;
  const int64_t idle_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Session> sessions_;  // by SHA-256 of the token
};

class LoginThrottle {
 public:
  explicit LoginThrottle(const Clock& clock) : clock_(clock) {}

  // Seconds to wait before `address` may try `user` again; 0 when it may try now.
  int64_t WaitSeconds(const std::string& user, const std::string& address);
  // A failure; returns the number of failures from `address` in the current window.
  int64_t Failed(const std::string& user, const std::string& address);
  void Succeeded(const std::string& user, const std::string& address);

 private:
  struct Count {
    int64_t n = 0;
    int64_t last_ms = 0;
  };
  Count& Fresh(std::map<std::string, Count>& m, const std::string& key, int64_t now);
  static void Trim(std::map<std::string, Count>& m, int64_t now);

  const Clock& clock_;
  std::mutex mu_;
  std::map<std::string, Count> by_address_, by_user_;
};

}  // namespace nrm::agent::web
