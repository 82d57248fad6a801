#include "crypto/aead.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

namespace labvault::crypto {

using model::ErrorCode;

namespace {

constexpr std::uint8_t kFormat = 0x01;
constexpr std::size_t kHeaderSize = 1 + 8 + 4;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;
// Nonces come from the DRBG in small blocks: one RAND_bytes call per 32 values instead of per
// value keeps sealing cheap (RAND_bytes costs as much as encrypting a short field) and a
// patient's key, which seals a handful of values, does not draw kilobytes. Still random.
constexpr std::size_t kNonceBlock = kNonceSize * 32;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct CipherDeleter {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// Bumped in every child after fork(), so a key can tell that its buffered nonces were drawn by
// another process without a getpid() system call on every seal.
std::atomic<std::uint64_t> fork_generation{0};
const bool fork_handler_installed = [] {
  return ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }) == 0;
}();

void put_be(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

model::Error crypto_error(std::string message) {
  return model::Error{ErrorCode::kCrypto, std::move(message), {}};
}

}  // namespace

model::Result<KeyRef> sealed_key_ref(std::string_view sealed) {
  if (sealed.size() < kSealOverhead) {
    return model::fail(ErrorCode::kCrypto, "sealed value is too short to be a ciphertext");
  }
  const std::uint8_t* p = bytes_of(sealed);
  if (p[0] != kFormat) {
    return model::fail(ErrorCode::kCrypto,
                       fmt::format("sealed value has unknown format {:#04x}", p[0]));
  }
  return KeyRef{get_be(p + 1, 8), static_cast<std::uint32_t>(get_be(p + 9, 4))};
}

struct AeadKey::Impl {
  KeyRef ref;
  SecretBytes key;
  CtxPtr enc, dec;
  std::mutex mu;
  std::array<std::uint8_t, kNonceBlock> nonces{};
  std::size_t next_nonce = kNonceBlock;  // empty: fill on first use

  ~Impl() { OPENSSL_cleanse(nonces.data(), nonces.size()); }

  std::uint64_t drawn_in = 0;  // the fork generation that drew the block

  model::Result<const std::uint8_t*> take_nonce() {
    // After fork() parent and child would hand out the same buffered nonces under the same key;
    // a child redraws.
    const std::uint64_t generation = fork_generation.load(std::memory_order_relaxed);
    if (next_nonce == kNonceBlock || drawn_in != generation || !fork_handler_installed) {
      drawn_in = generation;
      if (RAND_bytes(nonces.data(), static_cast<int>(nonces.size())) != 1) {
        return std::unexpected(crypto_error("the system random generator failed"));
      }
      next_nonce = 0;
    }
    const std::uint8_t* n = nonces.data() + next_nonce;
    next_nonce += kNonceSize;
    return n;
  }
};

AeadKey::AeadKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AeadKey::~AeadKey() = default;
AeadKey::AeadKey(AeadKey&&) noexcept = default;
AeadKey& AeadKey::operator=(AeadKey&&) noexcept = default;

model::Result<AeadKey> AeadKey::make(KeyRef ref, SecretBytes key) {
  if (key.size() != kKeySize) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("an AES-256 key has 32 bytes, not {}", key.size()));
  }
  static std::unique_ptr<EVP_CIPHER, CipherDeleter> cipher(
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (!cipher) return model::fail(ErrorCode::kCrypto, "OpenSSL has no AES-256-GCM");
  auto impl = std::make_unique<Impl>();
  impl->ref = ref;
  impl->enc.reset(EVP_CIPHER_CTX_new());
  impl->dec.reset(EVP_CIPHER_CTX_new());
  // The key schedule is computed here once; each value only sets a fresh IV.
  if (!impl->enc || !impl->dec ||
      EVP_EncryptInit_ex2(impl->enc.get(), cipher.get(), key.data(), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(impl->dec.get(), cipher.get(), key.data(), nullptr, nullptr) != 1) {
    return model::fail(ErrorCode::kCrypto, "could not set up AES-256-GCM");
  }
  impl->key = std::move(key);
  return AeadKey(std::move(impl));
}

KeyRef AeadKey::ref() const { return impl_->ref; }

model::Result<void> AeadKey::seal(std::string_view plaintext, std::string_view aad,
                                  std::string& out) const {
  Impl& k = *impl_;
  std::lock_guard lock(k.mu);
  auto nonce = k.take_nonce();
  if (!nonce) return std::unexpected(nonce.error());
  std::size_t start = out.size();
  out.resize(start + kSealOverhead + plaintext.size());
  auto* p = reinterpret_cast<std::uint8_t*>(out.data() + start);
  p[0] = kFormat;
  put_be(p + 1, k.ref.id, 8);
  put_be(p + 9, k.ref.version, 4);
  std::memcpy(p + kHeaderSize, *nonce, kNonceSize);
  EVP_CIPHER_CTX* c = k.enc.get();
  int len = 0;
  std::uint8_t* body = p + kHeaderSize + kNonceSize;
  bool ok = EVP_EncryptInit_ex2(c, nullptr, nullptr, *nonce, nullptr) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &len, p, kHeaderSize) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(c, body, &len, bytes_of(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(c, body + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()) == 1;
  if (!ok) {
    out.resize(start);
    return std::unexpected(crypto_error("AES-256-GCM encryption failed"));
  }
  return {};
}

model::Result<std::string> AeadKey::seal(std::string_view plaintext, std::string_view aad) const {
  std::string out;
  out.reserve(kSealOverhead + plaintext.size());
  if (auto r = seal(plaintext, aad, out); !r) return std::unexpected(r.error());
  return out;
}

model::Result<std::string> AeadKey::open(std::string_view sealed, std::string_view aad) const {
  auto ref = sealed_key_ref(sealed);
  if (!ref) return std::unexpected(ref.error());
  Impl& k = *impl_;
  if (*ref != k.ref) {
    return model::fail(ErrorCode::kKey,
                       fmt::format("value was sealed by key {} v{}, not key {} v{}", ref->id,
                                   ref->version, k.ref.id, k.ref.version));
  }
  const std::uint8_t* p = bytes_of(sealed);
  const std::uint8_t* nonce = p + kHeaderSize;
  const std::uint8_t* body = nonce + kNonceSize;
  std::size_t body_size = sealed.size() - kSealOverhead;
  std::string plain(body_size, '\0');
  std::lock_guard lock(k.mu);
  EVP_CIPHER_CTX* c = k.dec.get();
  int len = 0;
  // The tag is an input to decryption; OpenSSL takes it through a non-const pointer.
  std::array<std::uint8_t, kTagSize> tag;
  std::memcpy(tag.data(), body + body_size, kTagSize);
  bool ok = EVP_DecryptInit_ex2(c, nullptr, nullptr, nonce, nullptr) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, p, kHeaderSize) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(c, reinterpret_cast<std::uint8_t*>(plain.data()), &len, body,
                              static_cast<int>(body_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(c, reinterpret_cast<std::uint8_t*>(plain.data()) + len, &len) == 1;
  if (!ok) {
    wipe(plain);
    return model::fail(ErrorCode::kCrypto,
                       "ciphertext does not authenticate: it was altered, or moved from another "
                       "row, column or lab");
  }
  return plain;
}

}  // namespace labvault::crypto
