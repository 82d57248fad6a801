#include "access/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "access/internal/openssl_util.hpp"

namespace labvault::access {

namespace {

using model::ErrorCode;
using nlohmann::json;
using namespace internal;

std::unexpected<model::Error> unauthenticated(std::string message) {
  return model::fail(ErrorCode::kUnauthenticated, std::move(message));
}

// ---- decoding ------------------------------------------------------------------------------

// A JSON object with no member name twice at any level (RFC 7515 4: reject, so that no two
// parsers can read the same token differently).
model::Result<json> parse_object(std::string_view text, const char* what) {
  std::vector<std::set<std::string>> open;
  bool duplicate = false;
  json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open.emplace_back();
    if (event == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    if (event == json::parse_event_t::key && !open.empty() &&
        !open.back().insert(parsed.get<std::string>()).second) {
      duplicate = true;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, track);
  } catch (const json::exception&) {
    return model::fail(ErrorCode::kParse, std::string("the JWT ") + what + " is not JSON");
  }
  if (!doc.is_object()) {
    return model::fail(ErrorCode::kParse, std::string("the JWT ") + what + " is not a JSON object");
  }
  if (duplicate) {
    return model::fail(ErrorCode::kParse, std::string("the JWT ") + what + " repeats a member");
  }
  return doc;
}

model::Result<std::optional<std::string>> string_member(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (!it->is_string()) {
    return model::fail(ErrorCode::kParse, std::string(name) + " is not a string");
  }
  return it->get<std::string>();
}

// RFC 7519 2 NumericDate, restricted to integers.
model::Result<std::optional<std::int64_t>> time_member(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (!it->is_number_integer()) {
    return model::fail(ErrorCode::kParse, std::string(name) + " is not an integer NumericDate");
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > std::uint64_t{INT64_MAX}) {
    return model::fail(ErrorCode::kParse, std::string(name) + " is out of range");
  }
  return it->get<std::int64_t>();
}

model::Result<std::vector<std::string>> audience(const json& claims) {
  auto it = claims.find("aud");
  if (it == claims.end()) return std::vector<std::string>{};
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return model::fail(ErrorCode::kParse, "aud is not a string or an array");
  std::vector<std::string> out;
  for (const json& a : *it) {
    if (!a.is_string()) return model::fail(ErrorCode::kParse, "aud holds a non-string");
    out.push_back(a.get<std::string>());
  }
  return out;
}

// ---- verification --------------------------------------------------------------------------

// RFC 7518 3.4: the JWS form is R || S, each 48 bytes for P-384; OpenSSL verifies DER.
std::optional<std::string> ecdsa_der(std::string_view raw) {
  if (raw.size() != 2 * kP384CoordinateSize) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes_of(raw), kP384CoordinateSize, nullptr);
  BIGNUM* s = BN_bin2bn(bytes_of(raw.substr(kP384CoordinateSize)), kP384CoordinateSize, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return openssl_failed(std::nullopt);
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return openssl_failed(std::nullopt);
  std::unique_ptr<unsigned char, OpenSslFree> owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
}

// True when the signature verifies; an error only when OpenSSL cannot run the check.
model::Result<bool> verify_sha384(EVP_PKEY* key, KeyType type, std::string_view input,
                                  std::string_view signature) {
  // RFC 8017 8.2.2: an RSASSA signature is exactly as long as the modulus.
  if (type == KeyType::kRsa &&
      signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key))) {
    return false;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key) != 1 ||
      (type == KeyType::kRsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
    return openssl_failed(model::fail(ErrorCode::kCrypto, "could not start a signature check"));
  }
  int ok = EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(input),
                            input.size());
  if (ok != 1) return openssl_failed(false);
  return true;
}

}  // namespace

// ---- base64url (RFC 4648 5) ------------------------------------------------------------------

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8 | b) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

model::Result<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return model::fail(ErrorCode::kParse, "not base64url (length 4k+1)");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) {
      return model::fail(ErrorCode::kParse, "not base64url (a character outside A-Z a-z 0-9 - _)");
    }
    acc = (acc << 6 | static_cast<std::uint32_t>(v)) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // The 2 or 4 bits left over belong to no byte; only zeros give a canonical encoding.
  if ((acc & ((1u << bits) - 1)) != 0) {
    return model::fail(ErrorCode::kParse, "not base64url (non-zero trailing bits)");
  }
  return out;
}

