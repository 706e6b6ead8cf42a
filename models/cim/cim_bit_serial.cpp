// The bit-serial paths of the CIM macro (cim_array_model.h): bit-plane popcounts per (input
// plane, activation, column) through the ADC model, or analog sums of per-cell conductances,
// then the shift-add and the zero-point algebra. Used with a lossy ADC or non-idealities, and by
// ComputePath::BitSerial.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "models/cim/cim_array_model.h"
#include "models/cim/cim_column_kernels.h"
#include "models/cim/cim_vector_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cimtlm::cim {

namespace {

constexpr int64_t kWordBits = 64;

// The two hot loops are compiled for the baseline ISA and for newer ones, picked at load time
// (GCC function multi-versioning), so that the default build stays portable (no -march=native)
// and still uses POPCNT / AVX2 where the host has them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIMTLM_POPCOUNT_CLONES __attribute__((target_clones("popcnt", "default")))
#define CIMTLM_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CIMTLM_POPCOUNT_CLONES
#define CIMTLM_SIMD_CLONES
#endif

// partial[p] = sum over cell bits b of 2^b * popcount(cells[word][b][p] & active[word]).
// Partial sums and readings are int32: a column reads at most 16384 rows x 3 x 255 < 2^31.
CIMTLM_POPCOUNT_CLONES
void column_partial_sums_scalar(const uint64_t* cells_by_word, int64_t columns, int cell_bits,
                                int64_t first_word, int64_t last_word, const uint64_t* active,
                                int32_t* partial) {
  std::fill(partial, partial + columns, 0);
  for (int64_t word = first_word; word < last_word; ++word) {
    const uint64_t rows = active[word];
    if (rows == 0) continue;
    for (int bit = 0; bit < cell_bits; ++bit) {
      const uint64_t* cells = cells_by_word + (word * cell_bits + bit) * columns;
      for (int64_t p = 0; p < columns; ++p) {
        partial[p] += static_cast<int32_t>(__builtin_popcountll(cells[p] & rows)) << bit;
      }
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same, eight columns per instruction with AVX-512's 64-bit popcount (VPOPCNTQ): the active
// word is shared by every column, so it is broadcast once and each column costs one AND and one
// popcount lane. Sums stay in 64-bit lanes and are narrowed to int32 once (exact, see above).
__attribute__((target("avx512f,avx512vpopcntdq"))) void column_partial_sums_vpopcnt(
    const uint64_t* cells_by_word, int64_t columns, int cell_bits, int64_t first_word,
    int64_t last_word, const uint64_t* active, int32_t* partial) {
  int64_t p = 0;
  for (; p + 8 <= columns; p += 8) {
    __m512i sum = _mm512_setzero_si512();
    for (int64_t word = first_word; word < last_word; ++word) {
      const uint64_t rows = active[word];
      if (rows == 0) continue;
      const __m512i mask = _mm512_set1_epi64(static_cast<long long>(rows));
      for (int bit = 0; bit < cell_bits; ++bit) {
        const uint64_t* cells = cells_by_word + (word * cell_bits + bit) * columns + p;
        const __m512i ones = _mm512_popcnt_epi64(_mm512_and_si512(_mm512_loadu_si512(cells), mask));
        sum =
            _mm512_add_epi64(sum, _mm512_maskz_slli_epi64(0xff, ones, static_cast<unsigned>(bit)));
      }
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(partial + p),
                        _mm512_maskz_cvtepi64_epi32(0xff, sum));
  }
  if (p < columns) {
    // The remaining columns: the same sums on a narrower view of each word's columns.
    for (int64_t q = p; q < columns; ++q) partial[q] = 0;
    for (int64_t word = first_word; word < last_word; ++word) {
      const uint64_t rows = active[word];
      if (rows == 0) continue;
      for (int bit = 0; bit < cell_bits; ++bit) {
        const uint64_t* cells = cells_by_word + (word * cell_bits + bit) * columns;
        for (int64_t q = p; q < columns; ++q) {
          partial[q] += static_cast<int32_t>(__builtin_popcountll(cells[q] & rows)) << bit;
        }
      }
    }
  }
}
#endif

void column_partial_sums(const uint64_t* cells_by_word, int64_t columns, int cell_bits,
                         int64_t first_word, int64_t last_word, const uint64_t* active,
                         int32_t* partial) {
#if defined(__x86_64__) && defined(__GNUC__)
  // A property of the host, read once (as the clones' resolvers do).
  static const bool has_vpopcnt = __builtin_cpu_supports("avx512vpopcntdq");
  if (has_vpopcnt) {
    column_partial_sums_vpopcnt(cells_by_word, columns, cell_bits, first_word, last_word, active,
                                partial);
    return;
  }
#endif
  column_partial_sums_scalar(cells_by_word, columns, cell_bits, first_word, last_word, active,
                             partial);
}

// readings[p] += plane_value * ideal ADC reading of partial[p] (adc_ideal_reading, vectorized).
CIMTLM_SIMD_CLONES
void accumulate_ideal_readings(const int32_t* partial, int64_t columns, int shift, int32_t top_code,
                               int32_t plane_value, int32_t* readings) {
  if (shift == 0) {
    for (int64_t p = 0; p < columns; ++p) readings[p] += plane_value * partial[p];
    return;
  }
  const int32_t half_minus_one = (1 << (shift - 1)) - 1;
  for (int64_t p = 0; p < columns; ++p) {
    const int32_t odd_quotient = (partial[p] >> shift) & 1;  // ties to even
    const int32_t code = std::min((partial[p] + half_minus_one + odd_quotient) >> shift, top_code);
    readings[p] += plane_value * (code << shift);
  }
}

void clear_readings(std::vector<int32_t>& readings, int64_t used) {
  readings.resize(static_cast<size_t>(used));
  std::memset(readings.data(), 0, static_cast<size_t>(used) * sizeof(int32_t));
}

// Sets the bits of `rows` in `mask` and returns their word range [first_word, last_word).
void mask_of_rows(const int64_t* rows, int64_t count, uint64_t* mask, int64_t& first_word,
                  int64_t& last_word) {
  first_word = count == 0 ? 0 : std::numeric_limits<int64_t>::max();
  last_word = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t word = rows[i] / kWordBits;
    mask[word] |= uint64_t{1} << (rows[i] % kWordBits);
    first_word = std::min(first_word, word);
    last_word = std::max(last_word, word + 1);
  }
}

}  // namespace

void CimArrayModel::read_columns(const int32_t* partial_sums, const AdcRange& range,
                                 int32_t plane_value, int32_t* readings) {
  if (!analog_errors_) {
    accumulate_ideal_readings(partial_sums, used_columns_, range.shift,
                              (int32_t{1} << params_.adc_bits) - 1, plane_value, readings);
    return;
  }
  const int64_t adcs = params_.adc_count();
  for (int64_t p = 0; p < used_columns_; ++p) {
    readings[p] += plane_value * static_cast<int32_t>(convert_analog(
                                     static_cast<double>(partial_sums[p]), range, p % adcs));
  }
}

void CimArrayModel::read_columns_analog(const double* partial_sums, const AdcRange& range,
                                        int32_t plane_value, int32_t* readings) {
  const int64_t adcs = params_.adc_count();
  for (int64_t p = 0; p < used_columns_; ++p) {
    readings[p] +=
        plane_value * static_cast<int32_t>(convert_analog(partial_sums[p], range, p % adcs));
  }
}

// An ideal ADC draws no random number, so a step's planes are read in one pass over its columns
// (cim_column_kernels.h) instead of a popcount pass and a reading pass per plane. Planes in which
// no row of the step conducts read 0 and are left out. plane_value null: one plane, the mask
// itself (the compensation mask plane).
void CimArrayModel::read_step_ideal(int64_t first, int64_t last, int input_bits,
                                    const int32_t* plane_value, const AdcRange& range,
                                    int32_t* readings) {
  const int64_t words = row_words_;
  const int64_t step_words = last - first;
  step_active_.resize(static_cast<size_t>(8 * step_words));
  int32_t values[8];
  int planes = 0;
  if (plane_value == nullptr) {
    std::copy(row_mask_.begin() + first, row_mask_.begin() + last, step_active_.begin());
    values[planes++] = 1;
  } else if (step_words == 1) {
    // One row word (an aligned activation of up to 64 rows): planes kept without branches.
    const uint64_t mask = row_mask_[first];
    const uint64_t* rows = plane_rows_.data() + first;
    uint64_t* active = step_active_.data();
    for (int plane = 0; plane < input_bits; ++plane) {
      const uint64_t conducting = rows[plane * words] & mask;
      active[planes] = conducting;
      values[planes] = plane_value[plane];
      planes += conducting != 0 ? 1 : 0;
    }
  } else {
    for (int plane = 0; plane < input_bits; ++plane) {
      uint64_t* active = step_active_.data() + planes * step_words;
      const uint64_t* rows = plane_rows_.data() + plane * words;
      uint64_t any = 0;
      for (int64_t w = first; w < last; ++w) {
        active[w - first] = rows[w] & row_mask_[w];
        any |= active[w - first];
      }
      if (any != 0) values[planes++] = plane_value[plane];
    }
  }
  StepColumns step;
  step.cells_by_word = array_->cell_bits_by_word.data();
  step.columns = used_columns_;
  step.cell_bits = params_.cell_bits;
  step.first_word = first;
  step.last_word = last;
  step.active = step_active_.data();
  step.planes = planes;
  step.plane_value = values;
  step.shift = range.shift;
  step.top_code = (int32_t{1} << params_.adc_bits) - 1;
  accumulate_step_ideal(step, readings);
}

int64_t CimArrayModel::convert_analog(double partial_sum, const AdcRange& range, int64_t adc) {
  double level = std::ldexp(partial_sum, -range.shift);
  if (analog_errors_) {
    level += adc_offset_lsb_[static_cast<size_t>(adc)];
    if (params_.adc_noise_lsb > 0.0) level += params_.adc_noise_lsb * unit_normal_(noise_rng_);
  }
  const double top = std::ldexp(1.0, params_.adc_bits) - 1.0;
  const double code = std::min(std::max(std::nearbyint(level), 0.0), top);  // ties to even
  return static_cast<int64_t>(code) << range.shift;
}

// Two's-complement planes: the sign plane of signed inputs has place value -2^(bits-1).
void CimArrayModel::plane_values(int input_bits, bool inputs_signed, int32_t* plane_value) {
  for (int plane = 0; plane < input_bits; ++plane) {
    plane_value[plane] =
        (inputs_signed && plane == input_bits - 1) ? -(int32_t{1} << plane) : (int32_t{1} << plane);
  }
}

// plane_rows_ = every row's input bits by plane, and, given a zero code, zero_rows_ = the rows
// whose input is that code (cim_vector_kernels.h).
void CimArrayModel::pack_input_planes(const uint8_t* codes, int input_bits,
                                      const uint8_t* zero_code) {
  plane_rows_.resize(static_cast<size_t>(input_bits * row_words_));
  if (zero_code != nullptr) zero_rows_.resize(static_cast<size_t>(row_words_));
  PlanePackJob job;
  job.codes = codes;
  job.rows = tile_rows_;
  job.input_bits = input_bits;
  job.zero_code = zero_code != nullptr ? *zero_code : 0;
  job.planes = plane_rows_.data();
  job.zero_rows = zero_code != nullptr ? zero_rows_.data() : nullptr;
  pack_planes(job);
}

void CimArrayModel::bit_serial(const VectorPlan& plan, const uint8_t* codes, int input_bits,
                               bool inputs_signed, int32_t input_zero_point, int64_t* result) {
  const ArrayImage& array = *array_;  // build_array_image() ran for this tile
  const int64_t rows = tile_rows_;
  const int64_t words = row_words_;
  const int64_t used = used_columns_;
  int32_t plane_value[8];
  plane_values(input_bits, inputs_signed, plane_value);
  column_reading_.assign(static_cast<size_t>(used), 0);
  mask_reading_.assign(static_cast<size_t>(used), 0);

  if (array.cell_conductance.empty()) {
    // Integer partial sums: popcount of (stored cell bits & rows conducting in the activation),
    // each step's row mask below selecting its enabled rows from every row's input bits.
    // ComputePath::BitSerial keeps the per-plane loop as the reference the fused one is tested
    // against (CimArrayModel.LossyAutoPathEqualsTheRowListPath).
    const bool fused = !analog_errors_ && path_ == ComputePath::Auto;
    pack_input_planes(codes, input_bits, nullptr);
    partial_sums_.resize(static_cast<size_t>(used));
    active_rows_.resize(static_cast<size_t>(words));
    for (int64_t step = 0; step < plan.steps; ++step) {
      row_mask_.assign(static_cast<size_t>(words), 0);
      int64_t first = 0, last = 0;
      mask_of_rows(step_rows_.data() + step_offsets_[step],
                   step_offsets_[step + 1] - step_offsets_[step], row_mask_.data(), first, last);
      const AdcRange& range = step_range(plan, step);
      if (fused) {
        read_step_ideal(first, last, input_bits, plane_value, range, column_reading_.data());
        continue;
      }
      for (int plane = 0; plane < input_bits; ++plane) {
        for (int64_t w = first; w < last; ++w)
          active_rows_[w] = plane_rows_[plane * words + w] & row_mask_[w];
        column_partial_sums(array.cell_bits_by_word.data(), used, params_.cell_bits, first, last,
                            active_rows_.data(), partial_sums_.data());
        read_columns(partial_sums_.data(), range, plane_value[plane], column_reading_.data());
      }
    }
    for (int64_t step = 0; step < plan.mask_steps; ++step) {
      row_mask_.assign(static_cast<size_t>(words), 0);
      int64_t first = 0, last = 0;
      mask_of_rows(mask_rows_.data() + mask_offsets_[step],
                   mask_offsets_[step + 1] - mask_offsets_[step], row_mask_.data(), first, last);
      if (fused) {
        read_step_ideal(first, last, 1, nullptr, mask_range(step), mask_reading_.data());
        continue;
      }
      column_partial_sums(array.cell_bits_by_word.data(), used, params_.cell_bits, first, last,
                          row_mask_.data(), partial_sums_.data());
      read_columns(partial_sums_.data(), mask_range(step), 1, mask_reading_.data());
    }
  } else {
    // Conductance variation: analog bit-line sums of slice value x relative conductance.
    const uint32_t code_mask = (1u << input_bits) - 1;
    analog_sums_.resize(static_cast<size_t>(used));
    // Sums the rows of a list that conduct in `plane` (every row of the list when plane < 0).
    auto sum_rows = [&](const int64_t* list, int64_t count, int plane) {
      std::fill(analog_sums_.begin(), analog_sums_.end(), 0.0);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t row = list[i];
        if (plane >= 0 && (((static_cast<uint32_t>(x_[row]) & code_mask) >> plane) & 1u) == 0)
          continue;
        const float* cells = array.cell_conductance.data() + row * used;
        for (int64_t p = 0; p < used; ++p) analog_sums_[p] += cells[p];
      }
    };
    for (int64_t step = 0; step < plan.steps; ++step) {
      const AdcRange& range = step_range(plan, step);
      for (int plane = 0; plane < input_bits; ++plane) {
        sum_rows(step_rows_.data() + step_offsets_[step],
                 step_offsets_[step + 1] - step_offsets_[step], plane);
        read_columns_analog(analog_sums_.data(), range, plane_value[plane], column_reading_.data());
      }
    }
    for (int64_t step = 0; step < plan.mask_steps; ++step) {
      sum_rows(mask_rows_.data() + mask_offsets_[step],
               mask_offsets_[step + 1] - mask_offsets_[step], -1);
      read_columns_analog(analog_sums_.data(), mask_range(step), 1, mask_reading_.data());
    }
  }

  int64_t input_sum = 0;
  for (int64_t r = 0; r < rows; ++r) input_sum += x_[r];
  combine_readings(plan, input_sum, input_zero_point, result);
}

// Shift-add of the column readings across weight slices and polarities, then the zero-point
// algebra (README): out = A + z_x * W_disabled - z_s * U - z_x * V + R * z_x * z_s.
void CimArrayModel::combine_readings(const VectorPlan& plan, int64_t input_sum,
                                     int32_t input_zero_point, int64_t* result) {
  const ArrayImage& array = *array_;
  const int64_t rows = tile_rows_;
  const int64_t cols = tile_cols_;
  // Logical column c owns the physical columns [c * per_column, (c + 1) * per_column) (polarity,
  // then slice: build_array_image's layout), so the shift-add runs without column_of look-ups;
  // the mask readings matter only when compensating. Integer sums: any order gives the same.
  const int64_t per_column = polarities_ * slices_;
  const int64_t zx = input_zero_point;
  // Every logical column's physical columns have the same place values (build_array_image).
  const int64_t* place = array.place_value.data();
  if (plan.compensating) {
    // The disabled rows' weight sums: the mask plane's readings plus the precomputed sums of
    // the skipped blocks.
    mask_result_.resize(static_cast<size_t>(cols));
    shift_add_columns(mask_reading_.data(), cols, per_column, place, mask_result_.data());
    for (int64_t b = 0; b < blocks_; ++b) {
      if (!block_skipped_[b]) continue;
      const int64_t* block_sum = array.block_sum.data() + b * cols;
      for (int64_t c = 0; c < cols; ++c) mask_result_[c] += block_sum[c];
    }
  }
  shift_add_columns(column_reading_.data(), cols, per_column, place, result);
  // out = A - z_s * (sum x - R * z_x) - z_x * U (+ z_x * W_disabled), the same integers.
  const int64_t input_offset = input_sum - rows * zx;
  const int64_t* reference = array.weight_reference.data();
  const int64_t* column_sum = array.column_sum.data();
  for (int64_t c = 0; c < cols; ++c) result[c] -= reference[c] * input_offset + zx * column_sum[c];
  if (plan.compensating) {
    for (int64_t c = 0; c < cols; ++c) result[c] += zx * mask_result_[c];
  }
}

namespace {

// Bits [first, last) of a row mask, in word `word`.
uint64_t row_range_bits(int64_t first, int64_t last, int64_t word) {
  const int64_t lo = std::max(first, word * kWordBits) - word * kWordBits;
  const int64_t hi = std::min(last, (word + 1) * kWordBits) - word * kWordBits;
  return hi - lo == kWordBits ? ~uint64_t{0} : ((uint64_t{1} << (hi - lo)) - 1) << lo;
}

}  // namespace

// bit_serial() for the Auto path with block-packed activations and integer cells: each step's
// rows are a mask made from the blocks it groups (as plan_vector_counts groups them) and the
// vector's zero-point rows, instead of plan_vector's row lists. The same activations are read in
// the same order (steps and planes, then mask steps), so the readings and any noise draws are
// the same (CimArrayModel.LossyAutoPathEqualsTheRowListPath).
void CimArrayModel::bit_serial_blocks(const VectorPlan& plan, const uint8_t* codes, int input_bits,
                                      bool inputs_signed, int32_t input_zero_point,
                                      int64_t* result) {
  const ArrayImage& array = *array_;
  const int64_t rows = tile_rows_;
  const int64_t words = row_words_;
  const int64_t used = used_columns_;
  int32_t plane_value[8];
  plane_values(input_bits, inputs_signed, plane_value);
  // Cleared with memset (vector::assign fills element by element).
  clear_readings(column_reading_, used);
  // The mask plane is read (and its readings used) only when compensating.
  if (plan.compensating) clear_readings(mask_reading_, used);

  const auto zero_code = static_cast<uint8_t>(input_zero_point);
  pack_input_planes(codes, input_bits, &zero_code);
  const int64_t input_sum = vector_code_sum_;  // plan_vector_counts() summed this vector

  // Calls `run(first_word, last_word)` for each group of blocks_per_step_ non-skipped blocks
  // whose rows of the kind asked (enabled, or disabled in non-skipped blocks) are not empty,
  // with those rows in row_mask_.
  partial_sums_.resize(static_cast<size_t>(used));
  active_rows_.resize(static_cast<size_t>(words));
  row_mask_.resize(static_cast<size_t>(words));
  std::memset(row_mask_.data(), 0, static_cast<size_t>(words) * sizeof(uint64_t));
  // Blocks of a divisor of 64 rows never straddle a row word.
  const bool aligned_blocks = kWordBits % params_.row_block == 0;
  auto for_each_group = [&](bool disabled_rows, auto&& run) {
    if (!plan.sparse) {
      // Dense (no mask plane either): each group is blocks_per_step_ consecutive blocks, all
      // their rows.
      const int64_t group_rows = blocks_per_step_ * params_.row_block;
      for (int64_t first = 0; first < rows; first += group_rows) {
        const int64_t last = std::min(rows, first + group_rows);
        const int64_t first_word = first / kWordBits, last_word = (last - 1) / kWordBits + 1;
        for (int64_t word = first_word; word < last_word; ++word)
          row_mask_[static_cast<size_t>(word)] = row_range_bits(first, last, word);
        run(first_word, last_word);
        std::fill(row_mask_.begin() + first_word, row_mask_.begin() + last_word, 0);
      }
      return;
    }
    int64_t first_word = words, last_word = 0;
    int64_t group_room = blocks_per_step_;  // active blocks still to come in the group
    auto close = [&] {
      if (first_word < last_word) {
        run(first_word, last_word);
        std::fill(row_mask_.begin() + first_word, row_mask_.begin() + last_word, 0);
      }
      first_word = words;
      last_word = 0;
    };
    for (int64_t b = 0; b < blocks_; ++b) {
      if (block_skipped_[b]) continue;
      if (group_room == 0) {
        close();
        group_room = blocks_per_step_;
      }
      --group_room;
      const int64_t first = b * params_.row_block;
      const int64_t last = std::min(rows, first + params_.row_block);
      if (aligned_blocks) {
        // The block lies in one word.
        const int64_t word = first / kWordBits;
        const int64_t size = last - first;
        const uint64_t range = (size == kWordBits ? ~uint64_t{0} : (uint64_t{1} << size) - 1)
                               << (first % kWordBits);
        const uint64_t zeros = zero_rows_[static_cast<size_t>(word)];
        const uint64_t kind = disabled_rows ? zeros : ~zeros;
        const uint64_t bits = range & kind;
        if (bits == 0) continue;
        row_mask_[static_cast<size_t>(word)] |= bits;
        first_word = std::min(first_word, word);
        last_word = std::max(last_word, word + 1);
        continue;
      }
      for (int64_t word = first / kWordBits; word <= (last - 1) / kWordBits; ++word) {
        const uint64_t zeros = zero_rows_[static_cast<size_t>(word)];
        const uint64_t kind = disabled_rows ? zeros : ~zeros;
        const uint64_t bits = row_range_bits(first, last, word) & kind;
        if (bits == 0) continue;
        row_mask_[static_cast<size_t>(word)] |= bits;
        first_word = std::min(first_word, word);
        last_word = std::max(last_word, word + 1);
      }
    }
    close();
  };
  const bool fused = !analog_errors_;
  int64_t step = 0;
  for_each_group(false, [&](int64_t first, int64_t last) {
    const AdcRange& range = step_range(plan, step++);
    if (fused) {
      read_step_ideal(first, last, input_bits, plane_value, range, column_reading_.data());
      return;
    }
    for (int plane = 0; plane < input_bits; ++plane) {
      for (int64_t w = first; w < last; ++w)
        active_rows_[w] = plane_rows_[plane * words + w] & row_mask_[w];
      column_partial_sums(array.cell_bits_by_word.data(), used, params_.cell_bits, first, last,
                          active_rows_.data(), partial_sums_.data());
      read_columns(partial_sums_.data(), range, plane_value[plane], column_reading_.data());
    }
  });
  if (plan.compensating) {
    int64_t mask_step = 0;
    for_each_group(true, [&](int64_t first, int64_t last) {
      if (fused) {
        read_step_ideal(first, last, 1, nullptr, mask_range(mask_step++), mask_reading_.data());
        return;
      }
      column_partial_sums(array.cell_bits_by_word.data(), used, params_.cell_bits, first, last,
                          row_mask_.data(), partial_sums_.data());
      read_columns(partial_sums_.data(), mask_range(mask_step++), 1, mask_reading_.data());
    });
  }
  combine_readings(plan, input_sum, input_zero_point, result);
}

}  // namespace cimtlm::cim
