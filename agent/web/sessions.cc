#include "agent/web/sessions.h"

#include <algorithm>

#include "common/crypto/crypto.h"

namespace nrm::agent::web {
namespace {

constexpr int64_t kWindowMs = 3600 * 1000;  // failures older than this are forgotten
constexpr int64_t kAddressFree = 5;         // failures from an address before it waits
constexpr int64_t kUserUnderAttack = 10;    // failures on a user before it is guarded
constexpr int64_t kMaxWaitS = 15 * 60;
constexpr size_t kMaxTracked = 100000;  // addresses and users remembered, at most

}  // namespace

std::string SessionTable::KeyOf(const std::string& token) {
  const crypto::Hash h = crypto::Sha256(AsBytes(token));
  return ToHex(ByteView(h.data(), h.size()));
}

std::string SessionTable::Create(Session s) {
  const std::string token = ToHex(crypto::RandomBytes(32));
  s.csrf_key = crypto::RandomBytes(32);
  s.last_ms = clock_.NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  // Forget sessions that ended by idling, so that the table does not grow without bound.
  const int64_t now = s.last_ms;
  std::erase_if(sessions_, [&](const auto& kv) { return now - kv.second.last_ms > idle_ms_; });
  sessions_[KeyOf(token)] = std::move(s);
  return token;
}

std::optional<Session> SessionTable::Touch(const std::string& token) { return Find(token, true); }

std::optional<Session> SessionTable::Peek(const std::string& token) { return Find(token, false); }

std::optional<Session> SessionTable::Find(const std::string& token, bool touch) {
  if (token.size() != 64) return std::nullopt;
  const std::string key = KeyOf(token);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  const int64_t now = clock_.NowMillis();
  if (now - it->second.last_ms > idle_ms_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  if (touch) it->second.last_ms = now;
  return it->second;
}

void SessionTable::Update(const std::string& token, const Session& s) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(KeyOf(token));
  if (it == sessions_.end()) return;
  it->second.language = s.language;
  it->second.must_change = s.must_change;
}

void SessionTable::End(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(KeyOf(token));
}

void SessionTable::EndUser(const std::string& user) {
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.user == user; });
}

size_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

std::string SessionTable::CsrfToken(const Session& s, std::string_view form) {
  const crypto::SecretBytes key = crypto::SecretBytes::FromBytes(s.csrf_key);
  const crypto::Hash h = crypto::KeyedHash(key, AsBytes(form));
  return ToHex(ByteView(h.data(), h.size()));
}

bool SessionTable::CheckCsrf(const Session& s, std::string_view form, std::string_view token) {
  const std::string want = CsrfToken(s, form);
  return crypto::ConstantTimeEqual(AsBytes(want), AsBytes(token));
}

LoginThrottle::Count& LoginThrottle::Fresh(std::map<std::string, Count>& m, const std::string& key,
                                           int64_t now) {
  Count& c = m[key];
  if (now - c.last_ms > kWindowMs) c = Count{};
  return c;
}

void LoginThrottle::Trim(std::map<std::string, Count>& m, int64_t now) {
  if (m.size() <= kMaxTracked) return;
  std::erase_if(m, [&](const auto& kv) { return now - kv.second.last_ms > kWindowMs; });
  // Still full (a flood from very many addresses): forget the oldest half.
  if (m.size() > kMaxTracked) {
    std::vector<int64_t> times;
    for (const auto& kv : m) times.push_back(kv.second.last_ms);
    std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2),
                     times.end());
    const int64_t median = times[times.size() / 2];
    std::erase_if(m, [&](const auto& kv) { return kv.second.last_ms < median; });
  }
}

int64_t LoginThrottle::WaitSeconds(const std::string& user, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  const Count& a = Fresh(by_address_, address, now);
  const Count& u = Fresh(by_user_, user, now);
  int64_t wait_ms = 0;
  if (a.n >= kAddressFree) {
    const int64_t step =
        std::min<int64_t>(kMaxWaitS, int64_t{1} << std::min<int64_t>(20, a.n - kAddressFree));
    wait_ms = std::max<int64_t>(0, a.last_ms + step * 1000 - now);
  }
  if (u.n >= kUserUnderAttack && a.n > 0) {
    // The user is under attack: an address that has failed waits out the window.
    wait_ms = std::max<int64_t>(wait_ms, a.last_ms + kWindowMs - now);
  }
  return (wait_ms + 999) / 1000;
}

int64_t LoginThrottle::Failed(const std::string& user, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  Count& a = Fresh(by_address_, address, now);
  a.n++;
  a.last_ms = now;
  Count& u = Fresh(by_user_, user, now);
  u.n++;
  u.last_ms = now;
  const int64_t n = a.n;
  Trim(by_address_, now);
  Trim(by_user_, now);
  return n;
}

void LoginThrottle::Succeeded(const std::string& user, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  by_address_.erase(address);
  by_user_.erase(user);
}

}  // namespace nrm::agent::web
