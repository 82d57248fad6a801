// Streams audit events to a SIEM collector as RFC 5424 over TLS (RFC 5425), in order, without
// loss across collector outages, using the audit table as the spool. Invariant: the cursor file
// never claims an event the collector's TCP has not acknowledged; duplicates are possible after a
// reconnect and carry their sequence numbers, so the collector drops them.
//
// Why TCP acknowledgements and a resend window: RFC 5425 has no application acknowledgement, so a
// successful write only means the bytes reached our kernel. The forwarder maps the raw socket
// bytes written per event (a counting BIO) to sequence numbers and reads the unacknowledged send
// queue (Linux SIOCOUTQ); only events whose last byte the peer's TCP acknowledged advance the
// durable cursor. An acknowledged byte may still die in a collector's receive buffer when the
// collector crashes, so after a broken connection the forwarder resends from the earliest event
// acknowledged less than `resend_window` before the connection was last seen healthy (its queue
// empty or draining); events never acknowledged are resent anyway. A forwarder restart resumes
// after the cursor (clean stops send close_notify first).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/syslog.hpp"
#include "model/error.hpp"

namespace labvault::audit {

// Returns up to `limit` events with seq >= from_seq in ascending, gap-free order; fewer than
// `limit` (or none) means the source has nothing more right now.
using EventSource = std::function<model::Result<std::vector<SyslogEvent>>(std::uint64_t from_seq,
                                                                          std::size_t limit)>;

struct SyslogForwarderConfig {
  std::string host;
  std::uint16_t port = 6514;         // RFC 5425 4.1
  std::string ca_file;               // CAs that may sign the collector's certificate (required)
  std::string cert_file;             // optional client certificate (mutual TLS)...
  std::string key_file;              // ...and key
  std::string server_name;           // name the collector's certificate must carry; empty: `host`
  std::filesystem::path cursor_dir;  // must exist; holds cursor_file, mode 0600
  std::string cursor_file = "syslog-forwarder.cursor";
  std::string hostname;  // RFC 5424 HOSTNAME; empty: gethostname()
  std::string app_name = "labvault";
  std::string procid;  // empty: NILVALUE
  std::string sd_id = std::string(kDefaultSdId);
  std::size_t batch_size = 256;             // events per read from the source
  std::size_t max_unacked_bytes = 1 << 20;  // stop writing while this much awaits TCP acks
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{30'000};
  std::chrono::milliseconds connect_timeout{5'000};  // TCP connect and TLS handshake
  std::chrono::milliseconds write_timeout{10'000};   // a write or the acks of written bytes
  std::chrono::milliseconds resend_window{30'000};
  std::chrono::milliseconds poll_interval{1'000};  // also look for events without notify()
  // Times acknowledgements and connection health for the resend window; tests may replace it.
  std::function<std::chrono::steady_clock::time_point()> clock = std::chrono::steady_clock::now;
};

// Counters for metrics. Messages name hosts, files and OpenSSL reasons, never event content.
struct SyslogForwarderStats {
  std::uint64_t delivered_through = 0;  // durable cursor: TCP-acknowledged through this seq
  std::uint64_t sent = 0;               // events written, resends included
  std::uint64_t resent = 0;             // events written again after a broken connection
  std::uint64_t connections = 0;        // successful TLS handshakes
  std::uint64_t reconnects = 0;         // handshakes after the first
  std::uint64_t connect_failures = 0;   // failed TCP connects or TLS handshakes
  bool connected = false;
  std::optional<model::ErrorCode> last_error_code;
  std::string last_error;
};

class SyslogForwarder {
 public:
  SyslogForwarder(SyslogForwarderConfig config, EventSource source);
  ~SyslogForwarder();  // stop() with its default timeout
  SyslogForwarder(const SyslogForwarder&) = delete;
  SyslogForwarder& operator=(const SyslogForwarder&) = delete;

  // Loads the TLS settings and the cursor, then starts the sending thread. Fails on bad
  // configuration (unreadable CA/cert/key, missing cursor dir, corrupt cursor) without starting.
  [[nodiscard]] model::Result<void> start();
  // If connected, sends what the source has and waits for its acknowledgement until
  // `flush_timeout`; closes the session with close_notify, saves the cursor, joins the thread.
  // Idempotent; start() may be called again afterwards.
  void stop(std::chrono::milliseconds flush_timeout = std::chrono::seconds(5));
  // New events are available; wakes the sender (the source is also polled every poll_interval).
  void notify();

  [[nodiscard]] std::uint64_t delivered_through() const;
  [[nodiscard]] SyslogForwarderStats stats() const;
  [[nodiscard]] std::filesystem::path cursor_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::audit
