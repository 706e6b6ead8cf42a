#include "compiler/graph/conv_geometry.h"

namespace cimtlm::graph {

namespace {
int64_t output_extent(int64_t input, int64_t kernel, int64_t stride, int64_t dilation,
                      int64_t pad_total, bool ceil_mode) {
  const int64_t effective_kernel = (kernel - 1) * dilation + 1;
  const int64_t span = input + pad_total - effective_kernel;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // ONNX/PyTorch: with ceil_mode the last window must start inside the input or left padding.
  if (ceil_mode && (out - 1) * stride >= input + pad_total / 2 + (pad_total % 2)) --out;
  return out;
}
}  // namespace

Conv2dGeometry resolve_geometry(const Node& node, const Shape& input_shape,
                                const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t rank = input_shape.size();
  if (rank != 3 && rank != 4) {
    throw ModelError(node.describe() + ": only 1-D and 2-D spatial inputs are supported, got shape " +
                     to_string(input_shape));
  }
  const size_t spatial = rank - 2;
  if (kernel.size() != spatial) {
    throw ModelError(node.describe() + ": kernel rank " + std::to_string(kernel.size()) +
                     " does not match input shape " + to_string(input_shape));
  }
  Conv2dGeometry g;
  g.batch = input_shape[0];
  g.in_channels = input_shape[1];
  g.in_height = spatial == 2 ? input_shape[2] : 1;
  g.in_width = input_shape[rank - 1];
  g.kernel_h = spatial == 2 ? kernel[0] : 1;
  g.kernel_w = kernel[spatial - 1];
  g.group = node.get_int("group", 1);

  auto pick = [&](const char* name, int64_t fallback) {
    std::vector<int64_t> values = node.get_ints(name, std::vector<int64_t>(spatial, fallback));
    if (values.size() != spatial) {
      throw ModelError(node.describe() + ": attribute '" + name + "' has " +
                       std::to_string(values.size()) + " values, expected " +
                       std::to_string(spatial));
    }
    for (int64_t value : values) {
      if (value < 1) throw ModelError(node.describe() + ": attribute '" + name + "' must be >= 1");
    }
    return values;
  };
  const auto strides = pick("strides", 1);
  const auto dilations = pick("dilations", 1);
  g.stride_h = spatial == 2 ? strides[0] : 1;
  g.stride_w = strides[spatial - 1];
  g.dilation_h = spatial == 2 ? dilations[0] : 1;
  g.dilation_w = dilations[spatial - 1];

  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    const auto pads = node.get_ints("pads", std::vector<int64_t>(2 * spatial, 0));
    if (pads.size() != 2 * spatial) {
      throw ModelError(node.describe() + ": attribute 'pads' must have " +
                       std::to_string(2 * spatial) + " values");
    }
    for (int64_t pad : pads) {
      if (pad < 0) throw ModelError(node.describe() + ": negative padding is not supported");
    }
    if (spatial == 2) {
      g.pad_top = pads[0];
      g.pad_left = pads[1];
      g.pad_bottom = pads[2];
      g.pad_right = pads[3];
    } else {
      g.pad_left = pads[0];
      g.pad_right = pads[1];
    }
  } else if (auto_pad == "VALID") {
    // no padding
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto same = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& before, int64_t& after) {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
      before = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      after = total - before;
    };
    if (spatial == 2) same(g.in_height, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, g.pad_bottom);
    same(g.in_width, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, g.pad_right);
  } else {
    throw ModelError(node.describe() + ": unknown auto_pad '" + auto_pad + "'");
  }
  g.out_height = output_extent(g.in_height, g.kernel_h, g.stride_h, g.dilation_h,
                               g.pad_top + g.pad_bottom, ceil_mode);
  g.out_width = output_extent(g.in_width, g.kernel_w, g.stride_w, g.dilation_w,
                              g.pad_left + g.pad_right, ceil_mode);
  if (g.out_height <= 0 || g.out_width <= 0) {
    throw ModelError(node.describe() + ": kernel larger than the padded input " +
                     to_string(input_shape));
  }
  return g;
}

}  // namespace cimtlm::graph
