#include "broker/sessions.h"

namespace nrm::broker {

bool Sessions::Connect(const std::string& agency, const Bytes& routing_id, int connection) {
  Session& session = sessions_[agency];
  if (session.routing_id == routing_id) return false;
  session = Session{routing_id, connection, 0, {}};
  return true;
}

bool Sessions::Gone(const std::string& agency, int connection) {
  auto it = sessions_.find(agency);
  if (it == sessions_.end() || it->second.connection != connection) return false;
  sessions_.erase(it);
  return true;
}

Session* Sessions::Find(const std::string& agency) {
  auto it = sessions_.find(agency);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> Sessions::Acknowledge(const std::string& agency, const Bytes& message_id) {
  Session* session = Find(agency);
  if (session == nullptr) return std::nullopt;
  auto delivered = session->unacknowledged.find(message_id);
  if (delivered == session->unacknowledged.end()) return std::nullopt;
  const uint64_t seq = delivered->second;
  session->unacknowledged.erase(delivered);
  return seq;
}

bool Sessions::Expire(const std::string& agency, const Bytes& message_id, uint64_t seq) {
  Session* session = Find(agency);
  if (session == nullptr) return false;
  auto [first, last] = session->unacknowledged.equal_range(message_id);
  for (auto it = first; it != last; ++it) {
    if (it->second == seq) {
      session->unacknowledged.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace nrm::broker
