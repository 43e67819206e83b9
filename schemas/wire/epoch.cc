#include "schemas/wire/epoch.h"

#include <algorithm>

namespace nrm::wire {

Result<const crypto::SecretBytes*> SharedKeyCache::Get(ByteView peer_public,
                                                       const crypto::SecretBytes& secret) {
  if (peer_public.size() != crypto::kBoxPublicBytes) {
    return InvalidArgument("X25519 public key must be 32 bytes");
  }
  PublicKey key;
  std::copy(peer_public.begin(), peer_public.end(), key.begin());
  if (auto it = keys_.find(key); it != keys_.end()) return &it->second;
  NRM_ASSIGN_OR_RETURN(crypto::SecretBytes shared, crypto::BoxBeforeNm(peer_public, secret));
  ++computed_;
  if (keys_.size() >= capacity_) {
    keys_.erase(order_.front());  // SecretBytes zeroes what it frees
    order_.pop_front();
  }
  order_.push_back(key);
  return &keys_.emplace(key, std::move(shared)).first->second;
}

void SharedKeyCache::Clear() {
  for (auto& [peer, shared] : keys_) shared.Wipe();
  keys_.clear();
  order_.clear();
}

SenderEpoch::SenderEpoch(const Clock& clock, int64_t period_ms)
    : clock_(clock), period_ms_(period_ms) {}

bool SenderEpoch::ExpiredLocked(int64_t now_ms) const {
  return now_ms - started_ms_ >= period_ms_ || now_ms < started_ms_;
}

void SenderEpoch::RotateLocked() {
  keys_.secret_key.Wipe();
  keys_ = crypto::BoxKeyPair{};
  shared_.Clear();
}

Result<SenderEpoch::Wrapped> SenderEpoch::Wrap(std::span<const ByteView> recipient_box_keys,
                                               const crypto::SecretBytes& content_key) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_.NowMillis();
  if (!keys_.secret_key.empty() && ExpiredLocked(now)) RotateLocked();
  if (keys_.secret_key.empty()) {
    keys_ = crypto::GenerateBoxKeyPair();
    started_ms_ = now;
  }
  Wrapped out{keys_.public_key, {}};
  out.keys.reserve(recipient_box_keys.size());
  for (ByteView box_key : recipient_box_keys) {
    NRM_ASSIGN_OR_RETURN(const crypto::SecretBytes* shared, shared_.Get(box_key, keys_.secret_key));
    out.keys.push_back(crypto::WrapKey(*shared, content_key));
  }
  return out;
}

void SenderEpoch::Rotate() {
  std::lock_guard<std::mutex> lock(mu_);
  RotateLocked();
}

void SenderEpoch::WipeIfExpired() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!keys_.secret_key.empty() && ExpiredLocked(clock_.NowMillis())) RotateLocked();
}

Bytes SenderEpoch::epoch_public() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.public_key;
}
size_t SenderEpoch::shared_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shared_.size();
}
uint64_t SenderEpoch::key_agreements() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shared_.computed();
}

Reader::Reader(std::string id, crypto::SecretBytes box_secret)
    : id_(std::move(id)), box_secret_(std::move(box_secret)) {}

Result<crypto::SecretBytes> Reader::Unwrap(ByteView epoch_public, ByteView wrapped) {
  std::lock_guard<std::mutex> lock(mu_);
  Result<const crypto::SecretBytes*> shared = shared_.Get(epoch_public, box_secret_);
  if (!shared) return Unauthenticated("unusable epoch key: " + shared.status().message());
  return crypto::UnwrapKey(**shared, wrapped);
}

size_t Reader::shared_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shared_.size();
}
uint64_t Reader::key_agreements() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shared_.computed();
}

}  // namespace nrm::wire
