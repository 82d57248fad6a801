#include "crypto/totp.hpp"

#include <liboath/oath.h>
#include <openssl/crypto.h>

#include <array>
#include <ctime>
#include <mutex>

namespace labvault::crypto {

using model::ErrorCode;

namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
// Beyond ±5 minutes a "window" stops being clock skew and becomes a brute-force aid; the cap also
// bounds the HMACs one call can cost.
constexpr int kMaxWindow = 10;

model::Result<void> ensure_oath() {
  static std::once_flag once;
  static int rc = OATH_OK;
  std::call_once(once, [] { rc = oath_init(); });
  if (rc != OATH_OK) {
    return model::fail(ErrorCode::kInternal,
                       std::string("liboath initialisation failed: ") + oath_strerror(rc));
  }
  return {};
}

model::Result<void> check_inputs(const SecretBytes& secret, std::int64_t unix_seconds) {
  if (secret.empty()) return model::fail(ErrorCode::kKey, "TOTP secret is empty");
  // liboath keeps (now - start) / step in a uint64_t: times before the epoch become huge counters.
  if (unix_seconds < 0) return model::fail(ErrorCode::kUsage, "TOTP time is before 1970");
  return ensure_oath();
}

bool is_totp_code(std::string_view code) {
  if (code.size() != static_cast<std::size_t>(kTotpDigits)) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// liboath's own validators compare with strcmp (early exit); compare in constant time instead.
int constant_time_compare(void* handle, const char* candidate) {
  return CRYPTO_memcmp(handle, candidate, kTotpDigits) == 0 ? 0 : 1;
}

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

}  // namespace

model::Result<SecretBytes> new_totp_secret() { return random_key(kTotpSecretSize); }

// Written here rather than with oath_base32_encode/decode: liboath's decoder copies the secret into
// an upper-cased heap buffer that it frees without wiping, and its encoder can only report an
// allocation failure through a return code this signature has no room for.
std::string base32_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 31]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  buffer = 0;
  OPENSSL_cleanse(&buffer, sizeof buffer);
  return out;
}

model::Result<SecretBytes> base32_decode(std::string_view text) {
  std::size_t end = text.find_last_not_of('=') + 1;  // npos + 1 == 0: all padding or empty
  std::string_view data = text.substr(0, end);
  std::size_t padding = text.size() - end;
  // Unpadded lengths of 1, 3 or 6 (mod 8) cannot come from whole bytes.
  std::size_t rest = data.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6) {
    return model::fail(ErrorCode::kKey, "not base32 (impossible length)");
  }
  if (padding != 0 && padding != (8 - rest) % 8) {
    return model::fail(ErrorCode::kKey, "not base32 (wrong padding)");
  }
  SecretBytes out(data.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : data) {
    int v = base32_value(c);
    if (v < 0) {
      OPENSSL_cleanse(&buffer, sizeof buffer);
      return model::fail(ErrorCode::kKey, "not base32 (unexpected character)");
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.data()[n++] = static_cast<std::uint8_t>(buffer >> bits);
    }
  }
  OPENSSL_cleanse(&buffer, sizeof buffer);
  return out;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        const SecretBytes& secret) {
  std::string encoded_secret = base32_encode(secret.span());
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += percent_encode(issuer) + ":";
  uri += percent_encode(account);
  uri += "?secret=" + encoded_secret;
  if (!issuer.empty()) uri += "&issuer=" + percent_encode(issuer);
  uri += "&algorithm=SHA1&digits=6&period=30";
  wipe(encoded_secret);
  return uri;
}

model::Result<std::string> totp_code(const SecretBytes& secret, std::int64_t unix_seconds) {
  if (auto r = check_inputs(secret, unix_seconds); !r) return std::unexpected(r.error());
  std::array<char, kTotpDigits + 1> buffer{};
  int rc = oath_totp_generate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                               static_cast<std::time_t>(unix_seconds), kTotpStepSeconds,
                               OATH_TOTP_DEFAULT_START_TIME, kTotpDigits, 0, buffer.data());
  if (rc != OATH_OK) {
    return model::fail(ErrorCode::kCrypto,
                       std::string("TOTP generation failed: ") + oath_strerror(rc));
  }
  std::string code(buffer.data(), kTotpDigits);
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return code;
}

model::Result<std::optional<std::int64_t>> verify_totp(const SecretBytes& secret,
                                                       std::string_view code,
                                                       std::int64_t unix_seconds, int window) {
  if (auto r = check_inputs(secret, unix_seconds); !r) return std::unexpected(r.error());
  if (window < 0 || window > kMaxWindow) {
    return model::fail(ErrorCode::kUsage,
                       "TOTP window must be 0 to " + std::to_string(kMaxWindow) + " steps");
  }
  // Checked here, not by liboath: its validators take the digit count from strlen(otp), so a 7- or
  // 8-digit code would be checked as a 7- or 8-digit TOTP rather than refused.
  if (!is_totp_code(code)) return std::optional<std::int64_t>{};
  std::array<char, kTotpDigits + 1> expected{};
  code.copy(expected.data(), kTotpDigits);
  int position = 0;
  int rc = oath_totp_validate3_callback(reinterpret_cast<const char*>(secret.data()), secret.size(),
                                        static_cast<std::time_t>(unix_seconds), kTotpStepSeconds,
                                        OATH_TOTP_DEFAULT_START_TIME, kTotpDigits,
                                        static_cast<std::size_t>(window), &position, nullptr,
                                        constant_time_compare, expected.data());
  OPENSSL_cleanse(expected.data(), expected.size());
  if (rc == OATH_INVALID_OTP) return std::optional<std::int64_t>{};
  if (rc < 0) {
    return model::fail(ErrorCode::kCrypto,
                       std::string("TOTP verification failed: ") + oath_strerror(rc));
  }
  // Within the first `window` steps after the epoch liboath also tries counters that wrapped
  // below zero; no real code lives there.
  std::int64_t step = unix_seconds / kTotpStepSeconds + position;
  if (step < 0) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{step};
}

}  // namespace labvault::crypto
