// AES-256-GCM field encryption. A sealed value is self-describing:
//   0x01 | key id (8 bytes BE) | key version (4 bytes BE) | nonce (12) | ciphertext | tag (16)
// The header is authenticated together with the caller's associated data, so a value that is
// moved to another row, column or lab, or relabelled with another key id, fails to open.
// Invariant: nonces are random 96-bit values (NIST SP 800-38D 8.2.2); a key must not seal more
// than 2^32 values, far above what one lab or patient key sees (rotate data keys beyond that).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret.hpp"
#include "model/error.hpp"

namespace labvault::crypto {

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kSealOverhead = 1 + 8 + 4 + 12 + 16;

// Which key sealed a value: the data key's id in the key table and its version.
struct KeyRef {
  std::uint64_t id = 0;
  std::uint32_t version = 0;
  bool operator==(const KeyRef&) const = default;
};

// Reads the key reference of a sealed value without opening it (to fetch the right key).
[[nodiscard]] model::Result<KeyRef> sealed_key_ref(std::string_view sealed);

// One AES-256 key ready to seal and open. Holds its OpenSSL contexts so that the key schedule is
// computed once, not per value. Safe to share between threads (calls are serialized).
class AeadKey {
 public:
  [[nodiscard]] static model::Result<AeadKey> make(KeyRef ref, SecretBytes key);
  ~AeadKey();
  AeadKey(AeadKey&&) noexcept;
  AeadKey& operator=(AeadKey&&) noexcept;

  [[nodiscard]] KeyRef ref() const;
  // Appends the sealed form of `plaintext` to `out`.
  [[nodiscard]] model::Result<void> seal(std::string_view plaintext, std::string_view aad,
                                         std::string& out) const;
  [[nodiscard]] model::Result<std::string> seal(std::string_view plaintext,
                                                std::string_view aad) const;
  // Fails with kCrypto when the tag does not verify (tampered, moved, other AAD) and with kKey
  // when the value names another key.
  [[nodiscard]] model::Result<std::string> open(std::string_view sealed,
                                                std::string_view aad) const;

 private:
  struct Impl;
  explicit AeadKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::crypto
