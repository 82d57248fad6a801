// Address helpers shared by the MLLP and HTTPS listeners. Private to src/net.
#pragma once

#include <fmt/format.h>

#include <boost/asio/ip/tcp.hpp>
#include <string>

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

}  // namespace labvault::net::internal
