// The fused column popcount and ideal-ADC kernel of cim_column_kernels.h: a portable one (with
// a POPCNT clone, picked at load time), an AVX2 one and an AVX-512 one (VPOPCNTQ),
// chosen once per process from what the host supports, so that the default build stays
// portable (no -march=native). Both are specialised on the number of planes, so that each
// plane's partial sums stay in registers across the step's words and cell bits.
#include "models/cim/cim_column_kernels.h"

#include <algorithm>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CIMTLM_COLUMN_KERNELS_AVX512 1
#endif

namespace cimtlm::cim {

namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIMTLM_POPCOUNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define CIMTLM_POPCOUNT_CLONES
#endif

// adc_ideal_reading() on int32 as a branch-free expression: round half to even to a multiple of
// 2^shift, clipped to the top code; a lossless step (shift 0) reads the sum unchanged, unclipped
// (the full scale fits the ADC then), as cim_bit_serial.cpp's accumulate_ideal_readings does.
struct IdealRounding {
  int shift = 0;
  int32_t half_minus_one = 0;  // 2^(shift-1) - 1, or 0 when lossless
  int32_t odd_mask = 0;        // 1, or 0 when lossless (no tie to break)
  int32_t top_code = std::numeric_limits<int32_t>::max();
};

IdealRounding rounding_of(const StepColumns& step) {
  IdealRounding rounding;
  if (step.shift == 0) return rounding;
  rounding.shift = step.shift;
  rounding.half_minus_one = (int32_t{1} << (step.shift - 1)) - 1;
  rounding.odd_mask = 1;
  rounding.top_code = step.top_code;
  return rounding;
}

inline int32_t ideal_reading(int32_t partial, const IdealRounding& r) {
  const int32_t odd_quotient = (partial >> r.shift) & r.odd_mask;  // ties to even
  return std::min((partial + r.half_minus_one + odd_quotient) >> r.shift, r.top_code) << r.shift;
}

// Columns [first, columns) one at a time; kPlanes 0 means step.planes (any count up to 8).
template <int kPlanes>
inline void columns_one_by_one(const StepColumns& step, const IdealRounding& rounding,
                               int64_t first, int32_t* readings) {
  const int planes = kPlanes > 0 ? kPlanes : step.planes;
  const int64_t words = step.last_word - step.first_word;
  const uint64_t* cells_of_step =
      step.cells_by_word + step.first_word * step.cell_bits * step.columns;
  for (int64_t p = first; p < step.columns; ++p) {
    int32_t sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t* cells = cells_of_step + w * step.cell_bits * step.columns + p;
      for (int bit = 0; bit < step.cell_bits; ++bit) {
        const uint64_t stored = cells[bit * step.columns];
        for (int j = 0; j < planes; ++j) {
          sum[j] += static_cast<int32_t>(__builtin_popcountll(stored & step.active[j * words + w]))
                    << bit;
        }
      }
    }
    int32_t reading = readings[p];
    for (int j = 0; j < planes; ++j)
      reading += step.plane_value[j] * ideal_reading(sum[j], rounding);
    readings[p] = reading;
  }
}

template <int kPlanes>
CIMTLM_POPCOUNT_CLONES void step_portable(const StepColumns& step, int32_t* readings) {
  columns_one_by_one<kPlanes>(step, rounding_of(step), 0, readings);
}

#if defined(CIMTLM_COLUMN_KERNELS_AVX512)
// A plane's place value is +-2^k: its reading is added shifted by k (or subtracted) instead of
// multiplied (the same int32 result).
struct PlaneShift {
  int bits = 0;
  bool negative = false;
};
inline PlaneShift plane_shift(int32_t plane_value) {
  const uint32_t magnitude = plane_value < 0 ? 0u - static_cast<uint32_t>(plane_value)
                                             : static_cast<uint32_t>(plane_value);
  return {__builtin_ctz(magnitude), plane_value < 0};
}

