#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <bit>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace nrm::audit {
namespace {

Hash H(std::string_view hex) {
  Result<Bytes> b = FromHexExact(hex, 32, "hash");
  NRM_CHECK(b.ok());
  Hash h;
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

// ------------------------------------------------------------------------------------------
// A naive transcription of RFC 6962 section 2.1, independent of merkle.cc's iterative code.

std::vector<Hash> Slice(const std::vector<Hash>& d, size_t begin, size_t end) {
  return std::vector<Hash>(d.begin() + static_cast<ptrdiff_t>(begin),
                           d.begin() + static_cast<ptrdiff_t>(end));
}

size_t NaiveSplit(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash NaiveMth(const std::vector<Hash>& d) {
  if (d.empty()) return crypto::Sha256({});
  if (d.size() == 1) return d[0];
  size_t k = NaiveSplit(d.size());
  return HashChildren(NaiveMth(Slice(d, 0, k)), NaiveMth(Slice(d, k, d.size())));
}

std::vector<Hash> NaivePath(size_t m, const std::vector<Hash>& d) {
  if (d.size() <= 1) return {};
  size_t k = NaiveSplit(d.size());
  std::vector<Hash> out;
  if (m < k) {
    out = NaivePath(m, Slice(d, 0, k));
    out.push_back(NaiveMth(Slice(d, k, d.size())));
  } else {
    out = NaivePath(m - k, Slice(d, k, d.size()));
    out.push_back(NaiveMth(Slice(d, 0, k)));
  }
  return out;
}

std::vector<Hash> NaiveSubproof(size_t m, const std::vector<Hash>& d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash>{} : std::vector<Hash>{NaiveMth(d)};
  size_t k = NaiveSplit(d.size());
  std::vector<Hash> out;
  if (m <= k) {
    out = NaiveSubproof(m, Slice(d, 0, k), b);
    out.push_back(NaiveMth(Slice(d, k, d.size())));
  } else {
    out = NaiveSubproof(m - k, Slice(d, k, d.size()), false);
    out.push_back(NaiveMth(Slice(d, 0, k)));
  }
  return out;
}

std::vector<Hash> NaiveConsistency(size_t m, const std::vector<Hash>& d) {
  if (m == 0 || m == d.size()) return {};
  return NaiveSubproof(m, d, true);
}

// ------------------------------------------------------------------------------------------
// The certificate-transparency / RFC 6962 reference tree.

std::vector<Hash> ReferenceLeaves() {
  std::vector<Hash> leaves;
  for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"}) {
    leaves.push_back(HashLeaf(*FromHex(hex)));
  }
  return leaves;
}

const char* const kReferenceRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> TestLeaves(size_t n) {
  std::vector<Hash> leaves;
  for (size_t i = 0; i < n; ++i) leaves.push_back(HashLeaf(AsBytes("leaf " + std::to_string(i))));
  return leaves;
}

Hash Flip(Hash h, size_t bit) {
  h[bit / 8 % 32] ^= static_cast<uint8_t>(1u << (bit % 8));
  return h;
}

TEST(MerkleTest, EmptyTreeAndSingleLeaf) {
  EXPECT_EQ(ToHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(RootFromLeafHashes({})), ToHex(EmptyRoot()));
  // SHA-256(0x00): the leaf hash of the empty string, and the root of a one-leaf tree.
  EXPECT_EQ(ToHex(HashLeaf({})),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  const Hash leaf = HashLeaf({});
  EXPECT_EQ(RootFromLeafHashes(std::vector<Hash>{leaf}), leaf);
}

TEST(MerkleTest, NodeHashUsesPrefixOne) {
  const Hash l = HashLeaf(AsBytes("l")), r = HashLeaf(AsBytes("r"));
  const uint8_t one = 0x01;
  EXPECT_EQ(HashChildren(l, r), crypto::Sha256Parts({ByteView(&one, 1), l, r}));
  EXPECT_NE(HashChildren(l, r), HashChildren(r, l));
}

TEST(MerkleTest, SplitIsTheLargestPowerOfTwoBelowN) {
  EXPECT_EQ(SplitPoint(2), 1u);
  EXPECT_EQ(SplitPoint(3), 2u);
  EXPECT_EQ(SplitPoint(4), 2u);
  EXPECT_EQ(SplitPoint(5), 4u);
  EXPECT_EQ(SplitPoint(8), 4u);
  EXPECT_EQ(SplitPoint(9), 8u);
  EXPECT_EQ(SplitPoint(1000), 512u);
  EXPECT_EQ(SplitPoint(uint64_t{1} << 40), uint64_t{1} << 39);
  EXPECT_EQ(SplitPoint((uint64_t{1} << 63) + 1), uint64_t{1} << 63);
}

TEST(MerkleTest, ReferenceRootsForSizesOneToEight) {
  const std::vector<Hash> leaves = ReferenceLeaves();
  CompactRange range;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    const std::vector<Hash> prefix = Slice(leaves, 0, n);
    EXPECT_EQ(ToHex(RootFromLeafHashes(prefix)), kReferenceRoots[n - 1]) << "size " << n;
    EXPECT_EQ(ToHex(NaiveMth(prefix)), kReferenceRoots[n - 1]) << "size " << n;
    range.Append(leaves[n - 1]);
    EXPECT_EQ(ToHex(range.Root()), kReferenceRoots[n - 1]) << "size " << n;
  }
}

TEST(MerkleTest, ReferenceInclusionProofs) {
  const std::vector<Hash> leaves = ReferenceLeaves();
  struct Case {
    uint64_t index;
    std::vector<std::string> proof;
  };
  const Case cases[] = {
      {0,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = InclusionProof(leaves, c.index);
    ASSERT_TRUE(proof.ok());
    std::vector<std::string> hex;
    for (const Hash& h : *proof) hex.push_back(ToHex(h));
    EXPECT_EQ(hex, c.proof) << "leaf " << c.index;
    EXPECT_TRUE(VerifyInclusion(leaves[c.index], c.index, 8, *proof, H(kReferenceRoots[7])).ok());
  }
}

TEST(MerkleTest, ReferenceConsistencyProofs) {
  const std::vector<Hash> leaves = ReferenceLeaves();
  struct Case {
    uint64_t old_size, new_size;
    std::vector<std::string> proof;
  };
  const Case cases[] = {
      {2,
       8,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    Result<std::vector<Hash>> proof = ConsistencyProof(Slice(leaves, 0, c.new_size), c.old_size);
    ASSERT_TRUE(proof.ok());
    std::vector<std::string> hex;
    for (const Hash& h : *proof) hex.push_back(ToHex(h));
    EXPECT_EQ(hex, c.proof) << c.old_size << " -> " << c.new_size;
    EXPECT_TRUE(VerifyConsistency(c.old_size, c.new_size, H(kReferenceRoots[c.old_size - 1]),
                                  H(kReferenceRoots[c.new_size - 1]), *proof)
                    .ok());
  }
}

TEST(MerkleTest, RootsMatchNaiveRecursionUpTo130Leaves) {
  const std::vector<Hash> leaves = TestLeaves(130);
  CompactRange range;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    const std::vector<Hash> prefix = Slice(leaves, 0, n);
    EXPECT_EQ(RootFromLeafHashes(prefix), NaiveMth(prefix)) << "size " << n;
    EXPECT_EQ(range.Root(), NaiveMth(prefix)) << "size " << n;
    EXPECT_EQ(range.hashes().size(), static_cast<size_t>(std::popcount(n)));
    if (n < leaves.size()) range.Append(leaves[n]);
  }
}

// Every leaf of every tree of 1..64 leaves: the proof is the RFC's, it verifies, and changing any
// one bit of any one hash, the index, the root or the proof's length makes it fail.
TEST(MerkleTest, ExhaustiveInclusionProofs) {
  const std::vector<Hash> all = TestLeaves(65);
  for (uint64_t n = 1; n <= 64; ++n) {
    const std::vector<Hash> leaves = Slice(all, 0, n);
    const Hash root = NaiveMth(leaves);
    for (uint64_t i = 0; i < n; ++i) {
      Result<std::vector<Hash>> proof = InclusionProof(leaves, i);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, NaivePath(i, leaves)) << i << " of " << n;
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, root).ok()) << i << " of " << n;

      for (size_t k = 0; k < proof->size(); ++k) {
        for (size_t bit : {size_t{0}, size_t{131}, size_t{255}}) {
          std::vector<Hash> bad = *proof;
          bad[k] = Flip(bad[k], bit);
          EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root).ok()) << i << "/" << n;
        }
      }
      EXPECT_FALSE(VerifyInclusion(Flip(leaves[i], 7), i, n, *proof, root).ok());
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, *proof, Flip(root, 200)).ok());
      EXPECT_FALSE(VerifyInclusion(leaves[i], i + 1, n, *proof, root).ok());
      if (i > 0) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], i - 1, n, *proof, root).ok());
      }
      // (A wrong size with the same root can verify when the leaf's path has the same shape in
      // both trees: the signed tree head, not the proof, binds the size to the root.)
      std::vector<Hash> longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, longer, root).ok());
      if (!proof->empty()) {
        std::vector<Hash> shorter(proof->begin(), proof->end() - 1);
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, root).ok());
      }
    }
    EXPECT_FALSE(InclusionProof(leaves, n).ok());
    EXPECT_FALSE(VerifyInclusion(leaves[0], n, n, {}, root).ok());
  }
}

