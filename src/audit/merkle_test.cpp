#include "audit/merkle.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cctype>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace labvault::audit {
namespace {

using model::ErrorCode;
using Proof = std::vector<Hash>;
using Hex = std::string_view;

Hash hx(std::string_view hex) {
  auto hash = hash_from_hex(hex);
  EXPECT_TRUE(hash) << hex;
  return hash.value_or(Hash{});
}

// The 8-leaf tree every CT implementation tests against (google/certificate-transparency,
// transparency-dev/merkle testonly/constants.go), with its published hashes.
std::vector<std::string> ct_inputs() {
  using namespace std::string_literals;
  return {""s,
          "\x00"s,
          "\x10"s,
          "\x20\x21"s,
          "\x30\x31"s,
          "\x40\x41\x42\x43"s,
          "\x50\x51\x52\x53\x54\x55\x56\x57"s,
          "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"s};
}

constexpr Hex kCtRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  // empty tree
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Published leaf hashes (kLeaf<index>) and perfect-subtree hashes (kNode<level>_<index>).
constexpr Hex kLeaf0 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
constexpr Hex kLeaf1 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7";
constexpr Hex kLeaf2 = "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7";
constexpr Hex kLeaf4 = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b";
constexpr Hex kLeaf6 = "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f";
constexpr Hex kNode1_0 = "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125";
constexpr Hex kNode1_1 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e";
constexpr Hex kNode1_2 = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a";
constexpr Hex kNode1_3 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0";
constexpr Hex kNode2_0 = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7";
constexpr Hex kNode2_1 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4";

// The 8 CT inputs, then distinct generated records up to n leaves.
std::vector<Hash> leaves(std::size_t n) {
  std::vector<Hash> out;
  for (const std::string& input : ct_inputs()) out.push_back(leaf_hash(input));
  for (std::size_t i = out.size(); i < n; ++i) {
    out.push_back(leaf_hash("audit " + std::to_string(i)));
  }
  out.resize(n);
  return out;
}

MerkleTree tree_of(std::span<const Hash> d) {
  MerkleTree tree;
  for (const Hash& leaf : d) tree.append(leaf);
  return tree;
}

// RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 transcribed literally over leaf hashes (O(n) per call):
// the yardstick for MerkleTree's stored levels.
using Leaves = std::span<const Hash>;
std::size_t ref_split(std::size_t n) { return std::bit_floor(n - 1); }

Hash ref_mth(Leaves d) {
  if (d.empty()) return empty_root();
  if (d.size() == 1) return d[0];
  const std::size_t k = ref_split(d.size());
  return node_hash(ref_mth(d.first(k)), ref_mth(d.subspan(k)));
}

Proof ref_path(std::size_t m, Leaves d) {
  if (d.size() <= 1) return {};
  const std::size_t k = ref_split(d.size());
  Proof out = m < k ? ref_path(m, d.first(k)) : ref_path(m - k, d.subspan(k));
  out.push_back(m < k ? ref_mth(d.subspan(k)) : ref_mth(d.first(k)));
  return out;
}

Proof ref_subproof(std::size_t m, Leaves d, bool whole) {
  if (m == d.size()) return whole ? Proof{} : Proof{ref_mth(d)};
  const std::size_t k = ref_split(d.size());
  Proof out =
      m <= k ? ref_subproof(m, d.first(k), whole) : ref_subproof(m - k, d.subspan(k), false);
  out.push_back(m <= k ? ref_mth(d.subspan(k)) : ref_mth(d.first(k)));
  return out;
}

Proof proof_of(std::initializer_list<std::string_view> hexes) {
  Proof out;
  for (std::string_view h : hexes) out.push_back(hx(h));
  return out;
}

TEST(MerkleHash, MatchesRfc9162Vectors) {
  EXPECT_EQ(to_hex(empty_root()), kCtRoots[0]);
  EXPECT_EQ(to_hex(leaf_hash("")), kLeaf0);
  EXPECT_EQ(to_hex(leaf_hash(std::string_view("\0", 1))), kLeaf1);
  EXPECT_EQ(to_hex(node_hash(hx(kLeaf0), hx(kLeaf1))), kNode1_0);
}

TEST(MerkleHash, HexRoundTripsAndRejectsMalformedText) {
  const Hash h = leaf_hash("x");
  EXPECT_EQ(hash_from_hex(to_hex(h)).value(), h);
  std::string upper = to_hex(h);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(hash_from_hex(upper).value(), h);
  auto short_text = hash_from_hex(to_hex(h).substr(1));
  ASSERT_FALSE(short_text);
  EXPECT_EQ(short_text.error().code, ErrorCode::kParse);
  EXPECT_NE(short_text.error().message.find("63"), std::string::npos);
  std::string bad = to_hex(h);
  bad[9] = 'g';
  auto not_hex = hash_from_hex(bad);
  ASSERT_FALSE(not_hex);
  EXPECT_NE(not_hex.error().message.find("position 10"), std::string::npos);
  EXPECT_FALSE(hash_from_hex(""));
}

TEST(MerkleTree, RootsMatchCtVectorsAtEverySize) {
  const std::vector<Hash> d = leaves(8);
  MerkleTree tree;
  EXPECT_EQ(to_hex(tree.root(0).value()), kCtRoots[0]);
  for (std::size_t n = 1; n <= 8; ++n) {
    tree.append(d[n - 1]);
    EXPECT_EQ(to_hex(tree.root(n).value()), kCtRoots[n]) << "size " << n;
  }
  for (std::size_t n = 0; n <= 8; ++n) EXPECT_EQ(to_hex(tree.root(n).value()), kCtRoots[n]);
}

TEST(CompactTree, RootsAndFrontiersMatchCtVectors) {
  const std::vector<Hash> d = leaves(8);
  const Proof expected_frontier[] = {
      {},
      {d[0]},
      {hx(kNode1_0)},
      {hx(kNode1_0), hx(kLeaf2)},
      {hx(kNode2_0)},
      {hx(kNode2_0), hx(kLeaf4)},
      {hx(kNode2_0), hx(kNode1_2)},
      {hx(kNode2_0), hx(kNode1_2), hx(kLeaf6)},
      {hx(kCtRoots[8])},
  };
  CompactTree tree;
  for (std::size_t n = 0; n <= 8; ++n) {
    if (n > 0) tree.append(d[n - 1]);
    EXPECT_EQ(tree.size(), n);
    EXPECT_EQ(to_hex(tree.root()), kCtRoots[n]) << "size " << n;
    EXPECT_EQ(tree.frontier(), expected_frontier[n]) << "size " << n;
  }
}

TEST(MerkleTree, InclusionProofsMatchCtVectors) {
  const std::vector<Hash> d = leaves(8);
  const MerkleTree tree = tree_of(d);
  struct Vector {
    std::uint64_t index, size;
    Proof proof;
  };
  const Vector vectors[] = {
      {0, 1, {}},
      {0, 8, proof_of({kLeaf1, kNode1_1, kNode2_1})},
      {5, 8, proof_of({kLeaf4, kNode1_3, kNode2_0})},
      {2, 3, proof_of({kNode1_0})},
      {1, 5, proof_of({kLeaf0, kNode1_1, kLeaf4})},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(tree.inclusion_proof(v.index, v.size).value(), v.proof) << v.index << "/" << v.size;
    EXPECT_TRUE(verify_inclusion(v.index, v.size, d[v.index], v.proof, hx(kCtRoots[v.size])));
  }
}

TEST(MerkleTree, ConsistencyProofsMatchCtVectors) {
  const MerkleTree tree = tree_of(leaves(8));
  struct Vector {
    std::uint64_t old_size, new_size;
    Proof proof;
  };
  const Vector vectors[] = {
      {1, 1, {}},
      {1, 8, proof_of({kLeaf1, kNode1_1, kNode2_1})},
      {6, 8, proof_of({kNode1_2, kNode1_3, kNode2_0})},
      {2, 5, proof_of({kNode1_1, kLeaf4})},
      {6, 7, proof_of({kNode1_2, kLeaf6, kNode2_0})},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(tree.consistency_proof(v.old_size, v.new_size).value(), v.proof)
        << v.old_size << "->" << v.new_size;
    EXPECT_TRUE(verify_consistency(v.old_size, v.new_size, hx(kCtRoots[v.old_size]),
                                   hx(kCtRoots[v.new_size]), v.proof));
  }
}

constexpr std::size_t kMaxSize = 70;

TEST(MerkleTree, MatchesRfcDefinitionsForEveryRootPathAndProofUpTo70Leaves) {
  const std::vector<Hash> d = leaves(kMaxSize);
  const MerkleTree tree = tree_of(d);
  for (std::size_t n = 1; n <= kMaxSize; ++n) {
    const Leaves prefix = Leaves(d).first(n);
    const Hash root = ref_mth(prefix);
    ASSERT_EQ(tree.root(n).value(), root) << "size " << n;
    for (std::size_t i = 0; i < n; ++i) {
      const Proof proof = tree.inclusion_proof(i, n).value();
      ASSERT_EQ(proof, ref_path(i, prefix)) << "leaf " << i << " of " << n;
      ASSERT_TRUE(verify_inclusion(i, n, d[i], proof, root)) << "leaf " << i << " of " << n;
    }
    for (std::size_t m = 1; m <= n; ++m) {
      const Proof proof = tree.consistency_proof(m, n).value();
      ASSERT_EQ(proof, ref_subproof(m, prefix, true)) << m << "->" << n;
      ASSERT_TRUE(verify_consistency(m, n, ref_mth(Leaves(d).first(m)), root, proof))
          << m << "->" << n;
    }
  }
}

TEST(MerkleTree, MatchesRfcDefinitionsOnALargerTree) {
  const std::vector<Hash> d = leaves(1100);
  MerkleTree tree;
  tree.reserve(d.size());
  for (const Hash& leaf : d) tree.append(leaf);
  for (std::size_t n : {1023u, 1024u, 1025u, 1100u}) {
    const Leaves prefix = Leaves(d).first(n);
    const Hash root = ref_mth(prefix);
    ASSERT_EQ(tree.root(n).value(), root);
    for (std::size_t i = 0; i < n; i += 97) {
      ASSERT_EQ(tree.inclusion_proof(i, n).value(), ref_path(i, prefix)) << i << " of " << n;
    }
    for (std::size_t m : {1u, 2u, 511u, 512u, 513u, 1000u, 1023u}) {
      ASSERT_EQ(tree.consistency_proof(m, n).value(), ref_subproof(m, prefix, true)) << m;
    }
  }
}

TEST(CompactTree, RootEqualsMerkleRootAtEverySizeAndRestoreRoundTrips) {
  const std::vector<Hash> d = leaves(kMaxSize);
  const MerkleTree full = tree_of(d);
  CompactTree compact;
  for (std::size_t n = 0; n <= kMaxSize; ++n) {
    ASSERT_EQ(compact.root(), full.root(n).value()) << "size " << n;
    ASSERT_EQ(compact.frontier().size(), static_cast<std::size_t>(std::popcount(n)));
    auto restored = CompactTree::restore(compact.size(), compact.frontier());
    ASSERT_TRUE(restored) << restored.error().message;
    for (std::size_t i = n; i < kMaxSize; ++i) restored->append(d[i]);
    ASSERT_EQ(restored->root(), full.root(kMaxSize).value()) << "restored at " << n;
    if (n < kMaxSize) compact.append(d[n]);
  }
}

TEST(CompactTree, RestoreRejectsAFrontierOfTheWrongLength) {
  const Hash h = leaf_hash("x");
  auto too_few = CompactTree::restore(7, {h, h});
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, ErrorCode::kUsage);
  EXPECT_NE(too_few.error().message.find("7 leaves has 3 frontier hashes, found 2"),
            std::string::npos);
  EXPECT_FALSE(CompactTree::restore(0, {h}));
  EXPECT_FALSE(CompactTree::restore(8, {h, h}));
  EXPECT_TRUE(CompactTree::restore(0, {}));
}

