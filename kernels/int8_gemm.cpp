#include "kernels/int8_gemm.h"

// CIMTLM_WITH_ONEDNN (CMake option, off in models-only builds): without it only the portable
// kernel exists, so the models need nothing but SystemC. With it, oneDNN's C API is called
// through pointers that dlopen/dlsym fill on first need (only its headers are used at build
// time), so that runs of small products never load libdnnl, libgomp and the OpenCL loader.
#if CIMTLM_WITH_ONEDNN
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>

namespace cimtlm::kernel {

namespace {

#if CIMTLM_WITH_ONEDNN
// The part of oneDNN's C API the products use, resolved from libdnnl.so.2 once per process.
// It is immutable after loading (a cache of code, not model state); a host without libdnnl, or
// one where oneDNN is not exact, gets the portable kernel.
struct OneDnnLibrary {
  decltype(&dnnl_get_effective_cpu_isa) get_effective_cpu_isa = nullptr;
  decltype(&dnnl_engine_create) engine_create = nullptr;
  decltype(&dnnl_engine_destroy) engine_destroy = nullptr;
  decltype(&dnnl_stream_create) stream_create = nullptr;
  decltype(&dnnl_stream_wait) stream_wait = nullptr;
  decltype(&dnnl_stream_destroy) stream_destroy = nullptr;
  decltype(&dnnl_memory_desc_init_by_strides) memory_desc_init_by_strides = nullptr;
  decltype(&dnnl_matmul_desc_init) matmul_desc_init = nullptr;
  decltype(&dnnl_primitive_desc_create) primitive_desc_create = nullptr;
  decltype(&dnnl_primitive_desc_destroy) primitive_desc_destroy = nullptr;
  decltype(&dnnl_primitive_create) primitive_create = nullptr;
  decltype(&dnnl_primitive_execute) primitive_execute = nullptr;
  decltype(&dnnl_primitive_destroy) primitive_destroy = nullptr;
  decltype(&dnnl_memory_create) memory_create = nullptr;
  decltype(&dnnl_memory_destroy) memory_destroy = nullptr;
  bool exact = false;  // loaded, every symbol found, and the CPU has a byte dot product
};

template <typename Function>
bool resolve(void* library, const char* name, Function& function) {
  function = reinterpret_cast<Function>(dlsym(library, name));
  return function != nullptr;
}

OneDnnLibrary load_onednn() {
  OneDnnLibrary api;
  // Kept open for the life of the process: primitives hold JIT code from it.
  void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return api;
  const bool complete =
      resolve(library, "dnnl_get_effective_cpu_isa", api.get_effective_cpu_isa) &&
      resolve(library, "dnnl_engine_create", api.engine_create) &&
      resolve(library, "dnnl_engine_destroy", api.engine_destroy) &&
      resolve(library, "dnnl_stream_create", api.stream_create) &&
      resolve(library, "dnnl_stream_wait", api.stream_wait) &&
      resolve(library, "dnnl_stream_destroy", api.stream_destroy) &&
      resolve(library, "dnnl_memory_desc_init_by_strides", api.memory_desc_init_by_strides) &&
      resolve(library, "dnnl_matmul_desc_init", api.matmul_desc_init) &&
      resolve(library, "dnnl_primitive_desc_create", api.primitive_desc_create) &&
      resolve(library, "dnnl_primitive_desc_destroy", api.primitive_desc_destroy) &&
      resolve(library, "dnnl_primitive_create", api.primitive_create) &&
      resolve(library, "dnnl_primitive_execute", api.primitive_execute) &&
      resolve(library, "dnnl_primitive_destroy", api.primitive_destroy) &&
      resolve(library, "dnnl_memory_create", api.memory_create) &&
      resolve(library, "dnnl_memory_destroy", api.memory_destroy);
  if (!complete) return api;
  // One thread: a simulation is single threaded, and sweeps run many of them side by side.
  // (libgomp comes with libdnnl; dlsym on its handle searches its dependencies too.)
  void (*set_num_threads)(int) = nullptr;
  if (resolve(library, "omp_set_num_threads", set_num_threads)) set_num_threads(1);
  // oneDNN is exact only with a byte dot-product instruction (see the header).
  const dnnl_cpu_isa_t isa = api.get_effective_cpu_isa();
  api.exact = isa == dnnl_cpu_isa_avx512_core_vnni || isa == dnnl_cpu_isa_avx512_core_bf16 ||
              isa == dnnl_cpu_isa_avx512_core_amx || isa == dnnl_cpu_isa_avx2_vnni;
  return api;
}

const OneDnnLibrary& onednn() {
  static const OneDnnLibrary api = load_onednn();
  return api;
}
#endif

bool onednn_is_exact() {
#if CIMTLM_WITH_ONEDNN
  return onednn().exact;
#else
  return false;
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

// int8 codes as uint8 (a + 128): the sign bit flipped, rows packed to stride k.
CIMTLM_GEMM_CLONES
void flip_sign_bits(const uint8_t* a, int64_t m, int64_t k, int64_t a_stride, uint8_t* out) {
  for (int64_t row = 0; row < m; ++row) {
    const uint8_t* source = a + row * a_stride;
    uint8_t* target = out + row * k;
    for (int64_t col = 0; col < k; ++col) target[col] = static_cast<uint8_t>(source[col] ^ 0x80u);
  }
}

// Row sums of uint8 codes, in uint32 (k <= 32768: at most 2^23).
CIMTLM_GEMM_CLONES
void row_sums(const uint8_t* a, int64_t m, int64_t k, int64_t a_stride, uint32_t* sums) {
  for (int64_t row = 0; row < m; ++row) {
    const uint8_t* source = a + row * a_stride;
    uint32_t sum = 0;
    for (int64_t col = 0; col < k; ++col) sum += source[col];
    sums[row] = sum;
  }
}

// out[row][col] (+)= product[row][col] + constant[col] - zero_point[col] * row_sum[row], all
// modulo 2^32 (two's complement int32, as store() keeps it).
CIMTLM_GEMM_CLONES
void correct_products(const int32_t* product, int64_t m, int64_t n, const uint32_t* row_sum,
                      const uint32_t* constant, const uint32_t* zero_point, int32_t* out,
                      int64_t out_stride, bool accumulate) {
  for (int64_t row = 0; row < m; ++row) {
    const uint32_t a_sum = row_sum[row];
    const int32_t* products = product + row * n;
    int32_t* result = out + row * out_stride;
    if (accumulate) {
      for (int64_t col = 0; col < n; ++col) {
        const uint32_t value =
            static_cast<uint32_t>(products[col]) + constant[col] - zero_point[col] * a_sum;
        result[col] = static_cast<int32_t>(static_cast<uint32_t>(result[col]) + value);
      }
    } else {
      for (int64_t col = 0; col < n; ++col) {
        result[col] = static_cast<int32_t>(static_cast<uint32_t>(products[col]) + constant[col] -
                                           zero_point[col] * a_sum);
      }
    }
  }
}

constexpr int64_t kPadding = 32;

int64_t padded(int64_t k) {
  return (k + kPadding - 1) / kPadding * kPadding;
}

void store(int32_t* out, int64_t value, bool accumulate) {
  // The exact value fits int32; accumulation wraps like a hardware adder.
  const auto bits = static_cast<uint32_t>(value);
  *out = static_cast<int32_t>(accumulate ? static_cast<uint32_t>(*out) + bits : bits);
}

}  // namespace

std::string int8_gemm_auto_backend() {
  if (!onednn_is_exact()) return "portable";
  return "onednn-vnni for products of >= " + std::to_string(kOneDnnMinRows) + " rows and " +
         std::to_string(kOneDnnMinMacs) + " MACs (loaded on first use), portable below";
}

bool onednn_loaded() {
#if CIMTLM_WITH_ONEDNN
  // RTLD_NOLOAD: a handle only if the library is already in the process.
  void* library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
  if (library == nullptr) return false;
  dlclose(library);
  return true;
#else
  return false;
#endif
}

Int8Weights::Int8Weights(const uint8_t* codes, bool codes_signed, int64_t k, int64_t n,
                         const int32_t* zero_points, GemmBackend backend)
    : k_(k), n_(n), backend_(backend), codes_signed_(codes_signed) {
  if (k < 1 || n < 1 || k > 32768) throw std::invalid_argument("Int8Weights: bad shape");
  zero_points_.assign(zero_points, zero_points + n);
  padded_k_ = padded(k);
  centered_.assign(static_cast<size_t>(n * padded_k_), 0);
  // Column by column, so that the writes are contiguous; the signedness is decided once.
  for (int64_t col = 0; col < n; ++col) {
    int16_t* out = centered_.data() + col * padded_k_;
    const int32_t zero_point = zero_points[col];
    if (codes_signed) {
      for (int64_t row = 0; row < k; ++row)
        out[row] = static_cast<int16_t>(static_cast<int8_t>(codes[row * n + col]) - zero_point);
    } else {
      for (int64_t row = 0; row < k; ++row)
        out[row] = static_cast<int16_t>(codes[row * n + col] - zero_point);
    }
  }
}

void Int8Weights::prepare_onednn() const {
  if (onednn_ready_) return;
  // The codes are centered_ + zero point; uint8 codes b become int8 b - 128, and their zero
  // point moves by the same amount.
  const int32_t shift = codes_signed_ ? 0 : 128;
  shifted_.resize(static_cast<size_t>(k_ * n_));
  column_sum_.assign(static_cast<size_t>(n_), 0);
  zero_point_.resize(static_cast<size_t>(n_));
  for (int64_t col = 0; col < n_; ++col) {
    const int32_t zero_point = zero_points_[static_cast<size_t>(col)];
    const int16_t* centered = centered_.data() + col * padded_k_;
    int64_t sum = 0;
    for (int64_t row = 0; row < k_; ++row) {
      const int32_t value = centered[row] + zero_point - shift;
      shifted_[static_cast<size_t>(row * n_ + col)] = static_cast<int8_t>(value);
      sum += value;
    }
    column_sum_[static_cast<size_t>(col)] = sum;
    zero_point_[static_cast<size_t>(col)] = zero_point - shift;
  }
  onednn_ready_ = true;
}

#if !CIMTLM_WITH_ONEDNN
struct Int8Gemm::OneDnn {};  // never made: onednn_is_exact() is false
#else
// oneDNN objects: an engine, a stream, and matmul primitives by (m, k, n, a row stride).
struct Int8Gemm::OneDnn {
  using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t>;
  const OneDnnLibrary& api;
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::map<Shape, dnnl_primitive_t> primitives;

