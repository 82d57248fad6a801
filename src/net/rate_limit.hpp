// Token buckets keyed by a caller id (an IP address, a user, a client): `rate` tokens per second
// up to `burst` (at least 1). Thread-safe. The table forgets keys whose bucket has refilled, at
// most once per refill time, so a flood of distinct addresses cannot grow it without bound and
// cannot make every call scan it either.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace labvault::net {

struct RateLimit {
  double per_second = 50.0;
  double burst = 200.0;
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // 0 when a token was taken; otherwise the whole seconds until one is available (Retry-After).
  [[nodiscard]] int take(std::string_view key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  void prune(Clock::time_point now);

  RateLimit limit_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_prune_{};
};

}  // namespace labvault::net
