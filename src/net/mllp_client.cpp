#include "net/mllp_client.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace labvault::net {

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using model::ErrorCode;

// close() waits this long at most for the server's answer to close_notify.
constexpr auto kCloseNotifyWait = std::chrono::milliseconds(500);

}  // namespace

struct MllpClient::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  std::optional<ssl::context> ssl_context;
  std::optional<ssl::stream<tcp::socket&>> tls;
  FrameDecoder decoder;
  std::vector<FrameEvent> events;
  std::size_t next_event = 0;
  std::array<char, 16 * 1024> buffer{};
  std::string peer;  // "host:port", for messages
  std::chrono::milliseconds reply_timeout;
  bool broken = false;

  explicit Impl(const MllpClientOptions& o)
      : decoder(o.max_frame_bytes),
        peer(fmt::format("{}:{}", o.host, o.port)),
        reply_timeout(o.reply_timeout) {}

  template <typename F>
  void with_stream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }

  // Runs the operation started before the call until it sets `done` or the deadline passes. On
  // the deadline `cancel` aborts it and its handler still runs here, so the handler's references
  // to the caller's locals never dangle.
  template <typename Cancel>
  bool run_until(const bool& done, Clock::time_point deadline, Cancel cancel) {
    io.restart();
    while (!done && io.run_one_until(deadline) > 0) {
    }
    if (done) return true;
    cancel();
    io.restart();
    while (!done && io.run_one() > 0) {
    }
    return false;
  }

  void abort() {
    broken = true;
    error_code ignored;
    socket.close(ignored);
  }

  model::Result<void> write(std::string_view payload, Clock::time_point deadline) {
    if (broken) return model::fail(ErrorCode::kIo, fmt::format("connection to {} is closed", peer));
    auto framed = encode_frame(payload);
    if (!framed) return std::unexpected(framed.error());
    bool done = false;
    error_code ec;
    with_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(*framed), [&](error_code e, std::size_t) {
        ec = e;
        done = true;
      });
    });
    if (!run_until(done, deadline, [&] { abort(); })) {
      return model::fail(ErrorCode::kIo, fmt::format("writing to {} timed out", peer));
    }
    if (ec) {
      abort();
      return model::fail(ErrorCode::kIo,
                         fmt::format("writing to {} failed: {}", peer, ec.message()));
    }
    return {};
  }

  model::Result<std::string> read(Clock::time_point deadline) {
    while (next_event == events.size()) {
      events.clear();
      next_event = 0;
      if (broken) {
        return model::fail(ErrorCode::kIo, fmt::format("connection to {} is closed", peer));
      }
      bool done = false;
      error_code ec;
      std::size_t n = 0;
      with_stream([&](auto& stream) {
        stream.async_read_some(asio::buffer(buffer), [&](error_code e, std::size_t got) {
          ec = e;
          n = got;
          done = true;
        });
      });
      if (!run_until(done, deadline, [&] { abort(); })) {
        return model::fail(ErrorCode::kIo, fmt::format("no reply from {} in time", peer));
      }
      if (ec) {
        abort();
        return model::fail(ErrorCode::kIo,
                           ec == asio::error::eof || ec == ssl::error::stream_truncated
                               ? fmt::format("{} closed the connection without a reply", peer)
                               : fmt::format("reading from {} failed: {}", peer, ec.message()));
      }
      decoder.feed(std::string_view(buffer.data(), n), events);
    }
    FrameEvent event = std::move(events[next_event++]);
    if (event.kind == FrameEvent::Kind::kOversized) {
      abort();  // the rest of that frame would be read as if it were the next reply
      return model::fail(ErrorCode::kEncoding, fmt::format("reply from {} is larger than {} bytes",
                                                           peer, decoder.max_frame_bytes()));
    }
    return std::move(event.payload);
  }

  model::Result<void> connect(const MllpClientOptions& o, Clock::time_point deadline) {
    std::string server_name;
    if (o.tls) {
      TlsClientOptions t = *o.tls;
      if (t.server_name.empty()) t.server_name = o.host;
      server_name = t.server_name;
      auto context = make_client_context(t);
      if (!context) return std::unexpected(context.error());
      ssl_ctx_st* handle = context->new_reference();
      if (handle == nullptr) return model::fail(ErrorCode::kInternal, "cannot share TLS context");
      ssl_context.emplace(handle);  // takes the reference
    }
    bool done = false;
    error_code ec;
    tcp::resolver resolver(io);
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(o.host, std::to_string(o.port),
                           [&](error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             done = true;
                           });
    if (!run_until(done, deadline, [&] { resolver.cancel(); }) || ec) {
      return model::fail(ErrorCode::kIo, fmt::format("cannot resolve {}: {}", peer,
                                                     ec ? ec.message() : "timed out"));
    }
    done = false;
    asio::async_connect(socket, endpoints, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!run_until(done, deadline, [&] { abort(); }) || ec) {
      abort();
      return model::fail(ErrorCode::kIo, fmt::format("cannot connect to {}: {}", peer,
                                                     ec ? ec.message() : "timed out"));
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (!ssl_context) return {};
    tls.emplace(socket, *ssl_context);
    if (auto r = set_peer_name(tls->native_handle(), server_name); !r) return r;
    done = false;
    tls->async_handshake(ssl::stream_base::client, [&](error_code e) {
      ec = e;
      done = true;
    });
    if (!run_until(done, deadline, [&] { abort(); })) {
      return model::fail(ErrorCode::kIo, fmt::format("TLS handshake with {} timed out", peer));
    }
    if (ec) {
      std::string reason = ec.message();
      long verify = SSL_get_verify_result(tls->native_handle());
      if (verify != X509_V_OK)
        reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      abort();
      return model::fail(ErrorCode::kCrypto,
                         fmt::format("TLS handshake with {} failed: {}", peer, reason));
    }
    return {};
  }
};

model::Result<MllpClient> MllpClient::connect(const MllpClientOptions& options) {
  try {
    auto impl = std::make_unique<Impl>(options);
    if (auto r = impl->connect(options, Clock::now() + options.connect_timeout); !r) {
      return std::unexpected(r.error());
    }
    return MllpClient(std::move(impl));
  } catch (const std::exception& e) {  // Asio reports allocation and context errors by exception
    return model::fail(ErrorCode::kInternal, fmt::format("MLLP client: {}", e.what()));
  }
}

MllpClient::MllpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MllpClient::~MllpClient() { close(); }
MllpClient::MllpClient(MllpClient&&) noexcept = default;
MllpClient& MllpClient::operator=(MllpClient&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

model::Result<std::string> MllpClient::send(std::string_view payload) {
  const auto deadline = Clock::now() + impl_->reply_timeout;
  if (auto r = impl_->write(payload, deadline); !r) return std::unexpected(r.error());
  return impl_->read(deadline);
}

model::Result<void> MllpClient::write_frame(std::string_view payload) {
  return impl_->write(payload, Clock::now() + impl_->reply_timeout);
}

model::Result<std::string> MllpClient::read_frame() {
  return impl_->read(Clock::now() + impl_->reply_timeout);
}

void MllpClient::close() {
  if (!impl_ || impl_->broken) return;
  if (impl_->tls) {
    // RFC 8446 6.1: close_notify, so the server can tell an end from a truncation.
    bool done = false;
    impl_->tls->async_shutdown([&](error_code) { done = true; });
    impl_->run_until(
        done, Clock::now() + std::min<Clock::duration>(impl_->reply_timeout, kCloseNotifyWait),
        [&] { impl_->abort(); });
  }
  impl_->abort();
}

}  // namespace labvault::net
