// Every op that is not a CIM layer, as arithmetic-unit commands (lookups, element-wise ops,
// pooling, softmax, (de)quantization, gathers, transposes and concatenations).
#include <algorithm>
#include <cmath>

#include "compiler/graph/quantized_math.h"
#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

void Mapper::emit_arith(const Node& node, int core) {
  const std::string op = (node.domain.empty() ? "" : node.domain + ".") + node.op_type;
  auto& body = program(core).body;
  const std::string layer = node.name.empty() ? node.outputs[0] : node.name;
  if (op == "cimtlm.QLookup") {
    core::Lookup lookup;
    lookup.input = on_core(node.inputs[0], core, node);
    lookup.output = output_buffer(node, core);
    auto table = std::make_shared<std::array<int32_t, 256>>();
    const auto values = node.get_ints("table");
    if (values.size() != 256) throw ModelError(node.describe() + ": table must have 256 entries");
    for (size_t i = 0; i < 256; ++i) (*table)[i] = static_cast<int32_t>(values[i]);
    lookup.table = table;
    lookup.layer = layer;
    body.push_back(lookup);
    distribute(node.outputs[0], core, lookup.output);
  } else if (op == "cimtlm.QAdd" || op == "cimtlm.QMul") {
    core::Eltwise eltwise;
    eltwise.op = op == "cimtlm.QAdd" ? core::Eltwise::Op::Add : core::Eltwise::Op::Mul;
    const Tensor& a = value(node.inputs[0]);
    const Tensor& b = value(node.inputs[1]);
    const Tensor& y = value(node.outputs[0]);
    if (a.shape() != y.shape()) {
      throw ModelError(node.describe() + ": the first operand must have the output's shape (" +
                       graph::to_string(y.shape()) + ")");
    }
    eltwise.b_inner = broadcast_inner(node, b.shape(), y.shape());
    eltwise.a = on_core(node.inputs[0], core, node);
    eltwise.b = on_core(node.inputs[1], core, node);
    eltwise.output = output_buffer(node, core);
    eltwise.a_scale = node.get_float("a_scale");
    eltwise.b_scale = node.get_float("b_scale");
    eltwise.y_scale = node.get_float("y_scale");
    eltwise.a_zero_point = static_cast<int32_t>(node.get_int("a_zero_point", 0));
    eltwise.b_zero_point = static_cast<int32_t>(node.get_int("b_zero_point", 0));
    eltwise.y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
    eltwise.clamp_min = static_cast<int32_t>(node.get_int("clamp_min", -2147483647));
    eltwise.clamp_max = static_cast<int32_t>(node.get_int("clamp_max", 2147483647));
    eltwise.integer_product = node.get_string("arithmetic", "integer") == "integer";
    eltwise.layer = layer;
    body.push_back(eltwise);
    distribute(node.outputs[0], core, eltwise.output);
  } else if (op == "MaxPool" || op == "cimtlm.QAveragePool" || op == "cimtlm.QGlobalAveragePool") {
    core::Pool pool;
    pool.kind = op == "MaxPool"               ? core::Pool::Kind::Max
                : op == "cimtlm.QAveragePool" ? core::Pool::Kind::Average
                                              : core::Pool::Kind::GlobalAverage;
    const Tensor& x = value(node.inputs[0]);
    if (x.rank() != 4) throw ModelError(node.describe() + ": pooling maps for 4-D inputs only");
    if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
      throw ModelError(node.describe() + ": MaxPool indices cannot be produced by the platform");
    }
    pool.input = on_core(node.inputs[0], core, node);
    pool.output = output_buffer(node, core);
    if (pool.kind == core::Pool::Kind::Average) {
      // A window over the whole unpadded input is a global average (as onnxruntime runs it).
      const auto kernel = node.get_ints("kernel_shape");
      const auto pads = node.get_ints("pads", {0, 0, 0, 0});
      const bool no_pads =
          std::all_of(pads.begin(), pads.end(), [](int64_t pad) { return pad == 0; });
      if (kernel.size() == 2 && kernel[0] == x.dim(2) && kernel[1] == x.dim(3) && no_pads &&
          node.get_string("auto_pad", "NOTSET") == "NOTSET") {
        pool.kind = core::Pool::Kind::GlobalAverage;
      }
    }
    if (pool.kind != core::Pool::Kind::GlobalAverage) {
      const auto kernel = node.get_ints("kernel_shape");
      const auto strides = node.get_ints("strides", {1, 1});
      const auto dilations = node.get_ints("dilations", {1, 1});
      const Tensor& y = value(node.outputs[0]);
      pool.kernel_h = kernel.at(0);
      pool.kernel_w = kernel.at(1);
      pool.stride_h = strides.at(0);
      pool.stride_w = strides.at(1);
      pool.dilation_h = dilations.at(0);
      pool.dilation_w = dilations.at(1);
      auto pads = resolved_pads(node, x, y, kernel, strides, dilations);
      pool.pad_top = pads[0];
      pool.pad_left = pads[1];
      pool.pad_bottom = pads[2];
      pool.pad_right = pads[3];
      pool.count_include_pad = node.get_int("count_include_pad", 0) != 0;
    }
    if (pool.kind != core::Pool::Kind::Max) {
      pool.input_scale = node.get_float("x_scale");
      pool.output_scale = node.get_float("y_scale");
      pool.input_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
      pool.output_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
    }
    pool.layer = layer;
    body.push_back(pool);
    distribute(node.outputs[0], core, pool.output);
  } else if (op == "cimtlm.QSoftmax") {
    core::Softmax softmax;
    const Tensor& x = value(node.inputs[0]);
    int64_t axis = node.get_int("axis", -1);
    if (axis < 0) axis += x.rank();
    softmax.extent = x.dim(axis);
    softmax.inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) softmax.inner *= x.dim(d);
    softmax.input = on_core(node.inputs[0], core, node);
    softmax.output = output_buffer(node, core);
    softmax.input_scale = node.get_float("x_scale", 1.0f);
    softmax.input_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
    softmax.output_scale = node.get_float("y_scale", 1.0f);
    softmax.output_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
    if (softmax.output.type != core::ElemType::Float32) {
      softmax.exp_table = std::make_shared<const std::vector<float>>(
          graph::softmax_exp_table(softmax.input_scale, x.dim(axis), x.type() == DataType::Int8));
      softmax.output_reciprocal = std::floor(1.0f / softmax.output_scale);
    }
    softmax.layer = layer;
    body.push_back(softmax);
    distribute(node.outputs[0], core, softmax.output);
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    const Tensor* scale = graph_.initializer(node.inputs.at(1));
    const Tensor* zero = node.has_input(2) ? graph_.initializer(node.inputs[2]) : nullptr;
    if (!scale || scale->elements() != 1 ||
        (node.has_input(2) && (!zero || zero->elements() != 1))) {
      throw ModelError(node.describe() +
                       ": only constant per-tensor (de)quantization maps to the platform");
    }
    const core::TensorRef input = on_core(node.inputs[0], core, node);
    const core::TensorRef output = output_buffer(node, core);
    if (op == "QuantizeLinear") {
      core::Quantize quantize{input, output, static_cast<float>(scale->as_double(0)),
                              zero ? static_cast<int32_t>(zero->as_int(0)) : 0, layer};
      body.push_back(quantize);
    } else {
      core::Dequantize dequantize{input, output, static_cast<float>(scale->as_double(0)),
                                  zero ? static_cast<int32_t>(zero->as_int(0)) : 0, layer};
      body.push_back(dequantize);
    }
    distribute(node.outputs[0], core, output);
  } else if (op == "Gather") {
    core::Gather gather;
    const Tensor& table = value(node.inputs[0]);
    if (node.get_int("axis", 0) != 0 || table.rank() < 1) {
      throw ModelError(node.describe() + ": only row gathers (axis 0) map to the platform");
    }
    gather.table = on_core(node.inputs[0], core, node);
    gather.table.shape = {table.dim(0), table.elements() / std::max<int64_t>(table.dim(0), 1)};
    gather.indices = on_core(node.inputs[1], core, node);
    gather.output = output_buffer(node, core);
    gather.layer = layer;
    body.push_back(gather);
    distribute(node.outputs[0], core, gather.output);
  } else if (op == "Transpose") {
    emit_transpose(node, core);
  } else if (op == "Concat" || op == "cimtlm.QConcat") {
    emit_concat(node, core);
  } else {
    throw ModelError(node.describe() + ": op '" + op + "' cannot run on the CIM platform");
  }
}