  explicit OneDnn(const OneDnnLibrary& library) : api(library) {
    check(api.engine_create(&engine, dnnl_cpu, 0), "engine");
    check(api.stream_create(&stream, engine, dnnl_stream_default_flags), "stream");
  }
  ~OneDnn() {
    clear();
    if (stream) api.stream_destroy(stream);
    if (engine) api.engine_destroy(engine);
  }
  OneDnn(const OneDnn&) = delete;
  OneDnn& operator=(const OneDnn&) = delete;

  static void check(dnnl_status_t status, const char* what) {
    if (status != dnnl_success) {
      throw std::runtime_error(std::string("oneDNN: ") + what + " failed (status " +
                               std::to_string(static_cast<int>(status)) + ")");
    }
  }
  void clear() {
    for (auto& entry : primitives) api.primitive_destroy(entry.second);
    primitives.clear();
  }
  dnnl_memory_desc_t describe(int64_t rows, int64_t cols, dnnl_data_type_t type,
                              int64_t row_stride) const {
    dnnl_memory_desc_t desc;
    const dnnl_dims_t dims = {rows, cols};
    const dnnl_dims_t strides = {row_stride, 1};
    check(api.memory_desc_init_by_strides(&desc, 2, dims, type, strides), "memory descriptor");
    return desc;
  }

