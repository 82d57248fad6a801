// Key material and other secrets in memory: bytes that are wiped (OPENSSL_cleanse) when they go
// away, and the one source of randomness for keys, nonces and tokens (OpenSSL's DRBG).
// Invariant: a SecretBytes is never copied implicitly, so a key exists in as few places as
// possible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace labvault::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);
  SecretBytes(std::span<const std::uint8_t> bytes);  // copies, for loading from a file
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  [[nodiscard]] SecretBytes clone() const;  // explicit copy where a second owner is needed
  [[nodiscard]] std::uint8_t* data() { return data_; }
  [[nodiscard]] const std::uint8_t* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] std::span<const std::uint8_t> span() const { return {data_, size_}; }
  bool operator==(const SecretBytes& other) const;  // constant time (CRYPTO_memcmp)

 private:
  void wipe();
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Wipes a string that held a secret (a password, a decoded key line) before it is freed.
void wipe(std::string& s);

// Cryptographically secure random bytes (RAND_priv_bytes for keys, RAND_bytes otherwise).
[[nodiscard]] model::Result<SecretBytes> random_key(std::size_t size);
[[nodiscard]] model::Result<void> random_bytes(std::span<std::uint8_t> out);
// A random token as lowercase hex, `bytes` bytes of entropy (session ids, jti, request ids).
[[nodiscard]] model::Result<std::string> random_hex(std::size_t bytes);

// RFC 4648 base64 (standard alphabet, padded) for key files; decode rejects anything else.
[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] model::Result<SecretBytes> base64_decode(std::string_view text);

// SHA-256 of bytes (content digests; never for passwords or keyed lookups).
[[nodiscard]] std::string sha256(std::span<const std::uint8_t> bytes);
[[nodiscard]] inline std::string sha256(std::string_view s) {
  return sha256({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

}  // namespace labvault::crypto
