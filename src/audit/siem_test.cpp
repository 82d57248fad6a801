#include "audit/siem.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "audit/syslog.hpp"
#include "net/tls.hpp"
#include "support/test_certs.hpp"

namespace labvault::audit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The test collector writes with plain OpenSSL socket BIOs; a forwarder that went away must not
// kill the test binary with SIGPIPE.
const bool kSigpipeIgnored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "labvault-siem-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

using Ssl = std::unique_ptr<SSL, testing::OpenSslDeleter<SSL_free>>;

// ---- a TLS syslog collector on 127.0.0.1 that records each message's meta sequenceId ----

struct Received {
  std::uint64_t seq;
  int connection;
};

struct CollectorState {
  std::vector<Received> received;
  int connections = 0;
  int handshake_failures = 0;
  bool paused = false;
};

class Collector {
 public:
  // With pause_after > 0 the collector stops reading after that many frames (bytes pile up
  // unread in its receive buffer, acknowledged by its TCP) until restart().
  explicit Collector(net::TlsContext ctx, std::size_t pause_after = 0)
      : ctx_(std::move(ctx)), pause_after_(pause_after) {
    listen(0);
    thread_ = std::thread([this] { run(); });
  }
  ~Collector() {
    stop_ = true;
    thread_.join();
    drop(true);
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }
  // Crash: close the connection with a TCP reset (unread bytes are lost) and the listener,
  // then listen again on the same port.
  void restart() { restart_ = true; }

