// Password hashing with Argon2id (libargon2), OWASP Password Storage Cheat Sheet parameters:
// m = 19 MiB, t = 2, p = 1, 16-byte salt, 32-byte tag, PHC string format. The encoded string
// carries its parameters, so stronger parameters later still verify old hashes (and
// needs_rehash says when to upgrade one at the next successful login).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace labvault::crypto {

// Longer passwords are refused (kValueTooLong) by hash and verify alike: a bound on the work one
// request can cause. No other rule on what a password may contain.
inline constexpr std::size_t kMaxPasswordBytes = 4096;

struct PasswordParams {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"; the password is not retained.
[[nodiscard]] model::Result<std::string> hash_password(std::string_view password,
                                                       const PasswordParams& params = {});
// True when `password` matches; false on mismatch; an error only for a malformed or non-Argon2id
// hash (kCrypto) or a password over kMaxPasswordBytes (kValueTooLong).
// Comparison is constant time (libargon2).
[[nodiscard]] model::Result<bool> verify_password(std::string_view password,
                                                  std::string_view encoded);
// True when `encoded` should be replaced at the next successful login: not Argon2id v=19, a lower
// memory or time cost than `params`, another parallelism, a shorter salt or tag, or unparseable.
[[nodiscard]] bool needs_rehash(std::string_view encoded, const PasswordParams& params = {});

}  // namespace labvault::crypto
