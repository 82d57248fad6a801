#include "net/tls.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace labvault::net {

using model::ErrorCode;

namespace {

// Mozilla Server Side TLS "intermediate" without its DHE suites: forward secrecy from ECDHE only,
// AEAD ciphers only. TLS 1.3 suites are all AEAD; they are listed so that a changed OpenSSL
// default cannot add one silently.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";
// Servers that verify clients need a session id context, or resumption fails
// (SSL_CTX_set_session_id_context(3)).
constexpr std::string_view kSessionIdContext = "labvault";

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

model::Error tls_error(ErrorCode code, std::string what) {
  std::string reason = drain_tls_errors();
  if (!reason.empty()) what += ": " + reason;
  return model::Error{code, std::move(what), {}};
}

model::Result<SslCtxPtr> make_base_context(const SSL_METHOD* method) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return std::unexpected(tls_error(ErrorCode::kInternal, "cannot create TLS context"));
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx.get(), kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1) {
    return std::unexpected(tls_error(ErrorCode::kInternal, "cannot apply TLS settings"));
  }
  return ctx;
}

model::Result<void> load_verify_file(SSL_CTX* ctx, const std::string& file, const char* role) {
  if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1) {
    return std::unexpected(
        tls_error(ErrorCode::kConfig, fmt::format("cannot load {} file '{}'", role, file)));
  }
  return {};
}

model::Result<void> load_identity(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return std::unexpected(tls_error(ErrorCode::kConfig,
                                     fmt::format("cannot load certificate chain from '{}'", cert)));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return std::unexpected(
        tls_error(ErrorCode::kConfig, fmt::format("cannot load private key from '{}'", key)));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return std::unexpected(tls_error(
        ErrorCode::kConfig,
        fmt::format("private key in '{}' does not match the certificate in '{}'", key, cert)));
  }
  return {};
}

bool is_ip_literal(const std::string& name) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(AF_INET, name.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf.data()) == 1;
}

// Applies the expected peer name to a verify parameter set (a context's or a connection's).
model::Result<void> expect_name(X509_VERIFY_PARAM* param, const std::string& name) {
  if (name.empty() || name.find('\0') != std::string::npos) {
    return model::fail(ErrorCode::kConfig, "TLS server name is empty or malformed");
  }
  // RFC 6125 6.4.3: a wildcard matches one whole left-most label only.
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = is_ip_literal(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) {
    return std::unexpected(tls_error(
        ErrorCode::kConfig, fmt::format("cannot use '{}' as the expected TLS server name", name)));
  }
  return {};
}

TlsContext to_shared(SslCtxPtr ctx) { return TlsContext{{ctx.release(), SslCtxDeleter{}}}; }

}  // namespace

ssl_ctx_st* TlsContext::new_reference() const {
  if (ctx && SSL_CTX_up_ref(ctx.get()) == 1) return ctx.get();
  return nullptr;
}

std::string drain_tls_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out;
}

model::Result<TlsContext> make_client_context(const TlsClientOptions& options) {
  if (options.ca_file.empty()) {
    return model::fail(ErrorCode::kConfig, "TLS client needs a CA file to verify the server");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return model::fail(ErrorCode::kConfig, "TLS client certificate and key must be given together");
  }
  auto ctx = make_base_context(TLS_client_method());
  if (!ctx) return std::unexpected(ctx.error());
  SSL_CTX* raw = ctx->get();
  if (auto r = load_verify_file(raw, options.ca_file, "CA"); !r) return std::unexpected(r.error());
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  if (!options.cert_file.empty()) {
    if (auto r = load_identity(raw, options.cert_file, options.key_file); !r) {
      return std::unexpected(r.error());
    }
  }
  if (!options.server_name.empty()) {
    if (auto r = expect_name(SSL_CTX_get0_param(raw), options.server_name); !r) {
      return std::unexpected(r.error());
    }
  }
  return to_shared(std::move(*ctx));
}

model::Result<TlsContext> make_server_context(const TlsServerOptions& options) {
  if (options.cert_chain_file.empty() || options.key_file.empty()) {
    return model::fail(ErrorCode::kConfig, "TLS server needs a certificate chain and a key file");
  }
  auto ctx = make_base_context(TLS_server_method());
  if (!ctx) return std::unexpected(ctx.error());
  SSL_CTX* raw = ctx->get();
  if (auto r = load_identity(raw, options.cert_chain_file, options.key_file); !r) {
    return std::unexpected(r.error());
  }
  SSL_CTX_set_session_id_context(raw,
                                 reinterpret_cast<const unsigned char*>(kSessionIdContext.data()),
                                 kSessionIdContext.size());
  if (!options.client_ca_file.empty()) {
    if (auto r = load_verify_file(raw, options.client_ca_file, "client CA"); !r) {
      return std::unexpected(r.error());
    }
    // The CA names go into the CertificateRequest so clients pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) {
      return std::unexpected(tls_error(
          ErrorCode::kConfig,
          fmt::format("no CA certificate in client CA file '{}'", options.client_ca_file)));
    }
    SSL_CTX_set_client_CA_list(raw, names);  // takes ownership
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return to_shared(std::move(*ctx));
}

