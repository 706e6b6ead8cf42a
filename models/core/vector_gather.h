// The byte transposition behind the controller's im2col: for a stride-1 convolution, the input
// vectors of consecutive output positions along a row read consecutive bytes of each tap's
// input row, so a run of vectors is a transpose of (tile rows) x (positions) bytes.
#pragma once

#include <cstdint>

namespace cimtlm::core {

// vectors[v * rows + r] = base[offsets[r] + v] for r < rows and v < count: 16x16 byte blocks
// (and 16x8 ones for a tail of 8 to 15 positions) transposed in SSE2 registers where the host has
// them, the rest byte by byte. Reads only the bytes named.
void gather_transposed(const uint8_t* base, const int64_t* offsets, int64_t rows, int64_t count,
                       uint8_t* vectors);

}  // namespace cimtlm::core
