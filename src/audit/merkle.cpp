#include "audit/merkle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <utility>

// OpenSSL 3.0's EVP layer dispatches through a provider on every call. Measured on the project's
// 2-core build VM (SHA-NI): a 65-byte node hash took 260 ns through a reused EVP_MD_CTX with a
// pre-fetched EVP_MD, 357 ns through EVP_Digest, 910 ns through SHA256() (which fetches the
// algorithm per call), and 166 ns through SHA256_Init/Update/Final, which runs the same assembly
// directly and needs no context object to cache. Verifying a million-record log hashes ~2 million
// times, so the low-level calls are worth their deprecation warning; an OpenSSL built without the
// deprecated API still compiles, on the EVP path. Must precede the first OpenSSL header.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

namespace labvault::audit {

namespace {

using model::ErrorCode;

std::string_view bytes_of(const Hash& hash) {
  return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

}  // namespace

// Cannot fail short of memory exhaustion.
Hash sha256_of(std::initializer_list<std::string_view> parts) {
  Hash out;
#ifndef OPENSSL_NO_DEPRECATED_3_0
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (std::string_view part : parts) SHA256_Update(&ctx, part.data(), part.size());
  SHA256_Final(out.data(), &ctx);
#else
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = md != nullptr && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (std::string_view part : parts) {
    ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  }
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr) != 1) std::abort();
#endif
  return out;
}

namespace {

// RFC 9162 2.1.1: the one-byte prefixes keep a leaf from ever hashing like an interior node
// (second-preimage resistance).
constexpr char kLeafPrefix[] = {0x00};
constexpr char kNodePrefix[] = {0x01};

// The RFC's k for MTH(D[n]), n >= 2: the largest power of two smaller than n.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 9162 2.1.3.2 4.b.ii and 2.1.4.2 6.b.iii: skip the levels where the path runs along the
// right edge of the tree and so has no sibling.
void shift_past_right_edge(std::uint64_t& fn, std::uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

Hash leaf_hash(std::string_view entry) {
  return sha256_of({std::string_view(kLeafPrefix, 1), entry});
}

Hash node_hash(const Hash& left, const Hash& right) {
  return sha256_of({std::string_view(kNodePrefix, 1), bytes_of(left), bytes_of(right)});
}

Hash empty_root() { return sha256_of({}); }

std::string to_hex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * kHashSize, '0');
  for (std::size_t i = 0; i < kHashSize; ++i) {
    out[2 * i] = kDigits[hash[i] >> 4];
    out[2 * i + 1] = kDigits[hash[i] & 0xf];
  }
  return out;
}

model::Result<Hash> hash_from_hex(std::string_view hex) {
  if (hex.size() != 2 * kHashSize) {
    return model::fail(ErrorCode::kParse, fmt::format("a SHA-256 hash is {} hex digits, found {}",
                                                      2 * kHashSize, hex.size()));
  }
  Hash out;
  for (std::size_t i = 0; i < kHashSize; ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return model::fail(ErrorCode::kParse,
                         fmt::format("a SHA-256 hash is hex digits only, found another character "
                                     "at position {}",
                                     2 * i + (high < 0 ? 1 : 2)));
    }
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return out;
}

model::Result<CompactTree> CompactTree::restore(std::uint64_t size, std::vector<Hash> frontier) {
  // One perfect subtree per set bit of size: MTH splits by powers of two (RFC 9162 2.1.1).
  const auto expected = static_cast<std::size_t>(std::popcount(size));
  if (frontier.size() != expected) {
    return model::fail(ErrorCode::kUsage,
                       fmt::format("a compact tree of {} leaves has {} frontier hashes, found {}",
                                   size, expected, frontier.size()));
  }
  CompactTree tree;
  tree.size_ = size;
  tree.frontier_ = std::move(frontier);
  return tree;
}

void CompactTree::append(const Hash& leaf) {
  // Like adding 1 in binary: each trailing one bit of size_ is a subtree as large as the carry.
  Hash carry = leaf;
  for (std::uint64_t bits = size_; (bits & 1) != 0; bits >>= 1) {
    carry = node_hash(frontier_.back(), carry);
    frontier_.pop_back();
  }
  frontier_.push_back(carry);
  ++size_;
}

Hash CompactTree::root() const {
  if (frontier_.empty()) return empty_root();
  // MTH puts the largest power of two on the left at every split, so fold from the right.
  Hash root = frontier_.back();
  for (auto it = frontier_.rbegin() + 1; it != frontier_.rend(); ++it) root = node_hash(*it, root);
  return root;
}

void MerkleTree::reserve(std::uint64_t leaves) {
  for (std::size_t k = 0; (leaves >> k) != 0; ++k) {
    if (levels_.size() == k) levels_.emplace_back();
    levels_[k].reserve(leaves >> k);
  }
}

void MerkleTree::append(const Hash& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  // A node is stored as soon as its subtree is complete, i.e. when a level's count turns even.
  for (std::size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    if (levels_.size() == k + 1) levels_.emplace_back();
    const std::vector<Hash>& level = levels_[k];
    Hash parent = node_hash(level[level.size() - 2], level.back());
    levels_[k + 1].push_back(parent);
  }
}

