// RFC 6962 / RFC 9162 Merkle tree hashing for the audit log: leaf and node hashes, the tree
// head (MTH), inclusion and consistency proofs and their verification, and CompactRange, the
// frontier that lets the log append in O(log n) without reading old leaves.
//
// Leaf hash: SHA-256(0x00 || data). Node hash: SHA-256(0x01 || left || right). The tree over n
// leaves splits at the largest power of two smaller than n (RFC 6962 section 2.1); the empty
// tree's hash is SHA-256 of the empty string.
//
// Pure functions and a value type; thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "common/crypto/crypto.h"
#include "common/status.h"

namespace nrm::audit {

using Hash = crypto::Hash;

Hash HashLeaf(ByteView data);
Hash HashChildren(const Hash& left, const Hash& right);
// SHA-256 of the empty string: e3b0c442...b855.
Hash EmptyRoot();

// The largest power of two strictly smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n);

// MTH over the given leaf hashes (O(n) time, O(log n) memory).
Hash RootFromLeafHashes(std::span<const Hash> leaf_hashes);

// The leaves [begin, end) whose MTH is one element of a proof.
struct LeafRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool operator==(const LeafRange&) const = default;
};

// The ranges whose roots form the RFC 6962 audit path of leaf `index` in a tree of `size`
// leaves, in proof order (the leaf's sibling first). The ranges are disjoint, so a caller can
// compute all the roots in one pass over the leaves. kInvalidArgument if index >= size.
Result<std::vector<LeafRange>> InclusionProofRanges(uint64_t index, uint64_t size);
// The ranges of the RFC 6962 consistency proof from `old_size` to `new_size`, in proof order;
// empty when old_size is 0 or equals new_size. kInvalidArgument if old_size > new_size.
Result<std::vector<LeafRange>> ConsistencyProofRanges(uint64_t old_size, uint64_t new_size);

// The audit path of leaf `index` in the tree of all of `leaf_hashes`.
Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaf_hashes, uint64_t index);
// The consistency proof from the tree of the first `old_size` leaves to the tree of all.
Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t old_size);

// RFC 9162 section 2.1.3.2. OK when `proof` shows that `leaf_hash` is leaf `index` of the tree
// of `size` leaves whose root is `root`; kUnauthenticated otherwise (including index >= size
// and a proof of the wrong length).
Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2. OK when `proof` shows that the tree of `old_size` leaves with root
// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`. As the RFC
// allows, old_size == 0 needs an empty proof (every tree extends the empty one) and
// old_size == new_size needs an empty proof and equal roots. kUnauthenticated otherwise.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof);

// The frontier of a tree: the roots of its maximal perfect subtrees, left to right (one per
// set bit of size()). Append costs O(1) amortised hashes, Root() O(log n); serialisable, so the
// log can persist it and resume without reading old leaves.
class CompactRange {
 public:
  CompactRange() = default;

  // A perfect subtree an Append completed: it covers leaves [index << level, (index + 1) <<
  // level). The log stores these, so that proofs read O(log n) nodes instead of every leaf.
  struct Node {
    uint8_t level = 0;  // >= 1: a leaf is level 0 and never reported
    uint64_t index = 0;
    Hash hash{};
  };
  // Adds a leaf; when `completed` is given, appends to it the subtrees this leaf completed,
  // lowest level first (none for an even size(), one on average).
  void Append(const Hash& leaf_hash, std::vector<Node>* completed = nullptr);
  // The MTH of the leaves appended so far (EmptyRoot() when none).
  Hash Root() const;
  uint64_t size() const { return size_; }
  const std::vector<Hash>& hashes() const { return hashes_; }

  // Version byte 0x01 || be64 size || popcount(size) hashes of 32 bytes, left to right.
  Bytes Serialize() const;
  // kCorruption when `data` is not exactly what Serialize() produces for some tree.
  static Result<CompactRange> Parse(ByteView data);

  bool operator==(const CompactRange&) const = default;

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;  // hashes_[0] covers the most leaves
};

}  // namespace nrm::audit
