// Shape kernels of the reference executor on any element type (ONNX semantics, opset 13..18):
// Slice, Split, Pad (constant, reflect, edge), Squeeze, Unsqueeze, Expand, and Resize with
// mode nearest (every nearest_mode) or linear (n-linear), on float or integer data.
//
// Resize computes source coordinates in float32 as onnxruntime's upsample kernels do
// (x_original = f(x_resized, scale) per coordinate_transformation_mode). Linear resizes of the
// last two axes use onnxruntime's bilinear formula and evaluation order (measured bit for bit);
// other linear resizes weight the 2^rank corners (ONNX's definition, float32).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "compiler/graph/broadcast.h"
#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

const uint8_t* bytes_of(const Tensor& tensor) {
  return static_cast<const uint8_t*>(tensor.raw());
}
uint8_t* bytes_of(Tensor& tensor) {
  return static_cast<uint8_t*>(tensor.raw());
}

std::vector<int64_t> int_input(const Node& node, const Inputs& in, size_t index, const char* what) {
  if (index >= in.size() || in[index] == nullptr) return {};
  require_type(node, *in[index], {DataType::Int64, DataType::Int32}, what);
  return in[index]->to_int_vector();
}

std::vector<int64_t> row_major_strides(const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d) {
    strides[d] = strides[d + 1] * shape[d + 1];
  }
  return strides;
}

// Copies y[i] = x[source(i)] element by element; `source` maps an output coordinate to the
// input's linear index.
template <typename Source>
void gather_elements(const Tensor& x, Tensor& y, Source source) {
  const size_t element = byte_size(x.type());
  const Shape& shape = y.shape();
  std::vector<int64_t> coordinate(shape.size(), 0);
  const uint8_t* from = bytes_of(x);
  uint8_t* to = bytes_of(y);
  for (int64_t i = 0; i < y.elements(); ++i) {
    std::memcpy(to + i * element, from + source(coordinate) * element, element);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++coordinate[d] < shape[d]) break;
      coordinate[d] = 0;
    }
  }
}

// Slice (opset 13): starts, ends, axes, steps as inputs; clamped as the ONNX definition says.
void slice(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto starts = int_input(node, in, 1, "starts");
  const auto ends = int_input(node, in, 2, "ends");
  auto axes = int_input(node, in, 3, "axes");
  auto steps = int_input(node, in, 4, "steps");
  if (starts.size() != ends.size())
    throw ModelError(node.describe() + ": starts and ends differ in length");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    throw ModelError(node.describe() + ": axes and steps must match starts in length");
  }
  const int64_t rank = x.rank();
  std::vector<int64_t> first(static_cast<size_t>(rank), 0), step(static_cast<size_t>(rank), 1);
  Shape shape = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t axis = normalize_axis(node, axes[i], rank);
    const int64_t extent = x.dim(axis);
    if (steps[i] == 0) throw ModelError(node.describe() + ": a step is 0");
    int64_t start = starts[i] < 0 ? starts[i] + extent : starts[i];
    int64_t end = ends[i] < 0 ? ends[i] + extent : ends[i];
    if (steps[i] > 0) {
      start = std::clamp<int64_t>(start, 0, extent);
      end = std::clamp<int64_t>(end, 0, extent);
      shape[axis] = std::max<int64_t>(0, (end - start + steps[i] - 1) / steps[i]);
    } else {
      start = std::clamp<int64_t>(start, 0, extent - 1);
      end = std::clamp<int64_t>(end, -1, extent - 1);
      shape[axis] = std::max<int64_t>(0, (start - end - steps[i] - 1) / -steps[i]);
    }
    first[axis] = start;
    step[axis] = steps[i];
  }
  out[0] = Tensor(x.type(), shape);
  const auto strides = row_major_strides(x.shape());
  gather_elements(x, out[0], [&](const std::vector<int64_t>& c) {
    int64_t index = 0;
    for (size_t d = 0; d < c.size(); ++d) index += (first[d] + c[d] * step[d]) * strides[d];
    return index;
  });
}