// The ideal ADC's rounding of sixteen columns' partial sums (ties to even, clipped at the top
// code) and their addition to the readings at each plane's place value, set up once per step.
template <int kPlanes>
struct Avx512Readings {
  __m128i shift;
  __m512i half_minus_one, odd_mask, top_code;
  __m128i reading_shift[kPlanes];
  bool negative[kPlanes];
};

template <int kPlanes>
__attribute__((target("avx512f,avx512vpopcntdq,avx2,popcnt"))) inline Avx512Readings<kPlanes>
avx512_readings(const StepColumns& step, const IdealRounding& rounding) {
  Avx512Readings<kPlanes> r;
  r.shift = _mm_cvtsi32_si128(rounding.shift);
  r.half_minus_one = _mm512_set1_epi32(rounding.half_minus_one);
  r.odd_mask = _mm512_set1_epi32(rounding.odd_mask);
  r.top_code = _mm512_set1_epi32(rounding.top_code);
  for (int j = 0; j < kPlanes; ++j) {
    const PlaneShift place = plane_shift(step.plane_value[j]);
    r.reading_shift[j] = _mm_cvtsi32_si128(rounding.shift + place.bits);
    r.negative[j] = place.negative;
  }
  return r;
}

// reading + plane j's value x the ADC reading of `partial` (sixteen int32 columns).
template <int kPlanes>
__attribute__((target("avx512f,avx512vpopcntdq,avx2,popcnt"))) inline __m512i add_plane_reading(
    const Avx512Readings<kPlanes>& r, int j, __m512i partial, __m512i reading) {
  const __m512i odd_quotient =
      _mm512_and_si512(_mm512_maskz_sra_epi32(0xffff, partial, r.shift), r.odd_mask);
  const __m512i code = _mm512_maskz_min_epi32(
      0xffff,
      _mm512_maskz_sra_epi32(
          0xffff, _mm512_add_epi32(_mm512_add_epi32(partial, r.half_minus_one), odd_quotient),
          r.shift),
      r.top_code);
  const __m512i value = _mm512_maskz_sll_epi32(0xffff, code, r.reading_shift[j]);
  return r.negative[j] ? _mm512_sub_epi32(reading, value) : _mm512_add_epi32(reading, value);
}

// Eight columns per popcount: the active word of a plane is shared by every column, so it is
// broadcast and each column costs one AND and one popcount lane; sums stay in 64-bit lanes and
// are narrowed to int32 once (exact, see the header), then rounded sixteen at a time.
template <int kPlanes>
__attribute__((target("avx512f,avx512vpopcntdq,avx2,popcnt"))) void step_avx512(
    const StepColumns& step, int32_t* readings) {
  const IdealRounding rounding = rounding_of(step);
  const int64_t words = step.last_word - step.first_word;
  const uint64_t* cells_of_step =
      step.cells_by_word + step.first_word * step.cell_bits * step.columns;
  const Avx512Readings<kPlanes> readings_of = avx512_readings<kPlanes>(step, rounding);
  // The low halves of the 64-bit sums (< 2^31) of both vectors, as sixteen int32.
  const __m512i low_halves =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int64_t p = 0;
  for (; p + 16 <= step.columns; p += 16) {
    __m512i low[kPlanes], high[kPlanes];  // columns p..p+7 and p+8..p+15
    for (int j = 0; j < kPlanes; ++j) low[j] = high[j] = _mm512_setzero_si512();
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t* cells = cells_of_step + w * step.cell_bits * step.columns + p;
      for (int bit = 0; bit < step.cell_bits; ++bit) {
        const __m512i stored_low = _mm512_loadu_si512(cells + bit * step.columns);
        const __m512i stored_high = _mm512_loadu_si512(cells + bit * step.columns + 8);
        const __m128i place = _mm_cvtsi32_si128(bit);
        for (int j = 0; j < kPlanes; ++j) {
          const __m512i rows =
              _mm512_set1_epi64(static_cast<long long>(step.active[j * words + w]));
          const __m512i ones_low = _mm512_popcnt_epi64(_mm512_and_si512(stored_low, rows));
          const __m512i ones_high = _mm512_popcnt_epi64(_mm512_and_si512(stored_high, rows));
          // Cell bit 0 (every bit of 1-bit cells) has place value 1: no shift.
          low[j] = _mm512_add_epi64(
              low[j], bit == 0 ? ones_low : _mm512_maskz_sll_epi64(0xff, ones_low, place));
          high[j] = _mm512_add_epi64(
              high[j], bit == 0 ? ones_high : _mm512_maskz_sll_epi64(0xff, ones_high, place));
        }
      }
    }
    __m512i reading = _mm512_loadu_si512(readings + p);
    for (int j = 0; j < kPlanes; ++j) {
      const __m512i partial = _mm512_permutex2var_epi32(low[j], low_halves, high[j]);
      reading = add_plane_reading(readings_of, j, partial, reading);
    }
    _mm512_storeu_si512(readings + p, reading);
  }
  if (p < step.columns) columns_one_by_one<kPlanes>(step, rounding, p, readings);
}

