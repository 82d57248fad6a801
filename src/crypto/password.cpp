#include "crypto/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secret.hpp"

namespace labvault::crypto {

using model::ErrorCode;

namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kArgon2idPrefix = "$argon2id$";

model::Result<void> check_password_length(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return model::fail(ErrorCode::kValueTooLong,
                       "password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  return {};
}

struct Phc {
  std::uint32_t version = 0;
  std::uint32_t memory_kib = 0;
  std::uint32_t iterations = 0;
  std::uint32_t parallelism = 0;
  std::size_t salt_bytes = 0;
  std::size_t hash_bytes = 0;
};

std::optional<std::uint32_t> parse_u32(std::string_view s) {
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint32_t> parse_named(std::string_view field, std::string_view name) {
  if (!field.starts_with(name) || field.size() <= name.size() || field[name.size()] != '=') {
    return std::nullopt;
  }
  return parse_u32(field.substr(name.size() + 1));
}

// PHC strings carry salt and tag as unpadded standard base64; returns the decoded length.
std::optional<std::size_t> b64_decoded_size(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return std::nullopt;
  }
  if (s.size() % 4 == 1) return std::nullopt;
  return s.size() * 3 / 4;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

// Only the exact shape hash_password writes; anything else is worth replacing.
std::optional<Phc> parse_argon2id(std::string_view encoded) {
  auto parts = split(encoded, '$');
  if (parts.size() != 6 || !parts[0].empty() || parts[1] != "argon2id") return std::nullopt;
  Phc phc;
  auto version = parse_named(parts[2], "v");
  auto costs = split(parts[3], ',');
  if (!version || costs.size() != 3) return std::nullopt;
  auto m = parse_named(costs[0], "m");
  auto t = parse_named(costs[1], "t");
  auto p = parse_named(costs[2], "p");
  auto salt = b64_decoded_size(parts[4]);
  auto hash = b64_decoded_size(parts[5]);
  if (!m || !t || !p || !salt || !hash) return std::nullopt;
  return Phc{*version, *m, *t, *p, *salt, *hash};
}

}  // namespace

model::Result<std::string> hash_password(std::string_view password, const PasswordParams& params) {
  if (auto r = check_password_length(password); !r) return std::unexpected(r.error());
  std::array<std::uint8_t, kSaltBytes> salt{};
  if (auto r = random_bytes(salt); !r) return std::unexpected(r.error());
  std::string encoded(argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                                        kSaltBytes, kHashBytes, Argon2_id),
                      '\0');
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                                 password.data(), password.size(), salt.data(), salt.size(),
                                 kHashBytes, encoded.data(), encoded.size());
  OPENSSL_cleanse(salt.data(), salt.size());
  if (rc != ARGON2_OK) {
    wipe(encoded);
    auto code = rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ErrorCode::kInternal : ErrorCode::kConfig;
    return model::fail(code, std::string("Argon2id hashing failed: ") + argon2_error_message(rc));
  }
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

model::Result<bool> verify_password(std::string_view password, std::string_view encoded) {
  if (auto r = check_password_length(password); !r) return std::unexpected(r.error());
  // libargon2 would verify an argon2i/argon2d string with argon2id_verify only to report a
  // decoding failure; say plainly that the type is wrong. A NUL would silently truncate the C
  // string libargon2 reads.
  if (!encoded.starts_with(kArgon2idPrefix)) {
    return model::fail(ErrorCode::kCrypto, "password hash is not an Argon2id PHC string");
  }
  if (encoded.find('\0') != std::string_view::npos) {
    return model::fail(ErrorCode::kCrypto, "password hash is malformed (embedded NUL)");
  }
  std::string terminated(encoded);
  int rc = argon2id_verify(terminated.c_str(), password.data(), password.size());
  wipe(terminated);
  switch (rc) {
    case ARGON2_OK:
      return true;
    case ARGON2_VERIFY_MISMATCH:
      return false;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
      return model::fail(ErrorCode::kInternal,
                         std::string("Argon2id verification failed: ") + argon2_error_message(rc));
    default:
      return model::fail(ErrorCode::kCrypto,
                         std::string("password hash is malformed: ") + argon2_error_message(rc));
  }
}

bool needs_rehash(std::string_view encoded, const PasswordParams& params) {
  auto phc = parse_argon2id(encoded);
  if (!phc) return true;
  return phc->version != ARGON2_VERSION_13 || phc->memory_kib < params.memory_kib ||
         phc->iterations < params.iterations || phc->parallelism != params.parallelism ||
         phc->salt_bytes < kSaltBytes || phc->hash_bytes < kHashBytes;
}

}  // namespace labvault::crypto
