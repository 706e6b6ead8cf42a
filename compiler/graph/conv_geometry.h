// Spatial geometry of ONNX Conv / pooling nodes (kernel, strides, pads, dilations, auto_pad),
// resolved once from a node's attributes and its input shape. 1-D ops are treated as 2-D with
// height 1.
#pragma once

#include <cstdint>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

struct Conv2dGeometry {
  int64_t batch = 1, in_channels = 0, in_height = 1, in_width = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t out_height = 1, out_width = 1;
  int64_t group = 1;
};

// `input_shape` is [N, C, H, W] or [N, C, W]; `kernel` is (kh, kw) (from the weight tensor or
// the kernel_shape attribute). `ceil_mode` is for pooling. Throws ModelError naming the node on
// unsupported ranks or inconsistent attributes.
Conv2dGeometry resolve_geometry(const Node& node, const Shape& input_shape,
                                const std::vector<int64_t>& kernel, bool ceil_mode = false);

}  // namespace cimtlm::graph
