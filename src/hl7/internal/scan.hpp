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

// Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or npos. ASCII is skipped 16 bytes at a time.
inline size_t first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    if (i + 16 <= n &&
        _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))) == 0) {
      i += 16;
      continue;
    }
#endif
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf)
      len = 2;
    else if (c == 0xe0)
      len = 3, lo = 0xa0;
    else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
      len = 3;
    else if (c == 0xed)
      len = 3, hi = 0x9f;
    else if (c == 0xf0)
      len = 4, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3)
      len = 4;
    else if (c == 0xf4)
      len = 4, hi = 0x8f;
    else
      return i;
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace labvault::hl7::internal