// Every pair 0 <= m <= n <= 64, likewise.
TEST(MerkleTest, ExhaustiveConsistencyProofs) {
  const std::vector<Hash> all = TestLeaves(64);
  std::vector<Hash> roots;
  for (size_t n = 0; n <= 64; ++n) roots.push_back(NaiveMth(Slice(all, 0, n)));
  for (uint64_t n = 1; n <= 64; ++n) {
    const std::vector<Hash> leaves = Slice(all, 0, n);
    for (uint64_t m = 0; m <= n; ++m) {
      Result<std::vector<Hash>> proof = ConsistencyProof(leaves, m);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, NaiveConsistency(m, leaves)) << m << " -> " << n;
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], *proof).ok()) << m << " -> " << n;

      for (size_t k = 0; k < proof->size(); ++k) {
        for (size_t bit : {size_t{0}, size_t{100}, size_t{255}}) {
          std::vector<Hash> bad = *proof;
          bad[k] = Flip(bad[k], bit);
          EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad).ok()) << m << "->" << n;
        }
      }
      EXPECT_FALSE(VerifyConsistency(m, n, Flip(roots[m], 3), roots[n], *proof).ok());
      // Every tree extends the empty one, whatever its root.
      EXPECT_EQ(VerifyConsistency(m, n, roots[m], Flip(roots[n], 3), *proof).ok(), m == 0);
      std::vector<Hash> longer = *proof;
      longer.push_back(roots[n]);
      EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], longer).ok());
      if (!proof->empty()) {
        std::vector<Hash> shorter(proof->begin(), proof->end() - 1);
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], shorter).ok());
      }
      if (m > 1 && m < n) {
        EXPECT_FALSE(VerifyConsistency(m - 1, n, roots[m - 1], roots[n], *proof).ok());
      }
    }
    EXPECT_FALSE(ConsistencyProof(leaves, n + 1).ok());
    EXPECT_FALSE(VerifyConsistency(n, n - 1, roots[n], roots[n - 1], {}).ok());
  }
}