// Split (opset 13/18): sizes from input `split`, else num_outputs (the last part may be
// smaller), else equal parts.
void split(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), x.rank());
  std::vector<int64_t> sizes = int_input(node, in, 1, "split");
  const auto parts = static_cast<int64_t>(out.size());
  if (sizes.empty()) {
    const int64_t extent = x.dim(axis);
    const int64_t part = node.has("num_outputs") ? (extent + parts - 1) / parts : extent / parts;
    if (!node.has("num_outputs") && extent % parts != 0) {
      throw ModelError(node.describe() + ": axis extent " + std::to_string(extent) +
                       " does not split into " + std::to_string(parts) + " equal parts");
    }
    for (int64_t p = 0; p < parts; ++p) sizes.push_back(std::min(part, extent - p * part));
  }
  int64_t total = 0;
  for (int64_t size : sizes) total += size;
  if (static_cast<int64_t>(sizes.size()) != parts || total != x.dim(axis)) {
    throw ModelError(node.describe() + ": split sizes do not add up to the axis extent " +
                     std::to_string(x.dim(axis)) + " over " + std::to_string(parts) + " outputs");
  }
  const auto strides = row_major_strides(x.shape());
  int64_t offset = 0;
  for (int64_t p = 0; p < parts; ++p) {
    Shape shape = x.shape();
    shape[axis] = sizes[p];
    out[p] = Tensor(x.type(), shape);
    gather_elements(x, out[p], [&](const std::vector<int64_t>& c) {
      int64_t index = 0;
      for (size_t d = 0; d < c.size(); ++d) {
        index += (c[d] + (static_cast<int64_t>(d) == axis ? offset : 0)) * strides[d];
      }
      return index;
    });
    offset += sizes[p];
  }
}

// Squeeze / Unsqueeze (opset 13): axes as input.
void squeeze(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto axes = int_input(node, in, 1, "axes");
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < x.rank(); ++d) drop[d] = x.dim(d) == 1;
  }
  for (int64_t axis : axes) {
    const int64_t d = normalize_axis(node, axis, x.rank());
    if (x.dim(d) != 1) {
      throw ModelError(node.describe() + ": axis " + std::to_string(axis) + " has extent " +
                       std::to_string(x.dim(d)) + ", not 1");
    }
    drop[d] = true;
  }
  Shape shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (!drop[d]) shape.push_back(x.dim(d));
  }
  out[0] = x.reshaped(shape);
}

void unsqueeze(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto axes = int_input(node, in, 1, "axes");
  const int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t axis : axes) {
    const int64_t d = normalize_axis(node, axis, rank);
    if (inserted[d])
      throw ModelError(node.describe() + ": axis " + std::to_string(axis) + " is repeated");
    inserted[d] = true;
  }
  Shape shape;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(inserted[d] ? 1 : x.dim(next++));
  out[0] = x.reshaped(shape);
}

// Expand: broadcast x to `shape` (bidirectionally, as NumPy).
void expand(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto target = int_input(node, in, 1, "shape");
  const Shape shape = broadcast_shape(node, x.shape(), Shape(target.begin(), target.end()));
  out[0] = Tensor(x.type(), shape);
  const auto index = broadcast_index(x.shape(), shape);
  const size_t element = byte_size(x.type());
  for (int64_t i = 0; i < out[0].elements(); ++i) {
    std::memcpy(bytes_of(out[0]) + i * element, bytes_of(x) + index[i] * element, element);
  }
}