model::Result<void> set_peer_name(ssl_st* ssl, std::string_view server_name) {
  if (ssl == nullptr) {
    return model::fail(ErrorCode::kInternal, "set_peer_name without a connection");
  }
  std::string name(server_name);
  if (auto r = expect_name(SSL_get0_param(ssl), name); !r) return r;
  if (!is_ip_literal(name) && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return std::unexpected(
        tls_error(ErrorCode::kConfig, fmt::format("cannot send '{}' as TLS SNI", name)));
  }
  return {};
}

namespace {

using Clock = Deadline::Clock;

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// The socket end of a stream's BIO. It counts the raw bytes the kernel accepted, so a sender can
// match its messages against the peer's TCP acknowledgements, and sends with MSG_NOSIGNAL so a
// reset connection is an error instead of a process-wide SIGPIPE.
struct SocketState {
  int fd = -1;
  std::uint64_t written = 0;
  bool eof = false;
};

int bio_write(BIO* bio, const char* data, std::size_t len, std::size_t* written) {
  auto* s = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = ::send(s->fd, data, len, MSG_NOSIGNAL);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    s->written += static_cast<std::uint64_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return 0;
}

int bio_read(BIO* bio, char* data, std::size_t len, std::size_t* read) {
  auto* s = static_cast<SocketState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = ::recv(s->fd, data, len, 0);
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    s->eof = true;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_read(bio);
  }
  return 0;
}

long bio_ctrl(BIO* bio, int cmd, long /*num*/, void* /*ptr*/) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  if (cmd == BIO_CTRL_EOF) return static_cast<SocketState*>(BIO_get_data(bio))->eof ? 1 : 0;
  return 0;
}

// Made once and never changed afterwards: BIO type indexes are a small per-process supply.
const BIO_METHOD* counting_socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "labvault-socket");
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// Waits for `events` on fd in short slices, so a deadline moved by another thread is noticed.
model::Result<void> wait_fd(int fd, short events, const Deadline& deadline, std::string_view what) {
  while (true) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline.get() - Clock::now()).count();
    if (left <= 0) return model::fail(ErrorCode::kIo, fmt::format("{} timed out", what));
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 50)));
    if (n > 0) return {};
    if (n < 0 && errno != EINTR) {
      return model::fail(ErrorCode::kIo, fmt::format("{}: {}", what, std::strerror(errno)));
    }
  }
}

}  // namespace

struct TlsClientStream::Impl {
  Fd socket;
  SocketState state;
  std::unique_ptr<SSL, SslDeleter> ssl;
  std::string peer;  // "host:port", for messages

  // kCrypto when TLS itself failed (an alert, a bad record), kIo when the transport did.
  model::Error broken(int ssl_error, int sys_errno, std::string_view what) const {
    std::string reason = drain_tls_errors();
    ErrorCode code = reason.empty() ? ErrorCode::kIo : ErrorCode::kCrypto;
    if (ssl_error == SSL_ERROR_ZERO_RETURN) reason = "peer closed the TLS session";
    if (reason.empty()) reason = state.eof ? "connection closed" : std::strerror(sys_errno);
    return {code, fmt::format("{} with {} failed: {}", what, peer, reason), {}};
  }

  // Runs an SSL_* call until it completes, fails, or the deadline passes.
  template <typename Op>
  model::Result<void> drive(Op op, const Deadline& deadline, std::string_view what) {
    while (true) {
      ERR_clear_error();
      errno = 0;
      int rc = op();
      int sys = errno;
      if (rc > 0) return {};
      int err = SSL_get_error(ssl.get(), rc);
      short events = err == SSL_ERROR_WANT_READ    ? POLLIN
                     : err == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                   : 0;
      if (events == 0) return std::unexpected(broken(err, sys, what));
      if (auto r = wait_fd(socket.fd, events, deadline, what); !r) return r;
    }
  }

