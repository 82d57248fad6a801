#include "net/mllp_server.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "net/internal/endpoint.hpp"

namespace labvault::net {

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
using model::ErrorCode;

constexpr std::size_t kReadChunk = 64 * 1024;
// After an oversize NAK the peer is usually still sending its frame: closing with unread bytes
// would reset the connection and may destroy the NAK in the peer's receive buffer, so the server
// half-closes and discards input for up to this long first.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);  // e.g. after EMFILE

using internal::endpoint_text;
using internal::is_loopback;

class Connection;

// State shared by the acceptor, the connections and reply closures that may outlive the server;
// the io_context lives here so that a late reply never posts into a destroyed one.
struct Core {
  MllpServerOptions options;
  MllpHandler handler;
  MllpOversizeHandler oversize;
  MllpEventHandler on_event;
  asio::io_context io;
  std::optional<ssl::context> tls;
  asio::strand<asio::io_context::executor_type> accept_strand = asio::make_strand(io);
  tcp::acceptor acceptor{accept_strand};
  asio::steady_timer accept_backoff{accept_strand};
  std::atomic<std::uint64_t> next_id{1};

  std::mutex mu;  // guards the members below
  std::condition_variable drained;
  std::unordered_map<std::uint64_t, std::weak_ptr<Connection>> connections;
  bool stopping = false;      // no new connections, no new frames
  bool posts_allowed = true;  // false once stop() joins the threads: late replies are dropped

  void emit(const MllpPeer& peer, MllpEvent event) const {
    if (!on_event) return;
    try {
      on_event(peer, event);
    } catch (...) {  // an observer must not take the connection down
    }
  }
  void forget(std::uint64_t id) {
    std::lock_guard lock(mu);
    connections.erase(id);
    if (connections.empty()) drained.notify_all();
  }
};

// One accepted socket. Everything below runs on the socket's strand; the state machine is
// handshake -> (reading -> handling -> writing)* -> closed, so one frame is in the handler at a
// time and a reply is written before the next frame is read or handed on.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Core> core, tcp::socket socket, MllpPeer peer)
      : core_(std::move(core)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        peer_(std::move(peer)),
        decoder_(core_->options.max_frame_bytes) {
    if (core_->tls) tls_.emplace(socket_, *core_->tls);
  }

  asio::any_io_executor executor() { return socket_.get_executor(); }

  void start() {
    if (state_ == State::kClosed) return;  // stop() got here first
    arm(Clock::now() + core_->options.read_timeout);
    if (!tls_) return ready();
    state_ = State::kHandshake;
    tls_->async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  // stop(): close now unless a reply is in flight; then close right after writing it.
  void begin_stop() {
    stop_requested_ = true;
    if (state_ == State::kHandshake || state_ == State::kReading) close("server stopping");
  }

  // Posted by MllpReply; nullopt when the handler dropped every copy without answering.
  void on_reply(std::optional<std::string> reply) {
    if (state_ != State::kHandling) return;
    if (!reply) return close("handler gave no reply");
    auto framed = encode_frame(*reply);
    if (!framed) return close(framed.error().message);
    write(std::move(*framed), false);
  }

  void close(std::string_view reason) {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    timer_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    core_->forget(peer_.connection_id);
    core_->emit(
        peer_, {MllpEventKind::kClosed, std::string(reason), handled_, decoder_.discarded_bytes()});
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kWriting, kLinger, kClosed };

  template <typename F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  void arm(Clock::time_point deadline) {
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->on_timer();
    });
  }

  void on_timer() {
    // A wait that completed just before it was re-armed still runs: trust only the expiry.
    if (timer_.expiry() > Clock::now()) return;
    switch (state_) {
      case State::kHandshake:
        core_->emit(peer_, {MllpEventKind::kReadTimeout, "TLS handshake"});
        return close("TLS handshake timeout");
      case State::kReading:
        if (decoder_.in_frame()) {
          core_->emit(peer_, {MllpEventKind::kReadTimeout, "frame"});
          return close("frame read timeout");
        }
        core_->emit(peer_, {MllpEventKind::kIdleTimeout, {}});
        return close("idle timeout");
      case State::kWriting:
        core_->emit(peer_, {MllpEventKind::kReadTimeout, "reply write"});
        return close("reply write timeout");
      case State::kLinger:
        return close("oversize");
      case State::kHandling:
      case State::kClosed:
        return;
    }
  }

