// TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits, the parameters every authenticator app
// supports) on liboath. Verification returns the matched time step so that the caller can refuse
// a code whose step was already used (replay), which TOTP alone cannot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret.hpp"
#include "model/error.hpp"

namespace labvault::crypto {

inline constexpr int kTotpDigits = 6;
inline constexpr int kTotpStepSeconds = 30;
inline constexpr std::size_t kTotpSecretSize = 20;  // 160 bits, RFC 4226 4 R6

[[nodiscard]] model::Result<SecretBytes> new_totp_secret();
// RFC 4648 base32 without padding, as authenticator apps expect in otpauth:// URIs.
[[nodiscard]] std::string base32_encode(std::span<const std::uint8_t> bytes);
[[nodiscard]] model::Result<SecretBytes> base32_decode(std::string_view text);
// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
// with issuer and account percent-encoded (Key Uri Format).
[[nodiscard]] std::string otpauth_uri(std::string_view issuer, std::string_view account,
                                      const SecretBytes& secret);
// The code for the time step containing `unix_seconds` (tests and enrollment checks).
[[nodiscard]] model::Result<std::string> totp_code(const SecretBytes& secret,
                                                   std::int64_t unix_seconds);
// The time step the code matched within ±`window` steps of `unix_seconds`, or nullopt.
// Anything but exactly 6 ASCII digits is a mismatch, not an error.
[[nodiscard]] model::Result<std::optional<std::int64_t>> verify_totp(const SecretBytes& secret,
                                                                     std::string_view code,
                                                                     std::int64_t unix_seconds,
                                                                     int window = 1);

}  // namespace labvault::crypto
