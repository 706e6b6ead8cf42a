// Shared helpers of the CIM tests: the reference executor as oracle, random tiles and vectors.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "compiler/graph/reference_executor.h"
#include "models/cim/cim_array_model.h"

namespace cimtlm::cim::test {

// Exact int32 results of ONNX MatMulInteger(x [vectors, rows], w [rows, cols], x_zp, w_zp[cols])
// computed by the reference executor (the golden model).
inline std::vector<int32_t> reference_matmul(const std::vector<uint8_t>& x, bool x_signed,
                                             int64_t vectors, int64_t rows, int32_t x_zero_point,
                                             const std::vector<uint8_t>& w, bool w_signed,
                                             int64_t cols,
                                             const std::vector<int32_t>& w_zero_points) {
  using graph::DataType;
  using graph::Tensor;
  auto tensor8 = [](const std::vector<uint8_t>& codes, bool is_signed, graph::Shape shape) {
    if (!is_signed) return Tensor::from<uint8_t>(std::move(shape), codes);
    std::vector<int8_t> values(codes.size());
    for (size_t i = 0; i < codes.size(); ++i) values[i] = static_cast<int8_t>(codes[i]);
    return Tensor::from<int8_t>(std::move(shape), values);
  };
  auto zero_points8 = [](const std::vector<int32_t>& values, bool is_signed, graph::Shape shape) {
    std::vector<uint8_t> codes;
    for (int32_t value : values) codes.push_back(static_cast<uint8_t>(value));
    if (!is_signed) return Tensor::from<uint8_t>(std::move(shape), codes);
    std::vector<int8_t> signed_codes(codes.begin(), codes.end());
    return Tensor::from<int8_t>(std::move(shape), signed_codes);
  };

  graph::Graph g;
  g.name = "cim_oracle";
  const Tensor a = tensor8(x, x_signed, {vectors, rows});
  g.inputs.push_back({"a", a.type(), a.shape()});
  g.initializers["b"] = tensor8(w, w_signed, {rows, cols});
  g.initializers["a_zp"] = zero_points8({x_zero_point}, x_signed, {});
  g.initializers["b_zp"] = zero_points8(w_zero_points, w_signed, {cols});
  graph::Node node;
  node.name = "matmul";
  node.op_type = "MatMulInteger";
  node.inputs = {"a", "b", "a_zp", "b_zp"};
  node.outputs = {"y"};
  g.nodes.push_back(node);
  g.outputs.push_back({"y", DataType::Int32, {vectors, cols}});
  graph::ReferenceExecutor executor(g);
  const Tensor y = executor.run({{"a", a}}).at("y");
  const int32_t* data = y.data<int32_t>();
  return std::vector<int32_t>(data, data + y.elements());
}

struct CodeRange {
  int32_t lo;
  int32_t hi;
};
inline CodeRange code_range(int bits, bool is_signed) {
  if (is_signed) return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  return {0, (1 << bits) - 1};
}

inline int32_t uniform(std::mt19937_64& rng, int32_t lo, int32_t hi) {
  return std::uniform_int_distribution<int32_t>(lo, hi)(rng);
}

// A weight tile with its zero points (kept alive for the view).
struct Tile {
  std::vector<uint8_t> values;
  std::vector<int32_t> zero_points;
  bool is_signed = true;
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 8;
  WeightTileView view() const {
    return {values.data(), is_signed, rows, cols, bits, zero_points.data()};
  }
};

inline Tile random_tile(std::mt19937_64& rng, int64_t rows, int64_t cols, int bits, bool is_signed,
                        bool asymmetric) {
  Tile tile;
  tile.rows = rows;
  tile.cols = cols;
  tile.bits = bits;
  tile.is_signed = is_signed;
  const CodeRange range = code_range(bits, is_signed);
  tile.values.resize(static_cast<size_t>(rows * cols));
  for (auto& code : tile.values) code = static_cast<uint8_t>(uniform(rng, range.lo, range.hi));
  for (int64_t c = 0; c < cols; ++c) {
    tile.zero_points.push_back(asymmetric ? uniform(rng, range.lo, range.hi)
                                          : (is_signed ? 0 : range.hi / 2));
  }
  return tile;
}

// Input vectors whose zero rows (= zero point) are chosen per vector: a fraction `sparsity` of
// the rows, scattered or, when `clustered`, in whole blocks of `block` rows first.
inline std::vector<uint8_t> random_inputs(std::mt19937_64& rng, int64_t vectors, int64_t rows,
                                          int bits, bool is_signed, int32_t zero_point,
                                          const std::vector<double>& sparsities, int64_t block,
                                          bool clustered) {
  const CodeRange range = code_range(bits, is_signed);
  const bool zero_fits = zero_point >= range.lo && zero_point <= range.hi;
  std::vector<uint8_t> codes(static_cast<size_t>(vectors * rows));
  for (int64_t v = 0; v < vectors; ++v) {
    const double sparsity = sparsities[static_cast<size_t>(v) % sparsities.size()];
    std::vector<bool> zero(static_cast<size_t>(rows), false);
    if (zero_fits) {
      auto zeros = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(rows)));
      if (clustered) {
        for (int64_t b = 0; (b + 1) * block <= rows && zeros >= block; ++b) {
          if (uniform(rng, 0, 1) == 0) continue;
          for (int64_t r = b * block; r < (b + 1) * block; ++r) zero[static_cast<size_t>(r)] = true;
          zeros -= block;
        }
      }
      std::vector<int64_t> order;
      for (int64_t r = 0; r < rows; ++r) {
        if (!zero[static_cast<size_t>(r)]) order.push_back(r);
      }
      std::shuffle(order.begin(), order.end(), rng);
      for (int64_t i = 0; i < zeros && i < static_cast<int64_t>(order.size()); ++i)
        zero[static_cast<size_t>(order[i])] = true;
    }
    for (int64_t r = 0; r < rows; ++r) {
      int32_t x = zero_point;
      if (!zero[static_cast<size_t>(r)]) {
        // Any code but the zero point, so that the sparsity is exactly the chosen one.
        x = uniform(rng, range.lo, zero_fits ? range.hi - 1 : range.hi);
        if (zero_fits && x >= zero_point) ++x;
      }
      codes[static_cast<size_t>(v * rows + r)] = static_cast<uint8_t>(x);
    }
  }
  return codes;
}

}  // namespace cimtlm::cim::test