// Pad (opset 13..18): pads [begin..., end...] (negative crops), constant_value, axes (18).
void pad(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const auto given = int_input(node, in, 1, "pads");
  auto axes = int_input(node, in, 3, "axes");
  const int64_t rank = x.rank();
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  if (given.size() != 2 * axes.size()) {
    throw ModelError(node.describe() + ": pads has " + std::to_string(given.size()) +
                     " values for " + std::to_string(axes.size()) + " axes");
  }
  std::vector<int64_t> before(static_cast<size_t>(rank), 0), after(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t d = normalize_axis(node, axes[i], rank);
    before[d] = given[i];
    after[d] = given[i + axes.size()];
  }
  const std::string mode = node.get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    throw ModelError(node.describe() + ": mode '" + mode +
                     "' is not supported (constant, reflect, edge)");
  }
  Shape shape = x.shape();
  for (int64_t d = 0; d < rank; ++d) {
    shape[d] += before[d] + after[d];
    if (shape[d] < 0)
      throw ModelError(node.describe() + ": pads crop axis " + std::to_string(d) + " below 0");
    if (mode == "reflect" && (before[d] >= x.dim(d) || after[d] >= x.dim(d)) &&
        (before[d] > 0 || after[d] > 0)) {
      throw ModelError(node.describe() + ": reflect pads must be smaller than the axis extent");
    }
    if (mode != "constant" && x.dim(d) == 0 && shape[d] > 0) {
      throw ModelError(node.describe() + ": cannot " + mode + "-pad an empty axis");
    }
  }
  out[0] = Tensor(x.type(), shape);
  const size_t element = byte_size(x.type());
  std::vector<uint8_t> fill(element, 0);
  if (in.size() > 2 && in[2] != nullptr) {
    if (in[2]->type() != x.type() || in[2]->elements() != 1) {
      throw ModelError(node.describe() + ": constant_value must be a scalar of the input's type");
    }
    std::memcpy(fill.data(), bytes_of(*in[2]), element);
  }
  const auto strides = row_major_strides(x.shape());
  std::vector<int64_t> coordinate(static_cast<size_t>(rank), 0);
  uint8_t* to = bytes_of(out[0]);
  for (int64_t i = 0; i < out[0].elements(); ++i) {
    int64_t index = 0;
    bool outside = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = coordinate[d] - before[d];
      const int64_t extent = x.dim(d);
      if (c < 0 || c >= extent) {
        if (mode == "constant") {
          outside = true;
        } else if (mode == "edge") {
          c = std::clamp<int64_t>(c, 0, extent - 1);
        } else {
          const int64_t period = 2 * (extent - 1);
          c = period == 0 ? 0 : ((c % period) + period) % period;
          if (c >= extent) c = period - c;
        }
      }
      index += c * strides[d];
    }
    std::memcpy(to + i * element, outside ? fill.data() : bytes_of(x) + index * element, element);
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++coordinate[d] < shape[d]) break;
      coordinate[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Resize (opset 13..18, modes nearest and linear; no antialias, no axes other than all).

float original_coordinate(const std::string& mode, float resized, float scale, int64_t in_size,
                          int64_t out_size, float roi_start, float roi_end) {
  if (mode == "half_pixel") return (resized + 0.5f) / scale - 0.5f;
  if (mode == "pytorch_half_pixel") return out_size > 1 ? (resized + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "align_corners") {
    return out_size == 1
               ? 0.0f
               : resized * static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1);
  }
  if (mode == "asymmetric") return resized / scale;
  if (mode == "tf_half_pixel_for_nn") return (resized + 0.5f) / scale;
  if (mode == "tf_crop_and_resize") {
    return out_size > 1 ? roi_start * static_cast<float>(in_size - 1) +
                              resized * (roi_end - roi_start) * static_cast<float>(in_size - 1) /
                                  static_cast<float>(out_size - 1)
                        : 0.5f * (roi_start + roi_end) * static_cast<float>(in_size - 1);
  }
  return (resized + 0.5f) / scale - 0.5f;  // unreachable: checked by the caller
}

int64_t nearest_index(const std::string& mode, float original, bool downsampling) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(original));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(original));
  if (mode == "round_prefer_ceil") return static_cast<int64_t>(std::round(original));
  // round_prefer_floor (default)
  if (original == static_cast<float>(static_cast<int64_t>(original)) + 0.5f) {
    return static_cast<int64_t>(original);
  }
  (void)downsampling;
  return static_cast<int64_t>(std::round(original));
}

