// The exact 8-bit product: both backends against a plain int64 reference, on random codes and on
// the extreme codes that make a saturating byte multiply (vpmaddubsw) go wrong. ctest runs this
// binary twice: as it is (oneDNN on a VNNI host) and under DNNL_MAX_CPU_ISA=AVX2, where the
// automatic choice must fall back to the portable kernel and stay exact.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/int8_gemm.h"

namespace cimtlm::kernel {
namespace {

struct Case {
  int64_t m, k, n;
  bool a_signed, b_signed;
};

int32_t decode(uint8_t code, bool is_signed) {
  return is_signed ? static_cast<int8_t>(code) : code;
}

std::vector<int32_t> reference(const std::vector<uint8_t>& a, bool a_signed, int32_t a_zp,
                               const std::vector<uint8_t>& b, bool b_signed,
                               const std::vector<int32_t>& b_zp, int64_t m, int64_t k, int64_t n) {
  std::vector<int32_t> out(static_cast<size_t>(m * n));
  for (int64_t row = 0; row < m; ++row) {
    for (int64_t col = 0; col < n; ++col) {
      int64_t sum = 0;
      for (int64_t i = 0; i < k; ++i) {
        sum += int64_t{decode(a[row * k + i], a_signed) - a_zp} *
               (decode(b[i * n + col], b_signed) - b_zp[col]);
      }
      out[row * n + col] = static_cast<int32_t>(sum);
    }
  }
  return out;
}

void check(const Case& c, GemmBackend backend, bool extreme, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> a(static_cast<size_t>(c.m * c.k)), b(static_cast<size_t>(c.k * c.n));
  // Extreme codes: the largest |a - za| x |b - zb| everywhere (255 x 128 for uint8 x int8).
  const uint8_t a_extreme = c.a_signed ? 0x80 : 0xff;
  const uint8_t b_extreme = c.b_signed ? 0x80 : 0xff;
  for (auto& v : a) v = extreme ? a_extreme : static_cast<uint8_t>(rng());
  for (auto& v : b) v = extreme ? b_extreme : static_cast<uint8_t>(rng());
  const int32_t a_zp = extreme ? (c.a_signed ? 127 : 0) : (c.a_signed ? -3 : 131);
  std::vector<int32_t> b_zp(static_cast<size_t>(c.n));
  for (int64_t col = 0; col < c.n; ++col) {
    b_zp[col] = extreme
                    ? (c.b_signed ? 127 : 0)
                    : static_cast<int32_t>(c.b_signed ? int64_t(rng() % 256) - 128 : rng() % 256);
  }
  const Int8Weights weights(b.data(), c.b_signed, c.k, c.n, b_zp.data(), backend);
  Int8Gemm gemm;
  // Written with a row stride wider than n, and accumulated once on top of a first product.
  const int64_t stride = c.n + 3;
  std::vector<int32_t> out(static_cast<size_t>(c.m * stride), 7);
  gemm.multiply(weights, a.data(), c.a_signed, c.m, c.k, a_zp, out.data(), stride, false);
  gemm.multiply(weights, a.data(), c.a_signed, c.m, c.k, a_zp, out.data(), stride, true);
  const auto expected = reference(a, c.a_signed, a_zp, b, c.b_signed, b_zp, c.m, c.k, c.n);
  for (int64_t row = 0; row < c.m; ++row) {
    for (int64_t col = 0; col < c.n; ++col) {
      const auto twice = static_cast<int32_t>(2 * static_cast<uint32_t>(expected[row * c.n + col]));
      ASSERT_EQ(out[row * stride + col], twice) << "row " << row << " col " << col;
    }
    EXPECT_EQ(out[row * stride + c.n], 7) << "wrote past the columns";
  }
}

class Int8GemmExact : public testing::TestWithParam<std::tuple<Case, bool>> {};

TEST_P(Int8GemmExact, AutoBackendMatchesReference) {
  const auto& [c, extreme] = GetParam();
  check(c, GemmBackend::Auto, extreme, 1);
}

TEST_P(Int8GemmExact, OneDnnWhenExactBackendMatchesReference) {
  const auto& [c, extreme] = GetParam();
  check(c, GemmBackend::OneDnnWhenExact, extreme, 3);
}

TEST_P(Int8GemmExact, PortableBackendMatchesReference) {
  const auto& [c, extreme] = GetParam();
  check(c, GemmBackend::Portable, extreme, 2);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Int8GemmExact,
    testing::Combine(testing::Values(Case{1, 1, 1, false, true}, Case{5, 17, 3, false, true},
                                     Case{33, 256, 32, false, true}, Case{7, 300, 65, true, true},
                                     Case{9, 64, 10, false, false}, Case{4, 1024, 8, true, false},
                                     Case{2, 16384, 4, false, true},
                                     // Large enough for Auto to use oneDNN on a VNNI host.
                                     Case{kOneDnnMinRows, 512, 64, true, true},
                                     Case{64, 96, 80, false, true}),
                     testing::Bool()));

TEST(Int8Gemm, ReportsItsBackend) {
  const std::string backend = int8_gemm_auto_backend();
  EXPECT_TRUE(backend.rfind("onednn-vnni for products of >= ", 0) == 0 || backend == "portable")
      << backend;
}

// Small products never load oneDNN (a tiny run's start-up, issue 10); the first large one does
// where oneDNN is exact. gtest_discover_tests runs this in a process of its own.
TEST(Int8Gemm, LoadsOneDnnOnlyForALargeProduct) {
  if (onednn_loaded()) GTEST_SKIP() << "an earlier test in this process loaded oneDNN";
  const int64_t k = 256, n = 64, large_m = kOneDnnMinMacs / (k * n);
  ASSERT_GE(large_m, kOneDnnMinRows);
  std::vector<uint8_t> a(static_cast<size_t>(large_m * k), 200), b(static_cast<size_t>(k * n), 3);
  const std::vector<int32_t> zero_points(static_cast<size_t>(n), 1);
  const Int8Weights weights(b.data(), true, k, n, zero_points.data());
  Int8Gemm gemm;
  std::vector<int32_t> out(static_cast<size_t>(large_m * n));
  // (200 - 100) x (3 - 1) summed over k.
  gemm.multiply(weights, a.data(), false, kOneDnnMinRows - 1, k, 100, out.data(), n, false);
  EXPECT_EQ(out[0], 100 * 2 * k);
  EXPECT_FALSE(onednn_loaded()) << "fewer rows than kOneDnnMinRows loaded oneDNN";
  gemm.multiply(weights, a.data(), false, large_m, k, 100, out.data(), n, false);
  EXPECT_EQ(out[static_cast<size_t>(large_m * n - 1)], 100 * 2 * k);
  // Whether oneDNN is exact here is only known once it is loaded (the question loads it), so
  // ask after the products.
  const bool loaded_by_products = onednn_loaded();
  if (int8_gemm_auto_backend() != "portable") {
    EXPECT_TRUE(loaded_by_products);
  }
}

}  // namespace
}  // namespace cimtlm::kernel
