#include "kernels/int8_gemm.h"

// CIMTLM_WITH_ONEDNN (CMake option, off in models-only builds): without it only the portable
// kernel exists, so the models need nothing but SystemC.
#if CIMTLM_WITH_ONEDNN
#include <omp.h>
#endif

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <tuple>

#if CIMTLM_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace cimtlm::kernel {

namespace {

// oneDNN is exact only with a byte dot-product instruction (see the header).
bool onednn_is_exact() {
#if !CIMTLM_WITH_ONEDNN
  return false;
#else
  static const bool exact = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
           isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
  }();
  return exact;
#endif
}

int32_t decode(uint8_t code, bool is_signed) {
  return is_signed ? static_cast<int32_t>(static_cast<int8_t>(code)) : static_cast<int32_t>(code);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CIMTLM_GEMM_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define CIMTLM_GEMM_CLONES
#endif

// out[m][n] = sum_k a[m][k] * b[n][k] over int16 operands padded to a multiple of 32 (exact in
// int32: |a|, |b| <= 255 and k <= 32768). Four columns at a time share each load of a.
CIMTLM_GEMM_CLONES
void int16_products(const int16_t* a, int64_t m, const int16_t* b, int64_t n, int64_t padded_k,
                    int32_t* out) {
  for (int64_t row = 0; row < m; ++row) {
    const int16_t* x = a + row * padded_k;
    int32_t* result = out + row * n;
    int64_t col = 0;
    for (; col + 4 <= n; col += 4) {
      const int16_t* w0 = b + col * padded_k;
      const int16_t* w1 = w0 + padded_k;
      const int16_t* w2 = w1 + padded_k;
      const int16_t* w3 = w2 + padded_k;
      int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t k = 0; k < padded_k; ++k) {
        const int32_t value = x[k];
        s0 += value * w0[k];
        s1 += value * w1[k];
        s2 += value * w2[k];
        s3 += value * w3[k];
      }
      result[col] = s0;
      result[col + 1] = s1;
      result[col + 2] = s2;
      result[col + 3] = s3;
    }
    for (; col < n; ++col) {
      const int16_t* w = b + col * padded_k;
      int32_t sum = 0;
      for (int64_t k = 0; k < padded_k; ++k) sum += static_cast<int32_t>(x[k]) * w[k];
      result[col] = sum;
    }
  }
}

constexpr int64_t kPadding = 32;

int64_t padded(int64_t k) { return (k + kPadding - 1) / kPadding * kPadding; }

void store(int32_t* out, int64_t value, bool accumulate) {
  // The exact value fits int32; accumulation wraps like a hardware adder.
  const auto bits = static_cast<uint32_t>(value);
  *out = static_cast<int32_t>(accumulate ? static_cast<uint32_t>(*out) + bits : bits);
}

}  // namespace

const char* int8_gemm_auto_backend() { return onednn_is_exact() ? "onednn-vnni" : "portable"; }

Int8Weights::Int8Weights(const uint8_t* codes, bool codes_signed, int64_t k, int64_t n,
                         const int32_t* zero_points, GemmBackend backend)
    : k_(k), n_(n) {
  if (k < 1 || n < 1 || k > 32768) throw std::invalid_argument("Int8Weights: bad shape");
  use_onednn_ = backend == GemmBackend::Auto && onednn_is_exact();
  if (use_onednn_) {
    // uint8 codes b become int8 b - 128; their zero point moves by the same amount.
    const int32_t shift = codes_signed ? 0 : 128;
    shifted_.resize(static_cast<size_t>(k * n));
    column_sum_.assign(static_cast<size_t>(n), 0);
    zero_point_.resize(static_cast<size_t>(n));
    for (int64_t row = 0; row < k; ++row) {
      for (int64_t col = 0; col < n; ++col) {
        const int32_t value = decode(codes[row * n + col], codes_signed) - shift;
        shifted_[static_cast<size_t>(row * n + col)] = static_cast<int8_t>(value);
        column_sum_[static_cast<size_t>(col)] += value;
      }
    }
    for (int64_t col = 0; col < n; ++col) zero_point_[static_cast<size_t>(col)] = zero_points[col] - shift;
    return;
  }
  padded_k_ = padded(k);
  centered_.assign(static_cast<size_t>(n * padded_k_), 0);
  for (int64_t row = 0; row < k; ++row) {
    for (int64_t col = 0; col < n; ++col) {
      centered_[static_cast<size_t>(col * padded_k_ + row)] =
          static_cast<int16_t>(decode(codes[row * n + col], codes_signed) - zero_points[col]);
    }
  }
}

#if !CIMTLM_WITH_ONEDNN
struct Int8Gemm::OneDnn {};  // never made: onednn_is_exact() is false
#else
// oneDNN objects: an engine, a stream, and matmul primitives by (m, k, n, a row stride).
struct Int8Gemm::OneDnn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, dnnl::matmul> primitives;

  dnnl::matmul& primitive(int64_t m, int64_t k, int64_t n, int64_t a_stride) {
    const auto key = std::make_tuple(m, k, n, a_stride);
    auto found = primitives.find(key);
    if (found != primitives.end()) return found->second;
    if (primitives.size() >= 512) primitives.clear();  // bound the memory of odd shapes
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a_desc({m, k}, dt::u8, {a_stride, 1});
    const dnnl::memory::desc b_desc({k, n}, dt::s8, dnnl::memory::format_tag::ab);
    const dnnl::memory::desc c_desc({m, n}, dt::s32, dnnl::memory::format_tag::ab);
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_desc, b_desc, c_desc),
                                                  engine);
    return primitives.emplace(key, dnnl::matmul(descriptor)).first->second;
  }
};

