// Registered client keys: PEM SubjectPublicKeyInfo blocks or a JWK Set (RFC 7517/7518), RSA
// 2048-8192 bits or EC P-384, public halves only.
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
#include "access/jwt.hpp"

namespace labvault::access {

namespace {

using model::ErrorCode;
using nlohmann::json;
using namespace internal;

constexpr std::size_t kMaxKeySetSize = 64 * 1024;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;  // bounds the cost of one verification
constexpr const char* kPrivateKeyGiven = "a private key was given; register only the public key";

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

}  // namespace

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

}  // namespace labvault::access
