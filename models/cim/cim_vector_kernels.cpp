// The per-input-vector kernels of cim_vector_kernels.h: a portable version of each (SSE2, the
// x86-64 baseline, where it helps) and an AVX2 one, chosen once per process from what the host
// supports, so that the default build stays portable (no -march=native).
#include "models/cim/cim_vector_kernels.h"

#include <algorithm>

#include "models/cim/cim_codes.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CIMTLM_VECTOR_KERNELS_AVX2 1
#endif

namespace cimtlm::cim {

namespace {

using codes::kBitsInByte;

constexpr int64_t kWordBits = 64;

// Sums over rows [first, last) of one vector. code_sum is of the codes xor `bias` (0x80 turns
// int8 codes into code + 128 as unsigned bytes, which SAD sums).
struct RowSums {
  int64_t zeros = 0, ones = 0, signal = 0, zero_cells = 0, code_sum = 0;
};

template <typename Cells>
void add_row_sums_scalar(const BlockSumsJob& job, int64_t first, int64_t last, uint8_t bias,
                         const Cells* cells, RowSums& sums) {
  const uint8_t* codes = job.codes;
  for (int64_t r = first; r < last; ++r) {
    const int64_t ones = kBitsInByte[codes[r] & job.code_mask];
    const bool zero = codes[r] == job.zero_code;
    sums.ones += ones;
    sums.zeros += zero ? 1 : 0;
    sums.code_sum += codes[r] ^ bias;
    if (cells != nullptr) {
      sums.signal += ones * cells[r];
      sums.zero_cells += zero ? cells[r] : 0;
    }
  }
}

// Sixteen rows at a time with SSE2: byte popcounts by the SWAR steps, sums of bytes by psadbw,
// and the cell products by pmaddwd on 16-bit cells.
void add_row_sums(const BlockSumsJob& job, int64_t first, int64_t last, uint8_t bias,
                  RowSums& sums) {
  const int16_t* cells = job.cells16;
  int64_t r = first;
#if defined(__SSE2__)
  const __m128i mask = _mm_set1_epi8(static_cast<char>(job.code_mask));
  const __m128i zero = _mm_set1_epi8(static_cast<char>(job.zero_code));
  const __m128i flip = _mm_set1_epi8(static_cast<char>(bias));
  const __m128i m1 = _mm_set1_epi8(0x55), m2 = _mm_set1_epi8(0x33), m4 = _mm_set1_epi8(0x0f);
  const __m128i one = _mm_set1_epi8(1), nothing = _mm_setzero_si128();
  __m128i ones = nothing, zeros = nothing, code_sum = nothing, signal = nothing,
          zero_cells = nothing;
  for (; r + 16 <= last; r += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(job.codes + r));
    __m128i bits = _mm_and_si128(x, mask);
    bits = _mm_sub_epi8(bits, _mm_and_si128(_mm_srli_epi16(bits, 1), m1));
    bits = _mm_add_epi8(_mm_and_si128(bits, m2), _mm_and_si128(_mm_srli_epi16(bits, 2), m2));
    bits = _mm_and_si128(_mm_add_epi8(bits, _mm_srli_epi16(bits, 4)), m4);
    const __m128i equal = _mm_cmpeq_epi8(x, zero);
    ones = _mm_add_epi64(ones, _mm_sad_epu8(bits, nothing));
    zeros = _mm_add_epi64(zeros, _mm_sad_epu8(_mm_and_si128(equal, one), nothing));
    code_sum = _mm_add_epi64(code_sum, _mm_sad_epu8(_mm_xor_si128(x, flip), nothing));
    if (cells != nullptr) {
      const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cells + r));
      const __m128i high = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cells + r + 8));
      signal = _mm_add_epi32(signal, _mm_madd_epi16(_mm_unpacklo_epi8(bits, nothing), low));
      signal = _mm_add_epi32(signal, _mm_madd_epi16(_mm_unpackhi_epi8(bits, nothing), high));
      // Equal bytes widened to 16-bit -1 lanes: pmaddwd gives minus the cells they select.
      zero_cells = _mm_sub_epi32(zero_cells, _mm_madd_epi16(_mm_unpacklo_epi8(equal, equal), low));
      zero_cells = _mm_sub_epi32(zero_cells, _mm_madd_epi16(_mm_unpackhi_epi8(equal, equal), high));
    }
  }
  alignas(16) int64_t wide[2];
  alignas(16) int32_t lanes[4];
  _mm_store_si128(reinterpret_cast<__m128i*>(wide), ones);
  sums.ones += wide[0] + wide[1];
  _mm_store_si128(reinterpret_cast<__m128i*>(wide), zeros);
  sums.zeros += wide[0] + wide[1];
  _mm_store_si128(reinterpret_cast<__m128i*>(wide), code_sum);
  sums.code_sum += wide[0] + wide[1];
  if (cells != nullptr) {
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), signal);
    sums.signal += int64_t{lanes[0]} + lanes[1] + lanes[2] + lanes[3];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), zero_cells);
    sums.zero_cells += int64_t{lanes[0]} + lanes[1] + lanes[2] + lanes[3];
  }
