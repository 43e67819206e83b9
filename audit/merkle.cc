#include "audit/merkle.h"

#include <bit>

#include "audit/big_endian.h"

namespace nrm::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;
constexpr uint8_t kCompactRangeVersion = 0x01;

// Appends the ranges of PATH(index, D[begin:end]) (RFC 6962 section 2.1.1), deepest first.
void AddInclusionRanges(uint64_t index, uint64_t begin, uint64_t end, std::vector<LeafRange>* out) {
  if (end - begin <= 1) return;
  uint64_t mid = begin + SplitPoint(end - begin);
  if (index < mid) {
    AddInclusionRanges(index, begin, mid, out);
    out->push_back({mid, end});
  } else {
    AddInclusionRanges(index, mid, end, out);
    out->push_back({begin, mid});
  }
}

// Appends the ranges of SUBPROOF(old_end - begin, D[begin:end], whole) (RFC 6962 2.1.2).
void AddConsistencyRanges(uint64_t old_end, uint64_t begin, uint64_t end, bool whole,
                          std::vector<LeafRange>* out) {
  if (old_end == end) {
    if (!whole) out->push_back({begin, end});
    return;
  }
  uint64_t mid = begin + SplitPoint(end - begin);
  if (old_end <= mid) {
    AddConsistencyRanges(old_end, begin, mid, whole, out);
    out->push_back({mid, end});
  } else {
    AddConsistencyRanges(old_end, mid, end, false, out);
    out->push_back({begin, mid});
  }
}

std::vector<Hash> RangeRoots(std::span<const Hash> leaf_hashes,
                             const std::vector<LeafRange>& ranges) {
  std::vector<Hash> proof;
  proof.reserve(ranges.size());
  for (const LeafRange& r : ranges) {
    proof.push_back(RootFromLeafHashes(leaf_hashes.subspan(r.begin, r.end - r.begin)));
  }
  return proof;
}

// Right-shifts fn and sn together until fn's lowest bit is set or fn is 0 (RFC 9162).
void ShiftWhileEven(uint64_t* fn, uint64_t* sn) {
  while ((*fn & 1) == 0 && *fn != 0) {
    *fn >>= 1;
    *sn >>= 1;
  }
}

}  // namespace

Hash HashLeaf(ByteView data) {
  const uint8_t prefix = kLeafPrefix;
  return crypto::Sha256Parts({ByteView(&prefix, 1), data});
}

Hash HashChildren(const Hash& left, const Hash& right) {
  const uint8_t prefix = kNodePrefix;
  return crypto::Sha256Parts({ByteView(&prefix, 1), left, right});
}

Hash EmptyRoot() { return crypto::Sha256({}); }

uint64_t SplitPoint(uint64_t n) {
  NRM_CHECK(n >= 2);
  return std::bit_floor(n - 1);
}

Hash RootFromLeafHashes(std::span<const Hash> leaf_hashes) {
  CompactRange range;
  for (const Hash& h : leaf_hashes) range.Append(h);
  return range.Root();
}

Result<std::vector<LeafRange>> InclusionProofRanges(uint64_t index, uint64_t size) {
  if (index >= size) {
    return InvalidArgument("leaf index " + std::to_string(index) + " is not in a tree of " +
                           std::to_string(size) + " leaves");
  }
  std::vector<LeafRange> ranges;
  AddInclusionRanges(index, 0, size, &ranges);
  return ranges;
}

Result<std::vector<LeafRange>> ConsistencyProofRanges(uint64_t old_size, uint64_t new_size) {
  if (old_size > new_size) {
    return InvalidArgument("old tree size " + std::to_string(old_size) +
                           " is larger than the new size " + std::to_string(new_size));
  }
  std::vector<LeafRange> ranges;
  if (old_size > 0) AddConsistencyRanges(old_size, 0, new_size, true, &ranges);
  return ranges;
}

Result<std::vector<Hash>> InclusionProof(std::span<const Hash> leaf_hashes, uint64_t index) {
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges,
                       InclusionProofRanges(index, leaf_hashes.size()));
  return RangeRoots(leaf_hashes, ranges);
}

Result<std::vector<Hash>> ConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t old_size) {
  NRM_ASSIGN_OR_RETURN(std::vector<LeafRange> ranges,
                       ConsistencyProofRanges(old_size, leaf_hashes.size()));
  return RangeRoots(leaf_hashes, ranges);
}

Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= size) {
    return Unauthenticated("leaf index " + std::to_string(index) + " is not in a tree of " +
                           std::to_string(size) + " leaves");
  }
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Unauthenticated("inclusion proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      r = HashChildren(p, r);
      ShiftWhileEven(&fn, &sn);
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Unauthenticated("inclusion proof is too short");
  if (r != root) return Unauthenticated("inclusion proof does not lead to the tree root");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return Unauthenticated("old tree is larger than the new one");
  if (old_size == new_size || old_size == 0) {
    if (!proof.empty()) return Unauthenticated("consistency proof should be empty");
    if (old_size == new_size && old_root != new_root) {
      return Unauthenticated("trees of the same size have different roots");
    }
    if (old_size == 0 && old_root != EmptyRoot()) {
      return Unauthenticated("the empty tree has a different root");
    }
    return Status::Ok();
  }
  if (proof.empty()) return Unauthenticated("consistency proof is empty");

  // When old_size is a power of two, the old root is itself the first node of the path.
  const bool prepend = std::has_single_bit(old_size);
  size_t next = 0;
  Hash fr = prepend ? old_root : proof[next++];
  Hash sr = fr;
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return Unauthenticated("consistency proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      ShiftWhileEven(&fn, &sn);
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Unauthenticated("consistency proof is too short");
  if (fr != old_root) return Unauthenticated("consistency proof does not lead to the old root");
  if (sr != new_root) return Unauthenticated("consistency proof does not lead to the new root");
  return Status::Ok();
}

void CompactRange::Append(const Hash& leaf_hash, std::vector<Node>* completed) {
  hashes_.push_back(leaf_hash);
  // Each trailing one bit of the old size is a perfect subtree the new leaf now completes.
  uint8_t level = 0;
  for (uint64_t s = size_; (s & 1) != 0; s >>= 1) {
    Hash right = hashes_.back();
    hashes_.pop_back();
    hashes_.back() = HashChildren(hashes_.back(), right);
    ++level;
    if (completed != nullptr) completed->push_back({level, size_ >> level, hashes_.back()});
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash r = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) r = HashChildren(hashes_[i], r);
  return r;
}

Bytes CompactRange::Serialize() const {
  Bytes out;
  out.reserve(1 + 8 + hashes_.size() * crypto::kHashBytes);
  out.push_back(kCompactRangeVersion);
  PutBe64(&out, size_);
  for (const Hash& h : hashes_) out.insert(out.end(), h.begin(), h.end());
  return out;
}

Result<CompactRange> CompactRange::Parse(ByteView data) {
  if (data.size() < 9 || data[0] != kCompactRangeVersion) {
    return Corruption("compact range: missing or unknown version");
  }
  CompactRange range;
  range.size_ = GetBe64(data.data() + 1);
  const size_t count = static_cast<size_t>(std::popcount(range.size_));
  if (data.size() != 9 + count * crypto::kHashBytes) {
    return Corruption("compact range: " + std::to_string(data.size()) +
                      " bytes do not fit a tree of " + std::to_string(range.size_) + " leaves");
  }
  range.hashes_.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = data.data() + 9 + i * crypto::kHashBytes;
    std::copy(p, p + crypto::kHashBytes, range.hashes_[i].begin());
  }
  return range;
}

}  // namespace nrm::audit
