// Ed25519 signatures (RFC 8032) for audit checkpoints: the keyring's seed signs, anyone holding
// the 32-byte public key verifies, offline. Invariant: the private key never leaves this object
// (it is built from the keyring's seed and freed with it).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret.hpp"
#include "model/error.hpp"

namespace labvault::crypto {

inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;
using PublicKey = std::array<std::uint8_t, kEd25519PublicKeySize>;

class SigningKey {
 public:
  [[nodiscard]] static model::Result<SigningKey> from_seed(const SecretBytes& seed);
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  [[nodiscard]] const PublicKey& public_key() const;
  // 64 raw bytes. Ed25519 is deterministic: the same message gives the same signature.
  [[nodiscard]] model::Result<std::string> sign(std::string_view message) const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// False for a wrong signature, a wrong key or malformed input; never an error.
[[nodiscard]] bool verify_signature(const PublicKey& key, std::string_view message,
                                    std::string_view signature);

// A short name for a public key in records and output: the first 8 bytes of its SHA-256, hex.
[[nodiscard]] std::string key_id(const PublicKey& key);

}  // namespace labvault::crypto
