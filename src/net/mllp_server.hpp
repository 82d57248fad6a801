// MLLP listener (MLLP release 2, HL7 v2.5.1 appendix C) that hands each frame to a handler and
// writes the handler's reply back framed; it knows nothing of HL7. Invariant: a connection has at
// most one frame in the handler and gets its replies in frame order, and a listener not bound to
// loopback must use TLS 1.2+ or start() fails (DESIGN.md invariant 9).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "model/error.hpp"
#include "net/mllp_frame.hpp"
#include "net/tls.hpp"

namespace labvault::net {

struct MllpServerOptions {
  std::string bind_address = "127.0.0.1";  // an IP literal; "0.0.0.0" or "::" for all
  std::uint16_t port = 2575;               // 0: an ephemeral port, see MllpServer::port()
  // Required unless bind_address is in 127.0.0.0/8 or ::1. With client_ca_file set, clients must
  // present a certificate from that CA (mutual TLS).
  std::optional<TlsServerOptions> tls;
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
  // No frame begun for this long while the server waits for one => close.
  std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);
  // Bounds the TLS handshake, one frame from its start block to its end (slowloris), writing one
  // reply, and the wait (at most 2 s) for the peer to close after an oversize NAK.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
  std::size_t max_connections = 256;  // more are accepted and closed at once (kRefused)
  unsigned io_threads = 2;
  // stop() lets handlers that hold a frame reply for this long before it closes their connection.
  std::chrono::milliseconds stop_grace = std::chrono::seconds(5);
};

struct MllpPeer {
  std::string remote_address;  // "192.0.2.7:40112", "[2001:db8::1]:40112"
  // Mutual TLS only: the client certificate's subject CN and the lowercase hex SHA-256 of its DER.
  std::string tls_subject, tls_fingerprint;
  std::uint64_t connection_id = 0;  // unique per server, from 1
  bool tls = false;
};

enum class MllpEventKind {
  kAccepted,
  kClosed,              // always the last event of an accepted connection
  kTlsHandshakeFailed,  // reason: OpenSSL's reason (and certificate verify result), no data
  kIdleTimeout,
  kReadTimeout,  // reason: "TLS handshake", "frame" (slowloris) or "reply write"
  kOversize,
  kRefused,  // over max_connections or stopping; not followed by kClosed
};

struct MllpEvent {
  MllpEventKind kind = MllpEventKind::kAccepted;
  std::string reason;           // why, for kClosed and the failures; never message bytes
  std::uint64_t frames = 0;     // kClosed: frames handed to the handler on this connection
  std::uint64_t discarded = 0;  // kClosed: bytes outside frames and of oversized frames
};

// Sends the reply to the frame it was given for; callable once, from any thread, at any later
// time. Destroying every copy without calling it closes the connection (the frame is unanswered).
using MllpReply = std::function<void(std::string reply)>;
// Runs on an io thread and must not block it: hand the frame on and answer through `respond`.
using MllpHandler = std::function<void(const MllpPeer&, std::string frame, MllpReply respond)>;
// The NAK for a frame over max_frame_bytes; it is sent framed, then the connection closes.
using MllpOversizeHandler = std::function<std::string(const MllpPeer&)>;
// For metrics and audit; called concurrently from io threads, so it must be thread-safe.
using MllpEventHandler = std::function<void(const MllpPeer&, const MllpEvent&)>;

class MllpServer {
 public:
  MllpServer(MllpServerOptions options, MllpHandler handler, MllpOversizeHandler oversize = {},
             MllpEventHandler on_event = {});
  ~MllpServer();  // stop()
  MllpServer(const MllpServer&) = delete;
  MllpServer& operator=(const MllpServer&) = delete;

  // Loads TLS files, binds, listens and starts the io threads. kConfig for a plaintext listener
  // off loopback, a bad address or TLS files; kIo when the address cannot be bound.
  [[nodiscard]] model::Result<void> start();
  // The bound port (the ephemeral one when options.port was 0); 0 before start().
  [[nodiscard]] std::uint16_t port() const;
  // Stops accepting, closes idle connections, lets replies in flight be written (up to
  // stop_grace), closes the rest and joins the io threads. Replies given later are dropped (the
  // sender retransmits). Idempotent; must not be called from a handler or event callback.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::net