// step_avx512() for 1-bit cells and steps of kWords row words (the default macro's steps): each
// plane's popcounts are final once counted over the words, so they are rounded and added to the
// readings at once, plane after plane, the rows' broadcasts made once for all columns.
template <int kPlanes, int kWords>
__attribute__((target("avx512f,avx512vpopcntdq,avx2,popcnt"))) void step_avx512_one_bit(
    const StepColumns& step, int32_t* readings) {
  const IdealRounding rounding = rounding_of(step);
  const uint64_t* cells = step.cells_by_word + step.first_word * step.columns;
  const Avx512Readings<kPlanes> readings_of = avx512_readings<kPlanes>(step, rounding);
  __m512i rows[kPlanes][kWords];
  for (int j = 0; j < kPlanes; ++j) {
    for (int w = 0; w < kWords; ++w)
      rows[j][w] = _mm512_set1_epi64(static_cast<long long>(step.active[j * kWords + w]));
  }
  const __m512i low_halves =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int64_t p = 0;
  for (; p + 16 <= step.columns; p += 16) {
    __m512i stored_low[kWords], stored_high[kWords];
    for (int w = 0; w < kWords; ++w) {
      stored_low[w] = _mm512_loadu_si512(cells + w * step.columns + p);
      stored_high[w] = _mm512_loadu_si512(cells + w * step.columns + p + 8);
    }
    __m512i reading = _mm512_loadu_si512(readings + p);
    for (int j = 0; j < kPlanes; ++j) {
      __m512i ones_low = _mm512_popcnt_epi64(_mm512_and_si512(stored_low[0], rows[j][0]));
      __m512i ones_high = _mm512_popcnt_epi64(_mm512_and_si512(stored_high[0], rows[j][0]));
      for (int w = 1; w < kWords; ++w) {
        ones_low = _mm512_add_epi64(
            ones_low, _mm512_popcnt_epi64(_mm512_and_si512(stored_low[w], rows[j][w])));
        ones_high = _mm512_add_epi64(
            ones_high, _mm512_popcnt_epi64(_mm512_and_si512(stored_high[w], rows[j][w])));
      }
      const __m512i partial = _mm512_permutex2var_epi32(ones_low, low_halves, ones_high);
      reading = add_plane_reading(readings_of, j, partial, reading);
    }
    _mm512_storeu_si512(readings + p, reading);
  }
  if (p < step.columns) columns_one_by_one<kPlanes>(step, rounding, p, readings);
}

template <int kPlanes>
void step_avx512_any(const StepColumns& step, int32_t* readings) {
  if (step.cell_bits == 1 && step.last_word - step.first_word == 1) {
    step_avx512_one_bit<kPlanes, 1>(step, readings);
  } else if (step.cell_bits == 1 && step.last_word - step.first_word == 2) {
    step_avx512_one_bit<kPlanes, 2>(step, readings);
  } else {
    step_avx512<kPlanes>(step, readings);
  }
}