#endif
  add_row_sums_scalar(job, r, last, bias, cells, sums);
}

void store_block(const BlockSumsJob& job, int64_t b, const RowSums& sums) {
  job.zeros[b] = sums.zeros;
  job.ones[b] = sums.ones;
  if (job.cells16 != nullptr || job.cells32 != nullptr) {
    job.signal[b] = sums.signal;
    job.zero_cells[b] = sums.zero_cells;
  }
}

uint8_t bias_of(const BlockSumsJob& job) {
  return job.codes_signed ? 0x80 : 0;
}

// Blocks [first_block, blocks) one at a time; adds to `total`.
void blocks_portable(const BlockSumsJob& job, int64_t first_block, RowSums& total) {
  const uint8_t bias = bias_of(job);
  const int64_t blocks = (job.rows + job.block_rows - 1) / job.block_rows;
  for (int64_t b = first_block; b < blocks; ++b) {
    const int64_t first = b * job.block_rows;
    const int64_t last = std::min(job.rows, first + job.block_rows);
    RowSums sums;
    if (job.cells16 == nullptr && job.cells32 != nullptr) {
      add_row_sums_scalar(job, first, last, bias, job.cells32, sums);
    } else {
      add_row_sums(job, first, last, bias, sums);
    }
    store_block(job, b, sums);
    total.zeros += sums.zeros;
    total.code_sum += sums.code_sum;
  }
}

VectorSums finish(const BlockSumsJob& job, const RowSums& total) {
  VectorSums sums;
  sums.zeros = total.zeros;
  sums.code_sum = total.code_sum - (job.codes_signed ? 128 * job.rows : 0);
  return sums;
}

VectorSums block_sums_portable(const BlockSumsJob& job) {
  RowSums total;
  blocks_portable(job, 0, total);
  return finish(job, total);
}

void pack_planes_portable(const PlanePackJob& job) {
  const int64_t rows = job.rows;
  const int64_t words = (rows + kWordBits - 1) / kWordBits;
  const uint32_t code_mask = (1u << job.input_bits) - 1;
  std::fill(job.planes, job.planes + job.input_bits * words, 0);
  if (job.zero_rows != nullptr) std::fill(job.zero_rows, job.zero_rows + words, 0);
  int64_t r = 0;
#if defined(__SSE2__)
  // Sixteen rows per byte-sign mask, shifting plane j's bit to each byte's top bit.
  const __m128i zero_codes = _mm_set1_epi8(static_cast<char>(job.zero_code));
  for (; r + 16 <= rows; r += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(job.codes + r));
    const int64_t word = r / kWordBits;
    const int position = static_cast<int>(r % kWordBits);
    for (int plane = 0; plane < job.input_bits; ++plane) {
      const auto top =
          static_cast<uint32_t>(_mm_movemask_epi8(_mm_sll_epi16(x, _mm_cvtsi32_si128(7 - plane))));
      job.planes[plane * words + word] |= uint64_t{top} << position;
    }
    if (job.zero_rows != nullptr) {
      const auto zeros = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero_codes)));
      job.zero_rows[word] |= uint64_t{zeros} << position;
    }
  }
