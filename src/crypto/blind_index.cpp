#include "crypto/blind_index.hpp"

#include <openssl/evp.h>

#include <array>

namespace labvault::crypto {

struct BlindIndexer::Impl {
  SecretBytes key;
};

BlindIndexer::BlindIndexer() = default;
BlindIndexer::BlindIndexer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlindIndexer::~BlindIndexer() = default;
BlindIndexer::BlindIndexer(BlindIndexer&&) noexcept = default;
BlindIndexer& BlindIndexer::operator=(BlindIndexer&&) noexcept = default;

model::Result<BlindIndexer> BlindIndexer::make(SecretBytes key) {
  if (key.size() < 32) {
    return model::fail(model::ErrorCode::kKey, "the blind-index key needs at least 32 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return BlindIndexer(std::move(impl));
}

std::string BlindIndexer::index(std::string_view domain, std::uint64_t scope,
                                std::string_view value) const {
  // Length-unambiguous input: the domain cannot contain NUL and the scope has a fixed width.
  std::string input;
  input.reserve(domain.size() + 9 + value.size());
  input.append(domain);
  input.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) input.push_back(static_cast<char>(scope >> shift));
  input.append(value);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  std::size_t len = 0;
  const unsigned char* out =
      EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, impl_->key.data(), impl_->key.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac.data(),
                mac.size(), &len);
  wipe(input);  // holds the MRN or name being looked up
  if (out == nullptr || len < kBlindIndexSize) std::abort();  // HMAC-SHA-256 cannot fail
  return std::string(reinterpret_cast<const char*>(mac.data()), kBlindIndexSize);
}

}  // namespace labvault::crypto
