#include "net/http_server.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <thread>

#include "net/internal/endpoint.hpp"

namespace labvault::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using model::ErrorCode;

std::string new_request_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return "0";
  return fmt::format("{:02x}", fmt::join(raw, ""));
}

struct Core {
  HttpServerOptions options;
  HttpHandler handler;
  HttpRefusalHandler on_refusal;
  asio::thread_pool workers;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff;
  RateLimiter per_ip{RateLimit{}};
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};

  Core(asio::io_context& io, HttpServerOptions o, HttpHandler h, HttpRefusalHandler r)
      : options(std::move(o)),
        handler(std::move(h)),
        on_refusal(std::move(r)),
        workers(std::max(1u, options.worker_threads)),
        acceptor(asio::make_strand(io)),
        accept_backoff(acceptor.get_executor()),
        per_ip(options.per_ip) {}

  void refused(HttpRefusal why, std::string_view ip) const {
    if (!on_refusal) return;
    try {
      on_refusal(why, ip);
    } catch (...) {  // an observer must not take the connection down
    }
  }
};

// A response the listener makes itself (limits, bad requests), with the fixed headers.
HttpResponse plain(int status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::string(text) + "\n";
  return r;
}

// One connection. Request handling is strictly sequential per connection (HTTP/1.1 without
// pipelining of responses): read, hand to a worker, write, read again.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(std::shared_ptr<Core> core, Stream stream, std::string ip, bool tls)
      : core_(std::move(core)), stream_(std::move(stream)), ip_(std::move(ip)), tls_(tls) {}
  ~Session() { --core_->connections; }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(core_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (!ec) self->read(true);
                              });
    } else {
      read(true);
    }
  }

 private:
  void read(bool first) {
    parser_.emplace();
    parser_->body_limit(core_->options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(core_->options.max_header_bytes));
    // The request line and headers must come within idle_timeout on a kept-alive connection
    // (read_timeout on a new one), and the body within read_timeout after them (slowloris).
    beast::get_lowest_layer(stream_).expires_after(first ? core_->options.read_timeout
                                                         : core_->options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
                              if (ec) return self->on_read(ec);
                              self->read_body();
                            });
  }

  void read_body() {
    beast::get_lowest_layer(stream_).expires_after(core_->options.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec == http::error::body_limit)
      return refuse(HttpRefusal::kTooLarge, 413, "request too large");
    if (ec == http::error::header_limit)
      return refuse(HttpRefusal::kHeadersTooLarge, 431, "request header fields too large");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == ssl::error::stream_truncated)
      return close();
    if (ec) return refuse(HttpRefusal::kBadRequest, 400, "malformed HTTP request");
    if (core_->stopping) return close();  // the workers are gone: nobody would answer
    auto& msg = parser_->get();
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& field : msg) ++count;
    if (count > core_->options.max_header_count)
      return refuse(HttpRefusal::kHeadersTooLarge, 431, "too many request header fields");
    keep_alive_ = msg.keep_alive();
    if (int wait = core_->per_ip.take(ip_); wait > 0) {
      core_->refused(HttpRefusal::kRateLimited, ip_);
      HttpResponse r = plain(429, "too many requests");
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return write(std::move(r), new_request_id());
    }
    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(msg.method_string());
    request->target = std::string(msg.target());
    const auto q = request->target.find('?');
    request->path = request->target.substr(0, q);
    if (q != std::string::npos) request->query = request->target.substr(q + 1);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request->headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request->body = std::move(msg.body());
    request->remote_ip = ip_;
    request->request_id = new_request_id();
    request->tls = tls_;
    beast::get_lowest_layer(stream_).expires_never();  // the handler may take its time
    asio::post(core_->workers, [self = this->shared_from_this(), request] {
      HttpResponse response;
      try {
        response = self->core_->handler(*request);
      } catch (...) {
        response = plain(500, "internal error");
      }
      asio::post(self->stream_.get_executor(),
                 [self, request, response = std::move(response)]() mutable {
                   self->write(std::move(response), request->request_id);
                 });
    });
  }

  void refuse(HttpRefusal why, int status, std::string_view text) {
    core_->refused(why, ip_);
    keep_alive_ = false;  // the rest of the stream cannot be trusted to frame correctly
    refused_ = true;
    write(plain(status, text), new_request_id());
  }

  void write(HttpResponse r, const std::string& request_id) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    for (const auto& [k, v] : core_->options.response_headers) res->set(k, v);
    for (const auto& [k, v] : r.headers) res->insert(k, v);
    res->set("X-Request-Id", request_id);
    if (core_->stopping) keep_alive_ = false;
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(core_->options.read_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) return self->close(self->refused_);
                        self->read(false);
                      });
  }

  // Ends the connection. After a refusal the peer may still be sending the body we refused:
  // closing with unread input would reset the connection and could destroy our answer in the
  // peer's receive buffer, so the input is read and dropped for a moment first (as for MLLP).
  void close(bool drain = false) {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      // close_notify is a courtesy; a peer that went away must not hold the session.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this(), drain](error_code) { self->finish(drain); });
    } else {
      finish(drain);
    }
  }

  void finish(bool drain) {
    auto& lowest = beast::get_lowest_layer(stream_);
    error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!drain) return;
    lowest.expires_after(std::chrono::seconds(2));
    discard();
  }

  void discard() {
    beast::get_lowest_layer(stream_).async_read_some(
        asio::buffer(scratch_), [self = this->shared_from_this()](error_code ec, std::size_t) {
          if (!ec) self->discard();
        });
  }

  std::shared_ptr<Core> core_;
  Stream stream_;
  std::string ip_;
  bool tls_;
  bool keep_alive_ = false;
  bool refused_ = false;  // answered by the listener itself: drain before closing
  std::array<char, 16 * 1024> scratch_{};
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void accept_next(asio::io_context& io, const std::shared_ptr<Core>& core) {
  core->acceptor.async_accept(
      asio::make_strand(io), [&io, core](error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !core->acceptor.is_open()) return;
        if (!ec) {
          error_code e;
          const std::string ip = socket.remote_endpoint(e).address().to_string();
          if (core->stopping || ++core->connections > core->options.max_connections) {
            if (!core->stopping) --core->connections;
            core->refused(HttpRefusal::kTooManyConnections, ip);
            socket.close(e);
          } else if (core->tls) {
            std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
                core, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *core->tls), ip, true)
                ->start();
          } else {
            std::make_shared<Session<beast::tcp_stream>>(core, beast::tcp_stream(std::move(socket)),
                                                         ip, false)
                ->start();
          }
          accept_next(io, core);
          return;
        }
        // Out of descriptors (EMFILE) and the like: wait a moment instead of spinning on it.
        core->accept_backoff.expires_after(std::chrono::milliseconds(100));
        core->accept_backoff.async_wait([&io, core](error_code e) {
          if (!e) accept_next(io, core);
        });
      });
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

