#include "common/transport/connections.h"

namespace nrm::transport {

const char* CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kTooManyConnections:
      return "too_many_connections";
    case CloseReason::kPendingEvicted:
      return "too_many_unauthenticated";
    case CloseReason::kAddressEvicted:
      return "too_many_from_address";
    case CloseReason::kNoFirstMessage:
      return "no_first_message";
    case CloseReason::kAgencyLimit:
      return "too_many_of_agency";
    case CloseReason::kStalled:
      return "stalled_reader";
  }
  return "closed";
}

Closing ConnectionTable::Close(int fd, Entry& e, CloseReason reason) {
  if (!e.closing) {
    e.closing = true;
    if (e.agency.empty()) {
      --pending_;
      if (--pending_by_address_[e.address] == 0) pending_by_address_.erase(e.address);
    } else {
      --authenticated_;
      if (--by_agency_[e.agency] == 0) by_agency_.erase(e.agency);
    }
  }
  return Closing{fd, e.address, e.port, e.agency, reason};
}

std::optional<int> ConnectionTable::OldestPending(const std::string& address, int except) const {
  std::optional<int> oldest;
  uint64_t order = 0;
  for (const auto& [fd, e] : by_fd_) {
    if (fd == except || e.closing || !e.agency.empty()) continue;
    if (!address.empty() && e.address != address) continue;
    if (!oldest || e.order < order) {
      oldest = fd;
      order = e.order;
    }
  }
  return oldest;
}

std::vector<Closing> ConnectionTable::Accepted(int fd, const std::string& address, uint16_t port,
                                               int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Closing> out;
  // A descriptor is reused only after libzmq closed it; its DISCONNECTED event came first, but
  // be safe should one have been lost.
  if (auto old = by_fd_.find(fd); old != by_fd_.end()) {
    Close(fd, old->second, CloseReason::kTooManyConnections);
    by_fd_.erase(old);
  }
  Entry& e = by_fd_[fd];
  e = Entry{address, port, now_ms, next_order_++, "", false};
  ++pending_;
  const size_t from_address = ++pending_by_address_[address];
  auto evict = [&](const std::string& of, CloseReason reason) {
    if (std::optional<int> victim = OldestPending(of, fd)) {
      out.push_back(Close(*victim, by_fd_[*victim], reason));
      return true;
    }
    return false;
  };
  if (limits_.max_pending_per_address > 0 && from_address > limits_.max_pending_per_address) {
    evict(address, CloseReason::kAddressEvicted);
  }
  // Over the limits for all addresses, the address holding the most pending connections gives
  // up its oldest: an agency's one connection in its handshake is never the one to go while a
  // flood holds several from any address.
  auto evict_fairly = [&] {
    std::string busiest;
    size_t most = 0;
    for (const auto& [from, n] : pending_by_address_) {
      if (n > most || (n == most && from == address)) {
        busiest = from;
        most = n;
      }
    }
    return most > 0 && evict(busiest, CloseReason::kPendingEvicted);
  };
  if (limits_.max_pending > 0 && pending_ > limits_.max_pending) evict_fairly();
  if (limits_.max_connections > 0 && pending_ + authenticated_ > limits_.max_connections &&
      !evict_fairly()) {
    out.push_back(Close(fd, e, CloseReason::kTooManyConnections));
  }
  return out;
}

std::optional<Closing> ConnectionTable::Identified(int fd, const std::string& agency,
                                                   int64_t now_ms) {
  (void)now_ms;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end() || it->second.closing || it->second.agency == agency) return std::nullopt;
  Entry& e = it->second;
  if (!e.agency.empty()) return std::nullopt;  // a stale message of a reused descriptor
  --pending_;
  if (--pending_by_address_[e.address] == 0) pending_by_address_.erase(e.address);
  e.agency = agency;
  ++authenticated_;
  const size_t of_agency = ++by_agency_[agency];
  if (limits_.max_per_agency == 0 || of_agency <= limits_.max_per_agency) return std::nullopt;
  int oldest = -1;
  uint64_t order = 0;
  for (const auto& [other, o] : by_fd_) {
    if (o.closing || o.agency != agency) continue;
    if (oldest < 0 || o.order < order) {
      oldest = other;
      order = o.order;
    }
  }
  return Close(oldest, by_fd_[oldest], CloseReason::kAgencyLimit);
}

std::string ConnectionTable::Gone(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return "";
  std::string agency = it->second.agency;
  Close(fd, it->second, CloseReason::kStalled);  // uncounts it, whatever the reason
  by_fd_.erase(it);
  return agency;
}

std::vector<Closing> ConnectionTable::Expire(int64_t now_ms) {
  std::vector<Closing> out;
  if (limits_.first_message_timeout_ms <= 0) return out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [fd, e] : by_fd_) {
    if (!e.closing && e.agency.empty() && now_ms - e.since_ms >= limits_.first_message_timeout_ms) {
      out.push_back(Close(fd, e, CloseReason::kNoFirstMessage));
    }
  }
  return out;
}

std::optional<Closing> ConnectionTable::Find(int fd, CloseReason reason) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return Close(fd, it->second, reason);
}

void ConnectionTable::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  by_fd_.clear();
  pending_by_address_.clear();
  by_agency_.clear();
  pending_ = 0;
  authenticated_ = 0;
}

ConnectionCounts ConnectionTable::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {pending_ + authenticated_, pending_, authenticated_};
}

size_t ConnectionTable::OfAgency(const std::string& agency) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_agency_.find(agency);
  return it == by_agency_.end() ? 0 : it->second;
}

}  // namespace nrm::transport
