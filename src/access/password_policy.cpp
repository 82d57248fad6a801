#include "access/password_policy.hpp"

#include <zxcvbn.h>

#include <optional>
#include <string>

#include "crypto/secret.hpp"

namespace labvault::access {

namespace {

// Code points in valid UTF-8; nullopt for anything else.
std::optional<std::size_t> code_points(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return std::nullopt;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return std::nullopt;
    }
    i += len;
    ++n;
  }
  return n;
}

}  // namespace

model::Result<void> check_new_password(std::string_view password,
                                       const std::vector<std::string_view>& context) {
  using model::ErrorCode;
  auto length = code_points(password);
  if (!length) return model::fail(ErrorCode::kUsage, "the password is not valid UTF-8");
  if (*length < kMinPasswordChars) {
    return model::fail(ErrorCode::kUsage,
                       "the password is too short: use at least 12 characters (a few unrelated "
                       "words make a good one)");
  }
  if (*length > kMaxPasswordChars) {
    return model::fail(ErrorCode::kUsage, "the password is longer than 1024 characters");
  }
  if (password.find('\0') != std::string_view::npos) {
    return model::fail(ErrorCode::kUsage, "the password contains a NUL character");
  }
  // zxcvbn wants NUL-terminated strings; its dictionary matching is case-insensitive.
  std::string pw(password);
  std::vector<std::string> words;
  for (std::string_view w : context) {
    if (!w.empty()) words.emplace_back(w);
  }
  words.emplace_back("labvault");
  std::vector<const char*> dict;
  for (const std::string& w : words) dict.push_back(w.c_str());
  dict.push_back(nullptr);
  double bits = ZxcvbnMatch(pw.c_str(), dict.data(), nullptr);
  crypto::wipe(pw);
  if (bits < kMinPasswordEntropyBits) {
    return model::fail(ErrorCode::kUsage,
                       "the password is too common or predictable (a known password, a word "
                       "with small changes, a keyboard pattern, a repeat, or your own name): "
                       "choose a longer one of unrelated words");
  }
  return {};
}

}  // namespace labvault::access