// Sessions hold the Core, and pending handlers in the io_context hold sessions: the io_context
// lives outside the Core and is destroyed last, which destroys whatever handlers remain.
struct HttpServer::Impl {
  asio::io_context io;
  std::shared_ptr<Core> core;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false, stopped = false;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler,
                       HttpRefusalHandler on_refusal)
    : impl_(std::make_unique<Impl>()) {
  impl_->core = std::make_shared<Core>(impl_->io, std::move(options), std::move(handler),
                                       std::move(on_refusal));
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return impl_->port; }

model::Result<void> HttpServer::start() {
  Core& c = *impl_->core;
  const HttpServerOptions& o = c.options;
  if (impl_->started) return model::fail(ErrorCode::kInternal, "HTTPS listener already started");
  if (!c.handler) return model::fail(ErrorCode::kConfig, "HTTPS listener without a handler");
  error_code ec;
  const auto address = asio::ip::make_address(o.bind_address, ec);
  if (ec)
    return model::fail(ErrorCode::kConfig,
                       fmt::format("HTTPS bind address '{}' is not an IP address", o.bind_address));
  if (!o.tls && !internal::is_loopback(address))
    return model::fail(ErrorCode::kConfig,
                       fmt::format("plaintext HTTP listener on {} refused: TLS is required for any "
                                   "address outside 127.0.0.0/8 and ::1",
                                   o.bind_address));
  if (o.tls) {
    auto context = make_server_context(*o.tls);
    if (!context) return std::unexpected(context.error());
    ssl_ctx_st* handle = context->new_reference();
    if (handle == nullptr) return model::fail(ErrorCode::kInternal, "cannot share TLS context");
    c.tls.emplace(handle);
  }
  try {
    auto bound = internal::listen_on(c.acceptor, tcp::endpoint(address, o.port), "HTTPS");
    if (!bound) return std::unexpected(bound.error());
    impl_->port = *bound;
    impl_->started = true;
    impl_->work.emplace(impl_->io.get_executor());
    accept_next(impl_->io, impl_->core);
    for (unsigned i = 0; i < std::max(1u, o.io_threads); ++i)
      impl_->threads.emplace_back([io = &impl_->io] { internal::run_io(*io); });
  } catch (const std::exception& e) {
    stop();
    return model::fail(ErrorCode::kInternal,
                       fmt::format("cannot start HTTPS listener: {}", e.what()));
  }
  return {};
}

void HttpServer::stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  std::shared_ptr<Core> core = impl_->core;
  core->stopping = true;
  asio::post(core->acceptor.get_executor(), [core] {
    error_code ignored;
    core->acceptor.close(ignored);
    core->accept_backoff.cancel();
  });
  core->workers.join();  // handlers in flight finish (their writes are then dropped)
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace labvault::net