#endif
  // Branch-free (input bits are random: a branch per bit would mispredict half the time).
  for (; r < rows; ++r) {
    const uint64_t bits = job.codes[r] & code_mask;
    const int64_t word = r / kWordBits;
    const int position = static_cast<int>(r % kWordBits);
    for (int plane = 0; plane < job.input_bits; ++plane)
      job.planes[plane * words + word] |= ((bits >> plane) & 1u) << position;
    if (job.zero_rows != nullptr)
      job.zero_rows[word] |= uint64_t{job.codes[r] == job.zero_code} << position;
  }
}

void shift_add_portable(const int32_t* readings, int64_t columns, int64_t per_column,
                        const int64_t* place, int64_t* out) {
  for (int64_t c = 0; c < columns; ++c) {
    const int32_t* reading = readings + c * per_column;
    int64_t sum = 0;
    for (int64_t k = 0; k < per_column; ++k) sum += reading[k] * place[k];
    out[c] = sum;
  }
}

#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
bool host_has_avx2() {
  // A property of the host, read once.
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

// Byte popcounts of 32 codes by the nibble table.
__attribute__((target("avx2"))) inline __m256i byte_popcounts(__m256i bits) {
  const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  return _mm256_add_epi8(
      _mm256_shuffle_epi8(table, _mm256_and_si256(bits, nibble)),
      _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(bits, 4), nibble)));
}

// 32 rows: per 64-bit lane (8 rows) ones + (zeros << 32); the signal and minus the zero cells
// as pmaddwd sums (two rows per int32 lane; rows 0-15 in `signal_low`, 16-31 in `signal_high`).
struct Chunk {
  __m256i counts, code_sum, signal_low, signal_high, zero_low, zero_high;
};

// `valid` selects the rows that exist (all ones but in a vector's zero-padded last chunk, whose
// padding has no ones and no cells but may equal the zero code).
template <bool kCells>
__attribute__((target("avx2"))) inline Chunk chunk_sums(const uint8_t* codes, const int16_t* cells,
                                                        __m256i mask, __m256i zero, __m256i bias,
                                                        __m256i valid) {
  const __m256i nothing = _mm256_setzero_si256();
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes));
  const __m256i ones = byte_popcounts(_mm256_and_si256(x, mask));
  const __m256i equal = _mm256_and_si256(_mm256_cmpeq_epi8(x, zero), valid);
  Chunk chunk;
  chunk.counts = _mm256_add_epi64(
      _mm256_sad_epu8(ones, nothing),
      _mm256_slli_epi64(_mm256_sad_epu8(_mm256_and_si256(equal, _mm256_set1_epi8(1)), nothing),
                        32));
  chunk.code_sum = _mm256_sad_epu8(_mm256_and_si256(_mm256_xor_si256(x, bias), valid), nothing);
  if (kCells) {
    const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells));
    const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cells + 16));
    chunk.signal_low = _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(ones)), low);
    chunk.signal_high =
        _mm256_madd_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(ones, 1)), high);
    chunk.zero_low = _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(equal)), low);
    chunk.zero_high =
        _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(equal, 1)), high);
  }
  return chunk;
}

// The rows [first, rows) of a vector (fewer than 32) copied into a zero-padded chunk.
struct TailChunk {
  alignas(32) uint8_t codes[32] = {};
  alignas(32) int16_t cells[32] = {};
  __m256i valid;
};

__attribute__((target("avx2"))) inline void fill_tail(const BlockSumsJob& job, int64_t first,
                                                      TailChunk& tail) {
  const int64_t count = job.rows - first;
  std::copy(job.codes + first, job.codes + job.rows, tail.codes);
  if (job.cells16 != nullptr) std::copy(job.cells16 + first, job.cells16 + job.rows, tail.cells);
  alignas(32) int8_t valid[32];
  for (int64_t i = 0; i < 32; ++i) valid[i] = i < count ? -1 : 0;
  tail.valid = _mm256_load_si256(reinterpret_cast<const __m256i*>(valid));
}

