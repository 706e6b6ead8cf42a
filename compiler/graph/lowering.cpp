#include "compiler/graph/lowering.h"

#include <algorithm>

#include "compiler/graph/lowering_internal.h"
#include "compiler/graph/quantized_math.h"

namespace cimtlm::graph::lowering_detail {

Lowering::Lowering(const Graph& source) : source_(source) {
  for (const auto& input : source_.inputs) {
    names_.insert(input.name);
    types_[input.name] = input.type;
    graph_inputs_.insert(input.name);
  }
  for (const auto& output : source_.outputs) graph_outputs_.insert(output.name);
  for (const auto& entry : source_.initializers) {
    names_.insert(entry.first);
    types_[entry.first] = entry.second.type();
  }
  for (size_t index = 0; index < source_.nodes.size(); ++index) {
    const Node& node = source_.nodes[index];
    for (const auto& output : node.outputs) {
      names_.insert(output);
      producer_[output] = static_cast<int>(index);
    }
    for (const auto& input : node.inputs) {
      if (!input.empty()) consumers_[input].push_back(static_cast<int>(index));
    }
  }
  infer_source_types();
}

Graph Lowering::run() {
  for (size_t index = 0; index < source_.nodes.size(); ++index) {
    const Node& node = source_.nodes[index];
    if (is_onnx(node, "QLinearConv") || is_onnx(node, "QLinearMatMul") ||
        is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger")) {
      lower_qlinear(node);
      replaced_.insert(index);
    } else if (node.domain == "com.microsoft") {
      lower_com_microsoft(node);
      replaced_.insert(index);
    } else if (is_onnx(node, "QuantizeLinear") && producer(node.inputs[0]) != nullptr) {
      if (lower_island(node)) replaced_.insert(index);
    }
  }
  lower_float_outputs();
  return assemble();
}

const Node* Lowering::producer(const std::string& value) const {
  auto found = producer_.find(value);
  return found == producer_.end() ? nullptr : &source_.nodes[static_cast<size_t>(found->second)];
}

size_t Lowering::consumer_count(const std::string& value) const {
  auto found = consumers_.find(value);
  return (found == consumers_.end() ? 0 : found->second.size()) + graph_outputs_.count(value);
}

const Tensor& Lowering::constant(const Node& node, size_t index, const char* what) const {
  if (!node.has_input(index)) cannot_run(node, std::string(what) + " is missing");
  const Tensor* tensor = source_.initializer(node.inputs[index]);
  if (!tensor)
    cannot_run(node, std::string(what) + " '" + node.inputs[index] + "' is not a constant");
  return *tensor;
}

// Element types of the source graph's values (for the checks of the lowered graph).
void Lowering::infer_source_types() {
  for (const Node& node : source_.nodes) {
    for (size_t output = 0; output < node.outputs.size(); ++output) {
      types_[node.outputs[output]] = output_type(node, output);
    }
  }
}

DataType Lowering::type_of(const std::string& value) const {
  auto found = types_.find(value);
  return found == types_.end() ? DataType::Undefined : found->second;
}

DataType Lowering::output_type(const Node& node, size_t output) const {
  const DataType first = node.inputs.empty() ? DataType::Undefined : type_of(node.inputs[0]);
  if (node.domain == kCimtlm) {
    return node.has("y_type") ? static_cast<DataType>(node.get_int("y_type")) : first;
  }
  if (is_onnx(node, "QuantizeLinear")) {
    return node.has_input(2) ? type_of(node.inputs[2]) : DataType::UInt8;
  }
  if (is_onnx(node, "DequantizeLinear")) return DataType::Float;
  if (is_onnx(node, "QLinearConv") || is_onnx(node, "QLinearMatMul"))
    return type_of(node.inputs[7]);
  if (is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger")) return DataType::Int32;
  if (is_onnx(node, "Cast")) return static_cast<DataType>(node.get_int("to"));
  if (is_onnx(node, "DynamicQuantizeLinear"))
    return output == 1 ? DataType::Float : DataType::UInt8;
  if (is_onnx(node, "MaxPool") && output == 1) return DataType::Int64;
  if (node.domain == "com.microsoft" && node.op_type == "QLinearConcat") {
    return node.inputs.size() > 2 ? type_of(node.inputs[2]) : DataType::Undefined;
  }
  return first;
}

// A value name not used in the source graph or by earlier fused nodes.
std::string Lowering::fresh(const std::string& base) {
  std::string name = base;
  for (int suffix = 1; names_.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
  names_.insert(name);
  return name;
}

// The name of a fused node: the name of the source node it replaces (so that reports keep the
// model's layer names), made unique among the fused nodes.
std::string Lowering::node_name(const std::string& base) {
  std::string name = base;
  for (int suffix = 1; node_names_.count(name); ++suffix)
    name = base + "_" + std::to_string(suffix);
  node_names_.insert(name);
  return name;
}

Node Lowering::make(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                    std::vector<std::string> outputs) {
  Node node;
  node.domain = kCimtlm;
  node.op_type = op;
  node.name = node_name(name);
  node.inputs = std::move(inputs);
  node.outputs = std::move(outputs);
  return node;
}

void Lowering::emit(Node node) {
  for (size_t output = 0; output < node.outputs.size(); ++output) {
    types_[node.outputs[output]] = output_type(node, output);
  }
  fused_.push_back(std::move(node));
}

void Lowering::set_output_quant(Node& node, const QuantParams& y) {
  node.attributes["y_scale"] = Attribute::of_float(y.scale());
  node.attributes["y_zero_point"] = Attribute::of_int(y.zero_point());
  node.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y.type));
}

// y = Q(DQ(x)) as a 256-entry table (or Identity when the parameters are equal).
void Lowering::emit_requantization(const std::string& name, const std::string& input,
                                   const QuantParams& x, const QuantParams& y,
                                   const std::string& output) {
  if (x.same_as(y)) {
    Node identity = make("Identity", name, {input}, {output});
    identity.domain.clear();
    emit(std::move(identity));
    return;
  }
  const auto lo = static_cast<int32_t>(lowest(x.type));
  std::vector<int64_t> table(256);
  const auto y_lo = static_cast<int32_t>(lowest(y.type));
  const auto y_hi = static_cast<int32_t>(highest(y.type));
  for (int32_t code = 0; code < 256; ++code) {
    table[static_cast<size_t>(code)] = quantize(dequantize(code + lo, x.scale(), x.zero_point()),
                                                y.scale(), y.zero_point(), y_lo, y_hi);
  }
  Node lookup = make("QLookup", name, {input}, {output});
  lookup.attributes["table"] = Attribute::of_ints(std::move(table));
  lookup.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y.type));
  emit(std::move(lookup));
}

