// The audit log's Merkle tree, exactly as RFC 9162 (Certificate Transparency 2.0) section 2.1
// defines it, so any CT tool can check our roots and proofs: SHA-256, 0x00/0x01 domain prefixes.
// Invariant: leaves are only ever appended; a root or proof for tree size n commits to the first
// n leaves in append order, and every hash passed in must be a leaf_hash()/node_hash() output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::audit {

inline constexpr std::size_t kHashSize = 32;  // SHA-256
using Hash = std::array<std::uint8_t, kHashSize>;

// Plain SHA-256 of the concatenated parts, on the fastest OpenSSL path (see merkle.cpp): also
// what the audit record chain uses.
[[nodiscard]] Hash sha256_of(std::initializer_list<std::string_view> parts);
[[nodiscard]] Hash leaf_hash(std::string_view entry);               // RFC 9162 2.1.1: H(0x00||d)
[[nodiscard]] Hash node_hash(const Hash& left, const Hash& right);  // H(0x01||left||right)
[[nodiscard]] Hash empty_root();                                    // MTH({}) = SHA-256("")

// 64 lowercase hex digits, the form used in proof files and on the command line.
[[nodiscard]] std::string to_hex(const Hash& hash);
// Accepts exactly 64 hex digits (either case); anything else is a kParse error.
[[nodiscard]] model::Result<Hash> hash_from_hex(std::string_view hex);

// The append-only state in O(log n) memory: the roots of the perfect subtrees that tile the
// leaves so far (a "compact range"), largest (leftmost) first. The audit writer keeps one to know
// the root after each append, saves (size, frontier) with every checkpoint and restores it at
// start without rereading the log.
class CompactTree {
 public:
  CompactTree() = default;  // the empty tree

  // Fails (kUsage) unless frontier holds exactly popcount(size) hashes; the hashes themselves
  // cannot be checked here, so they must come from a trusted checkpoint.
  [[nodiscard]] static model::Result<CompactTree> restore(std::uint64_t size,
                                                          std::vector<Hash> frontier);

  void append(const Hash& leaf);  // amortised O(1) node hashes
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] Hash root() const;  // MTH of all leaves so far, O(log n)
  [[nodiscard]] const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> frontier_;  // one perfect subtree per set bit of size_, highest bit first
};

// Every perfect subtree of the log in memory (about 2n hashes, 64 MB for a million leaves), so
// roots of any earlier size and proofs between any two sizes cost O(log^2 n) hashes at most.
// Used by `audit verify` and `audit prove` over a whole log.
class MerkleTree {
 public:
  void reserve(std::uint64_t leaves);
  void append(const Hash& leaf);  // amortised O(1) node hashes
  [[nodiscard]] std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }

  // MTH(D[0:tree_size]); kUsage if tree_size > size().
  [[nodiscard]] model::Result<Hash> root(std::uint64_t tree_size) const;
  // PATH(index, D[0:tree_size]), RFC 9162 2.1.3.1, leaf's sibling first; kUsage unless
  // index < tree_size <= size().
  [[nodiscard]] model::Result<std::vector<Hash>> inclusion_proof(std::uint64_t index,
                                                                 std::uint64_t tree_size) const;
  // PROOF(old_size, D[0:new_size]), RFC 9162 2.1.4.1; empty when the sizes are equal. kUsage
  // unless 0 < old_size <= new_size <= size() (the RFC defines no proof from the empty tree).
  [[nodiscard]] model::Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size,
                                                                   std::uint64_t new_size) const;

 private:
  // MTH(D[begin:end]) for a range the RFC's recursion produces (begin aligned to the range).
  [[nodiscard]] Hash range_hash(std::uint64_t begin, std::uint64_t end) const;

  std::vector<std::vector<Hash>> levels_;  // levels_[k][i] = MTH(D[i*2^k : (i+1)*2^k])
};

// RFC 9162 2.1.3.2, step for step: true iff proof shows leaf at index in the tree of tree_size
// leaves whose root is root. A proof of the wrong length never verifies. Hashes do not encode
// sizes, so take tree_size and root from the same checkpoint: a proof against size n's root can
// also pass under some other size (leaf 0 of 3 passes as leaf 0 of 4 with the 3-leaf root).
[[nodiscard]] bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Hash& leaf,
                                    std::span<const Hash> proof, const Hash& root);

// RFC 9162 2.1.4.2, step for step, for 0 < old_size < new_size. old_size == new_size is
// consistent iff the proof is empty and the roots are equal; old_size == 0 or old_size > new_size
// never verifies.
[[nodiscard]] bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size,
                                      const Hash& old_root, const Hash& new_root,
                                      std::span<const Hash> proof);

}  // namespace labvault::audit