// Where the host has AVX2 but no VPOPCNTQ (and under valgrind, which has no AVX-512): four
// columns per instruction with the nibble-table popcount (a byte shuffle per nibble, then the
// bytes of each 64-bit lane summed by VPSADBW), eight columns per rounding.
// The popcounts of x & rows in each 64-bit lane, from the nibbles of both, split beforehand: the
// cells' nibbles are shared by every plane and the rows' by every column, so each (plane, four
// columns) costs two ANDs, two table look-ups, an add and a VPSADBW.
__attribute__((target("avx2,popcnt"))) inline __m256i popcount_of_nibbles(__m256i low,
                                                                          __m256i high) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  return _mm256_sad_epu8(
      _mm256_add_epi8(_mm256_shuffle_epi8(table, low), _mm256_shuffle_epi8(table, high)),
      _mm256_setzero_si256());
}

struct Nibbles {
  __m256i low, high;
};

__attribute__((target("avx2,popcnt"))) inline Nibbles nibbles_of(__m256i x) {
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  return {_mm256_and_si256(x, nibble), _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble)};
}

// As Avx512Readings, eight columns at a time; a plane's sign is applied by VPSIGND.
template <int kPlanes>
struct Avx2Readings {
  __m128i shift;
  __m256i half_minus_one, odd_mask, top_code;
  __m128i reading_shift[kPlanes];
  __m256i sign[kPlanes];
};

template <int kPlanes>
__attribute__((target("avx2,popcnt"))) inline Avx2Readings<kPlanes> avx2_readings(
    const StepColumns& step, const IdealRounding& rounding) {
  Avx2Readings<kPlanes> r;
  r.shift = _mm_cvtsi32_si128(rounding.shift);
  r.half_minus_one = _mm256_set1_epi32(rounding.half_minus_one);
  r.odd_mask = _mm256_set1_epi32(rounding.odd_mask);
  r.top_code = _mm256_set1_epi32(rounding.top_code);
  for (int j = 0; j < kPlanes; ++j) {
    const PlaneShift place = plane_shift(step.plane_value[j]);
    r.reading_shift[j] = _mm_cvtsi32_si128(rounding.shift + place.bits);
    r.sign[j] = _mm256_set1_epi32(place.negative ? -1 : 1);
  }
  return r;
}

template <int kPlanes>
__attribute__((target("avx2,popcnt"))) inline __m256i add_plane_reading(
    const Avx2Readings<kPlanes>& r, int j, __m256i partial, __m256i reading) {
  const __m256i odd_quotient = _mm256_and_si256(_mm256_sra_epi32(partial, r.shift), r.odd_mask);
  const __m256i code = _mm256_min_epi32(
      _mm256_sra_epi32(_mm256_add_epi32(_mm256_add_epi32(partial, r.half_minus_one), odd_quotient),
                       r.shift),
      r.top_code);
  return _mm256_add_epi32(reading,
                          _mm256_sign_epi32(_mm256_sll_epi32(code, r.reading_shift[j]), r.sign[j]));
}

