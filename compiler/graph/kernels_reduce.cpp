// Reductions and normalisation of the reference executor: ReduceMean, ReduceSum, ReduceMax,
// ReduceMin (axes as attribute before opset 18, as input from 18, and ReduceSum's input from
// 13), LayerNormalization (opset 17).
//
// Float32 arithmetic as onnxruntime 1.22 computes it (measured bit for bit):
//   * ReduceSum / ReduceMean over trailing axes: Eigen's vectorized sum (eigen_sum), then
//     sum / count. Over other axes the sum runs in element order, which onnxruntime's Eigen
//     partial reduction associates differently (a few ulps; rarely visible after quantization).
//   * LayerNormalization: sequential float sums of x and x*x, mean = sum / n,
//     std = sqrt(sum_sq / n - mean*mean + epsilon), y = (x - mean) / std * scale + bias (its
//     ComputeJob).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

enum class Reduction { Mean, Sum, Max, Min };

// The axes to reduce (sorted, normalised); empty means "all" unless noop_with_empty_axes.
std::vector<int64_t> reduce_axes(const Node& node, const Inputs& in, int64_t rank, bool& noop) {
  std::vector<int64_t> axes;
  if (in.size() > 1 && in[1] != nullptr) {
    const Tensor& given = *in[1];
    require_type(node, given, {DataType::Int64}, "axes");
    axes = given.to_int_vector();
  } else if (node.has("axes")) {
    axes = node.get_ints("axes");
  }
  noop = axes.empty() && node.get_int("noop_with_empty_axes", 0) != 0;
  std::set<int64_t> unique;
  for (int64_t axis : axes) {
    if (!unique.insert(normalize_axis(node, axis, std::max<int64_t>(rank, 1))).second) {
      throw ModelError(node.describe() + ": axis " + std::to_string(axis) + " is repeated");
    }
  }
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) unique.insert(d);
  }
  return {unique.begin(), unique.end()};
}

// Sum of `count` contiguous floats in the order of Eigen's vectorized reduction with 4-lane
// (SSE) packets, which onnxruntime 1.22's ReduceSum / ReduceMean use over trailing axes (measured
// bit for bit): elements before the first 16-byte boundary (`aligned_start`, from the row's
// offset in a 16-byte aligned buffer) and after the last whole packet are added one by one at the
// end; the whole packets go into two interleaved packet accumulators, which are added, then the
// lanes are summed as (l0 + l2) + (l1 + l3).
float eigen_sum(const float* values, int64_t count, int64_t aligned_start) {
  constexpr int64_t kLanes = 4;
  if (count < kLanes) aligned_start = 0;
  const int64_t packets = (count - aligned_start) / kLanes;
  if (packets <= 0) {
    float sum = count > 0 ? values[0] : 0.0f;
    for (int64_t i = 1; i < count; ++i) sum += values[i];
    return sum;
  }
  const int64_t aligned_end = aligned_start + packets * kLanes;
  const int64_t aligned_end2 = aligned_start + (packets / 2) * 2 * kLanes;
  float p0[kLanes], p1[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) p0[l] = values[aligned_start + l];
  if (packets > 1) {
    for (int64_t l = 0; l < kLanes; ++l) p1[l] = values[aligned_start + kLanes + l];
    for (int64_t index = aligned_start + 2 * kLanes; index < aligned_end2; index += 2 * kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) {
        p0[l] += values[index + l];
        p1[l] += values[index + kLanes + l];
      }
    }
    for (int64_t l = 0; l < kLanes; ++l) p0[l] += p1[l];
    if (aligned_end > aligned_end2) {
      for (int64_t l = 0; l < kLanes; ++l) p0[l] += values[aligned_end2 + l];
    }
  }
  float sum = (p0[0] + p0[2]) + (p0[1] + p0[3]);
  for (int64_t i = 0; i < aligned_start; ++i) sum += values[i];
  for (int64_t i = aligned_end; i < count; ++i) sum += values[i];
  return sum;
}

