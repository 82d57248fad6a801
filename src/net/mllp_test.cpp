// Server and client over real loopback sockets: ordering, concurrency, timeouts, limits and TLS
// policy (DESIGN.md invariant 9). Waits are on events with timeouts, never on fixed sleeps.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "net/mllp_client.hpp"
#include "net/mllp_server.hpp"
#include "support/test_certs.hpp"

namespace labvault::net {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Raw OpenSSL test clients write to sockets the server may have closed.
const bool kSigpipeIgnored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();

// ---- server and client over real loopback sockets ----

struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<MllpPeer, MllpEvent>> events;
  std::vector<MllpPeer> handled;  // peers of handled frames

  MllpEventHandler on_event() {
    return [this](const MllpPeer& p, const MllpEvent& e) {
      std::lock_guard lock(mu);
      events.emplace_back(p, e);
      cv.notify_all();
    };
  }
  std::size_t count(MllpEventKind kind) {
    std::size_t n = 0;
    for (auto& [p, e] : events) n += e.kind == kind ? 1 : 0;
    return n;
  }
  // Waits (bounded) until `done` holds; called with the lock taken.
  bool wait(const std::function<bool()>& done, std::chrono::seconds timeout = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, done);
  }
  bool wait_for(MllpEventKind kind, std::size_t n = 1) {
    return wait([&] { return count(kind) >= n; });
  }
};

// Answers on its own thread, a little later, as ingest does after its commit.
class Responder {
 public:
  Responder() : thread_([this] { run(); }) {}
  ~Responder() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void later(MllpReply respond, std::string reply) {
    std::lock_guard lock(mu_);
    jobs_.emplace_back(std::move(respond), std::move(reply));
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      auto [respond, reply] = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200 * (reply.size() % 5)));  // work
      respond(std::move(reply));
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<MllpReply, std::string>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "labvault-mllp-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

class Mllp : public ::testing::Test {
 protected:
  static MllpServerOptions loopback() {
    MllpServerOptions o;
    o.port = 0;
    return o;
  }
  // Echo: "ACK:" + frame, answered from the responder thread.
  void start(MllpServerOptions o, MllpHandler handler = {}, MllpOversizeHandler oversize = {}) {
    if (!handler) {
      handler = [this](const MllpPeer& peer, std::string f, MllpReply respond) {
        record(peer);
        responder_.later(std::move(respond), "ACK:" + f);
      };
    }
    server_ = std::make_unique<MllpServer>(std::move(o), std::move(handler), std::move(oversize),
                                           recorder_.on_event());
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }
  void record(const MllpPeer& peer) {
    std::lock_guard lock(recorder_.mu);
    recorder_.handled.push_back(peer);
    recorder_.cv.notify_all();
  }
  MllpClientOptions client_options() {
    MllpClientOptions o;
    o.host = "127.0.0.1";
    o.port = server_->port();
    o.connect_timeout = o.reply_timeout = 10s;
    return o;
  }
  MllpClient connect() {
    auto c = MllpClient::connect(client_options());
    EXPECT_TRUE(c) << c.error().message;
    return std::move(c.value());  // throws, failing the test, when there is no connection
  }

  Responder responder_;
  Recorder recorder_;
  std::unique_ptr<MllpServer> server_;  // stopped before the responder and recorder go
};

TEST_F(Mllp, PipelinedFramesAreAnsweredInFrameOrderOneAtATime) {
  std::mutex mu;
  std::map<std::uint64_t, int> in_flight;
  int most = 0;
  start(loopback(), [&](const MllpPeer& peer, std::string f, MllpReply respond) {
    {
      std::lock_guard lock(mu);
      most = std::max(most, ++in_flight[peer.connection_id]);
    }
    responder_.later(
        [&, id = peer.connection_id, respond](std::string r) {
          {
            std::lock_guard lock(mu);
            --in_flight[id];
          }
          respond(std::move(r));
        },
        "ACK:" + f);
  });
  MllpClient client = connect();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.write_frame("MSG" + std::to_string(i)));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(client.read_frame().value(), "ACK:MSG" + std::to_string(i));
  std::lock_guard lock(mu);
  EXPECT_EQ(most, 1);
}

TEST_F(Mllp, ConnectionsProceedInParallel) {
  MllpReply held;
  start(loopback(), [&](const MllpPeer& peer, std::string f, MllpReply respond) {
    if (f == "slow") {
      held = std::move(respond);  // on the io thread; read below only after the wait
      record(peer);
      return;
    }
    respond("ACK:" + f);
  });
  MllpClient slow = connect(), fast = connect();
  ASSERT_TRUE(slow.write_frame("slow"));
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.handled.size() == 1; }));
  EXPECT_EQ(fast.send("fast").value(), "ACK:fast");  // while "slow" is still unanswered
  held("ACK:slow");
  EXPECT_EQ(slow.read_frame().value(), "ACK:slow");
}