TEST(MerkleTree, RejectsInvalidArgumentsWithUsageErrorsNamingTheNumbers) {
  const MerkleTree tree = tree_of(leaves(5));
  auto expect_usage = [](const auto& result, std::string_view numbers) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kUsage);
    EXPECT_NE(result.error().message.find(numbers), std::string::npos) << result.error().message;
  };
  expect_usage(tree.root(6), "tree size 6");
  expect_usage(tree.inclusion_proof(5, 5), "leaf 5 in tree size 5");
  expect_usage(tree.inclusion_proof(0, 0), "leaf 0 in tree size 0");
  expect_usage(tree.inclusion_proof(1, 6), "tree size 6: needs leaf < tree size <= 5");
  expect_usage(tree.consistency_proof(0, 3), "from tree size 0 to 3");
  expect_usage(tree.consistency_proof(4, 3), "from tree size 4 to 3");
  expect_usage(tree.consistency_proof(2, 6), "from tree size 2 to 6");
  expect_usage(MerkleTree().root(1), "tree size 1: the tree holds 0 leaves");
}

// Every proof for every leaf of every size up to 70 fails once anything about it is wrong.
TEST(VerifyInclusion, RejectsEveryTamperedProof) {
  const std::vector<Hash> d = leaves(kMaxSize);
  const MerkleTree tree = tree_of(d);
  for (std::size_t n = 1; n <= kMaxSize; ++n) {
    const Hash root = tree.root(n).value();
    for (std::size_t i = 0; i < n; ++i) {
      const Proof proof = tree.inclusion_proof(i, n).value();
      auto rejects = [&](std::uint64_t index, std::uint64_t size, const Proof& p, const Hash& r) {
        return !verify_inclusion(index, size, d[i], p, r);
      };
      for (std::size_t j = 0; j < proof.size(); ++j) {
        Proof flipped = proof;
        flipped[j][j % kHashSize] ^= 0x10;
        EXPECT_TRUE(rejects(i, n, flipped, root)) << "flipped " << j << ", leaf " << i << "/" << n;
        Proof dropped = proof;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(j));
        EXPECT_TRUE(rejects(i, n, dropped, root)) << "dropped " << j << ", leaf " << i << "/" << n;
      }
      for (const Hash& extra : {root, d[i], Hash{}}) {
        Proof appended = proof;
        appended.push_back(extra);
        EXPECT_TRUE(rejects(i, n, appended, root)) << "appended, leaf " << i << "/" << n;
        Proof prepended = proof;
        prepended.insert(prepended.begin(), extra);
        EXPECT_TRUE(rejects(i, n, prepended, root)) << "prepended, leaf " << i << "/" << n;
      }
      for (std::uint64_t j : {i - 1, i + 1, i ^ 2, std::uint64_t{0}, n - 1}) {
        if (j != i) {
          EXPECT_TRUE(rejects(j, n, proof, root)) << "index " << j << " for " << i;
        }
      }
      // A checkpoint binds size and root together: the proof must fail for any other real one.
      for (std::uint64_t m : {n - 1, n + 1, 2 * n, n / 2}) {
        if (m != n && m >= 1 && m <= kMaxSize) {
          EXPECT_TRUE(rejects(i, m, proof, tree.root(m).value())) << "size " << m << " for " << n;
        }
      }
      EXPECT_TRUE(rejects(i, n, proof, empty_root()));
      EXPECT_TRUE(rejects(i, n, proof, d[i]) || n == 1);
    }
  }
}