template <typename T>
void reduce_typed(const Tensor& x, const std::vector<int64_t>& axes, bool keep_dims,
                  Reduction reduction, Tensor& y) {
  const int64_t rank = x.rank();
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) reduced[static_cast<size_t>(axis)] = true;
  Shape kept_shape, out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      if (keep_dims) out_shape.push_back(1);
    } else {
      out_shape.push_back(x.dim(d));
    }
    kept_shape.push_back(reduced[d] ? 1 : x.dim(d));
  }
  const int64_t outputs = element_count(kept_shape);
  const int64_t count = outputs == 0 ? 0 : x.elements() / std::max<int64_t>(outputs, 1);
  // Float sums over trailing axes (every row contiguous): onnxruntime's Eigen order.
  bool trailing = !axes.empty() && axes.back() == rank - 1;
  for (size_t i = 1; i < axes.size(); ++i) trailing = trailing && axes[i] == axes[i - 1] + 1;
  if constexpr (std::is_same_v<T, float>) {
    if (trailing && (reduction == Reduction::Sum || reduction == Reduction::Mean)) {
      y = Tensor(x.type(), out_shape);
      for (int64_t o = 0; o < outputs; ++o) {
        const int64_t offset = o * count;
        const float sum = eigen_sum(x.data<float>() + offset, count, (4 - offset % 4) % 4);
        y.data<float>()[o] = reduction == Reduction::Mean ? sum / static_cast<float>(count) : sum;
      }
      return;
    }
  }
  std::vector<T> accumulator(static_cast<size_t>(outputs));
  const bool extremum = reduction == Reduction::Max || reduction == Reduction::Min;
  const T start = reduction == Reduction::Max   ? std::numeric_limits<T>::lowest()
                  : reduction == Reduction::Min ? std::numeric_limits<T>::max()
                                                : T(0);
  std::fill(accumulator.begin(), accumulator.end(), start);
  // Walk x in row-major order; the output index drops the reduced coordinates.
  std::vector<int64_t> out_stride(static_cast<size_t>(rank), 0);
  int64_t stride = 1;
  for (int64_t d = rank - 1; d >= 0; --d) {
    out_stride[d] = reduced[d] ? 0 : stride;
    stride *= reduced[d] ? 1 : x.dim(d);
  }
  std::vector<int64_t> coordinate(static_cast<size_t>(rank), 0);
  const T* values = x.data<T>();
  int64_t target = 0;
  for (int64_t i = 0; i < x.elements(); ++i) {
    T& acc = accumulator[static_cast<size_t>(target)];
    const T v = values[i];
    if (reduction == Reduction::Max) {
      if constexpr (std::is_floating_point_v<T>) {
        acc = (std::isnan(v) || std::isnan(acc)) ? std::numeric_limits<T>::quiet_NaN()
                                                 : std::max(acc, v);
      } else {
        acc = std::max(acc, v);
      }
    } else if (reduction == Reduction::Min) {
      if constexpr (std::is_floating_point_v<T>) {
        acc = (std::isnan(v) || std::isnan(acc)) ? std::numeric_limits<T>::quiet_NaN()
                                                 : std::min(acc, v);
      } else {
        acc = std::min(acc, v);
      }
    } else {
      acc = static_cast<T>(acc + v);
    }
    for (int64_t d = rank - 1; d >= 0; --d) {
      target += out_stride[d];
      if (++coordinate[d] < x.dim(d)) break;
      target -= out_stride[d] * x.dim(d);
      coordinate[d] = 0;
    }
  }
  y = Tensor(x.type(), out_shape);
  T* result = y.data<T>();
  for (int64_t o = 0; o < outputs; ++o) {
    T value = accumulator[static_cast<size_t>(o)];
    if (reduction == Reduction::Mean) value = static_cast<T>(value / static_cast<T>(count));
    result[o] = value;
  }
  (void)extremum;
}