  model::Result<void> tcp_connect(const std::string& host, std::uint16_t port,
                                  std::chrono::milliseconds user_timeout,
                                  const Deadline& deadline) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list)) {
      return model::fail(ErrorCode::kIo,
                         fmt::format("cannot resolve {}: {}", peer, gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(list, ::freeaddrinfo);
    std::string why = "no address";
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      Fd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      int err = fd.fd < 0 ? errno : 0;
      if (err == 0 && ::connect(fd.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        err = errno;
        if (err == EINPROGRESS && wait_fd(fd.fd, POLLOUT, deadline, "connect")) {
          socklen_t len = sizeof err;
          ::getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else if (err == EINPROGRESS) {
          err = ETIMEDOUT;
        }
      }
      if (err != 0) {
        why = std::strerror(err);
        continue;
      }
      // Keepalive notices a vanished idle peer in about 25 s; TCP_USER_TIMEOUT fails a
      // connection whose data stays unacknowledged (RFC 5482), so writers learn of breaks.
      int one = 1, idle = 10, interval = 5, count = 3;
      auto timeout_ms = static_cast<unsigned>(user_timeout.count());
      ::setsockopt(fd.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(fd.fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      ::setsockopt(fd.fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
      ::setsockopt(fd.fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
      ::setsockopt(fd.fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
      ::setsockopt(fd.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
      std::swap(socket.fd, fd.fd);
      state.fd = socket.fd;
      return {};
    }
    return model::fail(ErrorCode::kIo, fmt::format("cannot connect to {}: {}", peer, why));
  }
};

model::Result<TlsClientStream> TlsClientStream::connect(const TlsContext& context,
                                                        const std::string& host, std::uint16_t port,
                                                        std::string_view server_name,
                                                        std::chrono::milliseconds user_timeout,
                                                        Deadline deadline) {
  auto m = std::make_unique<Impl>();
  m->peer = fmt::format("{}:{}", host, port);
  if (auto r = m->tcp_connect(host, port, user_timeout, deadline); !r) {
    return std::unexpected(r.error());
  }
  m->ssl.reset(SSL_new(context.get()));
  BIO* bio = m->ssl ? BIO_new(counting_socket_method()) : nullptr;
  if (bio == nullptr) return model::fail(ErrorCode::kInternal, "cannot create a TLS connection");
  BIO_set_data(bio, &m->state);
  SSL_set_bio(m->ssl.get(), bio, bio);  // the SSL owns the BIO; the Impl owns the state
  if (auto r = set_peer_name(m->ssl.get(), server_name); !r) return std::unexpected(r.error());
  SSL* ssl = m->ssl.get();
  if (auto r = m->drive([&] { return SSL_connect(ssl); }, deadline, "TLS handshake"); !r) {
    long verify = SSL_get_verify_result(ssl);
    if (verify == X509_V_OK) return std::unexpected(r.error());
    return model::fail(ErrorCode::kCrypto, fmt::format("{} ({})", r.error().message,
                                                       X509_verify_cert_error_string(verify)));
  }
  return TlsClientStream(std::move(m));
}

TlsClientStream::TlsClientStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientStream::~TlsClientStream() = default;
TlsClientStream::TlsClientStream(TlsClientStream&&) noexcept = default;
TlsClientStream& TlsClientStream::operator=(TlsClientStream&&) noexcept = default;

model::Result<void> TlsClientStream::write(std::string_view data, Deadline deadline) {
  SSL* ssl = impl_->ssl.get();
  std::size_t n = 0;  // without SSL_MODE_ENABLE_PARTIAL_WRITE, success means all of `data`
  return impl_->drive([&] { return SSL_write_ex(ssl, data.data(), data.size(), &n); }, deadline,
                      "writing");
}

model::Result<void> TlsClientStream::discard_input() {
  for (int i = 0; i < 64; ++i) {
    std::array<char, 4096> buf;
    std::size_t n = 0;
    ERR_clear_error();
    errno = 0;
    if (SSL_read_ex(impl_->ssl.get(), buf.data(), buf.size(), &n) == 1) continue;
    int sys = errno;
    int err = SSL_get_error(impl_->ssl.get(), 0);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
    return std::unexpected(impl_->broken(err, sys, "reading"));
  }
  return {};
}

std::uint64_t TlsClientStream::bytes_written() const { return impl_->state.written; }

model::Result<std::uint64_t> TlsClientStream::bytes_unacknowledged() const {
  int queued = 0;
  if (::ioctl(impl_->socket.fd, SIOCOUTQ, &queued) != 0 || queued < 0) {
    return model::fail(ErrorCode::kIo, fmt::format("SIOCOUTQ: {}", std::strerror(errno)));
  }
  return static_cast<std::uint64_t>(queued);
}

void TlsClientStream::close(Deadline deadline) {
  if (!impl_ || !impl_->ssl) return;
  SSL* ssl = impl_->ssl.get();
  if (discard_input()) {
    // RFC 5246 7.2.1 / RFC 8446 6.1: close_notify; the peer's answer is not awaited.
    (void)impl_->drive([&] { return SSL_shutdown(ssl) >= 0 ? 1 : -1; }, deadline, "closing");
  }
  ERR_clear_error();
  impl_->ssl.reset();
  impl_->socket.reset();
}

}  // namespace labvault::net