int64_t Mapper::broadcast_inner(const Node& node, const Shape& b, const Shape& y) {
  // Supported broadcasts of b over y: same shape, scalar, or per-channel [C,1,1]-like.
  const int64_t b_count = graph::element_count(b);
  const int64_t y_count = graph::element_count(y);
  if (b_count == y_count) return 1;
  if (b_count == 1) return y_count;
  // Align b's shape to the right of y's and find the single non-1 axis.
  Shape aligned(y.size(), 1);
  for (size_t i = 0; i < b.size(); ++i) aligned[y.size() - b.size() + i] = b[i];
  int64_t inner = 1;
  int axis = -1;
  for (int64_t d = static_cast<int64_t>(y.size()) - 1; d >= 0; --d) {
    if (aligned[d] != 1) {
      if (axis >= 0 || aligned[d] != y[d]) {
        throw ModelError(node.describe() + ": broadcast of " + graph::to_string(b) + " over " +
                         graph::to_string(y) + " does not map to the platform");
      }
      axis = static_cast<int>(d);
    } else if (axis < 0) {
      inner *= y[d];
    }
  }
  return inner;
}

std::array<int64_t, 4> Mapper::resolved_pads(const Node& node, const Tensor& x, const Tensor& y,
                                             const std::vector<int64_t>& kernel,
                                             const std::vector<int64_t>& strides,
                                             const std::vector<int64_t>& dilations) {
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    const auto pads = node.get_ints("pads", {0, 0, 0, 0});
    std::array<int64_t, 4> result{pads.at(0), pads.at(1), pads.at(2), pads.at(3)};
    // ceil_mode windows may run past the bottom/right padding: extend it so the arithmetic
    // unit's window bounds match the reference (extra positions never count).
    return result;
  }
  std::array<int64_t, 4> result{0, 0, 0, 0};
  if (auto_pad == "VALID") return result;
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = x.dim(2 + axis), out = y.dim(2 + axis);
    const int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1 - in);
    const int64_t before = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    result[axis] = before;
    result[axis + 2] = total - before;
  }
  return result;
}