#endif

Int8Gemm::Int8Gemm() {
#if CIMTLM_WITH_ONEDNN
  if (onednn_is_exact()) {
    // One thread: a simulation is single threaded, and sweeps run many of them side by side.
    omp_set_num_threads(1);
    onednn_ = std::make_unique<OneDnn>();
  }
#endif
}

Int8Gemm::~Int8Gemm() = default;

void Int8Gemm::multiply(const Int8Weights& weights, const uint8_t* a, bool a_signed, int64_t m,
                        int64_t a_stride, int32_t a_zero_point, int32_t* out, int64_t out_stride,
                        bool accumulate) {
  const int64_t k = weights.k_;
  const int64_t n = weights.n_;
  if (m <= 0) return;
  if (a_stride < k || out_stride < n) throw std::invalid_argument("Int8Gemm: bad stride");

  if (!weights.use_onednn_ || !onednn_) {
    const int64_t padded_k = weights.padded_k_;
    centered_a_.assign(static_cast<size_t>(m * padded_k), 0);
    for (int64_t row = 0; row < m; ++row) {
      const uint8_t* codes = a + row * a_stride;
      int16_t* centered = centered_a_.data() + row * padded_k;
      for (int64_t col = 0; col < k; ++col)
        centered[col] = static_cast<int16_t>(decode(codes[col], a_signed) - a_zero_point);
    }
    product_.resize(static_cast<size_t>(m * n));
    int16_products(centered_a_.data(), m, weights.centered_.data(), n, padded_k, product_.data());
    for (int64_t row = 0; row < m; ++row) {
      for (int64_t col = 0; col < n; ++col)
        store(out + row * out_stride + col, product_[static_cast<size_t>(row * n + col)], accumulate);
    }
    return;
  }
#if CIMTLM_WITH_ONEDNN

  // oneDNN takes uint8 A: int8 codes become a + 128, their zero point likewise.
  const uint8_t* codes = a;
  int64_t stride = a_stride;
  int64_t zero_point = a_zero_point;
  row_sum_.assign(static_cast<size_t>(m), 0);
  if (a_signed) {
    shifted_a_.resize(static_cast<size_t>(m * k));
    for (int64_t row = 0; row < m; ++row) {
      const uint8_t* source = a + row * a_stride;
      uint8_t* target = shifted_a_.data() + row * k;
      int64_t sum = 0;
      for (int64_t col = 0; col < k; ++col) {
        target[col] = static_cast<uint8_t>(source[col] ^ 0x80u);
        sum += target[col];
      }
      row_sum_[static_cast<size_t>(row)] = sum;
    }
    codes = shifted_a_.data();
    stride = k;
    zero_point += 128;
  } else {
    for (int64_t row = 0; row < m; ++row) {
      const uint8_t* source = a + row * a_stride;
      int64_t sum = 0;
      for (int64_t col = 0; col < k; ++col) sum += source[col];
      row_sum_[static_cast<size_t>(row)] = sum;
    }
  }

  product_.resize(static_cast<size_t>(m * n));
  dnnl::matmul& matmul = onednn_->primitive(m, k, n, stride);
  using dt = dnnl::memory::data_type;
  dnnl::memory a_memory({{m, k}, dt::u8, {stride, 1}}, onednn_->engine,
                        const_cast<uint8_t*>(codes));
  dnnl::memory b_memory({{k, n}, dt::s8, dnnl::memory::format_tag::ab}, onednn_->engine,
                        const_cast<int8_t*>(weights.shifted_.data()));
  dnnl::memory c_memory({{m, n}, dt::s32, dnnl::memory::format_tag::ab}, onednn_->engine,
                        product_.data());
  matmul.execute(onednn_->stream,
                 {{DNNL_ARG_SRC, a_memory}, {DNNL_ARG_WEIGHTS, b_memory}, {DNNL_ARG_DST, c_memory}});
  onednn_->stream.wait();

  // sum (a - za)(b - zb) = sum ab - zb sum a - za sum b + k za zb.
  for (int64_t row = 0; row < m; ++row) {
    const int64_t a_sum = row_sum_[static_cast<size_t>(row)];
    const int32_t* product = product_.data() + row * n;
    int32_t* result = out + row * out_stride;
    for (int64_t col = 0; col < n; ++col) {
      const int64_t b_zero_point = weights.zero_point_[static_cast<size_t>(col)];
      const int64_t value = product[col] - b_zero_point * a_sum -
                            zero_point * weights.column_sum_[static_cast<size_t>(col)] +
                            k * zero_point * b_zero_point;
      store(result + col, value, accumulate);
    }
  }
#endif
}

}  // namespace cimtlm::kernel
