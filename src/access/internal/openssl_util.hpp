// Shared by jwt.cpp and public_keys.cpp: RAII for OpenSSL handles and the key set's storage.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <string_view>
#include <vector>

#include "access/jwt.hpp"

namespace labvault::access::internal {

inline constexpr std::size_t kP384CoordinateSize = 48;  // bytes of x, y, r or s

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

inline const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL keeps a per-thread error queue; leave it empty so no later caller sees our failures.
template <typename T>
T openssl_failed(T result) {
  ERR_clear_error();
  return result;
}

}  // namespace labvault::access::internal

namespace labvault::access {

struct PublicKeySet::Keys {
  std::vector<internal::PkeyPtr> pkeys;
};

}  // namespace labvault::access
