#include "models/core/vector_gather.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cimtlm::core {

void gather_transposed(const uint8_t* base, const int64_t* offsets, int64_t rows, int64_t count,
                       uint8_t* vectors) {
  int64_t r0 = 0;
#if defined(__SSE2__)
  // Four rounds of byte interleaving of register i with register i + 8 transpose a 16x16 block
  // (each round halves the distance between a byte's row and column positions).
  for (; r0 + 16 <= rows; r0 += 16) {
    int64_t v0 = 0;
    for (; v0 + 16 <= count; v0 += 16) {
      __m128i block[16], next[16];
      for (int i = 0; i < 16; ++i) {
        block[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + offsets[r0 + i] + v0));
      }
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 8; ++i) {
          next[2 * i] = _mm_unpacklo_epi8(block[i], block[i + 8]);
          next[2 * i + 1] = _mm_unpackhi_epi8(block[i], block[i + 8]);
        }
        for (int i = 0; i < 16; ++i) block[i] = next[i];
      }
      for (int i = 0; i < 16; ++i) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(vectors + (v0 + i) * rows + r0), block[i]);
      }
    }
    if (v0 + 8 <= count) {
      // Eight positions left: the same transpose of 8-byte loads (the upper half of each
      // register zero), of which the first eight outputs depend only on the loaded bytes.
      __m128i block[16], next[16];
      for (int i = 0; i < 16; ++i) {
        block[i] = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(base + offsets[r0 + i] + v0));
      }
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 8; ++i) {
          next[2 * i] = _mm_unpacklo_epi8(block[i], block[i + 8]);
          next[2 * i + 1] = _mm_unpackhi_epi8(block[i], block[i + 8]);
        }
        for (int i = 0; i < 16; ++i) block[i] = next[i];
      }
      for (int i = 0; i < 8; ++i) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(vectors + (v0 + i) * rows + r0), block[i]);
      }
      v0 += 8;
    }
    for (int64_t r = r0; r < r0 + 16; ++r) {
      const uint8_t* source = base + offsets[r];
      for (int64_t v = v0; v < count; ++v) vectors[v * rows + r] = source[v];
    }
  }
#endif
  for (int64_t r = r0; r < rows; ++r) {
    const uint8_t* source = base + offsets[r];
    for (int64_t v = 0; v < count; ++v) vectors[v * rows + r] = source[v];
  }
}

}  // namespace cimtlm::core
