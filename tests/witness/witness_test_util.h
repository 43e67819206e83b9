// A log made up for the witness tests: random leaves, checkpoints signed with its own key, and
// consistency proofs; forks of it share its key and origin. Header-only; for tests.
#pragma once

#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/witness/add_checkpoint.h"
#include "common/crypto/crypto.h"

namespace nrm::audit::witness::testing {

class SimLog {
 public:
  SimLog(std::string origin, size_t leaves)
      : origin_(std::move(origin)),
        key_(std::make_shared<crypto::SignKeyPair>(crypto::GenerateSignKeyPair())) {
    for (size_t i = 0; i < leaves; ++i) leaves_.push_back(RandomLeaf());
  }

  // The same origin and key, the same first `common` leaves, then other ones.
  SimLog Fork(size_t common) const {
    SimLog fork = *this;
    for (size_t i = common; i < fork.leaves_.size(); ++i) fork.leaves_[i] = RandomLeaf();
    return fork;
  }

  note::VerifierKey key() const { return *LogVerifierKey(origin_, key_->public_key); }
  const std::string& origin() const { return origin_; }
  Hash Root(uint64_t size) const { return RootFromLeafHashes(First(size)); }
  std::vector<Hash> Proof(uint64_t old_size, uint64_t size) const {
    return *ConsistencyProof(First(size), old_size);
  }
  // The checkpoint at `size`, signed (with the log's timestamp) as the broker signs.
  std::string Note(uint64_t size) const {
    return SignCheckpoint(Checkpoint{origin_, size, Root(size), {}}, key_->secret_key,
                          1796600000000);
  }
  std::string Request(uint64_t old_size, uint64_t size) const {
    return FormatAddCheckpoint({old_size, Proof(old_size, size), Note(size)});
  }

 private:
  static Hash RandomLeaf() {
    const Bytes b = crypto::RandomBytes(16);
    return HashLeaf(b);
  }
  std::span<const Hash> First(uint64_t size) const {
    return std::span<const Hash>(leaves_).first(size);
  }

  std::string origin_;
  std::shared_ptr<crypto::SignKeyPair> key_;
  std::vector<Hash> leaves_;
};

}  // namespace nrm::audit::witness::testing
