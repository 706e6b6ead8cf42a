#include "compiler/onnx/op_checks.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "compiler/graph/kernel_registry.h"

namespace cimtlm::onnx {

using graph::DataType;
using graph::ModelError;
using graph::Node;

namespace {

struct Context {
  const Node& node;
  const graph::Graph& graph;
  const KnownValues& known;

  // The known value info of input `index`, or null.
  const graph::ValueInfo* input(size_t index) const {
    if (!node.has_input(index)) return nullptr;
    auto found = known.find(node.inputs[index]);
    if (found == known.end() || found->second.type == DataType::Undefined) return nullptr;
    return &found->second;
  }
  [[noreturn]] void fail(const std::string& message) const {
    throw ModelError(node.describe() + ": " + message);
  }
};

struct OpSpec {
  std::set<std::string> attributes;
  size_t min_inputs = 1, max_inputs = 1;
  size_t max_outputs = 1;
  std::function<void(const Context&)> check;
};

void check_auto_pad(const Context& context) {
  const std::string auto_pad = context.node.get_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER") {
    context.fail("auto_pad '" + auto_pad + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  }
}

// Lengths of the spatial attributes against the number of spatial axes (1 or 2).
void check_spatial_attributes(const Context& context, size_t spatial) {
  if (spatial != 1 && spatial != 2) {
    context.fail(std::to_string(spatial) + "-D windows are not supported (only 1-D and 2-D)");
  }
  const Node& node = context.node;
  for (const char* name : {"strides", "dilations", "kernel_shape"}) {
    if (!node.has(name)) continue;
    const auto values = node.get_ints(name);
    if (values.size() != spatial) {
      context.fail(std::string("attribute '") + name + "' has " + std::to_string(values.size()) +
                   " values for " + std::to_string(spatial) + " spatial axes");
    }
    for (int64_t value : values) {
      if (value < 1) context.fail(std::string("attribute '") + name + "' must be >= 1");
    }
  }
  if (node.has("pads")) {
    const auto pads = node.get_ints("pads");
    if (pads.size() != 2 * spatial) {
      context.fail("attribute 'pads' has " + std::to_string(pads.size()) + " values for " +
                   std::to_string(spatial) + " spatial axes");
    }
    for (int64_t pad : pads) {
      if (pad < 0) context.fail("negative padding is not supported");
    }
  }
}

// Conv, QLinearConv, ConvInteger: weight input `w_index`.
void check_convolution(const Context& context, size_t w_index) {
  check_auto_pad(context);
  const Node& node = context.node;
  const int64_t group = node.get_int("group", 1);
  if (group < 1) context.fail("group must be >= 1");
  const graph::ValueInfo* x = context.input(0);
  const graph::ValueInfo* w = context.input(w_index);
  size_t spatial = 0;
  if (w) {
    spatial = w->shape.size() >= 2 ? w->shape.size() - 2 : 0;
  } else if (x) {
    spatial = x->shape.size() >= 2 ? x->shape.size() - 2 : 0;
  } else if (node.has("kernel_shape")) {
    spatial = node.get_ints("kernel_shape").size();
  } else {
    return;  // nothing known; the kernel checks at run time
  }
  check_spatial_attributes(context, spatial);
  if (x && w && x->shape.size() != w->shape.size()) {
    context.fail("input shape " + graph::to_string(x->shape) + " and weight shape " +
                 graph::to_string(w->shape) + " have different ranks");
  }
  if (w && node.has("kernel_shape")) {
    const auto kernel = node.get_ints("kernel_shape");
    for (size_t d = 0; d < spatial; ++d) {
      if (w->shape[d + 2] >= 0 && w->shape[d + 2] != kernel[d]) {
        context.fail("kernel_shape does not match weight shape " + graph::to_string(w->shape));
      }
    }
  }
  if (x && w && x->shape[1] >= 0 && w->shape[1] >= 0 && x->shape[1] != w->shape[1] * group) {
    context.fail("shape mismatch: input has " + std::to_string(x->shape[1]) +
                 " channels but weight " + graph::to_string(w->shape) + " with group " +
                 std::to_string(group) + " expects " + std::to_string(w->shape[1] * group));
  }
  if (w && w->shape[0] >= 0 && w->shape[0] % group != 0) {
    context.fail("weight " + graph::to_string(w->shape) + " output channels are not divisible by group " +
                 std::to_string(group));
  }
}

void check_pool(const Context& context) {
  check_auto_pad(context);
  const Node& node = context.node;
  const auto kernel = node.get_ints("kernel_shape");  // required
  check_spatial_attributes(context, kernel.size());
  if (const graph::ValueInfo* x = context.input(0)) {
    if (x->shape.size() != kernel.size() + 2) {
      context.fail("kernel_shape " + graph::to_string(kernel) + " does not fit input shape " +
                   graph::to_string(x->shape));
    }
  }
  const int64_t ceil_mode = node.get_int("ceil_mode", 0);
  if (ceil_mode != 0 && ceil_mode != 1) context.fail("ceil_mode must be 0 or 1");
  const int64_t storage_order = node.get_int("storage_order", 0);
  if (storage_order != 0 && storage_order != 1) context.fail("storage_order must be 0 or 1");
  const int64_t include_pad = node.get_int("count_include_pad", 0);
  if (include_pad != 0 && include_pad != 1) context.fail("count_include_pad must be 0 or 1");
}

void check_global_pool(const Context& context) {
  if (const graph::ValueInfo* x = context.input(0)) {
    if (x->shape.size() < 3) {
      context.fail("input must be [N, C, spatial...], got " + graph::to_string(x->shape));
    }
  }
}

void check_matrix_inputs(const Context& context) {
  for (size_t index = 0; index < 2; ++index) {
    if (const graph::ValueInfo* value = context.input(index)) {
      if (value->shape.size() != 2) {
        context.fail("input " + std::to_string(index) + " must be a matrix, got shape " +
                     graph::to_string(value->shape));
      }
    }
  }
}

void check_binary_flag(const Context& context, const char* name) {
  const int64_t value = context.node.get_int(name, 0);
  if (value != 0 && value != 1) context.fail(std::string(name) + " must be 0 or 1");
}

void check_batch_norm(const Context& context) {
  if (context.node.get_int("training_mode", 0) != 0) {
    context.fail("training_mode=1 is not supported (inference only)");
  }
  for (size_t output = 1; output < context.node.outputs.size(); ++output) {
    if (!context.node.outputs[output].empty()) {
      context.fail("running mean/variance outputs (training mode) are not supported");
    }
  }
}

void check_eight_bit_zero_point(const Context& context, size_t index, bool allow_int32) {
  if (const graph::ValueInfo* zp = context.input(index)) {
    if (zp->type != DataType::Int8 && zp->type != DataType::UInt8 &&
        !(allow_int32 && zp->type == DataType::Int32)) {
      context.fail("zero point of type " + std::string(graph::to_string(zp->type)) +
                   " is not supported (int8 or uint8)");
    }
  }
}

// A quantization scale that is a constant must be finite and positive: a scale of 0 or NaN
// makes every value 0 or NaN without any error downstream.
void check_scale(const Context& context, size_t index) {
  if (!context.node.has_input(index)) return;
  auto found = context.graph.initializers.find(context.node.inputs[index]);
  if (found == context.graph.initializers.end()) return;
  const graph::Tensor& scale = found->second;
  if (scale.type() != DataType::Float && scale.type() != DataType::Double) return;
  for (int64_t i = 0; i < scale.elements(); ++i) {
    const double value = scale.as_double(i);
    if (!(value > 0.0) || !std::isfinite(value)) {
      context.fail("scale '" + context.node.inputs[index] + "' has the value " +
                   std::to_string(value) + " (a scale must be finite and > 0)");
    }
  }
}

void check_resize(const Context& context) {
  const Node& node = context.node;
  const std::string mode = node.get_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear") {
    context.fail("mode '" + mode + "' is not supported (nearest, linear)");
  }
  if (node.get_int("antialias", 0) != 0) context.fail("antialias is not supported");
  if (node.get_int("exclude_outside", 0) != 0) context.fail("exclude_outside is not supported");
  const std::string policy = node.get_string("keep_aspect_ratio_policy", "stretch");
  if (policy != "stretch") context.fail("keep_aspect_ratio_policy '" + policy + "' is not supported");
}

const std::map<std::string, OpSpec>& default_domain_specs() {
  static const std::map<std::string, OpSpec> specs = [] {
    std::map<std::string, OpSpec> table;
    const std::set<std::string> conv_attributes = {"auto_pad", "dilations", "group",
                                                   "kernel_shape", "pads", "strides"};
    table["Conv"] = {conv_attributes, 2, 3, 1, [](const Context& c) { check_convolution(c, 1); }};
    table["QLinearConv"] = {conv_attributes, 8, 9, 1, [](const Context& c) {
                              check_convolution(c, 3);
                              check_eight_bit_zero_point(c, 7, false);
                            }};
    table["ConvInteger"] = {conv_attributes, 2, 4, 1,
                            [](const Context& c) { check_convolution(c, 1); }};
    table["Gemm"] = {{"alpha", "beta", "transA", "transB"}, 2, 3, 1, [](const Context& c) {
                       check_matrix_inputs(c);
                       check_binary_flag(c, "transA");
                       check_binary_flag(c, "transB");
                     }};
    table["MatMul"] = {{}, 2, 2, 1, nullptr};
    table["QLinearMatMul"] = {{}, 8, 8, 1,
                              [](const Context& c) { check_eight_bit_zero_point(c, 7, false); }};
    table["MatMulInteger"] = {{}, 2, 4, 1, nullptr};
    table["Relu"] = {{}, 1, 1, 1, nullptr};
    table["Sigmoid"] = {{}, 1, 1, 1, nullptr};
    table["HardSigmoid"] = {{"alpha", "beta"}, 1, 1, 1, nullptr};
    table["HardSwish"] = {{}, 1, 1, 1, nullptr};
    table["Identity"] = {{}, 1, 1, 1, nullptr};
    table["Clip"] = {{}, 1, 3, 1, nullptr};  // legacy min/max attributes are inputs by now
    const std::set<std::string> pool_attributes = {"auto_pad", "ceil_mode", "kernel_shape",
                                                   "pads", "strides"};
    std::set<std::string> max_pool_attributes = pool_attributes;
    max_pool_attributes.insert({"dilations", "storage_order"});
    table["MaxPool"] = {max_pool_attributes, 1, 1, 2, check_pool};
    std::set<std::string> average_pool_attributes = pool_attributes;
    average_pool_attributes.insert("count_include_pad");
    table["AveragePool"] = {average_pool_attributes, 1, 1, 1, check_pool};
    table["GlobalAveragePool"] = {{}, 1, 1, 1, check_global_pool};
    table["GlobalMaxPool"] = {{}, 1, 1, 1, check_global_pool};
    table["Add"] = {{}, 2, 2, 1, nullptr};
    table["Mul"] = {{}, 2, 2, 1, nullptr};
    table["Concat"] = {{"axis"}, 1, SIZE_MAX, 1, [](const Context& c) { c.node.get_int("axis"); }};
    table["Reshape"] = {{"allowzero"}, 2, 2, 1,
                        [](const Context& c) { check_binary_flag(c, "allowzero"); }};
    table["Flatten"] = {{"axis"}, 1, 1, 1, nullptr};
    table["Transpose"] = {{"perm"}, 1, 1, 1, nullptr};
    table["Gather"] = {{"axis"}, 2, 2, 1, nullptr};
    table["BatchNormalization"] = {{"epsilon", "momentum", "training_mode"}, 5, 5, 3,
                                   check_batch_norm};
    table["Softmax"] = {{"axis"}, 1, 1, 1, nullptr};
    // 'saturate' (opset 19) only concerns float8 outputs; 8-bit integers always clamp.
    table["QuantizeLinear"] = {{"axis", "saturate"}, 2, 3, 1, [](const Context& c) {
                                 check_scale(c, 1);
                                 check_eight_bit_zero_point(c, 2, false);
                               }};
    table["DequantizeLinear"] = {{"axis"}, 2, 3, 1, [](const Context& c) {
                                   check_scale(c, 1);
                                   check_eight_bit_zero_point(c, 2, true);
                                 }};
    table["DynamicQuantizeLinear"] = {{}, 1, 1, 3, nullptr};
    table["Cast"] = {{"to", "saturate"}, 1, 1, 1, [](const Context& c) {
                   const int64_t to = c.node.get_int("to");
                   const std::set<int64_t> numeric = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13};
                   if (!numeric.count(to)) {
                     c.fail("to = " + std::to_string(to) +
                            " is not a numeric type cimtlm computes (float, double, 8- to 64-bit "
                            "integers)");
                   }
                 }};
    // Element-wise math (graph/kernels_math.cpp).
    for (const char* op : {"Sub", "Div", "Pow", "PRelu"}) table[op] = {{}, 2, 2, 1, nullptr};
    for (const char* op : {"Min", "Max"}) table[op] = {{}, 1, SIZE_MAX, 1, nullptr};
    table["Where"] = {{}, 3, 3, 1, nullptr};
    for (const char* op : {"Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh", "Abs", "Neg"}) {
      table[op] = {{}, 1, 1, 1, nullptr};
    }
    table["LeakyRelu"] = {{"alpha"}, 1, 1, 1, nullptr};
    table["Gelu"] = {{"approximate"}, 1, 1, 1, [](const Context& c) {
                       const std::string approximate = c.node.get_string("approximate", "none");
                       if (approximate != "none" && approximate != "tanh") {
                         c.fail("approximate must be 'none' or 'tanh', got '" + approximate + "'");
                       }
                     }};
    // Reductions and normalisation (graph/kernels_reduce.cpp); axes as attribute (opset < 18)
    // or input (ReduceSum from 13, all from 18).
    for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"}) {
      table[op] = {{"axes", "keepdims", "noop_with_empty_axes"}, 1, 2, 1, [](const Context& c) {
                     check_binary_flag(c, "keepdims");
                     check_binary_flag(c, "noop_with_empty_axes");
                   }};
    }
    table["LayerNormalization"] = {{"axis", "epsilon", "stash_type"}, 2, 3, 3, [](const Context& c) {
                                     if (c.node.get_int("stash_type", 1) != 1) {
                                       c.fail("stash_type other than 1 (float32) is not supported");
                                     }
                                   }};
    table["ConvTranspose"] = {{"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                                "output_shape", "pads", "strides"},
                               2, 3, 1, check_auto_pad};
    // Shape ops (graph/kernels_shape.cpp).
    table["Slice"] = {{}, 3, 5, 1, nullptr};
    table["Split"] = {{"axis", "num_outputs"}, 1, 2, SIZE_MAX, nullptr};
    table["Pad"] = {{"mode"}, 2, 4, 1, [](const Context& c) {
                      const std::string mode = c.node.get_string("mode", "constant");
                      if (mode != "constant" && mode != "reflect" && mode != "edge") {
                        c.fail("mode '" + mode + "' is not supported (constant, reflect, edge)");
                      }
                    }};
    table["Squeeze"] = {{}, 1, 2, 1, nullptr};
    table["Unsqueeze"] = {{}, 2, 2, 1, nullptr};
    table["Expand"] = {{}, 2, 2, 1, nullptr};
    table["Resize"] = {{"antialias", "coordinate_transformation_mode", "cubic_coeff_a",
                        "exclude_outside", "extrapolation_value", "keep_aspect_ratio_policy",
                        "mode", "nearest_mode"},
                       1, 4, 1, check_resize};
    return table;
  }();
  return specs;
}

