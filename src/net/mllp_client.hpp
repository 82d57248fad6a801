// Synchronous MLLP client (MLLP release 2, HL7 v2.5.1 appendix C) for `labvault send` and the
// load generator: plaintext or TLS (tls.hpp settings), every wait bounded by a timeout.
// Invariant: after a failed or timed-out read or write the connection is closed and every later
// call fails; reconnecting is the caller's business.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "model/error.hpp"
#include "net/mllp_frame.hpp"
#include "net/tls.hpp"

namespace labvault::net {

struct MllpClientOptions {
  std::string host;  // DNS name or IP literal
  std::uint16_t port = 2575;
  // TLS when set; an empty server_name means `host` is the name the certificate must carry.
  std::optional<TlsClientOptions> tls;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);  // TCP and TLS handshake
  std::chrono::milliseconds reply_timeout = std::chrono::seconds(30);    // one send()
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;                   // largest reply accepted
};

// One thread at a time; move-only.
class MllpClient {
 public:
  // kConfig for TLS files; kIo when the server cannot be reached in time; kCrypto when the TLS
  // handshake fails (with the certificate verification reason).
  [[nodiscard]] static model::Result<MllpClient> connect(const MllpClientOptions& options);
  ~MllpClient();  // close()
  MllpClient(MllpClient&&) noexcept;
  MllpClient& operator=(MllpClient&&) noexcept;

  // Sends one frame and returns the next frame from the server (the ACK or NAK), within
  // reply_timeout. Bytes outside frames are skipped. kEncoding when the payload cannot be framed
  // or the reply is over max_frame_bytes; kIo when the connection fails or closes first.
  [[nodiscard]] model::Result<std::string> send(std::string_view payload);
  // The halves of send(), for callers that pipeline several frames before reading replies.
  [[nodiscard]] model::Result<void> write_frame(std::string_view payload);
  [[nodiscard]] model::Result<std::string> read_frame();
  // Sends TLS close_notify (best effort, briefly) and closes. Idempotent.
  void close();

 private:
  struct Impl;
  explicit MllpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::net
