// Finds every occurrence of up to three byte values in a buffer, 16 bytes at a time with SSE2
// where available. Parsing HL7 is mostly looking for delimiters, and fields are short, so a
// per-field memchr or a byte loop costs more than the rest of the parser together.
#pragma once

#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace labvault::hl7::internal {

// Calls on_match(position) for each byte equal to a, b or c, in order; stops early when
// on_match returns false.
template <typename OnMatch>
inline void for_each_match(std::string_view s, char a, char b, char c, OnMatch&& on_match) {
  const char* data = s.data();
  const size_t n = s.size();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    const __m128i eq = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                                    _mm_cmpeq_epi8(v, vc));
    uint32_t mask = static_cast<uint32_t>(_mm_movemask_epi8(eq));
    while (mask) {
      if (!on_match(i + static_cast<size_t>(__builtin_ctz(mask)))) return;
      mask &= mask - 1;
    }
  }
#endif
  for (; i < n; ++i) {
    const char x = data[i];
    if ((x == a || x == b || x == c) && !on_match(i)) return;
  }
}

// Calls on_control(position) for each byte below 0x20 (CR, LF, NUL, MLLP framing, tabs...).
template <typename OnControl>
inline void for_each_control(std::string_view s, OnControl&& on_control) {
  const char* data = s.data();
  const size_t n = s.size();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i limit = _mm_set1_epi8(0x1f);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    // Unsigned v <= 0x1f exactly when min(v, 0x1f) == v.
    uint32_t mask =
        static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, limit), v)));
    while (mask) {
      if (!on_control(i + static_cast<size_t>(__builtin_ctz(mask)))) return;
      mask &= mask - 1;
    }
  }
#endif
  for (; i < n; ++i)
    if (static_cast<unsigned char>(data[i]) < 0x20 && !on_control(i)) return;
}

}  // namespace labvault::hl7::internal