// From pmaddwd sums of rows 0-15 (low) and 16-31 (high), signal (s) and minus zero cells (z):
// [s 0-15, z 0-15, s 16-31, z 16-31] as four int32.
__attribute__((target("avx2"))) inline __m128i reduce_cells(__m256i s_low, __m256i z_low,
                                                            __m256i s_high, __m256i z_high) {
  // Lane 0 holds rows 0-7 (16-23), lane 1 rows 8-15 (24-31); hadd pairs neighbours.
  const __m256i h =
      _mm256_hadd_epi32(_mm256_hadd_epi32(s_low, z_low), _mm256_hadd_epi32(s_high, z_high));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

template <bool kCells>
__attribute__((target("avx2"))) VectorSums block_sums_avx2_impl(const BlockSumsJob& job) {
  const __m256i mask = _mm256_set1_epi8(static_cast<char>(job.code_mask));
  const __m256i zero = _mm256_set1_epi8(static_cast<char>(job.zero_code));
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(bias_of(job)));
  __m256i code_sum = _mm256_setzero_si256();
  RowSums total;
  const __m256i all = _mm256_set1_epi8(-1);
  const int64_t blocks = (job.rows + job.block_rows - 1) / job.block_rows;
  TailChunk tail;
  if (job.block_rows == 16) {
    // Two blocks per 32 rows: each 128-bit half is one block; the last rows zero-padded.
    for (int64_t b = 0; b < blocks; b += 2) {
      const int64_t r = b * 16;
      const bool whole = r + 32 <= job.rows;
      if (!whole) fill_tail(job, r, tail);
      const Chunk chunk =
          whole ? chunk_sums<kCells>(job.codes + r, job.cells16 + (kCells ? r : 0), mask, zero,
                                     bias, all)
                : chunk_sums<kCells>(tail.codes, tail.cells, mask, zero, bias, tail.valid);
      code_sum = _mm256_add_epi64(code_sum, chunk.code_sum);
      const __m256i counts = _mm256_add_epi64(chunk.counts, _mm256_srli_si256(chunk.counts, 8));
      const auto first = static_cast<uint64_t>(_mm256_extract_epi64(counts, 0));
      const auto second = static_cast<uint64_t>(_mm256_extract_epi64(counts, 2));
      const bool pair = b + 1 < blocks;
      job.ones[b] = static_cast<int64_t>(first & 0xffffffffu);
      job.zeros[b] = static_cast<int64_t>(first >> 32);
      total.zeros += job.zeros[b];
      if (pair) {
        job.ones[b + 1] = static_cast<int64_t>(second & 0xffffffffu);
        job.zeros[b + 1] = static_cast<int64_t>(second >> 32);
        total.zeros += job.zeros[b + 1];
      }
      if (kCells) {
        // Rows 0-15 are block b's and 16-31 block b + 1's: add the halves of each madd first.
        const __m128i cells =
            reduce_cells(chunk.signal_low, chunk.zero_low, chunk.signal_high, chunk.zero_high);
        job.signal[b] = _mm_cvtsi128_si32(cells);
        job.zero_cells[b] = -static_cast<int64_t>(_mm_extract_epi32(cells, 1));
        if (pair) {
          job.signal[b + 1] = _mm_extract_epi32(cells, 2);
          job.zero_cells[b + 1] = -static_cast<int64_t>(_mm_extract_epi32(cells, 3));
        }
      }
    }
  } else {
    // Blocks of a multiple of 32 rows: sums kept in registers over the block's chunks.
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t first = b * job.block_rows;
      const int64_t last = std::min(job.rows, first + job.block_rows);
      __m256i counts = _mm256_setzero_si256();
      __m256i s_low = counts, s_high = counts, z_low = counts, z_high = counts;
      for (int64_t r = first; r < last; r += 32) {
        const bool whole = r + 32 <= job.rows;
        if (!whole) fill_tail(job, r, tail);
        const Chunk chunk =
            whole ? chunk_sums<kCells>(job.codes + r, job.cells16 + (kCells ? r : 0), mask, zero,
                                       bias, all)
                  : chunk_sums<kCells>(tail.codes, tail.cells, mask, zero, bias, tail.valid);
        code_sum = _mm256_add_epi64(code_sum, chunk.code_sum);
        counts = _mm256_add_epi64(counts, chunk.counts);
        if (kCells) {
          s_low = _mm256_add_epi32(s_low, chunk.signal_low);
          s_high = _mm256_add_epi32(s_high, chunk.signal_high);
          z_low = _mm256_add_epi32(z_low, chunk.zero_low);
          z_high = _mm256_add_epi32(z_high, chunk.zero_high);
        }
      }
      alignas(32) uint64_t lanes[4];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), counts);
      const uint64_t both = lanes[0] + lanes[1] + lanes[2] + lanes[3];
      job.ones[b] = static_cast<int64_t>(both & 0xffffffffu);
      job.zeros[b] = static_cast<int64_t>(both >> 32);
      total.zeros += job.zeros[b];
      if (kCells) {
        const __m128i cells = reduce_cells(s_low, z_low, s_high, z_high);
        job.signal[b] = int64_t{_mm_cvtsi128_si32(cells)} + _mm_extract_epi32(cells, 2);
        job.zero_cells[b] = -(int64_t{_mm_extract_epi32(cells, 1)} + _mm_extract_epi32(cells, 3));
      }
    }
  }
  alignas(32) int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), code_sum);
  total.code_sum += lanes[0] + lanes[1] + lanes[2] + lanes[3];
  return finish(job, total);
}

