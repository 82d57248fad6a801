#include "crypto/blind_index.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>

namespace labvault::crypto {

namespace {
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;
}  // namespace

struct BlindIndexer::Impl {
  SecretBytes key;
  // Keyed once: each index duplicates this context instead of fetching HMAC and SHA-256 and
  // hashing the key again (EVP_Q_mac did all three per call, a third of a patient lookup).
  MacCtxPtr keyed;
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
  static EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) return model::fail(model::ErrorCode::kCrypto, "OpenSSL has no HMAC");
  auto impl = std::make_unique<Impl>();
  impl->keyed.reset(EVP_MAC_CTX_new(hmac));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!impl->keyed || EVP_MAC_init(impl->keyed.get(), key.data(), key.size(), params) != 1) {
    return model::fail(model::ErrorCode::kCrypto, "could not set up HMAC-SHA-256");
  }
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
  // The duplicate is private to this call, so concurrent callers share only the const template.
  MacCtxPtr ctx(EVP_MAC_CTX_dup(impl_->keyed.get()));
  bool ok = ctx &&
            EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(input.data()),
                           input.size()) == 1 &&
            EVP_MAC_final(ctx.get(), mac.data(), &len, mac.size()) == 1;
  wipe(input);                                     // holds the MRN or name being looked up
  if (!ok || len < kBlindIndexSize) std::abort();  // HMAC-SHA-256 cannot fail
  return std::string(reinterpret_cast<const char*>(mac.data()), kBlindIndexSize);
}

}  // namespace labvault::crypto
