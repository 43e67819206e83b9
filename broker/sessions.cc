#include "broker/sessions.h"

namespace nrm::broker {
namespace {

// Forgets `message_id` delivered from `seq` (any seq when nullopt): true when `s` held it.
bool Forget(Session& s, const Bytes& message_id, std::optional<uint64_t> seq,
            uint64_t* found_seq = nullptr) {
  auto [first, last] = s.unacknowledged.equal_range(message_id);
  for (auto it = first; it != last; ++it) {
    if (seq && it->second.seq != *seq) continue;
    if (found_seq != nullptr) *found_seq = it->second.seq;
    s.bytes -= it->second.bytes;
    s.unacknowledged.erase(it);
    return true;
  }
  return false;
}

}  // namespace

bool Sessions::Connect(const std::string& agency, const Bytes& routing_id, int connection) {
  Session& session = sessions_[agency];
  if (session.routing_id == routing_id) return false;
  // (A session on the same descriptor is a connection that is gone, its number reused.)
  if (!session.unacknowledged.empty() && session.connection >= 0 &&
      session.connection != connection) {
    retired_[agency][session.connection] = std::move(session);
  }
  session = Session{routing_id, connection, 0, {}, 0, 0};
  return true;
}

Session* Sessions::Find(const std::string& agency) {
  auto it = sessions_.find(agency);
  return it == sessions_.end() ? nullptr : &it->second;
}

uint64_t Sessions::BytesInFlight(const std::string& agency) const {
  uint64_t total = 0;
  if (auto it = sessions_.find(agency); it != sessions_.end()) total += it->second.bytes;
  if (auto it = retired_.find(agency); it != retired_.end()) {
    for (const auto& [connection, s] : it->second) total += s.bytes;
  }
  return total;
}

void Sessions::Delivered(const std::string& agency, const Bytes& message_id, Delivery d,
                         int64_t now_ms) {
  Session& s = sessions_.at(agency);
  if (s.unacknowledged.empty()) s.progress_ms = now_ms;
  s.unacknowledged.emplace(message_id, d);
  s.bytes += d.bytes;
}

std::optional<uint64_t> Sessions::Acknowledge(const std::string& agency, const Bytes& message_id,
                                              int64_t now_ms) {
  uint64_t seq = 0;
  Session* s = Find(agency);
  if (s != nullptr && Forget(*s, message_id, std::nullopt, &seq)) {
    s->progress_ms = now_ms;
    return seq;
  }
  // Delivered on a superseded connection: the agency's acknowledgement counts on any of its
  // connections (an agent that reconnected acknowledges on the new one).
  auto r = retired_.find(agency);
  if (r == retired_.end()) return std::nullopt;
  for (auto old = r->second.begin(); old != r->second.end(); ++old) {
    if (!Forget(old->second, message_id, std::nullopt, &seq)) continue;
    old->second.progress_ms = now_ms;
    if (old->second.unacknowledged.empty()) r->second.erase(old);
    if (r->second.empty()) retired_.erase(r);
    return seq;
  }
  return std::nullopt;
}

bool Sessions::Expire(const std::string& agency, const Bytes& message_id, uint64_t seq) {
  bool held = false;
  if (Session* s = Find(agency)) held = Forget(*s, message_id, seq);
  if (auto r = retired_.find(agency); r != retired_.end()) {
    for (auto it = r->second.begin(); it != r->second.end();) {
      held = Forget(it->second, message_id, seq) || held;
      it = it->second.unacknowledged.empty() ? r->second.erase(it) : std::next(it);
    }
    if (r->second.empty()) retired_.erase(r);
  }
  return held;
}

void Sessions::Close(const std::string& agency) { sessions_.erase(agency); }

bool Sessions::Gone(const std::string& agency, int connection) {
  if (auto r = retired_.find(agency); r != retired_.end()) {
    r->second.erase(connection);
    if (r->second.empty()) retired_.erase(r);
  }
  auto it = sessions_.find(agency);
  if (it == sessions_.end() || it->second.connection != connection) return false;
  sessions_.erase(it);
  return true;
}

std::vector<Stalled> Sessions::StalledSince(int64_t now_ms, int64_t timeout_ms) const {
  std::vector<Stalled> out;
  auto check = [&](const std::string& agency, const Session& s) {
    if (!s.unacknowledged.empty() && s.connection >= 0 && now_ms - s.progress_ms >= timeout_ms) {
      out.push_back({agency, s.connection, s.bytes, s.unacknowledged.size()});
    }
  };
  for (const auto& [agency, s] : sessions_) check(agency, s);
  for (const auto& [agency, old] : retired_) {
    for (const auto& [connection, s] : old) check(agency, s);
  }
  return out;
}

}  // namespace nrm::broker
