// Test helper: a SMART backend-services client in miniature. Throwaway RSA-3072 or EC P-384
// key pairs that sign compact JWS client assertions (RS384, ES384 as raw R || S) and export their
// public half as PEM or as a JWK Set. Invariant: it shares no code with src/access (its own
// base64url, its own JWK writer), so a bug there cannot cancel out here. Throws on OpenSSL errors.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace labvault::testing {

// RFC 7515 2: base64url without padding.
inline std::string jws_base64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

class TestSigner {
 public:
  enum class Form { kJws, kDer };  // ECDSA signature as JWS R || S, or as ASN.1 DER

  static TestSigner rsa(unsigned bits = 3072) {
    return TestSigner(checked(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{bits})));
  }
  // curve: "P-384" (what SMART allows) or another NIST curve, e.g. "P-256", to test refusals.
  static TestSigner ec(const char* curve = "P-384") {
    return TestSigner(checked(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)), curve);
  }

  [[nodiscard]] std::string public_pem() const { return pem(false); }
  [[nodiscard]] std::string private_pem() const { return pem(true); }

  // The public key as one JWK (RFC 7517/7518); "kid" only when kid is not empty.
  [[nodiscard]] nlohmann::json jwk(const std::string& kid = "") const {
    nlohmann::json k;
    if (curve_.empty()) {
      k = {{"kty", "RSA"},
           {"n", bn_param(OSSL_PKEY_PARAM_RSA_N, 0)},
           {"e", bn_param(OSSL_PKEY_PARAM_RSA_E, 0)}};
    } else {
      int size = (EVP_PKEY_get_bits(key_.get()) + 7) / 8;
      k = {{"kty", "EC"},
           {"crv", curve_},
           {"x", bn_param(OSSL_PKEY_PARAM_EC_PUB_X, size)},
           {"y", bn_param(OSSL_PKEY_PARAM_EC_PUB_Y, size)}};
    }
    if (!kid.empty()) k["kid"] = kid;
    return k;
  }
  [[nodiscard]] std::string jwks(const std::string& kid = "") const {
    return nlohmann::json{{"keys", nlohmann::json::array({jwk(kid)})}}.dump();
  }

  // A compact JWS of header and claims exactly as given, signed with SHA-384 (RS384 or ES384,
  // whatever "alg" the header claims).
  [[nodiscard]] std::string sign(const nlohmann::json& header, const nlohmann::json& claims) const {
    std::string input = signing_input(header, claims);
    return input + '.' + jws_base64url(signature(input));
  }

  // The raw signature of input with any digest, in either ECDSA form (RSA: PKCS#1 v1.5).
  [[nodiscard]] std::string signature(std::string_view input, const EVP_MD* md = EVP_sha384(),
                                      Form form = Form::kJws) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, nullptr, 0) != 1) {
      throw std::runtime_error("TestSigner: cannot start signing");
    }
    std::string der(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      throw std::runtime_error("TestSigner: signing failed");
    }
    der.resize(len);
    if (curve_.empty() || form == Form::kDer) return der;
    // RFC 7518 3.4: R and S, each left-padded to the size of the group order.
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
    if (!sig) throw std::runtime_error("TestSigner: bad ECDSA signature");
    int size = (EVP_PKEY_get_bits(key_.get()) + 7) / 8;
    std::string raw(2 * static_cast<std::size_t>(size), '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, size);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + size, size);
    return raw;
  }

  // BASE64URL(header) '.' BASE64URL(claims), the JSON serialised as nlohmann dumps it.
  static std::string signing_input(const nlohmann::json& header, const nlohmann::json& claims) {
    return jws_base64url(header.dump()) + '.' + jws_base64url(claims.dump());
  }
  // Any header, claims and signature bytes put together, for tokens no honest client makes.
  static std::string compact(const nlohmann::json& header, const nlohmann::json& claims,
                             std::string_view signature) {
    return signing_input(header, claims) + '.' + jws_base64url(signature);
  }

 private:
  explicit TestSigner(EVP_PKEY* key, std::string curve = "")
      : key_(key, &EVP_PKEY_free), curve_(std::move(curve)) {}

  static EVP_PKEY* checked(EVP_PKEY* key) {
    if (key == nullptr) throw std::runtime_error("TestSigner: key generation failed");
    return key;
  }

  std::string pem(bool private_key) const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    if (!bio) throw std::runtime_error("TestSigner: out of memory");
    int ok = private_key ? PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                                                    nullptr, nullptr)
                         : PEM_write_bio_PUBKEY(bio.get(), key_.get());
    if (ok != 1) throw std::runtime_error("TestSigner: PEM export failed");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
  }

  // A big-endian integer parameter, left-padded to `size` bytes (0: minimal, RFC 7518 6.3.1.1).
  std::string bn_param(const char* name, int size) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) {
      throw std::runtime_error("TestSigner: cannot read a key parameter");
    }
    std::unique_ptr<BIGNUM, decltype(&BN_free)> owned(bn, &BN_free);
    if (size == 0) size = BN_num_bytes(bn);
    std::string out(static_cast<std::size_t>(size), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);
    return jws_base64url(out);
  }

  std::shared_ptr<EVP_PKEY> key_;
  std::string curve_;  // empty for RSA
};

}  // namespace labvault::testing
