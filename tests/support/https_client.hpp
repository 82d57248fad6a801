// Test helper: a blocking HTTPS/1.1 client on Boost.Beast with keep-alive, verifying the server
// against a test CA, and a cookie jar of one session cookie. Reconnects when the server closed.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace labvault::testing {

struct HttpsReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, last value wins
  std::string body;
  [[nodiscard]] std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpsClient {
 public:
  HttpsClient(std::uint16_t port, const std::string& ca_file) : port_(port) {
    ctx_.set_verify_mode(boost::asio::ssl::verify_peer);
    ctx_.load_verify_file(ca_file);
  }

  HttpsReply request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& content_type = "",
                     const std::map<std::string, std::string>& headers = {}) {
    for (int attempt = 0;; ++attempt) {
      try {
        return once(method, target, body, content_type, headers);
      } catch (const boost::system::system_error&) {
        stream_.reset();  // the server closed a kept-alive connection: once more on a new one
        if (attempt > 0) throw;
      }
    }
  }
  HttpsReply get(const std::string& target) { return request("GET", target); }
  HttpsReply post_json(const std::string& target, const std::string& body) {
    return request("POST", target, body, "application/json", csrf_headers());
  }

  std::string cookie;  // "lv_session=..." once logged in
  std::string csrf;    // the login answer's csrf_token
  std::string bearer;  // a SMART access token, sent instead of the cookie when set
  std::map<std::string, std::string> csrf_headers() const {
    return csrf.empty() ? std::map<std::string, std::string>{}
                        : std::map<std::string, std::string>{{"X-CSRF-Token", csrf}};
  }

 private:
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  HttpsReply once(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& content_type,
                  const std::map<std::string, std::string>& headers) {
    namespace http = boost::beast::http;
    if (!stream_) connect();
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, "127.0.0.1");
    if (!cookie.empty()) req.set(http::field::cookie, cookie);
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(*stream_, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(*stream_, buffer, parser);
    auto res = parser.release();
    HttpsReply out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
      if (name == "set-cookie") {
        std::string v(f.value());
        std::string pair = v.substr(0, v.find(';'));
        cookie = pair.ends_with("=") ? "" : pair;
      }
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  void connect() {
    stream_ = std::make_unique<Stream>(io_, ctx_);
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port_);
    boost::beast::get_lowest_layer(*stream_).connect(ep);
    // The listener's certificate names 127.0.0.1 (IP SAN): check it like a browser would.
    stream_->set_verify_callback(boost::asio::ssl::host_name_verification("127.0.0.1"));
    stream_->handshake(boost::asio::ssl::stream_base::client);
  }

  std::uint16_t port_;
  boost::asio::io_context io_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_client};
  std::unique_ptr<Stream> stream_;
};

}  // namespace labvault::testing