// onnxruntime's quantized contrib ops (graph/kernels_com_microsoft.cpp has their arithmetic).
const std::map<std::string, OpSpec>& com_microsoft_specs() {
  static const std::map<std::string, OpSpec> specs = [] {
    std::map<std::string, OpSpec> table;
    table["QLinearAdd"] = {{}, 7, 8, 1, nullptr};
    table["QLinearMul"] = {{}, 7, 8, 1, nullptr};
    table["QLinearAveragePool"] = {{"auto_pad", "ceil_mode", "channels_last", "count_include_pad",
                                    "kernel_shape", "pads", "strides"},
                                   4, 5, 1, check_pool};
    table["QLinearGlobalAveragePool"] = {{"channels_last"}, 4, 5, 1, check_global_pool};
    table["QLinearSigmoid"] = {{}, 4, 5, 1, nullptr};
    table["QLinearLeakyRelu"] = {{"alpha"}, 4, 5, 1, nullptr};
    table["QLinearConcat"] = {{"axis"}, 5, SIZE_MAX, 1, nullptr};
    table["QLinearSoftmax"] = {{"axis", "opset"}, 4, 5, 1, nullptr};
    table["QGemm"] = {{"alpha", "transA", "transB"}, 6, 9, 1, nullptr};
    return table;
  }();
  return specs;
}