  dnnl_primitive_t primitive(int64_t m, int64_t k, int64_t n, int64_t a_stride) {
    const Shape key{m, k, n, a_stride};
    auto found = primitives.find(key);
    if (found != primitives.end()) return found->second;
    if (primitives.size() >= 512) clear();  // bound the memory of odd shapes
    const dnnl_memory_desc_t a_desc = describe(m, k, dnnl_u8, a_stride);
    const dnnl_memory_desc_t b_desc = describe(k, n, dnnl_s8, n);
    const dnnl_memory_desc_t c_desc = describe(m, n, dnnl_s32, n);
    dnnl_matmul_desc_t matmul;
    check(api.matmul_desc_init(&matmul, &a_desc, &b_desc, nullptr, &c_desc), "matmul descriptor");
    dnnl_primitive_desc_t descriptor = nullptr;
    check(api.primitive_desc_create(&descriptor, &matmul, nullptr, engine, nullptr),
          "matmul primitive descriptor");
    dnnl_primitive_t made = nullptr;
    const dnnl_status_t status = api.primitive_create(&made, descriptor);
    api.primitive_desc_destroy(descriptor);
    check(status, "matmul primitive");
    return primitives.emplace(key, made).first->second;
  }

  // C (m x n, int32) = A (m x k, uint8, row stride a_stride) x B (k x n, int8).
  void run(const uint8_t* a, int64_t m, int64_t k, int64_t a_stride, const int8_t* b, int64_t n,
           int32_t* c) {
    dnnl_primitive_t matmul = primitive(m, k, n, a_stride);
    const dnnl_memory_desc_t a_desc = describe(m, k, dnnl_u8, a_stride);
    const dnnl_memory_desc_t b_desc = describe(k, n, dnnl_s8, n);
    const dnnl_memory_desc_t c_desc = describe(m, n, dnnl_s32, n);
    dnnl_memory_t memories[3] = {nullptr, nullptr, nullptr};
    dnnl_status_t status =
        api.memory_create(&memories[0], &a_desc, engine, const_cast<uint8_t*>(a));
    if (status == dnnl_success)
      status = api.memory_create(&memories[1], &b_desc, engine, const_cast<int8_t*>(b));
    if (status == dnnl_success) status = api.memory_create(&memories[2], &c_desc, engine, c);
    if (status == dnnl_success) {
      const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, memories[0]},
                                       {DNNL_ARG_WEIGHTS, memories[1]},
                                       {DNNL_ARG_DST, memories[2]}};
      status = api.primitive_execute(matmul, stream, 3, args);
      if (status == dnnl_success) status = api.stream_wait(stream);
    }
    for (dnnl_memory_t memory : memories) {
      if (memory) api.memory_destroy(memory);
    }
    check(status, "matmul");
  }
};
#endif