Hash MerkleTree::range_hash(std::uint64_t begin, std::uint64_t end) const {
  // The range splits into one stored perfect subtree per set bit of its length, largest first;
  // MTH nests them to the right: node(P1, node(P2, ... Pj)). Fold from the smallest.
  Hash acc{};
  bool first = true;
  for (std::uint64_t rest = end - begin; rest != 0; rest &= rest - 1) {
    const int k = std::countr_zero(rest);
    const Hash& piece = levels_[k][(begin + (rest & (rest - 1))) >> k];
    acc = first ? piece : node_hash(piece, acc);
    first = false;
  }
  return acc;
}

model::Result<Hash> MerkleTree::root(std::uint64_t tree_size) const {
  if (tree_size > size()) {
    return model::fail(
        ErrorCode::kUsage,
        fmt::format("no root for tree size {}: the tree holds {} leaves", tree_size, size()));
  }
  return tree_size == 0 ? empty_root() : range_hash(0, tree_size);
}

model::Result<std::vector<Hash>> MerkleTree::inclusion_proof(std::uint64_t index,
                                                             std::uint64_t tree_size) const {
  if (tree_size > size() || index >= tree_size) {
    return model::fail(ErrorCode::kUsage,
                       fmt::format("no inclusion proof for leaf {} in tree size {}: needs leaf < "
                                   "tree size <= {} (leaves held)",
                                   index, tree_size, size()));
  }
  // RFC 9162 2.1.3.1 walks down from the root; the proof lists the siblings from the leaf up.
  std::vector<Hash> proof;
  std::uint64_t begin = 0;
  std::uint64_t end = tree_size;
  while (end - begin > 1) {
    const std::uint64_t k = split_point(end - begin);
    if (index < begin + k) {
      proof.push_back(range_hash(begin + k, end));
      end = begin + k;
    } else {
      proof.push_back(range_hash(begin, begin + k));
      begin += k;
    }
  }
  std::ranges::reverse(proof);
  return proof;
}

model::Result<std::vector<Hash>> MerkleTree::consistency_proof(std::uint64_t old_size,
                                                               std::uint64_t new_size) const {
  if (new_size > size() || old_size == 0 || old_size > new_size) {
    return model::fail(ErrorCode::kUsage,
                       fmt::format("no consistency proof from tree size {} to {}: needs 0 < old "
                                   "<= new <= {} (leaves held)",
                                   old_size, new_size, size()));
  }
  // SUBPROOF(m, D[begin:end], whole) of RFC 9162 2.1.4.1, unrolled; m counts from begin. While
  // whole holds, D[begin:begin+m] is the old tree itself, whose root the verifier already has.
  std::vector<Hash> proof;
  std::uint64_t begin = 0;
  std::uint64_t end = new_size;
  std::uint64_t m = old_size;
  bool whole = true;
  while (m != end - begin) {
    const std::uint64_t k = split_point(end - begin);
    if (m <= k) {
      proof.push_back(range_hash(begin + k, end));
      end = begin + k;
    } else {
      proof.push_back(range_hash(begin, begin + k));
      begin += k;
      m -= k;
      whole = false;
    }
  }
  if (!whole) proof.push_back(range_hash(begin, end));
  std::ranges::reverse(proof);
  return proof;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t tree_size, const Hash& leaf,
                      std::span<const Hash> proof, const Hash& root) {
  // RFC 9162 2.1.3.2; the numbers are the RFC's steps.
  if (index >= tree_size) return false;  // 1
  std::uint64_t fn = index;              // 2
  std::uint64_t sn = tree_size - 1;
  Hash r = leaf;                      // 3
  for (const Hash& p : proof) {       // 4
    if (sn == 0) return false;        // 4.a: the proof is too long
    if ((fn & 1) != 0 || fn == sn) {  // 4.b
      r = node_hash(p, r);
      shift_past_right_edge(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;  // 4.c
    sn >>= 1;
  }
  return sn == 0 && r == root;  // 5: sn != 0 means the proof was too short
}

bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, std::span<const Hash> proof) {
  // The RFC's algorithm covers 0 < first < second. A tree is consistent with itself through the
  // empty proof (SUBPROOF(m, D[m], true) = {}, 2.1.4.1); the RFC defines no proof from size 0.
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;

  // RFC 9162 2.1.4.2; the numbers are the RFC's steps.
  if (proof.empty()) return false;  // 1
  // 2: prepend first_hash, by offsetting the index instead of copying the proof.
  const std::size_t offset = std::has_single_bit(old_size) ? 1 : 0;
  auto path = [&](std::size_t i) -> const Hash& {
    return i < offset ? old_root : proof[i - offset];
  };
  const std::size_t path_size = proof.size() + offset;
  std::uint64_t fn = old_size - 1;  // 3
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {  // 4
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path(0);  // 5
  Hash sr = path(0);
  for (std::size_t i = 1; i < path_size; ++i) {  // 6
    const Hash& c = path(i);
    if (sn == 0) return false;        // 6.a: the proof is too long
    if ((fn & 1) != 0 || fn == sn) {  // 6.b
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      shift_past_right_edge(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;  // 6.c
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;  // 7
}

}  // namespace labvault::audit
