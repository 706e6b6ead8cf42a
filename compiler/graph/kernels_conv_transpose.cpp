// ConvTranspose (opset 11+) of the reference executor, float32 / float64, any number of spatial
// axes: strides, dilations, pads, output_padding, output_shape, auto_pad, groups.
//
// Each input element scatters x * w into the output window it reaches, in input order
// (float accumulation; onnxruntime computes col2im after an SGEMM, so a float ConvTranspose in a
// quantized island is not bit-exact to it -- scripts/ort/README.md).
#include <algorithm>
#include <numeric>

#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

template <typename T>
void conv_transpose_typed(const Node& node, const Tensor& x, const Tensor& w, const Tensor* b,
                          Tensor& y) {
  const int64_t spatial = x.rank() - 2;
  if (spatial < 1 || w.rank() != x.rank()) {
    throw ModelError(node.describe() + ": input " + to_string(x.shape()) + " and weight " +
                     to_string(w.shape()) +
                     " must be [N, C, spatial...] and [C, M/group, kernel...]");
  }
  const int64_t group = node.get_int("group", 1);
  const int64_t channels = x.dim(1);
  if (group < 1 || channels % group != 0 || w.dim(0) != channels) {
    throw ModelError(node.describe() + ": weight " + to_string(w.shape()) + " does not fit " +
                     std::to_string(channels) + " input channels in " + std::to_string(group) +
                     " groups");
  }
  const int64_t out_per_group = w.dim(1);
  const int64_t out_channels = out_per_group * group;
  const auto s = static_cast<size_t>(spatial);
  auto ints = [&](const char* name, int64_t fallback) {
    auto values = node.get_ints(name, std::vector<int64_t>(s, fallback));
    if (values.size() != s) {
      throw ModelError(node.describe() + ": attribute '" + name + "' needs " + std::to_string(s) +
                       " values");
    }
    return values;
  };
  const auto strides = ints("strides", 1);
  const auto dilations = ints("dilations", 1);
  const auto output_padding = ints("output_padding", 0);
  std::vector<int64_t> kernel(s);
  for (size_t d = 0; d < s; ++d) kernel[d] = w.dim(static_cast<int64_t>(d) + 2);
  std::vector<int64_t> pads = node.get_ints("pads", std::vector<int64_t>(2 * s, 0));
  if (pads.size() != 2 * s)
    throw ModelError(node.describe() + ": 'pads' needs " + std::to_string(2 * s) + " values");
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  Shape shape = {x.dim(0), out_channels};
  std::vector<int64_t> out_spatial(s);
  const bool explicit_shape = node.has("output_shape");
  std::vector<int64_t> requested;
  if (explicit_shape) {
    requested = node.get_ints("output_shape");
    if (requested.size() == s + 2) requested.erase(requested.begin(), requested.begin() + 2);
    if (requested.size() != s)
      throw ModelError(node.describe() + ": output_shape needs " + std::to_string(s) + " values");
  }
  for (size_t d = 0; d < s; ++d) {
    const int64_t in = x.dim(static_cast<int64_t>(d) + 2);
    const int64_t full =
        strides[d] * (in - 1) + output_padding[d] + (kernel[d] - 1) * dilations[d] + 1;
    if (explicit_shape || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t target = explicit_shape ? requested[d] : in * strides[d];
      const int64_t total = full - target;
      // Floor halves: a negative total (output_shape beyond the full extent) extends the end.
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (auto_pad == "SAME_UPPER") {
        pads[d] = half;
        pads[d + s] = total - half;
      } else {
        pads[d] = total - half;
        pads[d + s] = half;
      }
    } else if (auto_pad == "VALID") {
      pads[d] = pads[d + s] = 0;
    }
    out_spatial[d] = full - pads[d] - pads[d + s];
    if (out_spatial[d] < 1)
      throw ModelError(node.describe() + ": empty output along spatial axis " + std::to_string(d));
    shape.push_back(out_spatial[d]);
  }
  y = Tensor(x.type(), shape);
  T* yv = y.data<T>();
  const T* xv = x.data<T>();
  const T* wv = w.data<T>();
  const int64_t in_size =
      std::accumulate(x.shape().begin() + 2, x.shape().end(), int64_t{1}, std::multiplies<>());
  const int64_t out_size =
      std::accumulate(out_spatial.begin(), out_spatial.end(), int64_t{1}, std::multiplies<>());
  const int64_t kernel_size =
      std::accumulate(kernel.begin(), kernel.end(), int64_t{1}, std::multiplies<>());
  const int64_t in_per_group = channels / group;
  std::vector<int64_t> in_coordinate(s), k_coordinate(s);
  for (int64_t n = 0; n < x.dim(0); ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t g = c / in_per_group;
      const T* x_plane = xv + (n * channels + c) * in_size;
      for (int64_t i = 0; i < in_size; ++i) {
        int64_t rest = i;
        for (int64_t d = spatial - 1; d >= 0; --d) {
          in_coordinate[d] = rest % x.dim(d + 2);
          rest /= x.dim(d + 2);
        }
        for (int64_t k = 0; k < kernel_size; ++k) {
          int64_t krest = k, out_index = 0;
          bool inside = true;
          for (int64_t d = spatial - 1; d >= 0; --d) {
            k_coordinate[d] = krest % kernel[d];
            krest /= kernel[d];
          }
          for (size_t d = 0; d < s && inside; ++d) {
            const int64_t o =
                in_coordinate[d] * strides[d] + k_coordinate[d] * dilations[d] - pads[d];
            inside = o >= 0 && o < out_spatial[d];
            out_index = out_index * out_spatial[d] + o;
          }
          if (!inside) continue;
          for (int64_t m = 0; m < out_per_group; ++m) {
            const T weight = wv[(c * out_per_group + m) * kernel_size + k];
            yv[(n * out_channels + g * out_per_group + m) * out_size + out_index] +=
                x_plane[i] * weight;
          }
        }
      }
    }
  }
  if (b) {
    if (b->type() != x.type() || b->elements() != out_channels) {
      throw ModelError(node.describe() + ": bias must hold " + std::to_string(out_channels) +
                       " values");
    }
    for (int64_t n = 0; n < x.dim(0); ++n) {
      for (int64_t m = 0; m < out_channels; ++m) {
        T* plane = yv + (n * out_channels + m) * out_size;
        for (int64_t i = 0; i < out_size; ++i) plane[i] += b->data<T>()[m];
      }
    }
  }
}

void conv_transpose(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& x = require_input(node, in, 0);
  const Tensor& w = require_input(node, in, 1);
  const Tensor* b = in.size() > 2 ? in[2] : nullptr;
  if (w.type() != x.type()) throw ModelError(node.describe() + ": X and W have different types");
  visit_floating(node, x.type(), "input X",
                 [&](auto zero) { conv_transpose_typed<decltype(zero)>(node, x, w, b, out[0]); });
}

}  // namespace

void register_conv_transpose_kernel(KernelRegistry& registry) {
  registry.add("", "ConvTranspose", conv_transpose);
}

}  // namespace cimtlm::graph