model::Result<DecodedJwt> decode_jwt(std::string_view compact) {
  if (compact.size() > kMaxJwtSize) {
    return model::fail(ErrorCode::kParse, "a JWT is larger than 16 KiB");
  }
  if (std::ranges::count(compact, '.') != 2) {
    return model::fail(ErrorCode::kParse, "a compact JWS has exactly three parts");
  }
  std::size_t dot1 = compact.find('.');
  std::size_t dot2 = compact.find('.', dot1 + 1);
  auto header_text = base64url_decode(compact.substr(0, dot1));
  auto payload_text = base64url_decode(compact.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64url_decode(compact.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature) {
    return model::fail(ErrorCode::kParse, "a JWT part is not base64url");
  }
  auto header = parse_object(*header_text, "header");
  if (!header) return std::unexpected(header.error());
  auto claims = parse_object(*payload_text, "payload");
  if (!claims) return std::unexpected(claims.error());

  DecodedJwt jwt;
  // RFC 7515 4.1.11: an extension we must understand; we understand none.
  if (header->contains("crit")) {
    return model::fail(ErrorCode::kParse, "the JWT header has crit (no extension is supported)");
  }
  auto alg = string_member(*header, "alg");
  if (!alg) return std::unexpected(alg.error());
  if (!alg->has_value()) return model::fail(ErrorCode::kParse, "the JWT header has no alg");
  jwt.alg = std::move(**alg);
  for (auto [name, out] : {std::pair{"kid", &jwt.kid}, std::pair{"typ", &jwt.typ}}) {
    auto value = string_member(*header, name);
    if (!value) return std::unexpected(value.error());
    *out = std::move(*value);
  }
  for (auto [name, out] :
       {std::pair{"iss", &jwt.iss}, std::pair{"sub", &jwt.sub}, std::pair{"jti", &jwt.jti}}) {
    auto value = string_member(*claims, name);
    if (!value) return std::unexpected(value.error());
    *out = std::move(*value);
  }
  for (auto [name, out] :
       {std::pair{"exp", &jwt.exp}, std::pair{"iat", &jwt.iat}, std::pair{"nbf", &jwt.nbf}}) {
    auto value = time_member(*claims, name);
    if (!value) return std::unexpected(value.error());
    *out = *value;
  }
  auto aud = audience(*claims);
  if (!aud) return std::unexpected(aud.error());
  jwt.aud = std::move(*aud);
  jwt.signing_input = std::string(compact.substr(0, dot2));
  jwt.signature = std::move(*signature);
  return jwt;
}

model::Result<void> verify_client_assertion(const DecodedJwt& jwt, const PublicKeySet& keys,
                                            std::string_view client_id,
                                            std::string_view token_endpoint,
                                            std::int64_t now_seconds) {
  // SMART Backend Services: RS384 or ES384 only. Checked before any key is touched, so "none",
  // HMAC with a public key as secret, or another hash can never reach a verifier.
  KeyType type;
  if (jwt.alg == "RS384") {
    type = KeyType::kRsa;
  } else if (jwt.alg == "ES384") {
    type = KeyType::kEc;
  } else {
    return unauthenticated("alg is not RS384 or ES384");
  }

  // RFC 7515 4.1.4: kid names the key. Keys registered without a kid (PEM) answer to any kid.
  const std::vector<PublicKeyInfo>& info = keys.keys();
  std::vector<std::size_t> candidates;
  auto collect = [&](auto matches) {
    for (std::size_t i = 0; i < info.size(); ++i) {
      if (matches(info[i])) candidates.push_back(i);
    }
  };
  if (jwt.kid.has_value()) {
    collect([&](const PublicKeyInfo& k) { return k.kid == *jwt.kid; });
    if (candidates.empty()) collect([](const PublicKeyInfo& k) { return k.kid.empty(); });
    if (candidates.empty()) return unauthenticated("no registered key has the assertion's kid");
  } else {
    collect([](const PublicKeyInfo&) { return true; });
  }
  std::erase_if(candidates, [&](std::size_t i) { return info[i].type != type; });
  if (candidates.empty()) {
    return unauthenticated(type == KeyType::kRsa ? "no registered RSA key for RS384"
                                                 : "no registered EC P-384 key for ES384");
  }

  std::string signature = jwt.signature;
  if (type == KeyType::kEc) {
    auto der = ecdsa_der(jwt.signature);
    if (!der) return unauthenticated("an ES384 signature is not 96 bytes of raw R || S");
    signature = std::move(*der);
  }
  bool verified = false;
  for (std::size_t i = 0; i < candidates.size() && !verified; ++i) {
    auto ok =
        verify_sha384(keys.keys_->pkeys[candidates[i]].get(), type, jwt.signing_input, signature);
    if (!ok) return std::unexpected(ok.error());
    verified = *ok;
  }
  if (!verified) return unauthenticated("signature does not verify");

  // RFC 7523 3 and SMART: the client asserts itself, to this token endpoint, briefly.
  if (!jwt.iss) return unauthenticated("iss is missing");
  if (*jwt.iss != client_id) return unauthenticated("iss is not the client_id");
  if (!jwt.sub) return unauthenticated("sub is missing");
  if (*jwt.sub != client_id) return unauthenticated("sub is not the client_id");
  if (jwt.aud.empty()) return unauthenticated("aud is missing");
  if (std::ranges::find(jwt.aud, token_endpoint) == jwt.aud.end()) {
    return unauthenticated("aud is not this token endpoint");
  }
  // Differences in uint64 so that no value of exp, nbf or now can overflow.
  auto ahead = [&](std::int64_t t) {
    return static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(now_seconds);
  };
  if (!jwt.exp) return unauthenticated("exp is missing");
  if (*jwt.exp <= now_seconds) return unauthenticated("exp has passed");
  if (ahead(*jwt.exp) > static_cast<std::uint64_t>(kMaxAssertionLifetimeSeconds)) {
    return unauthenticated("exp is more than 5 minutes ahead");
  }
  if (jwt.nbf && *jwt.nbf > now_seconds &&
      ahead(*jwt.nbf) > static_cast<std::uint64_t>(kNotBeforeLeewaySeconds)) {
    return unauthenticated("nbf is more than 60 seconds ahead");
  }
  if (!jwt.jti) return unauthenticated("jti is missing");
  if (jwt.jti->empty()) return unauthenticated("jti is empty");
  if (jwt.jti->size() > kMaxJtiSize) return unauthenticated("jti is longer than 256 bytes");
  return {};
}

}  // namespace labvault::access
