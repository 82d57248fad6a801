#include "crypto/secret.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <utility>

namespace labvault::crypto {

using model::ErrorCode;

SecretBytes::SecretBytes(std::size_t size) : data_(new std::uint8_t[size]()), size_(size) {}

SecretBytes::SecretBytes(std::span<const std::uint8_t> bytes) : SecretBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecretBytes::~SecretBytes() { wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::clone() const { return SecretBytes(span()); }

bool SecretBytes::operator==(const SecretBytes& other) const {
  return size_ == other.size_ && (size_ == 0 || CRYPTO_memcmp(data_, other.data_, size_) == 0);
}

void SecretBytes::wipe() {
  if (data_ != nullptr) {
    OPENSSL_cleanse(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

model::Result<SecretBytes> random_key(std::size_t size) {
  SecretBytes key(size);
  if (RAND_priv_bytes(key.data(), static_cast<int>(size)) != 1) {
    return model::fail(ErrorCode::kKey, "the system random generator failed");
  }
  return key;
}

model::Result<void> random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return model::fail(ErrorCode::kKey, "the system random generator failed");
  }
  return {};
}

model::Result<std::string> random_hex(std::size_t bytes) {
  SecretBytes raw(bytes);
  if (auto r = random_bytes({raw.data(), raw.size()}); !r) return std::unexpected(r.error());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (std::uint8_t b : raw.span()) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

model::Result<SecretBytes> base64_decode(std::string_view text) {
  // EVP_DecodeBlock accepts whitespace and ignores padding in the length; be strict instead.
  if (text.empty() || text.size() % 4 != 0) {
    return model::fail(ErrorCode::kKey, "not base64 (length is not a multiple of 4)");
  }
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return model::fail(ErrorCode::kKey, "not base64 (unexpected character)");
  }
  SecretBytes out(3 * text.size() / 4);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return model::fail(ErrorCode::kKey, "not base64");
  std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  SecretBytes exact(std::span<const std::uint8_t>(out.data(), static_cast<std::size_t>(n) - pad));
  return exact;
}

std::string sha256(std::span<const std::uint8_t> bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace labvault::crypto