template <int kPlanes, bool kOneWord>
__attribute__((target("avx2,popcnt"))) void step_avx2_words(const StepColumns& step,
                                                            int32_t* readings) {
  const IdealRounding rounding = rounding_of(step);
  const int64_t words = step.last_word - step.first_word;
  const uint64_t* cells_of_step =
      step.cells_by_word + step.first_word * step.cell_bits * step.columns;
  const Avx2Readings<kPlanes> readings_of = avx2_readings<kPlanes>(step, rounding);
  Nibbles one_word_rows[kOneWord ? kPlanes : 1];
  for (int j = 0; kOneWord && j < kPlanes; ++j)
    one_word_rows[j] = nibbles_of(_mm256_set1_epi64x(static_cast<long long>(step.active[j])));
  // The low halves of two vectors of four 64-bit sums (< 2^31) as eight int32.
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  int64_t p = 0;
  for (; p + 8 <= step.columns; p += 8) {
    __m256i sum_low[kPlanes], sum_high[kPlanes];
    for (int j = 0; j < kPlanes; ++j) sum_low[j] = sum_high[j] = _mm256_setzero_si256();
    for (int64_t w = 0; w < (kOneWord ? 1 : words); ++w) {
      const uint64_t* cells = cells_of_step + w * step.cell_bits * step.columns + p;
      for (int bit = 0; bit < step.cell_bits; ++bit) {
        const Nibbles stored_low = nibbles_of(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells + bit * step.columns)));
        const Nibbles stored_high = nibbles_of(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells + bit * step.columns + 4)));
        const __m128i place = _mm_cvtsi32_si128(bit);
        for (int j = 0; j < kPlanes; ++j) {
          const Nibbles rows = kOneWord ? one_word_rows[j]
                                        : nibbles_of(_mm256_set1_epi64x(
                                              static_cast<long long>(step.active[j * words + w])));
          const __m256i ones_low =
              popcount_of_nibbles(_mm256_and_si256(stored_low.low, rows.low),
                                  _mm256_and_si256(stored_low.high, rows.high));
          const __m256i ones_high =
              popcount_of_nibbles(_mm256_and_si256(stored_high.low, rows.low),
                                  _mm256_and_si256(stored_high.high, rows.high));
          sum_low[j] =
              _mm256_add_epi64(sum_low[j], bit == 0 ? ones_low : _mm256_sll_epi64(ones_low, place));
          sum_high[j] = _mm256_add_epi64(sum_high[j],
                                         bit == 0 ? ones_high : _mm256_sll_epi64(ones_high, place));
        }
      }
    }
    __m256i reading = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(readings + p));
    for (int j = 0; j < kPlanes; ++j) {
      const __m256i partial =
          _mm256_blend_epi32(_mm256_permutevar8x32_epi32(sum_low[j], low_halves),
                             _mm256_permutevar8x32_epi32(sum_high[j], low_halves), 0xf0);
      reading = add_plane_reading(readings_of, j, partial, reading);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(readings + p), reading);
  }
  if (p < step.columns) columns_one_by_one<kPlanes>(step, rounding, p, readings);
}

// 1-bit cells and steps of kWords row words (the default macro: an aligned 64-row activation
// takes one word, a sparse step whose blocks come from two words two): each plane's partial
// sums are counted over the step's words in registers, then rounded and added to the readings
// at once, plane after plane (no per-plane sums kept across the words' and bits' loops).
template <int kPlanes, int kWords>
__attribute__((target("avx2,popcnt"))) void step_avx2_one_bit(const StepColumns& step,
                                                              int32_t* readings) {
  const IdealRounding rounding = rounding_of(step);
  constexpr int64_t words = kWords;
  const uint64_t* cells = step.cells_by_word + step.first_word * step.columns;
  const Avx2Readings<kPlanes> readings_of = avx2_readings<kPlanes>(step, rounding);
  Nibbles rows[kPlanes][kWords];
  for (int j = 0; j < kPlanes; ++j) {
    for (int64_t w = 0; w < words; ++w) {
      rows[j][w] =
          nibbles_of(_mm256_set1_epi64x(static_cast<long long>(step.active[j * words + w])));
    }
  }
  const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  int64_t p = 0;
  for (; p + 8 <= step.columns; p += 8) {
    Nibbles stored_low[kWords], stored_high[kWords];
    for (int64_t w = 0; w < words; ++w) {
      const uint64_t* word_cells = cells + w * step.columns + p;
      stored_low[w] = nibbles_of(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(word_cells)));
      stored_high[w] =
          nibbles_of(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(word_cells + 4)));
    }
    __m256i reading = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(readings + p));
    for (int j = 0; j < kPlanes; ++j) {
      __m256i ones_low = popcount_of_nibbles(_mm256_and_si256(stored_low[0].low, rows[j][0].low),
                                             _mm256_and_si256(stored_low[0].high, rows[j][0].high));
      __m256i ones_high =
          popcount_of_nibbles(_mm256_and_si256(stored_high[0].low, rows[j][0].low),
                              _mm256_and_si256(stored_high[0].high, rows[j][0].high));
      for (int64_t w = 1; w < words; ++w) {
        ones_low = _mm256_add_epi64(
            ones_low, popcount_of_nibbles(_mm256_and_si256(stored_low[w].low, rows[j][w].low),
                                          _mm256_and_si256(stored_low[w].high, rows[j][w].high)));
        ones_high = _mm256_add_epi64(
            ones_high, popcount_of_nibbles(_mm256_and_si256(stored_high[w].low, rows[j][w].low),
                                           _mm256_and_si256(stored_high[w].high, rows[j][w].high)));
      }
      const __m256i partial =
          _mm256_blend_epi32(_mm256_permutevar8x32_epi32(ones_low, low_halves),
                             _mm256_permutevar8x32_epi32(ones_high, low_halves), 0xf0);
      reading = add_plane_reading(readings_of, j, partial, reading);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(readings + p), reading);
  }
  if (p < step.columns) columns_one_by_one<kPlanes>(step, rounding, p, readings);
}

