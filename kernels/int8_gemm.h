// Exact integer matrix products of 8-bit codes with zero points, the host kernel behind the CIM
// macro's lossless path and the reference executor's quantized Conv/MatMul (plain C++, no
// SystemC, so that compiler/graph can share it):
//
//   out[m * out_stride + n] (+)= sum_k (a[m][k] - a_zero_point) * (b[k][n] - b_zero_point[n])
//
// Operands are int8 or uint8 codes. The product is exact in int32 for K <= 32768 (|a - za| and
// |b - zb| are at most 255). Accumulation wraps in two's complement, like an int32 adder.
//
// Backends, picked at run time (no -march=native in the build):
//   * oneDNN's u8 x s8 -> s32 matmul where the CPU has VNNI (AVX512-VNNI or AVX-VNNI): its dot
//     product instruction sums four byte products straight into int32, so it is exact;
//   * a portable int16 kernel (compiled for AVX-512BW, AVX2 and the baseline ISA) elsewhere:
//     without VNNI, oneDNN multiplies bytes with vpmaddubsw, which saturates pairs of products
//     at int16 and so is not exact for large codes (testbenches/unit/kernel/test_int8_gemm.cpp
//     shows it with the extreme codes under DNNL_MAX_CPU_ISA=AVX2).
// Zero points are applied as corrections on the raw product (row sums of A, column sums of B),
// so that both backends see plain codes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace cimtlm::kernel {

enum class GemmBackend {
  Auto,      // oneDNN when it is exact on this CPU, else Portable
  Portable,  // the int16 kernel, always
};

// Which backend Auto uses on this host ("onednn-vnni" or "portable"), for reports.
const char* int8_gemm_auto_backend();

// B prepared once for many products (a weight tile, a layer's weights): K x N codes, row-major.
class Int8Weights {
 public:
  Int8Weights() = default;
  // `codes` is k x n, row-major; `zero_points` has n entries (per output column).
  Int8Weights(const uint8_t* codes, bool codes_signed, int64_t k, int64_t n,
              const int32_t* zero_points, GemmBackend backend = GemmBackend::Auto);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  bool empty() const { return n_ == 0; }

 private:
  friend class Int8Gemm;
  int64_t k_ = 0, n_ = 0;
  bool use_onednn_ = false;
  // oneDNN: b - 128 for uint8 codes (as int8), with the zero points moved alike.
  std::vector<int8_t> shifted_;
  std::vector<int64_t> zero_point_;  // per column, of the (shifted) codes
  std::vector<int64_t> column_sum_;  // per column: sum over k of the (shifted) codes
  // Portable: [n][padded k] of b - zero_point, zero padded.
  std::vector<int16_t> centered_;
  int64_t padded_k_ = 0;
};

// One product engine: owns the oneDNN engine, stream and primitives (cached by shape) and the
// scratch buffers; not thread safe (one per model instance).
class Int8Gemm {
 public:
  Int8Gemm();
  ~Int8Gemm();
  Int8Gemm(const Int8Gemm&) = delete;
  Int8Gemm& operator=(const Int8Gemm&) = delete;

  // A is m x weights.k() codes, row-major (row stride a_stride >= k).
  void multiply(const Int8Weights& weights, const uint8_t* a, bool a_signed, int64_t m,
                int64_t a_stride, int32_t a_zero_point, int32_t* out, int64_t out_stride,
                bool accumulate);

 private:
  struct OneDnn;
  std::unique_ptr<OneDnn> onednn_;
  std::vector<uint8_t> shifted_a_;
  std::vector<int64_t> row_sum_;
  std::vector<int32_t> product_;
  std::vector<int16_t> centered_a_;
};

}  // namespace cimtlm::kernel