TEST(MerkleTest, ProofRangesAreDisjoint) {
  for (uint64_t n = 1; n <= 40; ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      std::vector<LeafRange> r = *InclusionProofRanges(i, n);
      std::vector<int> covered(n, 0);
      for (const LeafRange& x : r) {
        for (uint64_t j = x.begin; j < x.end; ++j) covered[j]++;
      }
      for (uint64_t j = 0; j < n; ++j) EXPECT_EQ(covered[j], j == i ? 0 : 1);
    }
    for (uint64_t m = 0; m <= n; ++m) {
      std::vector<int> covered(n, 0);
      const std::vector<LeafRange> ranges = *ConsistencyProofRanges(m, n);
      for (const LeafRange& x : ranges) {
        for (uint64_t j = x.begin; j < x.end; ++j) covered[j]++;
      }
      for (uint64_t j = 0; j < n; ++j) EXPECT_LE(covered[j], 1);
    }
  }
}

TEST(CompactRangeTest, SerializeRoundTripsAtEverySize) {
  const std::vector<Hash> leaves = TestLeaves(70);
  CompactRange range;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    Bytes data = range.Serialize();
    EXPECT_EQ(data.size(), 9 + 32 * static_cast<size_t>(std::popcount(n)));
    Result<CompactRange> parsed = CompactRange::Parse(data);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, range);
    EXPECT_EQ(parsed->Root(), range.Root());
    if (n < leaves.size()) range.Append(leaves[n]);
  }
}

TEST(CompactRangeTest, ResumedRangeContinuesTheSameTree) {
  const std::vector<Hash> leaves = TestLeaves(50);
  CompactRange range;
  for (size_t i = 0; i < 23; ++i) range.Append(leaves[i]);
  Result<CompactRange> resumed = CompactRange::Parse(range.Serialize());
  ASSERT_TRUE(resumed.ok());
  for (size_t i = 23; i < 50; ++i) resumed->Append(leaves[i]);
  EXPECT_EQ(resumed->Root(), NaiveMth(leaves));
}

TEST(CompactRangeTest, ParseRejectsMalformedInput) {
  CompactRange range;
  for (const Hash& h : TestLeaves(5)) range.Append(h);  // size 5: two hashes
  Bytes good = range.Serialize();
  EXPECT_EQ(CompactRange::Parse({}).status().code(), Code::kCorruption);
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(CompactRange::Parse(ByteView(good).first(len)).ok()) << len;
  }
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(CompactRange::Parse(longer).ok());
  Bytes version = good;
  version[0] = 2;
  EXPECT_FALSE(CompactRange::Parse(version).ok());
  Bytes size = good;
  size[8] = 7;  // size 7 needs three hashes
  EXPECT_FALSE(CompactRange::Parse(size).ok());
}

}  // namespace
}  // namespace nrm::audit
