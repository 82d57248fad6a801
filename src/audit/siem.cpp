#include "audit/siem.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "net/tls.hpp"

namespace labvault::audit {

using model::ErrorCode;
using RealClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t kChunkBytes = 16 * 1024;  // RFC 8446 5.1: one TLS record of plaintext
constexpr milliseconds kAckPoll{5};             // while bytes await acknowledgement
constexpr milliseconds kCursorSyncEvery{100};   // cursor fsyncs while a stream is busy

std::string errno_text(int err) { return std::strerror(err); }

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct InFlight {
  std::uint64_t seq;
  std::uint64_t end;  // raw bytes written once the event's last byte was handed to the kernel
};

struct Acked {
  std::uint64_t seq;
  RealClock::time_point at;  // when the acknowledgement was seen (never earlier than it came)
};

}  // namespace

struct SyslogForwarder::Impl {
  SyslogForwarderConfig cfg;
  EventSource source;
  net::TlsContext tls;
  std::filesystem::path cursor;
  std::thread thread;

  mutable std::mutex mu;  // guards wake, last_error*, and the cv
  std::condition_variable cv;
  bool wake = false;
  std::atomic<bool> stopping{false};
  std::atomic<RealClock::time_point> stop_deadline{RealClock::time_point::max()};

  std::atomic<std::uint64_t> delivered{0}, sent{0}, resent{0}, connections{0}, failures{0};
  std::atomic<bool> connected{false};
  std::optional<ErrorCode> last_error_code;
  std::string last_error;

  // Worker thread only.
  std::optional<net::TlsClientStream> conn;
  std::uint64_t conn_acked = 0;  // raw bytes of `conn` the peer's TCP acknowledged
  std::deque<InFlight> inflight;
  std::deque<Acked> recent;  // acknowledged events still inside the resend window
  std::uint64_t next_seq = 1, persisted = 0, resend_until = 0;
  bool caught_up = false;
  RealClock::time_point last_fetch, last_persist, last_healthy, last_progress;

  void record(const model::Error& e) {
    std::lock_guard lock(mu);
    last_error_code = e.code;
    last_error = e.message;
  }

  // I/O gives up after `d` or at stop()'s deadline, whichever comes first.
  net::Deadline deadline_after(milliseconds d) const {
    return {RealClock::now() + d, &stop_deadline};
  }

  std::string peer() const { return fmt::format("collector {}:{}", cfg.host, cfg.port); }

  // Moves events whose bytes the peer's TCP acknowledged from in-flight to the cursor.
  model::Result<void> collect_acks() {
    auto unacked = conn->bytes_unacknowledged();
    if (!unacked) return std::unexpected(unacked.error());
    auto now = cfg.clock();
    std::uint64_t acked = conn->bytes_written() - *unacked;
    bool progress = acked > conn_acked;
    conn_acked = std::max(conn_acked, acked);
    if (progress || *unacked == 0) last_healthy = last_progress = now;
    while (!inflight.empty() && inflight.front().end <= acked) {
      recent.push_back({inflight.front().seq, now});
      if (inflight.front().seq > delivered.load()) delivered.store(inflight.front().seq);
      inflight.pop_front();
    }
    while (!recent.empty() && recent.front().at < last_healthy - cfg.resend_window) {
      recent.pop_front();
    }
    if (*unacked > 0 && now - last_progress > cfg.write_timeout) {
      return model::fail(ErrorCode::kIo, fmt::format("{} acknowledged nothing for {} ms", peer(),
                                                     cfg.write_timeout.count()));
    }
    return {};
  }

  model::Result<void> write_chunk(std::string& chunk, std::vector<std::uint64_t>& seqs) {
    if (chunk.empty()) return {};
    if (auto r = conn->write(chunk, deadline_after(cfg.write_timeout)); !r) return r;
    for (std::uint64_t seq : seqs) {
      inflight.push_back({seq, conn->bytes_written()});
      if (seq <= resend_until) resent.fetch_add(1);
    }
    sent.fetch_add(seqs.size());
    next_seq = seqs.back() + 1;
    chunk.clear();
    seqs.clear();
    return {};
  }

