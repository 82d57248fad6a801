// libFuzzer target for SMART client authentication: the same bytes go to decode_jwt (then, when
// they decode, to verify_client_assertion against a fixed key set), to parse_public_keys and to
// base64url_decode. All must answer any input with a value or an Error of the documented code,
// never crash, and leave no OpenSSL error behind; base64url must be canonical (decode then encode
// gives the input back). Seeds: fuzz/corpus/jwt/ (assertions signed by the keys below, valid at
// kNow, plus the key set as JWKS and as PEM).
#include <openssl/err.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "access/jwt.hpp"

namespace {

using labvault::model::ErrorCode;
namespace access = labvault::access;

// Public halves of throwaway keys (the seeds were signed with their private halves, since
// discarded): RSA-2048 "fuzz-rsa" and EC P-384 "fuzz-ec".
constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"RSA","kid":"fuzz-rsa","alg":"RS384","use":"sig","n":"t5-MKdsZ-nNenoqYHw)"
    R"(TLEaNyOa-JKpqDBGTwrJC9CHUHn7rPQTA5BK-QHn5-7MxJdcTgMMDZRXl0nYJgeh6gGHezmMdKH-Ve-cUht2SFF_)"
    R"(GHj6S24lwdBJ7k5Ticyy0o5Mu4Df0wvqs2XtNAvtTFtMNdF7pY7eH8c6KBc76zEgw4o-j7EMgUGu0q8HG240bLKk)"
    R"(SpDUOFKnx1uSvgPf-SmbAxosgW-cR-SmUtyHFdjdyEIclW8PAjATRy091VhhWNgu4JKxpae6i1oJ9MHVDChppfsI)"
    R"(WQNwmQH3WUtDzw2OcuCjKE_sWeQea3IltBWZtpVEDusmmiaS9mgkL4tIdh8w","e":"AQAB"},{"kty":"EC","k)"
    R"(id":"fuzz-ec","crv":"P-384","x":"KvVnaklFznxx_-yXj61CzJ81b3Ih5nardsBgoK7kMt9BHCmS7WXBfAP)"
    R"(amGJPWAzQ","y":"E2phtUAJJnhTGG7wsjPv5lXQGHOxSJfdzpmV-h3NXBr0try_4QbOeWS8J7DF4sRJ"}]})";
constexpr std::int64_t kNow = 1700000000;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const access::PublicKeySet keys = [] {
    auto k = access::parse_public_keys(kJwks);
    check(k.has_value() && k->size() == 2);
    return *k;
  }();
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto jwt = access::decode_jwt(input);
  if (!jwt) {
    check(jwt.error().code == ErrorCode::kParse);
  } else {
    check(input.size() <= access::kMaxJwtSize && std::ranges::count(input, '.') == 2);
    check(input.starts_with(jwt->signing_input + '.'));
    auto verified = access::verify_client_assertion(*jwt, keys, "fuzz-client",
                                                    "https://labvault.example/auth/token", kNow);
    check(verified.has_value() || verified.error().code == ErrorCode::kUnauthenticated);
  }

  auto set = access::parse_public_keys(input);
  if (!set) {
    check(set.error().code == ErrorCode::kParse || set.error().code == ErrorCode::kUsage);
  } else {
    check(set->size() > 0);
  }

  auto bytes = access::base64url_decode(input);
  if (bytes) {
    check(access::base64url_encode(std::span(reinterpret_cast<const std::uint8_t*>(bytes->data()),
                                             bytes->size())) == input);
  }
  check(ERR_peek_error() == 0);
  return 0;
}
