// Test helper: a throwaway PKI made with OpenSSL in the test (EC P-256 CA, a server certificate
// for localhost/127.0.0.1, a client certificate), written as PEM files into a temp directory.
// Invariant: nothing here is for production; keys are unencrypted and live one day.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace labvault::testing {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using TestKey = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using TestCert = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;

inline void add_cert_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A CA when issuer is null (self-signed), else a leaf with the given SAN and extended key usage.
inline TestCert make_test_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
                               const char* san = nullptr, const char* eku = nullptr) {
  static std::atomic<long> serial{1};
  TestCert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  add_cert_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer == nullptr) {
    add_cert_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_cert_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_cert_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    add_cert_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_cert_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_cert_ext(cert.get(), signer, NID_ext_key_usage, eku);
    if (san != nullptr) add_cert_ext(cert.get(), signer, NID_subject_alt_name, san);
  }
  X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

inline void write_test_pem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  ASSERT_NE(f, nullptr);
  if (cert != nullptr) PEM_write_X509(f.get(), cert);
  if (key != nullptr) PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
}

struct TestPki {
  std::filesystem::path ca, server_cert, server_key, client_cert, client_key;
};

// Files are named <prefix>ca.pem etc., so two independent PKIs can share a directory. The client
// certificate's subject CN is `client_cn`.
inline TestPki make_test_pki(const std::filesystem::path& dir, const std::string& prefix,
                             const char* client_cn = "labvault") {
  TestPki p{dir / (prefix + "ca.pem"), dir / (prefix + "server.pem"), dir / (prefix + "server.key"),
            dir / (prefix + "client.pem"), dir / (prefix + "client.key")};
  TestKey ca_key(EVP_EC_gen("P-256")), server_key(EVP_EC_gen("P-256")),
      client_key(EVP_EC_gen("P-256"));
  TestCert ca = make_test_cert(ca_key.get(), (prefix + "test CA").c_str(), nullptr, nullptr);
  TestCert server = make_test_cert(server_key.get(), "localhost", ca.get(), ca_key.get(),
                                   "DNS:localhost,IP:127.0.0.1", "serverAuth");
  TestCert client =
      make_test_cert(client_key.get(), client_cn, ca.get(), ca_key.get(), nullptr, "clientAuth");
  write_test_pem(p.ca, ca.get(), nullptr);
  write_test_pem(p.server_cert, server.get(), nullptr);
  write_test_pem(p.server_key, nullptr, server_key.get());
  write_test_pem(p.client_cert, client.get(), nullptr);
  write_test_pem(p.client_key, nullptr, client_key.get());
  return p;
}

}  // namespace labvault::testing
