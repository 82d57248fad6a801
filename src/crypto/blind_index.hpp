// Blind indexes: HMAC-SHA-256 under a dedicated key, so the store can find "the patient with
// this MRN" or spot a duplicate without keeping the MRN in clear. Each index names its purpose
// (domain) and scope (lab), so equal values in two labs or two columns give unrelated tags.
// Invariant: callers normalize values first (the same person must give the same bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/secret.hpp"
#include "model/error.hpp"

namespace labvault::crypto {

inline constexpr std::size_t kBlindIndexSize = 16;  // truncated HMAC (NIST SP 800-107 5.3.4)

class BlindIndexer {
 public:
  [[nodiscard]] static model::Result<BlindIndexer> make(SecretBytes key);
  BlindIndexer();  // unusable until assigned from make()
  ~BlindIndexer();
  BlindIndexer(BlindIndexer&&) noexcept;
  BlindIndexer& operator=(BlindIndexer&&) noexcept;

  // 16 raw bytes: HMAC(key, domain || 0 || scope (8 bytes BE) || value) truncated.
  [[nodiscard]] std::string index(std::string_view domain, std::uint64_t scope,
                                  std::string_view value) const;

 private:
  struct Impl;
  explicit BlindIndexer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace labvault::crypto
