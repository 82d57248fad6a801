// SMART Backend Services client authentication (private_key_jwt, RFC 7523): a registered
// client's public keys, a strict compact-JWS decoder, and the verification of a client assertion.
// Invariant: nothing a DecodedJwt says is trusted until verify_client_assertion has accepted it;
// the caller must still reject a replayed jti (it owns the storage that remembers them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::access {

// RFC 7515: no padding, URL alphabet only.
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> bytes);
// Strict: refuses padding, whitespace, characters outside [A-Za-z0-9_-], a length of 4k+1 and
// non-zero unused trailing bits (so every byte string has exactly one encoding). kParse.
[[nodiscard]] model::Result<std::string> base64url_decode(std::string_view text);

// The two key types SMART allows (RS384 and ES384).
enum class KeyType { kRsa, kEc };

struct PublicKeyInfo {
  std::string kid;  // empty when registered without one (PEM, or a JWK without "kid")
  KeyType type = KeyType::kRsa;
  int bits = 0;  // RSA modulus size, or 384 for P-384
};

struct DecodedJwt;

// The public keys registered for one client: immutable, cheap to copy (shares the keys).
class PublicKeySet {
 public:
  [[nodiscard]] std::size_t size() const { return info_.size(); }
  [[nodiscard]] const std::vector<PublicKeyInfo>& keys() const { return info_; }

 private:
  struct Keys;  // the OpenSSL handles, index for index with info_
  PublicKeySet(std::vector<PublicKeyInfo> info, std::shared_ptr<const Keys> keys);
  friend model::Result<PublicKeySet> parse_public_keys(std::string_view pem_or_jwks);
  friend model::Result<void> verify_client_assertion(const DecodedJwt& jwt,
                                                     const PublicKeySet& keys,
                                                     std::string_view client_id,
                                                     std::string_view token_endpoint,
                                                     std::int64_t now_seconds);
  std::vector<PublicKeyInfo> info_;
  std::shared_ptr<const Keys> keys_;
};

// Reads one or more PEM "PUBLIC KEY" (SubjectPublicKeyInfo) blocks, or a JWK Set
// {"keys":[...]} of RSA (n, e) and EC P-384 (crv, x, y) keys. Refuses private key material,
// RSA under 2048 or over 8192 bits, other curves and key types, a JWK whose "alg" is not RS384 /
// ES384 or whose "use" is not "sig", and an empty set: kUsage; unreadable text: kParse.
[[nodiscard]] model::Result<PublicKeySet> parse_public_keys(std::string_view pem_or_jwks);

// A compact JWS split and decoded, nothing verified. Optional members are absent when the
// token does not carry them; a member of the wrong JSON type is a kParse from decode_jwt.
struct DecodedJwt {
  // JOSE header
  std::string alg;
  std::optional<std::string> kid;
  std::optional<std::string> typ;
  // claims (RFC 7519 4.1)
  std::optional<std::string> iss;
  std::optional<std::string> sub;
  std::vector<std::string> aud;  // a single string becomes one element; empty when absent
  std::optional<std::string> jti;
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> iat;
  std::optional<std::int64_t> nbf;
  // RFC 7515 5.2: ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), and the raw signature
  std::string signing_input;
  std::string signature;
};

inline constexpr std::size_t kMaxJwtSize = 16 * 1024;

// Strict compact serialization: three base64url parts, at most kMaxJwtSize bytes, header and
// payload JSON objects without duplicate member names, no "crit" header. kParse otherwise.
[[nodiscard]] model::Result<DecodedJwt> decode_jwt(std::string_view compact);

inline constexpr std::int64_t kMaxAssertionLifetimeSeconds = 300;  // SMART: exp at most 5 min ahead
inline constexpr std::int64_t kNotBeforeLeewaySeconds = 60;
inline constexpr std::size_t kMaxJtiSize = 256;

// SMART Backend Services: alg RS384 or ES384; the signature verifies with a registered key (the
// one named by kid; keys registered without a kid match any kid); iss == sub == client_id; aud
// is token_endpoint (or an array holding it); now < exp <= now + 300; nbf <= now + 60; jti is
// 1..256 bytes. Every refusal is kUnauthenticated naming the check that failed; kCrypto only
// when OpenSSL itself fails. Does not check jti replay: the caller must.
[[nodiscard]] model::Result<void> verify_client_assertion(const DecodedJwt& jwt,
                                                          const PublicKeySet& keys,
                                                          std::string_view client_id,
                                                          std::string_view token_endpoint,
                                                          std::int64_t now_seconds);

}  // namespace labvault::access
