// The bit-serial path's inner loop with an ideal ADC (no offset, no noise): the column popcounts
// of one activation step for every input plane and their ADC readings in one pass, each partial
// sum read while it is still in a register instead of being stored and read back per plane.
// With an ideal ADC a conversion draws no random number, so the order in which the (plane,
// column) readings are taken does not change the result (integer sums); a noisy ADC keeps the
// per-plane loop of cim_bit_serial.cpp.
#pragma once

#include <cstdint>

namespace cimtlm::cim {

// One activation step of the loaded array, every input plane of it.
struct StepColumns {
  const uint64_t* cells_by_word = nullptr;  // [row word][cell bit][physical col]: stored bits
  int64_t columns = 0;                      // physical columns read
  int cell_bits = 1;
  int64_t first_word = 0, last_word = 0;  // the step's row words
  // [plane][word - first_word]: the step's rows that conduct in each plane.
  const uint64_t* active = nullptr;
  int planes = 0;                        // 1..8
  const int32_t* plane_value = nullptr;  // per plane: its place value (+-2^j; 1 for a mask plane)
  int shift = 0;                         // AdcRange::shift
  int32_t top_code = 0;                  // 2^adc_bits - 1
};

// readings[p] += sum over planes j of plane_value[j] x adc_ideal_reading(P_jp), where
// P_jp = sum over the step's words w and cell bits b of 2^b x popcount(cells[w][b][p] &
// active[j][w]). Partial sums and readings are int32, as in cim_bit_serial.cpp (a column reads <
// 2^31).
void accumulate_step_ideal(const StepColumns& step, int32_t* readings);

// The kernels behind accumulate_step_ideal, for tests that compare them on any host.
enum class ColumnKernel { Portable, Avx2, Avx512 };
bool column_kernel_available(ColumnKernel kernel);
void accumulate_step_ideal_with(ColumnKernel kernel, const StepColumns& step, int32_t* readings);

}  // namespace cimtlm::cim