template <int kPlanes>
void step_avx2(const StepColumns& step, int32_t* readings) {
  if (step.cell_bits == 1 && step.last_word - step.first_word == 1) {
    step_avx2_one_bit<kPlanes, 1>(step, readings);
  } else if (step.cell_bits == 1 && step.last_word - step.first_word == 2) {
    step_avx2_one_bit<kPlanes, 2>(step, readings);
  } else if (step.last_word - step.first_word == 1) {
    step_avx2_words<kPlanes, true>(step, readings);
  } else {
    step_avx2_words<kPlanes, false>(step, readings);
  }
}

bool host_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return has;
}

bool host_has_avx512_popcount() {
  // A property of the host, read once (as the clones' resolvers do).
  static const bool has = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512vpopcntdq") &&
                          __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return has;
}
#endif

using StepKernel = void (*)(const StepColumns&, int32_t*);

template <template <int> class Pick>
StepKernel by_planes(int planes) {
  switch (planes) {
    case 1:
      return Pick<1>::kernel;
    case 2:
      return Pick<2>::kernel;
    case 3:
      return Pick<3>::kernel;
    case 4:
      return Pick<4>::kernel;
    case 5:
      return Pick<5>::kernel;
    case 6:
      return Pick<6>::kernel;
    case 7:
      return Pick<7>::kernel;
    default:
      return Pick<8>::kernel;
  }
}

template <int kPlanes>
struct PortableKernel {
  static constexpr StepKernel kernel = step_portable<kPlanes>;
};
#if defined(CIMTLM_COLUMN_KERNELS_AVX512)
template <int kPlanes>
struct Avx512Kernel {
  static constexpr StepKernel kernel = step_avx512_any<kPlanes>;
};
template <int kPlanes>
struct Avx2Kernel {
  static constexpr StepKernel kernel = step_avx2<kPlanes>;
};
#endif

}  // namespace

bool column_kernel_available(ColumnKernel kernel) {
  if (kernel == ColumnKernel::Portable) return true;
#if defined(CIMTLM_COLUMN_KERNELS_AVX512)
  return kernel == ColumnKernel::Avx2 ? host_has_avx2() : host_has_avx512_popcount();
#else
  return false;
#endif
}

void accumulate_step_ideal_with(ColumnKernel kernel, const StepColumns& step, int32_t* readings) {
  if (step.planes <= 0 || step.first_word >= step.last_word) return;  // nothing conducts
#if defined(CIMTLM_COLUMN_KERNELS_AVX512)
  if (kernel == ColumnKernel::Avx512) {
    by_planes<Avx512Kernel>(step.planes)(step, readings);
    return;
  }
  if (kernel == ColumnKernel::Avx2) {
    by_planes<Avx2Kernel>(step.planes)(step, readings);
    return;
  }
#endif
  (void)kernel;
  by_planes<PortableKernel>(step.planes)(step, readings);
}

void accumulate_step_ideal(const StepColumns& step, int32_t* readings) {
#if defined(CIMTLM_COLUMN_KERNELS_AVX512)
  if (host_has_avx512_popcount()) {
    accumulate_step_ideal_with(ColumnKernel::Avx512, step, readings);
    return;
  }
  if (host_has_avx2()) {
    accumulate_step_ideal_with(ColumnKernel::Avx2, step, readings);
    return;
  }
#endif
  accumulate_step_ideal_with(ColumnKernel::Portable, step, readings);
}

}  // namespace cimtlm::cim
