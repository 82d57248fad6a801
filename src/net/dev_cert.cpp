// write_self_signed (tls.hpp): OpenSSL's X509 builder, nothing hand-rolled.
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <functional>
#include <memory>

#include "net/tls.hpp"

namespace labvault::net {

namespace {

using model::ErrorCode;

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Free<X509, X509_free>>;

model::Error tls_error(std::string_view what) {
  return {ErrorCode::kCrypto, fmt::format("cannot {}: {}", what, drain_tls_errors()), {}};
}

bool is_ip(const std::string& name) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(name, ec);
  return !ec;
}

model::Result<void> write_pem(const std::string& file, mode_t mode,
                              const std::function<int(FILE*)>& write) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return model::fail(ErrorCode::kIo, fmt::format("cannot create {}", file));
  ::fchmod(fd, mode);
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return model::fail(ErrorCode::kIo, fmt::format("cannot write {}", file));
  }
  const int ok = write(f);
  if (std::fclose(f) != 0 || ok != 1)
    return model::fail(ErrorCode::kIo, fmt::format("cannot write {}", file));
  return {};
}

}  // namespace

model::Result<void> write_self_signed(const std::string& cert_file, const std::string& key_file,
                                      const std::vector<std::string>& names) {
  if (names.empty()) return model::fail(ErrorCode::kUsage, "a certificate needs a name");
  Key key(EVP_EC_gen("P-256"));
  if (!key) return std::unexpected(tls_error("generate a key"));
  Cert cert(X509_new());
  if (!cert) return std::unexpected(tls_error("create a certificate"));
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return std::unexpected(tls_error("draw a serial"));
  serial[0] &= 0x7f;  // positive (RFC 5280 4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) return std::unexpected(tls_error("set the serial"));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), 2) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1)
    return std::unexpected(tls_error("fill in the certificate"));
  std::string san;
  for (const std::string& n : names)
    san += fmt::format("{}{}:{}", san.empty() ? "" : ",", is_ip(n) ? "IP" : "DNS", n);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                            std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_ext_key_usage, std::string("serverAuth")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    const bool ok = ext != nullptr && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok) return std::unexpected(tls_error("add a certificate extension"));
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return std::unexpected(tls_error("sign the certificate"));
  if (auto r = write_pem(key_file, 0600,
                         [&](FILE* f) {
                           return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr,
                                                       nullptr);
                         });
      !r)
    return r;
  return write_pem(cert_file, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
}

}  // namespace labvault::net
