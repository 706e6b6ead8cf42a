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
// Auto uses oneDNN only for products large enough for it to win (kOneDnnMinRows rows and
// kOneDnnMinMacs multiply-accumulates): below that its per-call cost exceeds the portable
// kernel's whole product. oneDNN (libdnnl with libgomp and the OpenCL loader) is opened with
// dlopen on the first such product, so that a run of small products never loads it: loading
// and initialising it was about a tenth of a tiny run's time (issue 10, target 2).
// Zero points are applied as corrections on the raw product (row sums of A, column sums of B),
// so that both backends see plain codes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cimtlm::kernel {

enum class GemmBackend {
  Auto,             // oneDNN for large products when it is exact on this CPU, else Portable
  OneDnnWhenExact,  // oneDNN for every product when it is exact on this CPU (tests)
  Portable,         // the int16 kernel, always
};

// Auto's thresholds for oneDNN: below them the portable kernel was as fast or faster on an
// AVX512-VNNI host (docs/performance.md, "Round 5: start-up").
constexpr int64_t kOneDnnMinRows = 8;
constexpr int64_t kOneDnnMinMacs = int64_t{1} << 18;

// What Auto uses on this host, for reports: starts with "onednn-vnni" (for large products, the
// rest portable) or "portable". Asking loads oneDNN (to learn whether it is exact here).
std::string int8_gemm_auto_backend();

// Whether this process has loaded oneDNN (tests: small products must not).
bool onednn_loaded();

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
  // The oneDNN layout below, made on the first product that uses oneDNN (most weights never
  // need it). Like Int8Gemm, a weights object is used by one thread at a time.
  void prepare_onednn() const;

  int64_t k_ = 0, n_ = 0;
  GemmBackend backend_ = GemmBackend::Auto;
  bool codes_signed_ = false;
  std::vector<int32_t> zero_points_;  // per column, as given (the codes are centered_ + these)
  // Portable: [n][padded k] of b - zero_point, zero padded.
  std::vector<int16_t> centered_;
  int64_t padded_k_ = 0;
  // oneDNN: b - 128 for uint8 codes (as int8), with the zero points moved alike.
  mutable bool onednn_ready_ = false;
  mutable std::vector<int8_t> shifted_;
  mutable std::vector<int64_t> zero_point_;  // per column, of the (shifted) codes
  mutable std::vector<int64_t> column_sum_;  // per column: sum over k of the (shifted) codes
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
  std::vector<uint32_t> row_sum_;            // oneDNN path: per row of A, sum of its codes
  std::vector<uint32_t> column_constant_;    // per column: k za zb - za sum b, modulo 2^32
  std::vector<uint32_t> column_zero_point_;  // per column: zb, modulo 2^32
  std::vector<int32_t> product_;
  std::vector<int16_t> centered_a_;
};

}  // namespace cimtlm::kernel