  // Reads one batch from the source and writes it; source errors wait for the next poll.
  model::Result<void> send_batch() {
    last_fetch = RealClock::now();
    model::Result<std::vector<SyslogEvent>> batch;
    try {
      batch = source(next_seq, cfg.batch_size);
    } catch (const std::exception&) {  // a source that throws must not end the thread
      batch = model::fail(ErrorCode::kInternal, "threw an exception");
    }
    if (!batch) {
      caught_up = true;
      record({batch.error().code, "audit source: " + batch.error().message, {}});
      return {};
    }
    caught_up = batch->size() < cfg.batch_size;
    std::string chunk;
    std::vector<std::uint64_t> seqs;
    std::uint64_t expect = next_seq;
    for (const SyslogEvent& event : *batch) {
      if (event.seq < expect) continue;
      if (event.seq != expect) {  // the audit log is gap-free; never skip over a hole
        caught_up = true;
        record(
            {ErrorCode::kInternal,
             fmt::format("audit source returned seq {} where {} was expected", event.seq, expect),
             {}});
        break;
      }
      std::string frame = frame_octet_counted(
          format_rfc5424(event, cfg.hostname, cfg.app_name, cfg.procid, cfg.sd_id));
      if (chunk.size() + frame.size() > kChunkBytes) {
        if (auto r = write_chunk(chunk, seqs); !r) return r;
      }
      chunk += frame;
      seqs.push_back(event.seq);
      ++expect;
    }
    return write_chunk(chunk, seqs);
  }

  // After a break: resend from the earliest event acknowledged within the window before the
  // connection was last seen healthy; unacknowledged and unsent events follow it in order.
  void on_break() {
    std::uint64_t from = inflight.empty() ? next_seq : inflight.front().seq;
    auto threshold = last_healthy - cfg.resend_window;
    auto it = std::find_if(recent.begin(), recent.end(),
                           [&](const Acked& a) { return a.at >= threshold; });
    if (it != recent.end()) from = std::min(from, it->seq);
    resend_until = std::max(resend_until, next_seq - 1);
    next_seq = from;
    inflight.clear();
    recent.clear();
    conn.reset();
    connected = false;
    caught_up = false;
  }

  model::Result<void> write_cursor(std::uint64_t value) {
    std::filesystem::path tmp = cursor;
    tmp += ".tmp";
    auto io_error = [&](const std::filesystem::path& p) {
      return model::fail(ErrorCode::kIo, fmt::format("cannot write cursor file '{}': {}",
                                                     p.string(), errno_text(errno)));
    };
    {
      Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      std::string text = fmt::format("{}\n", value);
      if (fd.fd < 0 || ::fchmod(fd.fd, 0600) != 0 ||
          ::write(fd.fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
          ::fsync(fd.fd) != 0) {
        return io_error(tmp);
      }
    }
    if (::rename(tmp.c_str(), cursor.c_str()) != 0) return io_error(cursor);
    Fd dir(::open(cfg.cursor_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.fd < 0 || ::fsync(dir.fd) != 0) return io_error(cfg.cursor_dir);
    return {};
  }

  model::Result<std::uint64_t> read_cursor() const {
    std::error_code ec;
    if (!std::filesystem::exists(cursor, ec)) return 0;
    Fd fd(::open(cursor.c_str(), O_RDONLY | O_CLOEXEC));
    char buf[32] = {};
    ssize_t n = fd.fd < 0 ? -1 : ::read(fd.fd, buf, sizeof buf - 1);
    std::uint64_t value = 0;
    auto [end, err] = std::from_chars(buf, buf + std::max<ssize_t>(n, 0), value);
    if (n <= 0 || err != std::errc{} || (*end != '\n' && *end != '\0')) {
      return model::fail(ErrorCode::kConfig, fmt::format("cursor file '{}' does not hold a "
                                                         "sequence number",
                                                         cursor.string()));
    }
    return value;
  }

  void persist(bool force) {
    std::uint64_t d = delivered.load();
    if (d == persisted) return;
    if (!force && !inflight.empty() && RealClock::now() - last_persist < kCursorSyncEvery) return;
    last_persist = RealClock::now();
    if (auto r = write_cursor(d); !r) return record(r.error());
    persisted = d;
  }

  void wait(milliseconds d, bool wake_on_notify) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, d, [&] { return wake_on_notify ? wake : stopping.load(); });
    if (wake_on_notify && wake) {
      wake = false;
      caught_up = false;
    }
  }

  void run();
};