Graph Lowering::assemble() {
  std::vector<Node> candidates;
  for (size_t index = 0; index < source_.nodes.size(); ++index) {
    if (!replaced_.count(index)) candidates.push_back(source_.nodes[index]);
  }
  candidates.insert(candidates.end(), fused_.begin(), fused_.end());
  std::map<std::string, size_t> produced_by;
  for (size_t index = 0; index < candidates.size(); ++index) {
    for (const auto& output : candidates[index].outputs) produced_by[output] = index;
  }
  std::vector<bool> live(candidates.size(), false);
  std::vector<std::string> needed(graph_outputs_.begin(), graph_outputs_.end());
  while (!needed.empty()) {
    const std::string value = needed.back();
    needed.pop_back();
    auto found = produced_by.find(value);
    if (found == produced_by.end() || live[found->second]) continue;
    live[found->second] = true;
    for (const auto& input : candidates[found->second].inputs) {
      if (!input.empty()) needed.push_back(input);
    }
  }

  Graph lowered;
  lowered.name = source_.name;
  lowered.opset = source_.opset;
  lowered.metadata = source_.metadata;
  lowered.inputs = source_.inputs;
  lowered.outputs = source_.outputs;
  std::set<std::string> used;
  for (size_t index = 0; index < candidates.size(); ++index) {
    if (!live[index]) continue;
    check_lowered(candidates[index]);
    for (const auto& input : candidates[index].inputs) used.insert(input);
    lowered.nodes.push_back(std::move(candidates[index]));
  }
  for (const auto& output : lowered.outputs) used.insert(output.name);
  for (const auto& entry : source_.initializers) {
    if (used.count(entry.first)) lowered.initializers[entry.first] = entry.second;
  }
  for (auto& entry : new_initializers_) {
    if (used.count(entry.first)) lowered.initializers[entry.first] = std::move(entry.second);
  }
  lowered.sort_topologically();
  return lowered;
}

