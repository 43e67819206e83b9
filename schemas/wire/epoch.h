// Epoch keys: how a content key is wrapped to each recipient (docs/PROTOCOL.md §7 and §8; the
// trade-off in docs/SECURITY.md, "Sender epoch keys").
//
// A sender wraps a message's content key to every recipient with a box between an ephemeral
// X25519 key pair of its own, the "epoch key", and the recipient's box key. The epoch key lives
// in this process's memory only, is replaced every hour and wiped when replaced. The costly step
// of a box, the shared key (one X25519 operation), is computed once per recipient per epoch on
// the sender's side and once per sender epoch key on the recipient's side; each message then
// costs one cheap wrap per recipient.
//
// SenderEpoch and Reader are thread-safe (a mutex each); SharedKeyCache is not (its owner locks).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::wire {

// Shared keys (crypto::BoxBeforeNm) by the peer's public key; this side's secret key is the
// owner's and the same for every entry. At most `capacity` entries: a new one evicts the oldest.
class SharedKeyCache {
 public:
  // REQUIRES: capacity > 0.
  explicit SharedKeyCache(size_t capacity) : capacity_(capacity) { NRM_CHECK(capacity > 0); }

  // The shared key of `peer_public` and `secret`, computed on a miss. The pointer is valid until
  // the next Get or Clear. kInvalidArgument / kUnauthenticated as crypto::BoxBeforeNm.
  Result<const crypto::SecretBytes*> Get(ByteView peer_public, const crypto::SecretBytes& secret);
  // Wipes and drops every entry.
  void Clear();

  size_t size() const { return keys_.size(); }
  uint64_t computed() const { return computed_; }  // BoxBeforeNm calls so far

 private:
  using PublicKey = std::array<uint8_t, crypto::kBoxPublicBytes>;
  size_t capacity_;
  std::map<PublicKey, crypto::SecretBytes> keys_;
  std::deque<PublicKey> order_;  // insertion order, oldest first
  uint64_t computed_ = 0;
};

// The sender's epoch key and its shared key with each recipient.
class SenderEpoch {
 public:
  static constexpr int64_t kPeriodMs = 60 * 60 * 1000;  // one hour; SECURITY.md says why
  static constexpr size_t kMaxSharedKeys = 256;         // recipients per epoch before eviction

  // Holds no key yet: the first Wrap makes one. `clock` must outlive this object.
  explicit SenderEpoch(const Clock& clock, int64_t period_ms = kPeriodMs);

  struct Wrapped {
    Bytes epoch_public;       // 32 bytes, for Body.epoch_key
    std::vector<Bytes> keys;  // crypto::kWrappedKeyBytes each, in the order of the recipients
  };
  // Wraps `content_key` to each of `recipient_box_keys`, all under one epoch key: the current
  // one, or a new one when there is none, when the current one is `period_ms` old, or when the
  // clock went back before its start. kInvalidArgument or kUnauthenticated (as
  // crypto::BoxBeforeNm) when a recipient key is not a usable X25519 public key.
  // REQUIRES: content_key.size() == crypto::kContentKeyBytes.
  Result<Wrapped> Wrap(std::span<const ByteView> recipient_box_keys,
                       const crypto::SecretBytes& content_key);

  // Ends the epoch now: its secret key and every shared key are wiped. The next Wrap starts a
  // new epoch.
  void Rotate();
  // Rotate() if the epoch has lasted its period. A sender that may sit idle calls this now and
  // then (the agent daemon does, every turn of its loop), so that an epoch key does not outlive its
  // hour in memory just because nothing was sent.
  void WipeIfExpired();

  // For tests and monitoring.
  Bytes epoch_public() const;       // empty while there is no epoch key
  size_t shared_keys() const;       // cached in this epoch
  uint64_t key_agreements() const;  // shared keys computed since construction

 private:
  bool ExpiredLocked(int64_t now_ms) const;
  void RotateLocked();

  const Clock& clock_;
  const int64_t period_ms_;
  mutable std::mutex mu_;
  crypto::BoxKeyPair keys_;  // empty between epochs
  int64_t started_ms_ = 0;
  SharedKeyCache shared_{kMaxSharedKeys};
};

// The recipient's side: an agency's id and box secret key, and its shared key with each sender
// epoch key it has met. Call it only after the envelope's signature verified, so that only
// agencies of the directory can add entries.
class Reader {
 public:
  static constexpr size_t kMaxSharedKeys = 64;  // sender epoch keys remembered

  Reader(std::string id, crypto::SecretBytes box_secret);

  const std::string& id() const { return id_; }
  // The content key in `wrapped`, a box from `epoch_public` to this reader. kUnauthenticated
  // when the epoch key is unusable or the wrap does not open (wrong size, another epoch key,
  // altered nonce or box).
  Result<crypto::SecretBytes> Unwrap(ByteView epoch_public, ByteView wrapped);

  // For tests and monitoring.
  size_t shared_keys() const;
  uint64_t key_agreements() const;

 private:
  const std::string id_;
  const crypto::SecretBytes box_secret_;
  mutable std::mutex mu_;
  SharedKeyCache shared_{kMaxSharedKeys};
};

}  // namespace nrm::wire
