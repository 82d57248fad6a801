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

namespace labvault::access {

namespace {

using model::ErrorCode;
using nlohmann::json;

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free>>;
using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;

struct OpenSslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};

constexpr std::size_t kMaxKeySetSize = 64 * 1024;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the cost of one verification
constexpr std::size_t kP384CoordinateSize = 48;
constexpr const char* kPrivateKeyGiven = "a private key was given; register only the public key";

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL keeps a per-thread error queue; leave it empty so no later caller sees our failures.
template <typename T>
T openssl_failed(T result) {
  ERR_clear_error();
  return result;
}

std::unexpected<model::Error> unauthenticated(std::string message) {
  return model::fail(ErrorCode::kUnauthenticated, std::move(message));
}

// ---- keys ----------------------------------------------------------------------------------

// The checks every registered key passes, however it was written down.
model::Result<PublicKeyInfo> describe_key(EVP_PKEY* key, std::string kid) {
  PublicKeyInfo info{std::move(kid), KeyType::kRsa, EVP_PKEY_get_bits(key)};
  if (EVP_PKEY_is_a(key, "RSA")) {
    if (info.bits < kMinRsaBits) {
      return model::fail(ErrorCode::kUsage, "an RSA key has fewer than 2048 bits");
    }
    if (info.bits > kMaxRsaBits) {
      return model::fail(ErrorCode::kUsage, "an RSA key has more than 8192 bits");
    }
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      return openssl_failed(model::fail(ErrorCode::kCrypto, "could not read an RSA exponent"));
    }
    BnPtr exponent(e);
    // e = 1 would make every encoded message its own signature.
    if (!BN_is_odd(exponent.get()) || BN_is_one(exponent.get())) {
      return model::fail(ErrorCode::kUsage, "an RSA key's public exponent is not odd and above 1");
    }
    return info;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 ||
        std::string_view(group, len) != "secp384r1") {
      return openssl_failed(model::fail(ErrorCode::kUsage, "an EC key is not on curve P-384"));
    }
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
      return openssl_failed(model::fail(ErrorCode::kUsage, "an EC key is not a valid P-384 point"));
    }
    info.type = KeyType::kEc;
    return info;
  }
  return model::fail(ErrorCode::kUsage, "a key is neither RSA nor EC P-384");
}

struct ParsedKey {
  PkeyPtr key;
  PublicKeyInfo info;
};

// RFC 7468 "PUBLIC KEY" blocks (SubjectPublicKeyInfo); text between blocks is ignored.
model::Result<std::vector<ParsedKey>> read_pem_keys(std::string_view text) {
  if (text.find("PRIVATE KEY-----") != std::string_view::npos) {
    return model::fail(ErrorCode::kUsage, kPrivateKeyGiven);
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return openssl_failed(model::fail(ErrorCode::kCrypto, "could not read PEM text"));
  std::vector<ParsedKey> keys;
  for (;;) {
    char* name_raw = nullptr;
    char* header_raw = nullptr;
    unsigned char* data_raw = nullptr;
    long len = 0;
    ERR_clear_error();
    if (PEM_read_bio(bio.get(), &name_raw, &header_raw, &data_raw, &len) != 1) {
      unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
      return model::fail(ErrorCode::kParse, "a PEM block is malformed");
    }
    std::unique_ptr<char, OpenSslFree> name(name_raw), header(header_raw);
    std::unique_ptr<unsigned char, OpenSslFree> data(data_raw);
    if (std::string_view(name.get()) != "PUBLIC KEY") {
      return model::fail(ErrorCode::kUsage, "a PEM block is not a PUBLIC KEY");
    }
    if (*header != '\0') {
      return model::fail(ErrorCode::kParse, "a PEM PUBLIC KEY block has headers");
    }
    const unsigned char* p = data.get();
    PkeyPtr key(d2i_PUBKEY(nullptr, &p, len));
    if (!key || p != data.get() + len) {
      return openssl_failed(
          model::fail(ErrorCode::kParse, "a PEM PUBLIC KEY block is not a SubjectPublicKeyInfo"));
    }
    auto info = describe_key(key.get(), "");
    if (!info) return std::unexpected(info.error());
    keys.push_back({std::move(key), std::move(*info)});
  }
  return keys;
}

model::Result<std::string> jwk_bytes(const json& jwk, const char* member) {
  auto it = jwk.find(member);
  if (it == jwk.end() || !it->is_string()) {
    return model::fail(ErrorCode::kParse, std::string("a JWK has no string \"") + member + '"');
  }
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes) {
    return model::fail(ErrorCode::kParse,
                       std::string("a JWK's \"") + member + "\" is not base64url");
  }
  return bytes;
}

// A public key of `type` from the parameters that push(builder) adds (RFC 7518 6.2.1, 6.3.1).
template <typename Push>
model::Result<PkeyPtr> key_from_params(const char* type, Push push) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || !push(bld.get())) {
    return openssl_failed(model::fail(ErrorCode::kCrypto, "could not build a public key"));
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return openssl_failed(model::fail(ErrorCode::kUsage,
                                      std::string("a JWK is not a valid ") + type + " public key"));
  }
  return PkeyPtr(raw);
}

model::Result<PkeyPtr> rsa_from_jwk(const json& jwk) {
  auto n = jwk_bytes(jwk, "n");
  if (!n) return std::unexpected(n.error());
  auto e = jwk_bytes(jwk, "e");
  if (!e) return std::unexpected(e.error());
  BnPtr n_bn(BN_bin2bn(bytes_of(*n), static_cast<int>(n->size()), nullptr));
  BnPtr e_bn(BN_bin2bn(bytes_of(*e), static_cast<int>(e->size()), nullptr));
  return key_from_params("RSA", [&](OSSL_PARAM_BLD* bld) {
    return n_bn && e_bn && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n_bn.get()) == 1 &&
           OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e_bn.get()) == 1;
  });
}