TEST(VerifyConsistency, RejectsEveryTamperedProof) {
  const std::vector<Hash> d = leaves(kMaxSize);
  const MerkleTree tree = tree_of(d);
  auto root = [&](std::uint64_t n) { return tree.root(n).value(); };
  for (std::size_t n = 1; n <= kMaxSize; ++n) {
    for (std::size_t m = 1; m <= n; ++m) {
      const Proof proof = tree.consistency_proof(m, n).value();
      auto rejects = [&](std::uint64_t a, std::uint64_t b, const Hash& ra, const Hash& rb,
                         const Proof& p) { return !verify_consistency(a, b, ra, rb, p); };
      const std::string where = std::to_string(m) + "->" + std::to_string(n);
      for (std::size_t j = 0; j < proof.size(); ++j) {
        Proof flipped = proof;
        flipped[j][(j * 7) % kHashSize] ^= 0x01;
        EXPECT_TRUE(rejects(m, n, root(m), root(n), flipped)) << "flipped " << j << " " << where;
        Proof dropped = proof;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(j));
        EXPECT_TRUE(rejects(m, n, root(m), root(n), dropped)) << "dropped " << j << " " << where;
      }
      for (const Hash& extra : {root(m), root(n), Hash{}}) {
        Proof appended = proof;
        appended.push_back(extra);
        EXPECT_TRUE(rejects(m, n, root(m), root(n), appended)) << "appended " << where;
        Proof prepended = proof;
        prepended.insert(prepended.begin(), extra);
        EXPECT_TRUE(rejects(m, n, root(m), root(n), prepended)) << "prepended " << where;
      }
      EXPECT_TRUE(rejects(m, n, root(n), root(m), proof) || m == n) << "swapped " << where;
      EXPECT_TRUE(rejects(m, n, leaf_hash("other"), root(n), proof)) << where;
      EXPECT_TRUE(rejects(m, n, root(m), leaf_hash("other"), proof)) << where;
      for (std::uint64_t other : {m - 1, m + 1, 2 * m, m / 2}) {
        if (other != m && other >= 1 && other <= kMaxSize) {
          EXPECT_TRUE(rejects(other, n, root(other), root(n), proof)) << other << " for " << where;
        }
      }
      for (std::uint64_t other : {n - 1, n + 1, 2 * n, n / 2}) {
        if (other != n && other >= 1 && other <= kMaxSize) {
          EXPECT_TRUE(rejects(m, other, root(m), root(other), proof)) << other << " for " << where;
        }
      }
    }
  }
}