void reduce(const Node& node, const Inputs& in, Outputs& out, Reduction reduction) {
  const Tensor& x = require_input(node, in, 0);
  bool noop = false;
  const std::vector<int64_t> axes = reduce_axes(node, in, x.rank(), noop);
  if (noop) {
    out[0] = x;
    return;
  }
  const bool keep_dims = node.get_int("keepdims", 1) != 0;
  if ((reduction == Reduction::Max || reduction == Reduction::Min) && x.elements() == 0) {
    throw ModelError(node.describe() + ": cannot take the extremum of an empty tensor");
  }
  visit_numeric(node, x.type(), "input data", [&](auto zero) {
    reduce_typed<decltype(zero)>(x, axes, keep_dims, reduction, out[0]);
  });
}

// LayerNormalization (opset 17): normalise over the axes from `axis` on; scale and bias
// broadcast over them. Outputs Mean and InvStdDev (optional) have the reduced shape.
void layer_normalization(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& scale = require_input(node, in, 1);
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  if (node.get_int("stash_type", 1) != 1) {
    throw ModelError(node.describe() + ": stash_type other than 1 (float32) is not supported");
  }
  const int64_t axis =
      normalize_axis(node, node.get_int("axis", -1), std::max<int64_t>(x.rank(), 1));
  int64_t rows = 1, size = 1;
  for (int64_t d = 0; d < axis; ++d) rows *= x.dim(d);
  for (int64_t d = axis; d < x.rank(); ++d) size *= x.dim(d);
  for (const Tensor* parameter : {&scale, bias}) {
    if (!parameter) continue;
    if (parameter->type() != x.type() || parameter->elements() != size) {
      throw ModelError(node.describe() + ": scale and bias must hold " + std::to_string(size) +
                       " values of type " + to_string(x.type()) + " (the normalised axes), got " +
                       to_string(parameter->shape()) + " " + to_string(parameter->type()));
    }
  }
  const float epsilon = node.get_float("epsilon", 1e-5f);
  Shape stat_shape = x.shape();
  for (int64_t d = axis; d < x.rank(); ++d) stat_shape[d] = 1;
  visit_floating(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    out[0] = Tensor(x.type(), x.shape());
    Tensor mean_out(DataType::Float, stat_shape), inv_std_out(DataType::Float, stat_shape);
    const T* xv = x.data<T>();
    const T* sv = scale.data<T>();
    const T* bv = bias ? bias->data<T>() : nullptr;
    T* yv = out[0].data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = xv + r * size;
      T mean = 0, mean_square = 0;
      for (int64_t h = 0; h < size; ++h) {
        mean += row[h];
        mean_square += row[h] * row[h];
      }
      mean = mean / static_cast<T>(size);
      const T deviation = std::sqrt(mean_square / static_cast<T>(size) - mean * mean + T(epsilon));
      for (int64_t h = 0; h < size; ++h) {
        const T normalised = (row[h] - mean) / deviation * sv[h];
        yv[r * size + h] = bv ? normalised + bv[h] : normalised;
      }
      mean_out.data<float>()[r] = static_cast<float>(mean);
      inv_std_out.data<float>()[r] = static_cast<float>(T(1) / deviation);
    }
    if (out.size() > 1) out[1] = std::move(mean_out);
    if (out.size() > 2) out[2] = std::move(inv_std_out);
  });
}

}  // namespace

void register_reduce_kernels(KernelRegistry& registry) {
  const std::pair<const char*, Reduction> reductions[] = {{"ReduceMean", Reduction::Mean},
                                                          {"ReduceSum", Reduction::Sum},
                                                          {"ReduceMax", Reduction::Max},
                                                          {"ReduceMin", Reduction::Min}};
  for (const auto& entry : reductions) {
    const Reduction reduction = entry.second;
    registry.add("", entry.first, [reduction](const Node& node, const Inputs& in, Outputs& out) {
      reduce(node, in, out, reduction);
    });
  }
  registry.add("", "LayerNormalization", layer_normalization);
}

}  // namespace cimtlm::graph
