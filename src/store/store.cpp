#include "store/store.hpp"

#include <chrono>

namespace labvault::store {

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace labvault::store