void Mapper::emit_transpose(const Node& node, int core) {
  const Tensor& x = value(node.inputs[0]);
  if (x.rank() > 4) throw ModelError(node.describe() + ": transposes of rank > 4 do not map");
  std::vector<int64_t> perm = node.get_ints("perm", {});
  if (perm.empty()) {
    for (int64_t d = x.rank() - 1; d >= 0; --d) perm.push_back(d);
  }
  const core::TensorRef input = on_core(node.inputs[0], core, node);
  const core::TensorRef output = output_buffer(node, core);
  // Input strides (elements), then walk the output in order.
  std::vector<int64_t> in_stride(static_cast<size_t>(x.rank()), 1);
  for (int64_t d = x.rank() - 2; d >= 0; --d) in_stride[d] = in_stride[d + 1] * x.dim(d + 1);
  const Tensor& y = value(node.outputs[0]);
  std::vector<int64_t> out_stride(static_cast<size_t>(y.rank()), 1);
  for (int64_t d = y.rank() - 2; d >= 0; --d) out_stride[d] = out_stride[d + 1] * y.dim(d + 1);
  core::Copy copy;
  copy.source = input.addr;
  copy.destination = output.addr;
  copy.type = input.type;
  const int64_t pad = 4 - y.rank();
  for (int64_t d = 0; d < y.rank(); ++d) {
    copy.extent[pad + d] = y.dim(d);
    copy.source_stride[pad + d] = in_stride[perm[d]];
    copy.destination_stride[pad + d] = out_stride[d];
  }
  copy.layer = node.name;
  program(core).body.push_back(copy);
  distribute(node.outputs[0], core, output);
}

// Concat: each input copied into its slice of the output; cimtlm.QConcat first requantizes
// an input whose scale or zero point differ from the output's through a lookup table.
void Mapper::emit_concat(const Node& node, int core) {
  const Tensor& y = value(node.outputs[0]);
  int64_t axis = node.get_int("axis");
  if (axis < 0) axis += y.rank();
  const bool requantizing = node.domain == "cimtlm";
  std::vector<float> x_scales;
  std::vector<int64_t> x_zero_points;
  float y_scale = 1;
  int32_t y_zero_point = 0;
  if (requantizing) {
    x_scales = node.get_floats("x_scales");
    x_zero_points = node.get_ints("x_zero_points");
    y_scale = node.get_float("y_scale");
    y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  }
  const core::TensorRef output = output_buffer(node, core);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
  for (int64_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
  int64_t offset = 0;
  for (size_t index = 0; index < node.inputs.size(); ++index) {
    const std::string& name = node.inputs[index];
    const Tensor& x = value(name);
    core::TensorRef input = on_core(name, core, node);
    if (requantizing && (x_scales.at(index) != y_scale ||
                         static_cast<int32_t>(x_zero_points.at(index)) != y_zero_point)) {
      core::Lookup lookup;
      lookup.input = input;
      lookup.output = allocate_activation(core, input.type, x.shape(), name + ".requantized");
      auto table = std::make_shared<std::array<int32_t, 256>>();
      const auto lo = static_cast<int32_t>(graph::lowest(x.type()));
      const auto hi = static_cast<int32_t>(graph::highest(x.type()));
      for (int32_t code = lo; code <= hi; ++code) {
        (*table)[static_cast<size_t>(code - lo)] = graph::quantize(
            graph::dequantize(code, x_scales[index], static_cast<int32_t>(x_zero_points[index])),
            y_scale, y_zero_point, lo, hi);
      }
      lookup.table = table;
      lookup.layer = node.name;
      program(core).body.push_back(lookup);
      input = lookup.output;
    }
    core::Copy copy;
    copy.source = input.addr;
    copy.type = input.type;
    const int64_t run = x.dim(axis) * inner;
    copy.extent = {1, 1, outer, run};
    copy.source_stride = {0, 0, run, 1};
    copy.destination_stride = {0, 0, y.dim(axis) * inner, 1};
    copy.destination =
        output.addr + static_cast<core::Addr>(offset * inner) * core::elem_size(input.type);
    copy.layer = node.name;
    program(core).body.push_back(copy);
    offset += x.dim(axis);
  }
  distribute(node.outputs[0], core, output);
}

}  // namespace detail

}  // namespace cimtlm::map