  void on_handshake(error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec) {
      std::string reason = ec.message();
      long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK) {
        reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
      }
      core_->emit(peer_, {MllpEventKind::kTlsHandshakeFailed, reason});
      return close("TLS handshake failed");
    }
    read_identity();
    ready();
  }

  void read_identity() {
    X509* cert = SSL_get0_peer_certificate(tls_->native_handle());
    if (cert == nullptr) return;
    X509_NAME* name = X509_get_subject_name(cert);
    int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index >= 0) {
      unsigned char* utf8 = nullptr;
      int len =
          ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
      if (len >= 0) peer_.tls_subject.assign(reinterpret_cast<char*>(utf8), len);
      OPENSSL_free(utf8);
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) == 1) {
      peer_.tls_fingerprint = fmt::format("{:02x}", fmt::join(md.begin(), md.begin() + md_len, ""));
    }
  }

  void ready() {
    idle_since_ = Clock::now();
    read();
  }

  void read() {
    state_ = State::kReading;
    const auto& o = core_->options;
    arm(decoder_.in_frame() ? frame_started_ + o.read_timeout : idle_since_ + o.idle_timeout);
    with_stream([this](auto& stream) {
      stream.async_read_some(
          asio::buffer(buffer_),
          [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (state_ == State::kClosed) return;
    if (ec) return close(ec == asio::error::eof ? "peer closed" : ec.message());
    const bool was_in_frame = decoder_.in_frame();
    const std::size_t before = queue_.size();
    decoder_.feed(std::string_view(buffer_.data(), n), queue_);
    // A frame's read timeout runs from the chunk that began it: trickling bytes do not extend it.
    if (decoder_.in_frame() && (!was_in_frame || queue_.size() > before)) {
      frame_started_ = Clock::now();
    }
    next();
  }

  // Frames decoded from one read wait here; nothing more is read until they are all answered, so
  // a pipelining peer cannot make the server buffer more than one read beyond its frame limit.
  void next() {
    if (stop_requested_) return close("server stopping");
    if (next_event_ == queue_.size()) {
      queue_.clear();
      next_event_ = 0;
      return read();
    }
    FrameEvent event = std::move(queue_[next_event_++]);
    if (event.kind == FrameEvent::Kind::kOversized) return reject_oversize();
    state_ = State::kHandling;
    timer_.cancel();  // the server's own processing time is not the peer's fault
    ++handled_;
    auto token = std::make_shared<ReplyToken>(shared_from_this());
    try {
      core_->handler(peer_, std::move(event.payload),
                     [token](std::string reply) { token->answer(std::move(reply)); });
    } catch (...) {
      close("handler threw");
    }
  }

  void reject_oversize() {
    core_->emit(peer_, {MllpEventKind::kOversize, {}});
    std::string nak;
    try {
      if (core_->oversize) nak = core_->oversize(peer_);
    } catch (...) {
    }
    auto framed = encode_frame(nak);
    if (nak.empty() || !framed) return linger();
    write(std::move(*framed), true);
  }

  void write(std::string framed, bool then_linger) {
    state_ = State::kWriting;
    out_ = std::move(framed);
    arm(Clock::now() + core_->options.read_timeout);
    with_stream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(out_),
                        [self = shared_from_this(), then_linger](error_code ec, std::size_t) {
                          if (self->state_ == State::kClosed) return;
                          if (ec) return self->close(ec.message());
                          if (then_linger) return self->linger();
                          // Time in the handler and the write is the server's, not the peer's.
                          self->idle_since_ = Clock::now();
                          if (self->decoder_.in_frame()) self->frame_started_ = self->idle_since_;
                          self->next();
                        });
    });
  }

  void linger() {
    state_ = State::kLinger;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm(Clock::now() + std::min<Clock::duration>(core_->options.read_timeout, kLinger));
    drain();
  }

  void drain() {  // raw TCP bytes, TLS or not: they are thrown away unread
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](error_code ec, std::size_t) {
                              if (self->state_ != State::kLinger) return;
                              if (ec) return self->close("oversize");
                              self->drain();
                            });
  }

  // Owned by the reply closure(s) of one frame; it forwards the first answer, and a close when no
  // answer came, to the connection's strand.
  struct ReplyToken {
    std::shared_ptr<Connection> connection;
    std::atomic<bool> used{false};
    explicit ReplyToken(std::shared_ptr<Connection> c) : connection(std::move(c)) {}
    ~ReplyToken() {
      if (!used.load()) connection->post_reply(std::nullopt);
    }
    void answer(std::string reply) {
      if (!used.exchange(true)) connection->post_reply(std::move(reply));
    }
  };

  void post_reply(std::optional<std::string> reply) {
    std::lock_guard lock(core_->mu);  // stop() must not join while a post is half done
    if (!core_->posts_allowed) return;
    asio::post(executor(), [self = shared_from_this(), r = std::move(reply)]() mutable {
      self->on_reply(std::move(r));
    });
  }

  std::shared_ptr<Core> core_;  // first: the executor below lives in core_->io
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  MllpPeer peer_;
  FrameDecoder decoder_;
  State state_ = State::kHandshake;
  bool stop_requested_ = false;
  std::array<char, kReadChunk> buffer_{};
  std::vector<FrameEvent> queue_;
  std::size_t next_event_ = 0;
  std::string out_;
  Clock::time_point idle_since_ = Clock::now(), frame_started_ = Clock::now();
  std::uint64_t handled_ = 0;
};