TEST_F(Mllp, FiftyConcurrentConnections) {
  MllpServerOptions o = loopback();
  o.io_threads = 2;
  start(o);
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 50; ++c) {
    clients.emplace_back([&, c] {
      auto client = MllpClient::connect(client_options());
      for (int i = 0; client && i < 5; ++i) {
        std::string m = fmt::format("C{}M{}", c, i);
        if (client->send(m).value_or("") == "ACK:" + m) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good, 250);
  EXPECT_TRUE(recorder_.wait_for(MllpEventKind::kClosed, 50));
  std::lock_guard lock(recorder_.mu);
  EXPECT_EQ(recorder_.count(MllpEventKind::kAccepted), 50u);
}

TEST_F(Mllp, IdleConnectionIsClosed) {
  MllpServerOptions o = loopback();
  o.idle_timeout = 200ms;
  start(o);
  MllpClient client = connect();
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kIdleTimeout));
  EXPECT_TRUE(recorder_.wait_for(MllpEventKind::kClosed));
  EXPECT_FALSE(client.read_frame());
}

TEST_F(Mllp, SlowFrameIsClosed) {  // slowloris: a frame begun and never finished
  MllpServerOptions o = loopback();
  o.read_timeout = 200ms;
  start(o);
  MllpClient client = connect();
  ASSERT_TRUE(client.send("first").has_value());
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{AF_INET, htons(server_->port()), {htonl(INADDR_LOOPBACK)}, {}};
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::send(fd, "\x0BMSH|", 5, MSG_NOSIGNAL), 5);
  EXPECT_TRUE(recorder_.wait_for(MllpEventKind::kReadTimeout));
  ::close(fd);
}

TEST_F(Mllp, OversizedFrameGetsNakThenClose) {
  MllpServerOptions o = loopback();
  o.max_frame_bytes = 1024;
  start(o, {}, [](const MllpPeer&) { return std::string("NAK:too large"); });
  MllpClient client = connect();
  EXPECT_EQ(client.send(std::string(1024, 'x')).value(), "ACK:" + std::string(1024, 'x'));
  EXPECT_EQ(client.send(std::string(1025, 'y')).value(), "NAK:too large");
  EXPECT_FALSE(client.send("after"));  // the server closed
  EXPECT_TRUE(recorder_.wait_for(MllpEventKind::kClosed));
  std::lock_guard lock(recorder_.mu);
  EXPECT_EQ(recorder_.count(MllpEventKind::kOversize), 1u);
  EXPECT_EQ(recorder_.handled.size(), 1u);
}

TEST_F(Mllp, ConnectionsBeyondTheLimitAreRefused) {
  MllpServerOptions o = loopback();
  o.max_connections = 2;
  start(o);
  MllpClient a = connect(), b = connect();
  ASSERT_TRUE(a.send("a") && b.send("b"));
  auto c = MllpClient::connect(client_options());  // TCP completes in the kernel, then closes
  EXPECT_FALSE(c && c->send("c"));
  EXPECT_TRUE(recorder_.wait_for(MllpEventKind::kRefused));
  a.close();
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kClosed));
  EXPECT_EQ(connect().send("d").value_or(""), "ACK:d");
}

// Disabled: flaky on a loaded 2-core machine (it failed twice in about eight full-suite runs
// while other builds ran): a reply given while stop() waits was sometimes not written before the
// grace period ended. Not yet explained; until it is, stop() losing a reply only costs a
// retransmission (the sender retries and the store deduplicates), which the crash test covers.
TEST_F(Mllp, StopWritesTheReplyInFlight) {
  MllpReply held;
  start(loopback(), [&](const MllpPeer& peer, std::string, MllpReply respond) {
    held = std::move(respond);
    record(peer);
  });
  MllpClient busy = connect(), idle = connect();
  // connect() returns once the kernel has the connection; stop() knows only admitted ones, and
  // an idle socket still in the backlog would never give the kClosed this test waits for.
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kAccepted, 2));
  ASSERT_TRUE(busy.write_frame("m"));
  ASSERT_TRUE(recorder_.wait([&] { return recorder_.handled.size() == 1; }));
  std::thread stopper([&] { server_->stop(); });
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kClosed));  // the idle one: stop has begun
  held("ACK:m");
  EXPECT_EQ(busy.read_frame().value_or(""), "ACK:m");
  stopper.join();
  EXPECT_FALSE(busy.send("again"));
}

TEST(MllpServerStart, PlaintextOffLoopbackIsRefused) {
  for (const char* address : {"0.0.0.0", "::", "192.0.2.1"}) {
    MllpServerOptions o;
    o.bind_address = address;
    o.port = 0;
    MllpServer server(o, [](const MllpPeer&, std::string, MllpReply) {});
    auto started = server.start();
    ASSERT_FALSE(started) << address;
    EXPECT_EQ(started.error().code, model::ErrorCode::kConfig);
    EXPECT_NE(started.error().message.find("TLS is required"), std::string::npos);
  }
  MllpServerOptions o;  // all of 127.0.0.0/8 is loopback
  o.bind_address = "127.0.0.2";
  o.port = 0;
  MllpServer server(o, [](const MllpPeer&, std::string, MllpReply) {});
  EXPECT_TRUE(server.start());
}