// x and y are the full 48-byte coordinates of a P-384 point, not shortened.
model::Result<PkeyPtr> ec_from_jwk(const json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || crv->get_ref<const std::string&>() != "P-384") {
    return model::fail(ErrorCode::kUsage, "an EC key is not on curve P-384");
  }
  auto x = jwk_bytes(jwk, "x");
  if (!x) return std::unexpected(x.error());
  auto y = jwk_bytes(jwk, "y");
  if (!y) return std::unexpected(y.error());
  if (x->size() != kP384CoordinateSize || y->size() != kP384CoordinateSize) {
    return model::fail(ErrorCode::kParse, "a P-384 JWK's x and y are not 48 bytes each");
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 2.3.3 uncompressed point
  return key_from_params("EC", [&](OSSL_PARAM_BLD* bld) {
    return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) == 1 &&
           OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                            point.size()) == 1;
  });
}

model::Result<ParsedKey> read_jwk(const json& jwk) {
  if (!jwk.is_object()) return model::fail(ErrorCode::kParse, "a JWK Set member is not an object");
  // RFC 7518 6.3.2, 6.2.2 and 6.4: private and symmetric key members.
  for (const char* secret : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(secret)) return model::fail(ErrorCode::kUsage, kPrivateKeyGiven);
  }
  auto optional_string = [&](const char* member) -> model::Result<std::optional<std::string>> {
    auto it = jwk.find(member);
    if (it == jwk.end()) return std::nullopt;
    if (!it->is_string()) {
      return model::fail(ErrorCode::kParse,
                         std::string("a JWK's \"") + member + "\" is not a string");
    }
    return it->get<std::string>();
  };
  auto kty = optional_string("kty");
  auto kid = optional_string("kid");
  auto use = optional_string("use");
  auto alg = optional_string("alg");
  for (auto* r : {&kty, &kid, &use, &alg}) {
    if (!*r) return std::unexpected(r->error());
  }
  if (!kty->has_value()) return model::fail(ErrorCode::kParse, "a JWK has no \"kty\"");
  if (use->has_value() && **use != "sig") {
    return model::fail(ErrorCode::kUsage, "a JWK's \"use\" is not \"sig\"");
  }
  model::Result<PkeyPtr> key;
  const char* expected_alg = nullptr;
  if (**kty == "RSA") {
    key = rsa_from_jwk(jwk);
    expected_alg = "RS384";
  } else if (**kty == "EC") {
    key = ec_from_jwk(jwk);
    expected_alg = "ES384";
  } else {
    return model::fail(ErrorCode::kUsage, "a JWK's \"kty\" is neither RSA nor EC");
  }
  if (!key) return std::unexpected(key.error());
  if (alg->has_value() && **alg != expected_alg) {
    return model::fail(ErrorCode::kUsage, std::string("a JWK's \"alg\" is not ") + expected_alg);
  }
  auto info = describe_key(key->get(), kid->value_or(""));
  if (!info) return std::unexpected(info.error());
  return ParsedKey{std::move(*key), std::move(*info)};
}

model::Result<std::vector<ParsedKey>> read_jwks(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return model::fail(ErrorCode::kParse, "a JWK Set is not JSON");
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return model::fail(ErrorCode::kParse, "a JWK Set is an object with a \"keys\" array");
  }
  std::vector<ParsedKey> keys;
  std::set<std::string> kids;
  for (const json& jwk : doc["keys"]) {
    auto key = read_jwk(jwk);
    if (!key) return std::unexpected(key.error());
    // SMART: kid is unique within the client's JWK Set, so it names one key.
    if (!key->info.kid.empty() && !kids.insert(key->info.kid).second) {
      return model::fail(ErrorCode::kUsage, "two keys of the JWK Set have the same \"kid\"");
    }
    keys.push_back(std::move(*key));
  }
  return keys;
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

// ---- keys, decoding and verification: the public surface ------------------------------------

struct PublicKeySet::Keys {
  std::vector<PkeyPtr> pkeys;
};

PublicKeySet::PublicKeySet(std::vector<PublicKeyInfo> info, std::shared_ptr<const Keys> keys)
    : info_(std::move(info)), keys_(std::move(keys)) {}

model::Result<PublicKeySet> parse_public_keys(std::string_view pem_or_jwks) {
  if (pem_or_jwks.size() > kMaxKeySetSize) {
    return model::fail(ErrorCode::kUsage, "a key set is larger than 64 KiB");
  }
  std::string_view text = pem_or_jwks;
  text.remove_prefix(std::min(text.find_first_not_of(" \t\r\n"), text.size()));
  model::Result<std::vector<ParsedKey>> parsed;
  if (text.starts_with('{')) {
    parsed = read_jwks(text);
  } else if (text.starts_with("-----BEGIN ")) {
    parsed = read_pem_keys(text);
  } else {
    return model::fail(ErrorCode::kParse, "neither PEM public keys nor a JWK Set");
  }
  if (!parsed) return std::unexpected(parsed.error());
  if (parsed->empty()) return model::fail(ErrorCode::kUsage, "the key set holds no key");
  auto keys = std::make_shared<PublicKeySet::Keys>();
  std::vector<PublicKeyInfo> info;
  for (ParsedKey& k : *parsed) {
    keys->pkeys.push_back(std::move(k.key));
    info.push_back(std::move(k.info));
  }
  return PublicKeySet(std::move(info), std::move(keys));
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