Int8Gemm::Int8Gemm() = default;

Int8Gemm::~Int8Gemm() = default;

void Int8Gemm::multiply(const Int8Weights& weights, const uint8_t* a, bool a_signed, int64_t m,
                        int64_t a_stride, int32_t a_zero_point, int32_t* out, int64_t out_stride,
                        bool accumulate) {
  const int64_t k = weights.k_;
  const int64_t n = weights.n_;
  if (m <= 0) return;
  if (a_stride < k || out_stride < n) throw std::invalid_argument("Int8Gemm: bad stride");

  // Auto asks for oneDNN (and so loads it) only for a large product.
  const bool large = m >= kOneDnnMinRows && m * k * n >= kOneDnnMinMacs;
  const bool want_onednn = weights.backend_ == GemmBackend::OneDnnWhenExact ||
                           (weights.backend_ == GemmBackend::Auto && large);
  if (!want_onednn || !onednn_is_exact()) {
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
        store(out + row * out_stride + col, product_[static_cast<size_t>(row * n + col)],
              accumulate);
    }
    return;
  }
#if CIMTLM_WITH_ONEDNN
  weights.prepare_onednn();
  if (!onednn_) onednn_ = std::make_unique<OneDnn>(onednn());

  // oneDNN takes uint8 A: int8 codes become a + 128, their zero point likewise.
  const uint8_t* codes = a;
  int64_t stride = a_stride;
  int64_t zero_point = a_zero_point;
  row_sum_.resize(static_cast<size_t>(m));
  if (a_signed) {
    shifted_a_.resize(static_cast<size_t>(m * k));
    flip_sign_bits(a, m, k, a_stride, shifted_a_.data());
    codes = shifted_a_.data();
    stride = k;
    zero_point += 128;
  }
  row_sums(codes, m, k, stride, row_sum_.data());

  product_.resize(static_cast<size_t>(m * n));
  onednn_->run(codes, m, k, stride, weights.shifted_.data(), n, product_.data());

  // sum (a - za)(b - zb) = sum ab - zb sum a - za sum b + k za zb, computed modulo 2^32: the
  // exact value fits int32 and the store keeps its low 32 bits, so wrapping uint32 arithmetic
  // gives the same bits as int64 and vectorises.
  column_constant_.resize(static_cast<size_t>(n));
  column_zero_point_.resize(static_cast<size_t>(n));
  for (int64_t col = 0; col < n; ++col) {
    const int64_t b_zero_point = weights.zero_point_[static_cast<size_t>(col)];
    column_constant_[static_cast<size_t>(col)] = static_cast<uint32_t>(
        k * zero_point * b_zero_point - zero_point * weights.column_sum_[static_cast<size_t>(col)]);
    column_zero_point_[static_cast<size_t>(col)] = static_cast<uint32_t>(b_zero_point);
  }
  correct_products(product_.data(), m, n, row_sum_.data(), column_constant_.data(),
                   column_zero_point_.data(), out, out_stride, accumulate);
#endif
}

}  // namespace cimtlm::kernel