__attribute__((target("avx2"))) VectorSums block_sums_avx2(const BlockSumsJob& job) {
  // 16-bit cells or none; blocks of 16 rows or of a multiple of 32 (the chunks' sums must
  // stay within one block).
  const bool cells32 = job.cells16 == nullptr && job.cells32 != nullptr;
  if (cells32 || (job.block_rows != 16 && job.block_rows % 32 != 0))
    return block_sums_portable(job);
  return job.cells16 != nullptr ? block_sums_avx2_impl<true>(job)
                                : block_sums_avx2_impl<false>(job);
}

// 64 rows per word: each plane's bit moved to the bytes' top bits and read by VPMOVMSKB.
// One word of 64 codes (x0: rows 0-31, x1: rows 32-63) into word w of every plane and, when
// asked, of the zero-row mask (`valid` keeps the rows that exist).
__attribute__((target("avx2"))) inline void pack_word_avx2(const PlanePackJob& job, int64_t words,
                                                           int64_t w, __m256i x0, __m256i x1,
                                                           uint64_t valid) {
  // The top plane's bit at each byte's top; each doubling brings the next plane there (the bits
  // carried into the next byte sit below its top bit).
  const __m128i top_shift = _mm_cvtsi32_si128(8 - job.input_bits);
  __m256i v0 = _mm256_sll_epi16(x0, top_shift);
  __m256i v1 = _mm256_sll_epi16(x1, top_shift);
  for (int plane = job.input_bits - 1; plane >= 0; --plane) {
    const auto low = static_cast<uint32_t>(_mm256_movemask_epi8(v0));
    const auto high = static_cast<uint32_t>(_mm256_movemask_epi8(v1));
    job.planes[plane * words + w] = uint64_t{low} | (uint64_t{high} << 32);
    v0 = _mm256_add_epi16(v0, v0);
    v1 = _mm256_add_epi16(v1, v1);
  }
  if (job.zero_rows != nullptr) {
    const __m256i zero = _mm256_set1_epi8(static_cast<char>(job.zero_code));
    const auto low = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x0, zero)));
    const auto high = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x1, zero)));
    job.zero_rows[w] = (uint64_t{low} | (uint64_t{high} << 32)) & valid;
  }
}

__attribute__((target("avx2"))) void pack_planes_avx2(const PlanePackJob& job) {
  const int64_t rows = job.rows;
  const int64_t words = (rows + kWordBits - 1) / kWordBits;
  const int64_t full_words = rows / kWordBits;
  for (int64_t w = 0; w < full_words; ++w) {
    const uint8_t* codes = job.codes + w * kWordBits;
    pack_word_avx2(job, words, w, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes)),
                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + 32)), ~uint64_t{0});
  }
  if (full_words == words) return;
  // The last, partial word from a zero-padded copy (padding has no plane bits; its zero-code
  // matches are cut off).
  alignas(32) uint8_t padded[64] = {};
  const int64_t count = rows - full_words * kWordBits;
  std::copy(job.codes + full_words * kWordBits, job.codes + rows, padded);
  pack_word_avx2(
      job, words, full_words, _mm256_load_si256(reinterpret_cast<const __m256i*>(padded)),
      _mm256_load_si256(reinterpret_cast<const __m256i*>(padded + 32)), (uint64_t{1} << count) - 1);
}

