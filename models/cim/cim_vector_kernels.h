// The per-input-vector host kernels of the CIM model (cim_array_model.h), outside the column
// popcounts: the statistics of a vector's row blocks (zero inputs, input-plane ones, the signal
// sums of the signal-dependent ADC energy, the sum of the codes), the vector's bit planes packed
// into row masks, and the shift-add of column readings across weight slices. Each has a portable
// version and an AVX2 one picked at run time (no -march=native), as cim_column_kernels.h does;
// the tests compare both with the definitions (CimVectorKernels.*).
#pragma once

#include <cstdint>

namespace cimtlm::cim {

enum class VectorKernel { Portable, Avx2 };
bool vector_kernel_available(VectorKernel kernel);

// One input vector's row blocks: rows [b * block_rows, min(rows, (b + 1) * block_rows)).
struct BlockSumsJob {
  const uint8_t* codes = nullptr;  // `rows` raw 8-bit codes
  int64_t rows = 0;
  int64_t block_rows = 1;
  uint8_t code_mask = 0xff;  // the input bits (2^input_bits - 1)
  uint8_t zero_code = 0;     // the input zero point as a code
  bool codes_signed = false;
  // Per row, the sum of its stored cell values (signal-dependent ADC energy), or null for none.
  // cells16 must make every block's sum of popcount x cells fit in int32 (the caller checks).
  const int16_t* cells16 = nullptr;
  const int32_t* cells32 = nullptr;  // used when cells16 is null
  // Outputs, per block (signal and zero_cells only with cells).
  int64_t* zeros = nullptr;       // codes equal to zero_code
  int64_t* ones = nullptr;        // sum of popcount(code & code_mask)
  int64_t* signal = nullptr;      // sum of popcount(code & code_mask) x cells[r]
  int64_t* zero_cells = nullptr;  // sum of cells[r] over the zero-code rows
};
struct VectorSums {
  int64_t zeros = 0;     // over the vector
  int64_t code_sum = 0;  // sum of the decoded codes (signed or unsigned)
};
VectorSums block_sums(const BlockSumsJob& job);
VectorSums block_sums_with(VectorKernel kernel, const BlockSumsJob& job);

// planes[j * words + w] = the rows of word w whose code has bit j set (j < input_bits), and,
// when zero_rows is given, zero_rows[w] = the rows whose code is zero_code; words = ceil(rows /
// 64). Every word is written (no need to clear before).
struct PlanePackJob {
  const uint8_t* codes = nullptr;
  int64_t rows = 0;
  int input_bits = 8;
  uint8_t zero_code = 0;
  uint64_t* planes = nullptr;
  uint64_t* zero_rows = nullptr;  // or null
};
void pack_planes(const PlanePackJob& job);
void pack_planes_with(VectorKernel kernel, const PlanePackJob& job);

// out[c] = sum over k < per_column of readings[c * per_column + k] x place[k], c < columns, in
// int64 (place values fit int32: +-2^(slice * cell_bits)).
void shift_add_columns(const int32_t* readings, int64_t columns, int64_t per_column,
                       const int64_t* place, int64_t* out);
void shift_add_columns_with(VectorKernel kernel, const int32_t* readings, int64_t columns,
                            int64_t per_column, const int64_t* place, int64_t* out);

}  // namespace cimtlm::cim
