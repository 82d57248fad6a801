#include "net/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace labvault::net {

namespace {
constexpr std::size_t kPruneAbove = 10000;
}

int RateLimiter::take(std::string_view key, Clock::time_point now) {
  if (limit_.per_second <= 0) return 0;  // unlimited
  std::lock_guard lock(mu_);
  const auto refill = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(limit_.burst / limit_.per_second));
  if (buckets_.size() > kPruneAbove && now - last_prune_ >= refill) prune(now);
  auto [it, fresh] = buckets_.try_emplace(std::string(key), Bucket{limit_.burst, now});
  Bucket& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(limit_.burst, b.tokens + std::max(0.0, elapsed) * limit_.per_second);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / limit_.per_second)));
}

void RateLimiter::prune(Clock::time_point now) {
  // A bucket that has had time to refill completely is the same as no bucket.
  const auto full = std::chrono::duration<double>(limit_.burst / limit_.per_second);
  std::erase_if(buckets_, [&](const auto& kv) { return now - kv.second.at >= full; });
  last_prune_ = now;
}

}  // namespace labvault::net