TEST(VerifyConsistency, HandlesSizesOutsideTheRfcRangeExplicitly) {
  const Hash a = leaf_hash("a");
  const Hash b = leaf_hash("b");
  EXPECT_TRUE(verify_consistency(3, 3, a, a, {}));
  EXPECT_FALSE(verify_consistency(3, 3, a, b, {}));
  EXPECT_FALSE(verify_consistency(4, 4, a, a, Proof{a}));
  EXPECT_FALSE(verify_consistency(0, 0, empty_root(), empty_root(), {}));  // RFC: 0 < first
  EXPECT_FALSE(verify_consistency(0, 1, empty_root(), a, {}));
  EXPECT_FALSE(verify_consistency(2, 1, a, b, Proof{a}));
  EXPECT_FALSE(verify_consistency(1, 2, a, b, {}));  // step 1: an empty path never verifies
}

// Hostile sizes and over-long proofs must fail without overflow or out-of-range reads (the
// sanitizer build checks the latter).
TEST(Verify, SurvivesExtremeSizesAndLongProofs) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const Hash h = leaf_hash("x");
  const Proof long_proof(200, h);
  EXPECT_FALSE(verify_inclusion(0, 0, h, {}, h));
  EXPECT_FALSE(verify_inclusion(kMax, kMax, h, long_proof, h));
  EXPECT_FALSE(verify_inclusion(kMax - 1, kMax, h, long_proof, h));
  EXPECT_FALSE(verify_inclusion(0, kMax, h, long_proof, h));
  EXPECT_FALSE(verify_inclusion(0, 1, h, long_proof, h));
  EXPECT_TRUE(verify_inclusion(0, 1, h, {}, h));
  EXPECT_FALSE(verify_consistency(kMax, kMax, h, h, long_proof));
  EXPECT_FALSE(verify_consistency(1, kMax, h, h, long_proof));
  EXPECT_FALSE(verify_consistency(std::uint64_t{1} << 63, kMax, h, h, long_proof));
  EXPECT_FALSE(verify_consistency(kMax - 1, kMax, h, h, Proof{h}));
}

}  // namespace
}  // namespace labvault::audit
