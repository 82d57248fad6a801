// The number of members of an aggregate, found at compile time by trying ever longer brace
// initializers. The codec compares it with its field lists, so that a member added to a model
// type fails the build instead of being silently left out of the stored bytes.
#pragma once

#include <cstddef>
#include <utility>

namespace labvault::store::internal {

// Converts to any member type inside an unevaluated initializer; never called, so never defined.
struct AnyValue {
  template <typename T>
  operator T() const;
};

template <typename T, size_t N = 0>
consteval size_t member_count() {
  constexpr bool more = []<size_t... I>(std::index_sequence<I...>) {
    return requires { T{(I, AnyValue{})...}; };
  }
  (std::make_index_sequence<N + 1>{});
  if constexpr (more) {
    return member_count<T, N + 1>();
  } else {
    return N;
  }
}

}  // namespace labvault::store::internal
