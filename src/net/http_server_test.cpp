// The HTTP listener's own rules, over plaintext loopback sockets (TLS is exercised end to end in
// tests/api_e2e_test.cpp): limits answered before the handler runs, request ids, the fixed
// response headers, the refusal of plaintext off loopback, and the token bucket.
#include "net/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "net/rate_limit.hpp"

namespace labvault::net {
namespace {

// Sends raw bytes, half-closes, and returns everything the server answered.
std::string exchange(std::uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  for (std::size_t sent = 0; sent < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

class HttpListener : public ::testing::Test {
 protected:
  void start(HttpServerOptions o = {}) {
    o.port = 0;
    o.response_headers = {{"X-Content-Type-Options", "nosniff"}};
    server_ = std::make_unique<HttpServer>(
        o,
        [this](const HttpRequest& r) {
          ++handled_;
          last_path_ = r.path;
          last_query_ = r.query;
          return HttpResponse{200, {{"Content-Type", "text/plain"}}, "rid=" + r.request_id};
        },
        [this](HttpRefusal, std::string_view) { ++refused_; });
    ASSERT_TRUE(server_->start());
  }
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0}, refused_{0};
  std::string last_path_, last_query_;
};

TEST_F(HttpListener, AnswersWithARequestIdAndTheFixedHeaders) {
  start();
  std::string a = exchange(server_->port(), "GET /x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string b = exchange(server_->port(), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200", 0), 0u) << a;
  EXPECT_NE(a.find("X-Content-Type-Options: nosniff"), std::string::npos);
  auto id = [](const std::string& r) {
    auto at = r.find("X-Request-Id: ");
    return at == std::string::npos ? std::string() : r.substr(at + 14, 32);
  };
  EXPECT_EQ(id(a).size(), 32u);
  EXPECT_NE(id(a), id(b));
  EXPECT_NE(a.find("rid=" + id(a)), std::string::npos);  // the handler saw the same id
  EXPECT_EQ(last_path_, "/x");
  EXPECT_EQ(handled_, 2);
}

TEST_F(HttpListener, LimitsAreAnsweredBeforeTheHandler) {
  HttpServerOptions o;
  o.max_body_bytes = 1024;
  o.max_header_count = 8;
  start(o);
  std::string big =
      exchange(server_->port(), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" +
                                    std::string(5000, 'x'));
  EXPECT_EQ(big.rfind("HTTP/1.1 413", 0), 0u) << big;
  EXPECT_NE(big.find("X-Content-Type-Options: nosniff"), std::string::npos);
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 9; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(exchange(server_->port(), many + "\r\n").rfind("HTTP/1.1 431", 0), 0u);
  std::string huge = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(exchange(server_->port(), huge).rfind("HTTP/1.1 431", 0), 0u);
  EXPECT_EQ(exchange(server_->port(), "NOT HTTP AT ALL\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(refused_, 4);
}

TEST_F(HttpListener, PerAddressTokenBucketAnswers429WithRetryAfter) {
  HttpServerOptions o;
  o.per_ip = {0.1, 2};
  start(o);
  const std::string get = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(exchange(server_->port(), get).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(exchange(server_->port(), get).rfind("HTTP/1.1 200", 0), 0u);
  std::string third = exchange(server_->port(), get);
  EXPECT_EQ(third.rfind("HTTP/1.1 429", 0), 0u) << third;
  EXPECT_NE(third.find("Retry-After: 10"), std::string::npos) << third;
  EXPECT_EQ(handled_, 2);
}

TEST(HttpListenerConfig, PlaintextOffLoopbackIsRefusedAtStart) {
  HttpServerOptions o;
  o.bind_address = "0.0.0.0";
  o.port = 0;
  HttpServer server(o, [](const HttpRequest&) { return HttpResponse{}; });
  auto r = server.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, model::ErrorCode::kConfig);
  EXPECT_NE(r.error().message.find("TLS is required"), std::string::npos);
}

TEST(RateLimiter, RefillsAtItsRateUpToTheBurst) {
  RateLimiter limiter({2.0, 3.0});
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("a", t0), 0);
  EXPECT_EQ(limiter.take("a", t0), 1);  // empty: 0.5 s to the next token
  EXPECT_EQ(limiter.take("b", t0), 0);  // buckets are per key
  EXPECT_EQ(limiter.take("a", t0 + std::chrono::milliseconds(500)), 0);  // one token back
  EXPECT_EQ(limiter.take("a", t0 + std::chrono::milliseconds(500)), 1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("a", t0 + std::chrono::hours(1)), 0);
  EXPECT_NE(limiter.take("a", t0 + std::chrono::hours(1)), 0);  // never more than the burst
}

}  // namespace
}  // namespace labvault::net