void admit(const std::shared_ptr<Core>& core, tcp::socket socket) {
  MllpPeer peer;
  peer.connection_id = core->next_id++;
  peer.tls = core->tls.has_value();
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  peer.remote_address = endpoint_text(remote);
  socket.set_option(tcp::no_delay(true), ec);
  auto connection = std::make_shared<Connection>(core, std::move(socket), peer);
  {
    std::lock_guard lock(core->mu);
    if (!core->stopping && core->connections.size() < core->options.max_connections) {
      core->connections.emplace(peer.connection_id, connection);
    } else {
      connection.reset();
    }
  }
  if (!connection) {
    core->emit(peer, {MllpEventKind::kRefused, "too many connections or stopping"});
    return;  // the socket closes with the connection object
  }
  core->emit(peer, {MllpEventKind::kAccepted, {}});
  asio::post(connection->executor(), [connection] { connection->start(); });
}

void accept_next(const std::shared_ptr<Core>& core) {
  core->acceptor.async_accept(
      asio::make_strand(core->io), [core](error_code ec, tcp::socket socket) {
        if (!core->acceptor.is_open() || ec == asio::error::operation_aborted) return;
        if (ec) {
          core->accept_backoff.expires_after(kAcceptBackoff);
          core->accept_backoff.async_wait([core](error_code e) {
            if (!e) accept_next(core);
          });
          return;
        }
        admit(core, std::move(socket));
        accept_next(core);
      });
}

}  // namespace

struct MllpServer::Impl {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false, stopped = false;

  model::Result<void> listen();
};

MllpServer::MllpServer(MllpServerOptions options, MllpHandler handler, MllpOversizeHandler oversize,
                       MllpEventHandler on_event)
    : impl_(std::make_unique<Impl>()) {
  impl_->core->options = std::move(options);
  impl_->core->handler = std::move(handler);
  impl_->core->oversize = std::move(oversize);
  impl_->core->on_event = std::move(on_event);
}

MllpServer::~MllpServer() { stop(); }

std::uint16_t MllpServer::port() const { return impl_->port; }

model::Result<void> MllpServer::Impl::listen() {
  Core& c = *core;
  const MllpServerOptions& o = c.options;
  if (!c.handler) return model::fail(ErrorCode::kConfig, "MLLP listener without a frame handler");
  if (o.max_connections == 0) {
    return model::fail(ErrorCode::kConfig, "MLLP max_connections must be at least 1");
  }
  error_code ec;
  const auto address = asio::ip::make_address(o.bind_address, ec);
  if (ec) {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("MLLP bind address '{}' is not an IP address", o.bind_address));
  }
  // DESIGN.md invariant 9: PHI never crosses a network in plaintext.
  if (!o.tls && !is_loopback(address)) {
    return model::fail(ErrorCode::kConfig,
                       fmt::format("plaintext MLLP listener on {} refused: TLS is required for any "
                                   "address outside 127.0.0.0/8 and ::1",
                                   o.bind_address));
  }
  if (o.tls) {
    auto context = make_server_context(*o.tls);
    if (!context) return std::unexpected(context.error());
    ssl_ctx_st* handle = context->new_reference();
    if (handle == nullptr) return model::fail(ErrorCode::kInternal, "cannot share TLS context");
    c.tls.emplace(handle);  // takes the reference
  }
  auto bound = internal::listen_on(c.acceptor, tcp::endpoint(address, o.port), "MLLP");
  if (!bound) return std::unexpected(bound.error());
  port = *bound;
  return {};
}

model::Result<void> MllpServer::start() {
  if (impl_->started) return model::fail(ErrorCode::kInternal, "MLLP listener already started");
  try {
    if (auto r = impl_->listen(); !r) {
      error_code ignored;
      impl_->core->acceptor.close(ignored);
      return r;
    }
    impl_->started = true;
    impl_->work.emplace(impl_->core->io.get_executor());
    accept_next(impl_->core);
    const unsigned n = std::max(1u, impl_->core->options.io_threads);
    for (unsigned i = 0; i < n; ++i) {
      impl_->threads.emplace_back([core = impl_->core.get()] { internal::run_io(core->io); });
    }
  } catch (const std::exception& e) {  // Asio and std::thread report by exception
    stop();
    return model::fail(ErrorCode::kInternal,
                       fmt::format("cannot start MLLP listener: {}", e.what()));
  }
  return {};
}

void MllpServer::stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  std::shared_ptr<Core> core = impl_->core;
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(core->mu);
    core->stopping = true;
    for (auto& [id, weak] : core->connections) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  asio::post(core->accept_strand, [core] {
    error_code ignored;
    core->acceptor.close(ignored);
    core->accept_backoff.cancel();
  });
  for (auto& c : open) asio::post(c->executor(), [c] { c->begin_stop(); });
  open.clear();
  {
    std::unique_lock lock(core->mu);
    core->drained.wait_for(lock, core->options.stop_grace,
                           [&] { return core->connections.empty(); });
    for (auto& [id, weak] : core->connections) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) asio::post(c->executor(), [c] { c->close("server stopped"); });
  open.clear();
  {
    std::lock_guard lock(core->mu);
    core->posts_allowed = false;
  }
  impl_->work.reset();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace labvault::net