void Lowering::check_lowered(const Node& node) const {
  if (!node.outputs.empty() && island_values_.count(node.outputs[0])) return;  // float island
  if (!is_lowered_op(node)) {
    cannot_run(node, "op " + node.op_type + " outside the supported integer islands (float " +
                         "computation needs DequantizeLinear/QuantizeLinear around a pattern the "
                         "lowering knows)");
  }
  const DataType data = node.inputs.empty() ? DataType::Undefined : type_of(node.inputs[0]);
  if (is_onnx(node, "QuantizeLinear")) {
    if (!graph_inputs_.count(node.inputs[0])) {
      cannot_run(node,
                 "QuantizeLinear of '" + node.inputs[0] + "', which is not a float graph input");
    }
    return;
  }
  if (is_onnx(node, "DequantizeLinear")) {
    if (!graph_outputs_.count(node.outputs[0]) || !is_eight_bit(data)) {
      cannot_run(node, "DequantizeLinear whose output '" + node.outputs[0] +
                           "' is not a float graph output of 8-bit data");
    }
    return;
  }
  if (is_onnx(node, "MaxPool") && !is_eight_bit(data)) {
    cannot_run(node, "MaxPool on " + std::string(to_string(data)) + " data");
  }
  if (node.domain.empty() && !is_integer(data)) {
    cannot_run(node, node.op_type + " on " + std::string(to_string(data)) + " data");
  }
}

}  // namespace cimtlm::graph::lowering_detail

namespace cimtlm::graph {

bool is_lowered_op(const Node& node) {
  static const std::set<std::string> kFused = {
      "QConv",    "QGemm",  "QLookup", "QAdd", "QMul", "QAveragePool", "QGlobalAveragePool",
      "QSoftmax", "QConcat"};
  static const std::set<std::string> kInteger = {
      "MaxPool",  "Reshape", "Flatten",   "Transpose",      "Concat",          "Gather",
      "Identity", "Squeeze", "Unsqueeze", "QuantizeLinear", "DequantizeLinear"};
  if (node.domain == lowering_detail::kCimtlm) return kFused.count(node.op_type) != 0;
  return (node.domain.empty() || node.domain == "ai.onnx") && kInteger.count(node.op_type) != 0;
}

const std::set<std::string>& lookup_island_ops() {
  static const std::set<std::string> ops = {
      "Relu", "Clip",      "HardSigmoid", "HardSwish", "Sigmoid",    "Identity", "Add", "Mul",
      "Sub",  "Div",       "Pow",         "Sqrt",      "Reciprocal", "Exp",      "Log", "Erf",
      "Tanh", "LeakyRelu", "PRelu",       "Min",       "Max",        "Abs",      "Neg", "Gelu"};
  return ops;
}

const std::set<std::string>& float_island_ops() {
  static const std::set<std::string> ops = {
      // element-wise
      "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
      "Sigmoid", "HardSigmoid", "HardSwish", "Relu", "LeakyRelu", "PRelu", "Clip", "Min", "Max",
      "Abs", "Neg", "Where", "Gelu", "Identity", "Cast",
      // reductions and normalisation
      "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "LayerNormalization", "Softmax",
      // float linear layers with float weights
      "Conv", "ConvTranspose", "MatMul", "Gemm",
      // shape ops
      "Slice", "Split", "Pad", "Resize", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Expand",
      "Reshape", "Concat", "Gather", "MaxPool", "AveragePool", "GlobalAveragePool"};
  return ops;
}

Graph lower_quantized(const Graph& graph) {
  return lowering_detail::Lowering(graph).run();
}

}  // namespace cimtlm::graph