// ---- TLS ----

class MllpTls : public Mllp {
 protected:
  TempDir dir_;
  testing::TestPki pki_ = testing::make_test_pki(dir_.path, "");
  testing::TestPki stranger_ = testing::make_test_pki(dir_.path, "other-", "intruder");

  MllpServerOptions tls(bool mutual) {
    MllpServerOptions o = loopback();
    o.tls = TlsServerOptions{pki_.server_cert, pki_.server_key, mutual ? pki_.ca.string() : ""};
    return o;
  }
  MllpClientOptions tls_client(const testing::TestPki* identity) {
    MllpClientOptions o = client_options();
    o.tls = TlsClientOptions{pki_.ca, identity ? identity->client_cert.string() : "",
                             identity ? identity->client_key.string() : "", ""};
    return o;
  }
  // A raw OpenSSL client that does not verify the server and allows versions down to TLS 1.0,
  // even at security level 0, so that a refusal can only come from the server.
  bool raw_handshake(int max_version) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{AF_INET, htons(server_->port()), {htonl(INADDR_LOOPBACK)}, {}};
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    bool ok = SSL_connect(ssl.get()) == 1;
    ::close(fd);
    return ok;
  }
};

std::string sha256_of_pem(const fs::path& pem) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(pem.c_str(), "r"), &std::fclose);
  testing::TestCert cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &n);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

TEST_F(MllpTls, ClientTrustingTheCaIsServed) {
  start(tls(false));
  auto client = MllpClient::connect(tls_client(nullptr));
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ(client->send("MSH|1").value(), "ACK:MSH|1");
  std::lock_guard lock(recorder_.mu);
  ASSERT_EQ(recorder_.handled.size(), 1u);
  EXPECT_TRUE(recorder_.handled[0].tls);
  EXPECT_EQ(recorder_.handled[0].tls_subject, "");
}

TEST_F(MllpTls, MutualTlsHandsTheClientIdentityToTheHandler) {
  start(tls(true));
  auto client = MllpClient::connect(tls_client(&pki_));
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_EQ(client->send("MSH|1").value(), "ACK:MSH|1");
  std::lock_guard lock(recorder_.mu);
  ASSERT_EQ(recorder_.handled.size(), 1u);
  EXPECT_EQ(recorder_.handled[0].tls_subject, "labvault");
  EXPECT_EQ(recorder_.handled[0].tls_fingerprint, sha256_of_pem(pki_.client_cert));
}

TEST_F(MllpTls, ClientCertificateFromAnUnknownCaIsRefused) {
  start(tls(true));
  auto client = MllpClient::connect(tls_client(&stranger_));
  // TLS 1.3: the client may finish its side of the handshake before the server rejects it.
  EXPECT_FALSE(client && client->send("MSH|1"));
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kTlsHandshakeFailed));
  std::lock_guard lock(recorder_.mu);
  EXPECT_TRUE(recorder_.handled.empty());
  for (auto& [peer, event] : recorder_.events) {
    if (event.kind == MllpEventKind::kTlsHandshakeFailed) {
      EXPECT_NE(event.reason.find("certificate"), std::string::npos) << event.reason;
    }
  }
}

TEST_F(MllpTls, Tls11ClientIsRefusedButTls12IsNot) {
  start(tls(false));
  EXPECT_FALSE(raw_handshake(TLS1_1_VERSION));
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kTlsHandshakeFailed));
  EXPECT_TRUE(raw_handshake(TLS1_2_VERSION));  // the same client, so the version was the reason
  std::lock_guard lock(recorder_.mu);
  EXPECT_EQ(recorder_.count(MllpEventKind::kTlsHandshakeFailed), 1u);
  for (auto& [peer, event] : recorder_.events) {
    if (event.kind == MllpEventKind::kTlsHandshakeFailed) {
      EXPECT_NE(event.reason.find("protocol"), std::string::npos) << event.reason;
    }
  }
}

TEST_F(MllpTls, PlaintextClientGetsNoFrameHandled) {
  start(tls(false));
  MllpClient client = connect();
  EXPECT_FALSE(client.send("MSH|plaintext"));
  ASSERT_TRUE(recorder_.wait_for(MllpEventKind::kTlsHandshakeFailed));
  std::lock_guard lock(recorder_.mu);
  EXPECT_TRUE(recorder_.handled.empty());
}

TEST_F(MllpTls, TlsListenerMayBindEveryAddress) {
  MllpServerOptions o = tls(false);
  o.bind_address = "0.0.0.0";
  start(o);
  EXPECT_NE(server_->port(), 0);
}

}  // namespace
}  // namespace labvault::net
