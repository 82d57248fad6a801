#include "crypto/signing.hpp"

#include <openssl/evp.h>

namespace labvault::crypto {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

struct SigningKey::Impl {
  PkeyPtr key;
  PublicKey public_key{};
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

model::Result<SigningKey> SigningKey::from_seed(const SecretBytes& seed) {
  if (seed.size() != 32) {
    return model::fail(model::ErrorCode::kKey, "an Ed25519 seed has 32 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->key.reset(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  std::size_t len = kEd25519PublicKeySize;
  if (!impl->key ||
      EVP_PKEY_get_raw_public_key(impl->key.get(), impl->public_key.data(), &len) != 1 ||
      len != kEd25519PublicKeySize) {
    return model::fail(model::ErrorCode::kCrypto, "could not load the Ed25519 signing key");
  }
  return SigningKey(std::move(impl));
}

const PublicKey& SigningKey::public_key() const { return impl_->public_key; }

model::Result<std::string> SigningKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureSize, '\0');
  std::size_t len = sig.size();
  // RFC 8032 PureEdDSA: no digest (nullptr), the whole message in one call.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     bytes_of(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return model::fail(model::ErrorCode::kCrypto, "Ed25519 signing failed");
  }
  return sig;
}

bool verify_signature(const PublicKey& key, std::string_view message, std::string_view signature) {
  if (signature.size() != kEd25519SignatureSize) return false;
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return pkey && ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(message),
                          message.size()) == 1;
}

std::string key_id(const PublicKey& key) {
  std::string digest = sha256(std::span<const std::uint8_t>(key));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    auto b = static_cast<unsigned char>(digest[i]);
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace labvault::crypto
