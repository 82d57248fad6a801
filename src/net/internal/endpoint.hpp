// Address helpers shared by the MLLP and HTTPS listeners. Private to src/net.
#pragma once

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace labvault::net::internal {

// DESIGN.md invariant 9: only these addresses may carry plaintext.
inline bool is_loopback(const boost::asio::ip::address& address) {
  namespace asio = boost::asio;
  if (address.is_v4()) return address.to_v4().is_loopback();  // 127.0.0.0/8
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();  // ::1
}

inline std::string endpoint_text(const boost::asio::ip::tcp::endpoint& e) {
  const auto a = e.address();
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), e.port())
                   : fmt::format("{}:{}", a.to_string(), e.port());
}

// Opens, binds and listens; returns the bound port (the ephemeral one for port 0). kIo names the
// listener (`what`: "MLLP", "HTTPS"), the address and the system's reason.
inline model::Result<std::uint16_t> listen_on(boost::asio::ip::tcp::acceptor& acceptor,
                                              const boost::asio::ip::tcp::endpoint& endpoint,
                                              std::string_view what) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  auto failed = [&](std::string_view step) {
    return model::fail(model::ErrorCode::kIo,
                       fmt::format("cannot {} {} listener on {}: {}", step, what,
                                   endpoint_text(endpoint), ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec)) return failed("open");
  if (acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec))
    return failed("configure");
  if (acceptor.bind(endpoint, ec)) return failed("bind");
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return failed("listen on");
  const auto port = acceptor.local_endpoint(ec).port();
  if (ec) return failed("read the port of");
  return port;
}

// An io thread's body: runs until the context stops; an exception escaping a handler (they catch
// what they call) must not end the listener.
inline void run_io(boost::asio::io_context& io) {
  while (true) {
    try {
      io.run();
      return;
    } catch (...) {
    }
  }
}

}  // namespace labvault::net::internal