// One column's readings widened to int64 times the place values, as four int64 lanes.
__attribute__((target("avx2"))) inline __m256i column_products(const int32_t* reading,
                                                               int64_t groups,
                                                               const __m256i* places) {
  __m256i sum = _mm256_setzero_si256();
  for (int64_t g = 0; g < groups; ++g) {
    const __m256i wide =
        _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(reading + 4 * g)));
    sum = _mm256_add_epi64(sum, _mm256_mul_epi32(wide, places[g]));
  }
  return sum;
}

// Four columns at a time: each column's readings widened to int64 and multiplied by the place
// values (VPMULDQ on the low halves), the four columns' lanes then summed by a transpose.
__attribute__((target("avx2"))) void shift_add_avx2(const int32_t* readings, int64_t columns,
                                                    int64_t per_column, const int64_t* place,
                                                    int64_t* out) {
  if (per_column % 4 != 0 || per_column > 16) {
    shift_add_portable(readings, columns, per_column, place, out);
    return;
  }
  const int64_t groups = per_column / 4;
  __m256i places[4];
  for (int64_t g = 0; g < groups; ++g)
    places[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(place + 4 * g));
  int64_t c = 0;
  for (; c + 4 <= columns; c += 4) {
    const int32_t* reading = readings + c * per_column;
    const __m256i a = column_products(reading, groups, places);
    const __m256i b = column_products(reading + per_column, groups, places);
    const __m256i d = column_products(reading + 2 * per_column, groups, places);
    const __m256i e = column_products(reading + 3 * per_column, groups, places);
    const __m256i ab = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
    const __m256i de = _mm256_add_epi64(_mm256_unpacklo_epi64(d, e), _mm256_unpackhi_epi64(d, e));
    const __m256i sums = _mm256_add_epi64(_mm256_permute2x128_si256(ab, de, 0x20),
                                          _mm256_permute2x128_si256(ab, de, 0x31));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), sums);
  }
  shift_add_portable(readings + c * per_column, columns - c, per_column, place, out + c);
}
#endif

}  // namespace

bool vector_kernel_available(VectorKernel kernel) {
  if (kernel == VectorKernel::Portable) return true;
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  return host_has_avx2();
#else
  return false;
#endif
}

VectorSums block_sums_with(VectorKernel kernel, const BlockSumsJob& job) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (kernel == VectorKernel::Avx2) return block_sums_avx2(job);
#endif
  (void)kernel;
  return block_sums_portable(job);
}

VectorSums block_sums(const BlockSumsJob& job) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (host_has_avx2()) return block_sums_avx2(job);
#endif
  return block_sums_portable(job);
}

void pack_planes_with(VectorKernel kernel, const PlanePackJob& job) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (kernel == VectorKernel::Avx2) {
    pack_planes_avx2(job);
    return;
  }
#endif
  (void)kernel;
  pack_planes_portable(job);
}

void pack_planes(const PlanePackJob& job) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (host_has_avx2()) {
    pack_planes_avx2(job);
    return;
  }
#endif
  pack_planes_portable(job);
}

void shift_add_columns_with(VectorKernel kernel, const int32_t* readings, int64_t columns,
                            int64_t per_column, const int64_t* place, int64_t* out) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (kernel == VectorKernel::Avx2) {
    shift_add_avx2(readings, columns, per_column, place, out);
    return;
  }
#endif
  (void)kernel;
  shift_add_portable(readings, columns, per_column, place, out);
}

void shift_add_columns(const int32_t* readings, int64_t columns, int64_t per_column,
                       const int64_t* place, int64_t* out) {
#if defined(CIMTLM_VECTOR_KERNELS_AVX2)
  if (host_has_avx2()) {
    shift_add_avx2(readings, columns, per_column, place, out);
    return;
  }
#endif
  shift_add_portable(readings, columns, per_column, place, out);
}

}  // namespace cimtlm::cim