const OpSpec* find_spec(const Node& node) {
  const bool onnx_domain = node.domain.empty() || node.domain == "ai.onnx";
  if (!onnx_domain && node.domain != "com.microsoft") return nullptr;
  const auto& specs = onnx_domain ? default_domain_specs() : com_microsoft_specs();
  auto found = specs.find(node.op_type);
  return found == specs.end() ? nullptr : &found->second;
}

}  // namespace

std::vector<std::string> supported_onnx_ops() {
  std::vector<std::string> ops;
  for (const auto& entry : default_domain_specs()) ops.push_back(entry.first);
  return ops;
}

std::vector<std::string> supported_com_microsoft_ops() {
  std::vector<std::string> ops;
  for (const auto& entry : com_microsoft_specs()) ops.push_back(entry.first);
  return ops;
}

void check_op_at_opset(const Node& node, int64_t opset) {
  if (!(node.domain.empty() || node.domain == "ai.onnx") || opset < 18) return;
  const std::string& op = node.op_type;
  auto refuse = [&](const std::string& why) {
    throw ModelError(node.describe() + ": " + op + " at opset " + std::to_string(opset) + ": " +
                     why + " is not supported by cimtlm");
  };
  auto has = [&](const char* attribute) { return node.attributes.count(attribute) != 0; };
  if (op == "Split" && has("num_outputs")) {
    refuse("attribute 'num_outputs' (opset 18; give the sizes as the 'split' input)");
  }
  if (op == "Pad") {
    if (node.has_input(3)) refuse("the 'axes' input (opset 18)");
    if (has("mode") && node.get_string("mode", "constant") == "wrap")
      refuse("mode 'wrap' (opset 19)");
  }
  if (op == "Resize") {
    if (node.get_int("antialias", 0) != 0) refuse("antialias (opset 18)");
    if (has("axes")) refuse("attribute 'axes' (opset 18)");
    if (node.get_string("keep_aspect_ratio_policy", "stretch") != "stretch")
      refuse("keep_aspect_ratio_policy other than 'stretch' (opset 18)");
    if (node.get_string("coordinate_transformation_mode", "half_pixel") == "half_pixel_symmetric")
      refuse("coordinate_transformation_mode 'half_pixel_symmetric' (opset 19)");
  }
  if (op == "AveragePool" && has("dilations")) refuse("attribute 'dilations' (opset 19)");
  if ((op == "ReduceMean" || op == "ReduceMax" || op == "ReduceMin") && has("axes"))
    refuse("attribute 'axes' (an input from opset 18)");
}

