// HTTPS listener (HTTP/1.1 on Boost.Beast) that hands each request to a handler on a worker pool
// and writes its response back; it knows nothing of FHIR or sessions. It enforces what must hold
// before any application code runs: TLS 1.2+ off loopback (start() fails otherwise, DESIGN.md
// invariant 9), request and header size limits, read and idle timeouts, a connection cap, a
// per-IP token bucket (429 with Retry-After), a fresh request id on every request, and a fixed set
// of headers (the application's security headers) on every response, its own errors included.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/error.hpp"
#include "net/rate_limit.hpp"
#include "net/tls.hpp"

namespace labvault::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";    // an IP literal
  std::uint16_t port = 8443;                 // 0: ephemeral, see HttpServer::port()
  std::optional<TlsServerOptions> tls;       // required unless bind_address is loopback
  std::size_t max_body_bytes = 8u << 20;     // larger: 413
  std::size_t max_header_bytes = 16u << 10;  // request line and headers; larger: 431
  std::size_t max_header_count = 64;         // more header fields: 431
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);  // TLS handshake, a request
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);  // between keep-alive requests
  std::size_t max_connections = 512;  // more are accepted and closed at once
  unsigned io_threads = 2;
  unsigned worker_threads = 4;     // handlers may block (database, Argon2)
  RateLimit per_ip{100.0, 200.0};  // requests per second and burst, per remote address
  Headers response_headers;        // added to every response (security headers)
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query; may hold PHI, never log it
  std::string path;    // target before '?', not decoded
  std::string query;   // after '?', not decoded
  Headers headers;     // names lowercase
  std::string body;
  std::string remote_ip;
  std::string request_id;  // 128-bit random hex, also sent back as X-Request-Id
  bool tls = false;
  // The first header of that (lowercase) name, or "".
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

// Runs on a worker thread; may block. Exceptions become a 500 without details.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What the listener answered by itself, for metrics (thread-safe callers required).
enum class HttpRefusal {
  kRateLimited,
  kTooLarge,
  kHeadersTooLarge,
  kBadRequest,
  kTooManyConnections
};
using HttpRefusalHandler = std::function<void(HttpRefusal, std::string_view remote_ip)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler, HttpRefusalHandler on_refusal = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // kConfig for plaintext off loopback, bad address or TLS files; kIo when it cannot bind.
  [[nodiscard]] model::Result<void> start();
  [[nodiscard]] std::uint16_t port() const;
  // Stops accepting, closes connections, waits for handlers running on workers, joins. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::net