  bool wait_until(const std::function<bool(const CollectorState&)>& done,
                  std::chrono::seconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mu_);
    while (!done(state_)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      cv_.wait_for(lock, 10ms);  // also rechecks conditions on the forwarder's counters
    }
    return true;
  }
  CollectorState state() {
    std::lock_guard lock(mu_);
    return state_;
  }

 private:
  void listen(std::uint16_t port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len), 0) << errno;
    ASSERT_EQ(::listen(listener_, 16), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }

  void drop(bool reset) {
    if (ssl_ == nullptr) return;
    if (reset) {
      linger hard{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    ssl_.reset();
    ::close(fd_);
    buffer_.clear();
  }

  void run() {
    while (!stop_) {
      if (restart_.exchange(false)) {
        drop(true);
        ::close(listener_);
        listen(port_);
        pause_after_ = 0;
        std::lock_guard lock(mu_);
        state_.paused = false;
      }
      bool reading = ssl_ != nullptr && !paused();
      pollfd fds[2] = {{listener_, POLLIN, 0}, {fd_, POLLIN, 0}};
      ::poll(fds, reading ? 2 : 1, 10);
      if (fds[0].revents & POLLIN) accept_one();
      if (reading && fds[1].revents != 0) read_some();
    }
  }

  bool paused() {
    std::lock_guard lock(mu_);
    return state_.paused;
  }

  void accept_one() {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    drop(true);
    fd_ = fd;
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    std::lock_guard lock(mu_);
    ++state_.connections;
  }

  void read_some() {
    ERR_clear_error();
    if (!SSL_is_init_finished(ssl_.get())) {
      int rc = SSL_accept(ssl_.get());
      int err = SSL_get_error(ssl_.get(), rc);
      if (rc <= 0 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        drop(false);
        std::lock_guard lock(mu_);
        ++state_.handshake_failures;
        cv_.notify_all();
      }
      if (rc <= 0) return;
    }
    char buf[16384];
    std::size_t n = 0;
    while (!paused()) {
      ERR_clear_error();
      if (SSL_read_ex(ssl_.get(), buf, sizeof buf, &n) != 1) {
        int err = SSL_get_error(ssl_.get(), 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        if (err == SSL_ERROR_ZERO_RETURN) SSL_shutdown(ssl_.get());  // answer close_notify
        return drop(false);
      }
      buffer_.append(buf, n);
      parse_frames();
    }
  }

  // RFC 6587 3.4.1 octet counting: "MSG-LEN SP SYSLOG-MSG".
  void parse_frames() {
    std::size_t pos = 0;
    while (true) {
      std::size_t sp = buffer_.find(' ', pos);
      if (sp == std::string::npos) break;
      std::size_t len = std::stoul(buffer_.substr(pos, sp - pos));
      if (buffer_.size() - sp - 1 < len) break;
      std::string msg = buffer_.substr(sp + 1, len);
      pos = sp + 1 + len;
      constexpr std::string_view kMeta = "[meta sequenceId=\"";
      std::size_t at = msg.find(kMeta);
      ASSERT_NE(at, std::string::npos) << "frame without sequenceId";
      std::lock_guard lock(mu_);
      state_.received.push_back({std::stoull(msg.substr(at + kMeta.size())), state_.connections});
      if (pause_after_ > 0 && state_.received.size() >= pause_after_) state_.paused = true;
      cv_.notify_all();
      if (state_.paused) break;
    }
    buffer_.erase(0, pos);
  }

  net::TlsContext ctx_;
  std::size_t pause_after_;
  int listener_ = -1, fd_ = -1;
  std::uint16_t port_ = 0;
  Ssl ssl_;
  std::string buffer_;
  std::atomic<bool> stop_{false}, restart_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  CollectorState state_;
  std::thread thread_;
};

// ---- an in-memory audit table ----

SyslogEvent make_event(std::uint64_t seq) {
  return {seq,
          1'700'000'000'000'000 + static_cast<std::int64_t>(seq) * 1000,
          6,
          "read",
          {{"actor", "user-" + std::to_string(seq % 7)}, {"patient", "CANARY-PHI-4711"}},
          "read: success"};
}

struct MemorySource {
  std::mutex mu;
  std::uint64_t available = 0;
  // With step > 0, every read makes `step` more events of `total` available: audit records that
  // keep arriving while the forwarder runs, so acknowledgements come in over many polls.
  std::uint64_t step = 0, total = 0;
  EventSource source() {
    return
        [this](std::uint64_t from, std::size_t limit) -> model::Result<std::vector<SyslogEvent>> {
          std::lock_guard lock(mu);
          if (step > 0) available = std::min(total, available + step);
          std::vector<SyslogEvent> out;
          for (std::uint64_t s = from; s <= available && out.size() < limit; ++s) {
            out.push_back(make_event(s));
          }
          return out;
        };
  }
};

SyslogForwarderConfig config_for(const testing::TestPki& pki, std::uint16_t port,
                                 const fs::path& dir) {
  SyslogForwarderConfig c;
  c.host = "127.0.0.1";
  c.port = port;
  c.ca_file = pki.ca;
  c.cert_file = pki.client_cert;
  c.key_file = pki.client_key;
  c.server_name = "localhost";
  c.cursor_dir = dir;
  c.hostname = "lv-test";
  c.batch_size = 64;
  c.reconnect_min = 10ms;
  c.reconnect_max = 100ms;
  c.connect_timeout = 2s;
  c.write_timeout = 5s;
  return c;
}

net::TlsContext collector_context(const testing::TestPki& pki, bool require_client_cert) {
  auto ctx = net::make_server_context(
      {pki.server_cert, pki.server_key, require_client_cert ? pki.ca.string() : std::string()});
  EXPECT_TRUE(ctx) << ctx.error().message;
  return ctx.value();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SyslogForwarder, DeliversAllEventsInOrderAcrossCollectorRestart) {
  constexpr std::uint64_t kEvents = 2000;
  TempDir dir;
  testing::TestPki pki = testing::make_test_pki(dir.path, "");
  Collector collector(collector_context(pki, true), 500);
  MemorySource table;
  table.step = 10;
  table.total = kEvents;
  SyslogForwarderConfig config = config_for(pki, collector.port(), dir.path);
  config.poll_interval = 1ms;  // the source has no notify(); look for new records at once
  SyslogForwarder forwarder(config, table.source());
  ASSERT_TRUE(forwarder.start());

  // The collector reads 500 frames and stops; its TCP keeps acknowledging into its buffer. Wait
  // until 100 events it never read were acknowledged, over several polls of the forwarder.
  std::uint64_t lost_from = 0;
  ASSERT_TRUE(collector.wait_until([&](const CollectorState& s) {
    lost_from = s.received.empty() ? 0 : s.received.back().seq + 1;
    return s.paused && forwarder.delivered_through() >= lost_from + 100;
  })) << "delivered through "
      << forwarder.delivered_through();
  collector.restart();  // acknowledged events from lost_from on die in the receive buffer
  ASSERT_TRUE(collector.wait_until([&](const CollectorState& s) {
    return !s.received.empty() && s.received.back().seq == kEvents;
  })) << forwarder.stats().last_error;
  forwarder.stop();

  CollectorState s = collector.state();
  std::uint64_t highest = 0, repeats = 0;
  for (std::size_t i = 0; i < s.received.size(); ++i) {
    const Received& r = s.received[i];
    if (i > 0 && r.connection == s.received[i - 1].connection) {
      EXPECT_EQ(r.seq, s.received[i - 1].seq + 1) << "stream went backwards or skipped at " << i;
    }
    ASSERT_LE(r.seq, highest + 1) << "gap: " << r.seq << " after " << highest;
    if (r.seq <= highest) ++repeats;
    highest = std::max(highest, r.seq);
  }
  EXPECT_EQ(highest, kEvents);
  EXPECT_EQ(s.received.size() - repeats, kEvents);
  EXPECT_GT(repeats, 0u) << "the resend window starts before the lost events";
  EXPECT_GE(s.connections, 2);
  SyslogForwarderStats stats = forwarder.stats();
  EXPECT_GE(stats.reconnects, 1u);
  EXPECT_GT(stats.resent, 0u);
  EXPECT_EQ(stats.delivered_through, kEvents);
  EXPECT_EQ(read_file(forwarder.cursor_path()), "2000\n");
  EXPECT_EQ(stats.last_error.find("CANARY"), std::string::npos);
}

TEST(SyslogForwarder, RefusesCollectorCertificateFromAnotherCa) {
  TempDir dir;
  testing::TestPki pki = testing::make_test_pki(dir.path, "");
  testing::TestPki rogue = testing::make_test_pki(dir.path, "rogue-");
  Collector collector(collector_context(rogue, false));
  MemorySource table;
  table.available = 10;
  SyslogForwarder forwarder(config_for(pki, collector.port(), dir.path), table.source());
  ASSERT_TRUE(forwarder.start());
  ASSERT_TRUE(collector.wait_until([&](const CollectorState& s) {
    return s.handshake_failures >= 1 && forwarder.stats().connect_failures >= 1;
  }));
  forwarder.stop();
  SyslogForwarderStats stats = forwarder.stats();
  EXPECT_EQ(stats.last_error_code, model::ErrorCode::kCrypto);
  EXPECT_NE(stats.last_error.find("certificate verify failed"), std::string::npos)
      << stats.last_error;
  EXPECT_EQ(stats.sent, 0u);
  EXPECT_EQ(stats.connections, 0u);
  EXPECT_TRUE(collector.state().received.empty());
  EXPECT_EQ(read_file(forwarder.cursor_path()), "0\n");
}

TEST(SyslogForwarder, CursorSurvivesRestartWithoutResendingAcknowledgedEvents) {
  TempDir dir;
  testing::TestPki pki = testing::make_test_pki(dir.path, "");
  Collector collector(collector_context(pki, true));
  MemorySource table;
  table.available = 100;
  SyslogForwarderConfig config = config_for(pki, collector.port(), dir.path);
  config.server_name.clear();  // checked against the host, an IP literal (SAN IP:127.0.0.1)
  {
    SyslogForwarder first(config, table.source());
    ASSERT_TRUE(first.start());
    ASSERT_TRUE(collector.wait_until([&](const CollectorState& s) {
      return s.received.size() == 100 && first.delivered_through() == 100;
    }));
    first.stop();
    EXPECT_EQ(read_file(first.cursor_path()), "100\n");
    struct stat st {};
    ASSERT_EQ(::stat(first.cursor_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  {
    std::lock_guard lock(table.mu);
    table.available = 150;
  }
  SyslogForwarder second(config, table.source());
  ASSERT_TRUE(second.start());
  second.notify();
  ASSERT_TRUE(collector.wait_until([&](const CollectorState& s) {
    return s.received.size() >= 150 && second.delivered_through() == 150;
  }));
  second.stop();
  CollectorState s = collector.state();
  ASSERT_EQ(s.received.size(), 150u) << "acknowledged events were sent again";
  for (std::size_t i = 0; i < s.received.size(); ++i) EXPECT_EQ(s.received[i].seq, i + 1);
  EXPECT_EQ(s.received[100].connection, 2);
  EXPECT_EQ(read_file(second.cursor_path()), "150\n");
}

TEST(Syslog, FormatsRfc5424WithEscapesNilvaluesAndLimits) {
  using namespace std::chrono;
  SyslogEvent e;
  e.seq = 5;
  e.time_us = duration_cast<microseconds>(
                  (sys_days{2024y / 3 / 1} + 12h + 34min + 56s + 789us).time_since_epoch())
                  .count();
  e.severity = 4;
  e.msgid = "login-failed";
  e.params = {{"actor", "dr \"x\" \\ [y]"},
              {"bad name=", "v"},
              {"", "dropped"},
              {"ok", "caf\xC3\xA9 \xFF"}};
  e.msg = "hello";
  std::string procid(200, 'p');
  std::string out = format_rfc5424(e, "", "lab vault", procid);
  std::string expected = "<108>1 2024-03-01T12:34:56.000789Z - lab_vault " + std::string(128, 'p') +
                         " login-failed [meta sequenceId=\"5\"][labvault@32473 seq=\"5\" "
                         "actor=\"dr \\\"x\\\" \\\\ [y\\]\" bad_name_=\"v\" "
                         "ok=\"caf\xC3\xA9 \xEF\xBF\xBD\"] \xEF\xBB\xBFhello";
  EXPECT_EQ(out, expected);

  // Parse the header back: 6 space-separated fields, each PRINTUSASCII within its limit.
  std::istringstream header(out);
  std::string field;
  const std::size_t limits[] = {8, 32, 255, 48, 128, 32};
  for (std::size_t limit : limits) {
    ASSERT_TRUE(header >> field);
    EXPECT_LE(field.size(), limit) << field;
    for (char c : field) EXPECT_TRUE(c >= 33 && c <= 126) << field;
  }

  SyslogEvent wrap;
  wrap.seq = 2147483648;  // RFC 5424 7.3.1: sequenceId wraps to 1; our seq does not
  wrap.time_us = -1;
  wrap.severity = 9;
  EXPECT_EQ(format_rfc5424(wrap, "host", "app", "", "audit@99999"),
            "<111>1 1969-12-31T23:59:59.999999Z host app - - [meta sequenceId=\"1\"]"
            "[audit@99999 seq=\"2147483648\"]");
  EXPECT_EQ(meta_sequence_id(2147483647), 2147483647u);
  EXPECT_EQ(meta_sequence_id(4294967296), 2u);
  EXPECT_FALSE(is_valid_sd_name("a=b"));
  EXPECT_FALSE(is_valid_sd_name(std::string(33, 'a')));
  EXPECT_TRUE(is_valid_sd_name("labvault@32473"));
  EXPECT_EQ(frame_octet_counted("caf\xC3\xA9"), "5 caf\xC3\xA9");  // octets, not characters
}

TEST(Tls, ContextErrorsNameTheFile) {
  TempDir dir;
  auto missing = net::make_client_context({(dir.path / "nope.pem").string(), "", "", "x"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, model::ErrorCode::kConfig);
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);
  testing::TestPki pki = testing::make_test_pki(dir.path, "");
  auto mismatch = net::make_server_context({pki.server_cert, pki.client_key, ""});
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("client.key"), std::string::npos);
  EXPECT_NE(mismatch.error().message.find("mismatch"), std::string::npos)
      << mismatch.error().message;
  EXPECT_FALSE(net::make_client_context({pki.ca, pki.client_cert, "", ""}));
}

}  // namespace
}  // namespace labvault::audit