void check_op_known(const Node& node) {
  const bool default_domain = node.domain.empty() || node.domain == "ai.onnx";
  const bool microsoft = node.domain == "com.microsoft";
  if (!default_domain && !microsoft && node.domain != "cimtlm") {
    throw ModelError(node.describe() + ": operator domain '" + node.domain +
                     "' is not supported (only the default ONNX domain, com.microsoft's quantized "
                     "ops and cimtlm)");
  }
  const bool has_kernel = graph::KernelRegistry::instance().find(node.domain, node.op_type);
  if (!has_kernel || ((default_domain || microsoft) && !find_spec(node))) {
    throw ModelError(node.describe() + ": op '" + node.op_type + "' is not supported by cimtlm");
  }
  // ONNX's shape inference divides by these (a Conv with stride 0 is a SIGFPE inside libonnx),
  // and it runs before check_node: check them first, whatever the op.
  for (const char* name : {"strides", "dilations", "kernel_shape"}) {
    auto found = node.attributes.find(name);
    if (found == node.attributes.end()) continue;
    if (found->second.kind != graph::Attribute::Kind::Ints) {
      throw ModelError(node.describe() + ": attribute '" + name + "' must be a list of integers");
    }
    for (int64_t value : found->second.ints) {
      if (value < 1) {
        throw ModelError(node.describe() + ": attribute '" + name + "' must be >= 1 (found " +
                         std::to_string(value) + ")");
      }
    }
  }
  for (const char* name : {"group", "blocksize"}) {
    auto found = node.attributes.find(name);
    if (found == node.attributes.end()) continue;
    if (found->second.kind != graph::Attribute::Kind::Int || found->second.i < 1) {
      throw ModelError(node.describe() + ": attribute '" + name + "' must be an integer >= 1");
    }
  }
  // Arity before ONNX's shape inference: its inference functions index inputs and outputs by
  // the schema's positions. (Attribute names are checked after the legacy forms are upgraded.)
  const OpSpec* spec = find_spec(node);
  if (!spec) return;  // cimtlm's own fused ops: their kernels check their attributes
  const size_t inputs = node.input_count();
  if (inputs < spec->min_inputs || inputs > spec->max_inputs) {
    throw ModelError(node.describe() + ": " + std::to_string(inputs) + " inputs given, " +
                     std::to_string(spec->min_inputs) +
                     (spec->max_inputs == SIZE_MAX ? std::string(" or more")
                                                   : ".." + std::to_string(spec->max_inputs)) +
                     " expected");
  }
  if (node.outputs.size() > spec->max_outputs || node.outputs.empty()) {
    throw ModelError(node.describe() + ": " + std::to_string(node.outputs.size()) +
                     " outputs, at most " + std::to_string(spec->max_outputs) + " supported");
  }
}

void check_node(const Node& node, const graph::Graph& graph, const KnownValues& known) {
  check_op_known(node);
  const OpSpec* spec = find_spec(node);
  if (!spec) return;  // cimtlm's own fused ops: their kernels check their attributes
  for (const auto& attribute : node.attributes) {
    if (!spec->attributes.count(attribute.first)) {
      throw ModelError(node.describe() + ": attribute '" + attribute.first +
                       "' is not supported by cimtlm");
    }
  }
  if (spec->check) spec->check(Context{node, graph, known});
}

}  // namespace cimtlm::onnx
