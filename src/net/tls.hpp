// TLS settings for every labvault listener and client (MLLP, HTTPS, syslog): one place decides
// protocol versions, cipher suites and certificate checks, so no caller can weaken them alone.
// Invariant: the peer's certificate is always verified against the configured CA, and a client
// connection checks the server's name (set_peer_name) before its handshake.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

struct ssl_ctx_st;  // OpenSSL SSL_CTX, kept out of this header (see STYLE.md)
struct ssl_st;      // OpenSSL SSL

namespace labvault::net {

struct TlsClientOptions {
  std::string ca_file;    // PEM bundle of the CAs that may sign the server certificate (required)
  std::string cert_file;  // optional client certificate chain (PEM, leaf first) for mutual TLS...
  std::string key_file;   // ...and its private key: both or neither
  // DNS name or IP literal the server certificate must carry. When set, every connection made
  // from the context checks it even if set_peer_name is forgotten (SNI still needs the call).
  std::string server_name;
};

struct TlsServerOptions {
  std::string cert_chain_file;  // PEM: leaf first, then intermediates
  std::string key_file;
  // When set, a client must present a certificate signed by one of these CAs (mutual TLS).
  std::string client_ca_file;
};

// Owns one reference to an OpenSSL SSL_CTX; copies share it. Nothing changes the context after
// the factory returns, so one context may serve many connections on many threads.
struct TlsContext {
  std::shared_ptr<ssl_ctx_st> ctx;

  [[nodiscard]] ssl_ctx_st* get() const { return ctx.get(); }
  // An extra reference for owners that free the context themselves; Boost.Asio's
  // ssl::context(native_handle_type) takes ownership, so pass it new_reference(), not get().
  [[nodiscard]] ssl_ctx_st* new_reference() const;
};

// TLS 1.2 or 1.3; TLS 1.2 suites limited to ECDHE with AES-GCM or ChaCha20-Poly1305 (Mozilla
// "intermediate"); no compression, no renegotiation; the server must present a certificate that
// chains to ca_file. Errors name the file and OpenSSL's reason, never key material.
[[nodiscard]] model::Result<TlsContext> make_client_context(const TlsClientOptions& options);

// Same protocol floor and suites; presents cert_chain_file/key_file and, with client_ca_file,
// requires and verifies client certificates.
[[nodiscard]] model::Result<TlsContext> make_server_context(const TlsServerOptions& options);

// Prepares one client connection before SSL_connect: sends SNI for a DNS name (RFC 6066 3: never
// for an IP literal) and makes the handshake fail unless the server certificate carries that
// name or IP (RFC 6125 6; RFC 5425 5.2). With Boost.Asio: set_peer_name(stream.native_handle()).
[[nodiscard]] model::Result<void> set_peer_name(ssl_st* ssl, std::string_view server_name);

// A self-signed development certificate (ECDSA P-256, SHA-256, one year) for `names` (DNS names
// or IP literals, the first is also the CN), written as PEM to cert_file and key_file (mode
// 0600). For `labvault init` on one machine; production listeners use a CA-issued chain.
[[nodiscard]] model::Result<void> write_self_signed(const std::string& cert_file,
                                                    const std::string& key_file,
                                                    const std::vector<std::string>& names);

// OpenSSL's thread-local error queue as one line ("" when empty); empties the queue.
[[nodiscard]] std::string drain_tls_errors();

// When a blocking call gives up: at `at`, or earlier once another thread moves `*cap` (e.g. a
// stop request with its own flush timeout) before it.
struct Deadline {
  using Clock = std::chrono::steady_clock;
  Clock::time_point at;
  const std::atomic<Clock::time_point>* cap = nullptr;
  [[nodiscard]] Clock::time_point get() const { return cap ? std::min(at, cap->load()) : at; }
};

// A client TLS session over TCP for senders that must know what the peer's TCP acknowledged
// (RFC 5425 syslog has no application acknowledgement). Non-blocking socket, every wait bounded
// by a Deadline; a reset peer is an error, never SIGPIPE. One thread at a time; move-only.
class TlsClientStream {
 public:
  // Connects to host:port (each resolved address in turn), sets TCP keepalive and
  // TCP_USER_TIMEOUT = user_timeout (RFC 5482) so a dead peer is noticed, and completes the
  // handshake verifying `server_name` (set_peer_name). kIo for network errors; kCrypto when the
  // handshake fails, with the certificate verification reason.
  [[nodiscard]] static model::Result<TlsClientStream> connect(
      const TlsContext& context, const std::string& host, std::uint16_t port,
      std::string_view server_name, std::chrono::milliseconds user_timeout, Deadline deadline);
  ~TlsClientStream();
  TlsClientStream(TlsClientStream&&) noexcept;
  TlsClientStream& operator=(TlsClientStream&&) noexcept;

  // Writes all of `data` as TLS records or fails (the session is then unusable).
  [[nodiscard]] model::Result<void> write(std::string_view data, Deadline deadline);
  // Reads and discards what the peer sent (TLS 1.3 session tickets) without waiting; fails once
  // the peer closed, reset or sent an alert.
  [[nodiscard]] model::Result<void> discard_input();
  // Raw TCP payload bytes handed to the kernel so far, handshake included.
  [[nodiscard]] std::uint64_t bytes_written() const;
  // How many of those the peer's TCP has not acknowledged yet (Linux SIOCOUTQ).
  [[nodiscard]] model::Result<std::uint64_t> bytes_unacknowledged() const;
  // Sends close_notify (best effort) and closes. Unread input is drained first: closing with
  // unread bytes sends a TCP reset, and a reset may discard what the peer has not read yet.
  void close(Deadline deadline);

 private:
  struct Impl;
  explicit TlsClientStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::net