void SyslogForwarder::Impl::run() {
  milliseconds backoff = cfg.reconnect_min;
  bool stop_seen = false;
  while (true) {
    if (stopping.load() && !stop_seen) {
      stop_seen = true;
      caught_up = false;  // stop() sends what the source has at that moment
    }
    bool drained = caught_up && inflight.empty();
    if (stop_seen && (!conn || drained || RealClock::now() >= stop_deadline.load())) break;
    if (!conn) {
      std::string name = cfg.server_name.empty() ? cfg.host : cfg.server_name;
      auto c = net::TlsClientStream::connect(tls, cfg.host, cfg.port, name, cfg.write_timeout,
                                             deadline_after(cfg.connect_timeout));
      if (!c) {
        failures.fetch_add(1);
        record(c.error());
        wait(backoff, false);
        backoff = std::min(backoff * 2, cfg.reconnect_max);
        continue;
      }
      conn.emplace(std::move(*c));
      conn_acked = 0;
      connections.fetch_add(1);
      connected = true;
      last_healthy = last_progress = cfg.clock();
    }
    std::uint64_t before = delivered.load();
    if (RealClock::now() - last_fetch >= cfg.poll_interval) caught_up = false;
    auto r = conn->discard_input();
    if (r) r = collect_acks();
    if (r && !caught_up && conn->bytes_written() - conn_acked < cfg.max_unacked_bytes) {
      r = send_batch();
    }
    if (!r) {
      record(r.error());
      on_break();
      wait(backoff, false);  // a collector that accepts and drops us must not cause a hot loop
      backoff = std::min(backoff * 2, cfg.reconnect_max);
      continue;
    }
    if (delivered.load() > before) backoff = cfg.reconnect_min;
    persist(false);
    bool room = conn->bytes_written() - conn_acked < cfg.max_unacked_bytes;
    if (!caught_up && room) continue;
    // While stopping, only acknowledgements are awaited: no idle polls.
    wait(inflight.empty() && room && !stop_seen ? cfg.poll_interval : kAckPoll, true);
  }
  if (conn) {
    if (collect_acks()) persist(true);
    conn->close(deadline_after(milliseconds(100)));
    conn.reset();
    connected = false;
  }
  persist(true);
}

SyslogForwarder::SyslogForwarder(SyslogForwarderConfig config, EventSource source)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(config);
  impl_->source = std::move(source);
}

SyslogForwarder::~SyslogForwarder() { stop(); }

model::Result<void> SyslogForwarder::start() {
  Impl& m = *impl_;
  if (m.thread.joinable()) return model::fail(ErrorCode::kUsage, "syslog forwarder already runs");
  if (m.cfg.host.empty() || m.cfg.batch_size == 0 || !m.source) {
    return model::fail(ErrorCode::kConfig, "syslog forwarder needs a host, a source, batch > 0");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(m.cfg.cursor_dir, ec)) {
    return model::fail(ErrorCode::kConfig, fmt::format("cursor directory '{}' does not exist",
                                                       m.cfg.cursor_dir.string()));
  }
  auto tls = net::make_client_context({m.cfg.ca_file, m.cfg.cert_file, m.cfg.key_file,
                                       m.cfg.server_name.empty() ? m.cfg.host : m.cfg.server_name});
  if (!tls) return std::unexpected(tls.error());
  m.tls = std::move(*tls);
  if (m.cfg.hostname.empty()) {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    m.cfg.hostname = name;
  }
  m.cursor = m.cfg.cursor_dir / m.cfg.cursor_file;
  auto cursor = m.read_cursor();
  if (!cursor) return std::unexpected(cursor.error());
  if (auto r = m.write_cursor(*cursor); !r) return r;  // fail now, not after the first delivery
  m.delivered = m.persisted = *cursor;
  m.next_seq = *cursor + 1;
  m.resend_until = 0;
  m.caught_up = false;
  m.inflight.clear();
  m.recent.clear();
  m.last_fetch = {};
  m.stopping = false;
  m.stop_deadline = RealClock::time_point::max();
  m.thread = std::thread([&m] { m.run(); });
  return {};
}

void SyslogForwarder::stop(std::chrono::milliseconds flush_timeout) {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  {
    std::lock_guard lock(m.mu);
    m.stop_deadline = RealClock::now() + flush_timeout;
    m.stopping = true;
    m.wake = true;
  }
  m.cv.notify_all();
  m.thread.join();
}

void SyslogForwarder::notify() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->wake = true;
  }
  impl_->cv.notify_all();
}

std::uint64_t SyslogForwarder::delivered_through() const { return impl_->delivered.load(); }

std::filesystem::path SyslogForwarder::cursor_path() const {
  return impl_->cfg.cursor_dir / impl_->cfg.cursor_file;
}

SyslogForwarderStats SyslogForwarder::stats() const {
  const Impl& m = *impl_;
  SyslogForwarderStats s;
  s.delivered_through = m.delivered.load();
  s.sent = m.sent.load();
  s.resent = m.resent.load();
  s.connections = m.connections.load();
  s.reconnects = s.connections > 0 ? s.connections - 1 : 0;
  s.connect_failures = m.failures.load();
  s.connected = m.connected.load();
  std::lock_guard lock(m.mu);
  s.last_error_code = m.last_error_code;
  s.last_error = m.last_error;
  return s;
}

}  // namespace labvault::audit