void resize(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const std::string mode = node.get_string("mode", "nearest");
  const std::string transform = node.get_string("coordinate_transformation_mode", "half_pixel");
  const std::string nearest_mode = node.get_string("nearest_mode", "round_prefer_floor");
  if (mode != "nearest" && mode != "linear") {
    throw ModelError(node.describe() + ": mode '" + mode + "' is not supported (nearest, linear)");
  }
  static const std::vector<std::string> kTransforms = {
      "half_pixel", "pytorch_half_pixel",   "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(kTransforms.begin(), kTransforms.end(), transform) == kTransforms.end()) {
    throw ModelError(node.describe() + ": coordinate_transformation_mode '" + transform +
                     "' is not supported");
  }
  if (node.get_int("antialias", 0) != 0)
    throw ModelError(node.describe() + ": antialias is not supported");
  const int64_t rank = x.rank();
  std::vector<float> roi;
  if (in.size() > 1 && in[1] != nullptr && in[1]->elements() > 0) roi = in[1]->to_float_vector();
  std::vector<float> scales;
  if (in.size() > 2 && in[2] != nullptr && in[2]->elements() > 0) scales = in[2]->to_float_vector();
  const auto sizes = int_input(node, in, 3, "sizes");
  Shape shape = x.shape();
  if (!sizes.empty()) {
    if (static_cast<int64_t>(sizes.size()) != rank)
      throw ModelError(node.describe() + ": sizes must have one value per axis");
    const std::string policy = node.get_string("keep_aspect_ratio_policy", "stretch");
    if (policy != "stretch")
      throw ModelError(node.describe() + ": keep_aspect_ratio_policy '" + policy +
                       "' is not supported");
    scales.clear();
    for (int64_t d = 0; d < rank; ++d) {
      shape[d] = sizes[d];
      scales.push_back(static_cast<float>(sizes[d]) / static_cast<float>(x.dim(d)));
    }
  } else {
    if (static_cast<int64_t>(scales.size()) != rank) {
      throw ModelError(node.describe() + ": give scales or sizes with one value per axis");
    }
    for (int64_t d = 0; d < rank; ++d) {
      shape[d] = static_cast<int64_t>(std::floor(static_cast<float>(x.dim(d)) * scales[d]));
    }
  }
  if (roi.size() != 2 * static_cast<size_t>(rank)) {
    roi.assign(2 * static_cast<size_t>(rank), 0.0f);
    for (int64_t d = 0; d < rank; ++d) roi[rank + d] = 1.0f;
  }
  const float extrapolation = node.get_float("extrapolation_value", 0.0f);
  // Per axis and output coordinate: the source coordinate in float.
  std::vector<std::vector<float>> source(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    for (int64_t o = 0; o < shape[d]; ++o) {
      source[d].push_back(scales[d] == 1.0f && transform != "tf_crop_and_resize" &&
                                  transform != "align_corners"
                              ? static_cast<float>(o)
                              : original_coordinate(transform, static_cast<float>(o), scales[d],
                                                    x.dim(d), shape[d], roi[d], roi[rank + d]));
    }
  }
  out[0] = Tensor(x.type(), shape);
  const auto strides = row_major_strides(x.shape());
  std::vector<int64_t> coordinate(static_cast<size_t>(rank), 0);
  // Linear resizes of the last two axes only take onnxruntime's bilinear formula.
  bool bilinear = mode == "linear" && rank >= 2;
  for (int64_t d = 0; bilinear && d < rank - 2; ++d)
    bilinear = shape[d] == x.dim(d) && scales[d] == 1.0f;
  visit_numeric(node, x.type(), "input X", [&](auto zero) {
    using T = decltype(zero);
    const T* xv = x.data<T>();
    T* yv = out[0].data<T>();
    for (int64_t i = 0; i < out[0].elements(); ++i) {
      bool outside = false;
      if (mode == "nearest") {
        int64_t index = 0;
        for (int64_t d = 0; d < rank; ++d) {
          const float original = source[d][coordinate[d]];
          if (transform == "tf_crop_and_resize" && (original < 0 || original > x.dim(d) - 1))
            outside = true;
          int64_t c = x.dim(d) == shape[d] && scales[d] == 1.0f
                          ? coordinate[d]
                          : nearest_index(nearest_mode, original, scales[d] < 1);
          c = std::clamp<int64_t>(c, 0, x.dim(d) - 1);
          index += c * strides[d];
        }
        yv[i] = outside ? static_cast<T>(extrapolation) : xv[index];
      } else if (bilinear) {
        // onnxruntime's UpsampleBilinear: source coordinate clamped into the input, neighbours
        // y1 <= y <= y2, weights dy1 = |y - y1|, dy2 = |y - y2| (0.5 each when y1 == y2), and
        // dx2*dy2*X11 + dx1*dy2*X21 + dx2*dy1*X12 + dx1*dy1*X22 evaluated left to right.
        const int64_t h = rank - 2, w = rank - 1;
        int64_t base = 0;
        for (int64_t d = 0; d < h; ++d) base += coordinate[d] * strides[d];
        float weights[2][2];
        int64_t index[2][2];
        for (int axis = 0; axis < 2; ++axis) {
          const int64_t d = axis == 0 ? h : w;
          float original = source[d][coordinate[d]];
          if (transform == "tf_crop_and_resize" && (original < 0 || original > x.dim(d) - 1))
            outside = true;
          original = std::max(0.0f, std::min(original, static_cast<float>(x.dim(d) - 1)));
          index[axis][0] = std::min(static_cast<int64_t>(original), x.dim(d) - 1);
          index[axis][1] = std::min(index[axis][0] + 1, x.dim(d) - 1);
          weights[axis][0] = std::fabs(original - static_cast<float>(index[axis][0]));
          weights[axis][1] = std::fabs(original - static_cast<float>(index[axis][1]));
          if (index[axis][0] == index[axis][1]) weights[axis][0] = weights[axis][1] = 0.5f;
        }
        auto at = [&](int yi, int xi) {
          return static_cast<float>(
              xv[base + index[0][yi] * strides[h] + index[1][xi] * strides[w]]);
        };
        const float dy1 = weights[0][0], dy2 = weights[0][1], dx1 = weights[1][0],
                    dx2 = weights[1][1];
        float value = dx2 * dy2 * at(0, 0) + dx1 * dy2 * at(0, 1) + dx2 * dy1 * at(1, 0) +
                      dx1 * dy1 * at(1, 1);
        if (outside) value = extrapolation;
        if constexpr (std::is_integral_v<T>) {
          value = std::clamp(std::nearbyint(value),
                             static_cast<float>(std::numeric_limits<T>::lowest()),
                             static_cast<float>(std::numeric_limits<T>::max()));
        }
        yv[i] = static_cast<T>(value);
      } else {
        // n-linear: sum over the 2^rank corners of weight * value, float accumulation.
        std::vector<int64_t> low(static_cast<size_t>(rank)), high(static_cast<size_t>(rank));
        std::vector<float> frac(static_cast<size_t>(rank));
        for (int64_t d = 0; d < rank; ++d) {
          float original = source[d][coordinate[d]];
          if (transform == "tf_crop_and_resize" && (original < 0 || original > x.dim(d) - 1))
            outside = true;
          original = std::clamp(original, 0.0f, static_cast<float>(x.dim(d) - 1));
          low[d] = static_cast<int64_t>(original);
          high[d] = std::min(low[d] + 1, x.dim(d) - 1);
          frac[d] = original - static_cast<float>(low[d]);
        }
        float value = 0.0f;
        for (int64_t corner = 0; corner < (int64_t{1} << rank); ++corner) {
          float weight = 1.0f;
          int64_t index = 0;
          for (int64_t d = 0; d < rank; ++d) {
            const bool upper = (corner >> (rank - 1 - d)) & 1;
            weight *= upper ? frac[d] : 1.0f - frac[d];
            index += (upper ? high[d] : low[d]) * strides[d];
          }
          if (weight != 0.0f) value += weight * static_cast<float>(xv[index]);
        }
        if (outside) value = extrapolation;
        if constexpr (std::is_integral_v<T>) {
          value = std::nearbyint(value);
          value = std::clamp(value, static_cast<float>(std::numeric_limits<T>::lowest()),
                             static_cast<float>(std::numeric_limits<T>::max()));
        }
        yv[i] = static_cast<T>(value);
      }
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++coordinate[d] < shape[d]) break;
        coordinate[d] = 0;
      }
    }
  });
}

}  // namespace

void register_shape_kernels(KernelRegistry& registry) {
  registry.add("", "Slice", slice);
  registry.add("", "Split", split);
  registry.add("", "Pad", pad);
  registry.add("", "Squeeze", squeeze);
  registry.add("", "Unsqueeze", unsqueeze);
  registry.add("", "Expand", expand);
  registry.add("", "Resize", resize);
}

}  // namespace cimtlm::graph
