#include "compiler/quant/quant_layers.h"

#include <map>

namespace cimtlm::quant {

using graph::Graph;
using graph::Node;

namespace {

bool is_op(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op;
}

// Ops the lowering turns into integer ops when their float inputs and outputs are quantized.
bool is_integer_capable(const Node& node) {
  static const std::set<std::string> kOps = {
      "MaxPool",  "AveragePool", "GlobalAveragePool", "Flatten",     "Reshape",  "Transpose",
      "Identity", "Squeeze",     "Unsqueeze",         "Concat",      "Add",      "Mul",
      "Relu",     "Clip",        "Sigmoid",           "HardSigmoid", "HardSwish"};
  return (node.domain.empty() || node.domain == "ai.onnx") && kOps.count(node.op_type) != 0;
}

}  // namespace

bool passes_quantization_through(const Node& node) {
  static const std::set<std::string> kOps = {"MaxPool",  "Flatten", "Reshape",  "Transpose",
                                             "Identity", "Squeeze", "Unsqueeze"};
  return (node.domain.empty() || node.domain == "ai.onnx") && kOps.count(node.op_type) != 0;
}

std::vector<QuantLayer> find_quant_layers(const Graph& graph, const graph::ValueMap* values) {
  std::vector<QuantLayer> layers;
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    const bool conv = is_op(node, "Conv");
    const bool gemm = is_op(node, "Gemm");
    const bool matmul = is_op(node, "MatMul");
    if (!conv && !gemm && !matmul) continue;
    if (node.inputs.size() < 2) continue;
    const graph::Tensor* weight = graph.initializer(node.inputs[1]);
    if (!weight || weight->type() != graph::DataType::Float) continue;  // activation x activation
    if (graph.is_initializer(node.inputs[0])) continue;
    QuantLayer layer;
    layer.name = node.name.empty() ? node.outputs[0] : node.name;
    layer.op = node.op_type;
    layer.node = index;
    layer.input = node.inputs[0];
    layer.weight = node.inputs[1];
    if (node.has_input(2) && graph.is_initializer(node.inputs[2])) layer.bias = node.inputs[2];
    if (conv) {
      layer.weight_axis = 0;
    } else if (gemm) {
      if (weight->rank() != 2) continue;
      layer.weight_axis = node.get_int("transB", 0) != 0 ? 0 : 1;
    } else {
      if (weight->rank() != 2) continue;
      layer.weight_axis = 1;
    }
    layer.channels = weight->dim(layer.weight_axis);
    layer.parameters = weight->elements();
    layer.output = node.outputs[0];
    const std::vector<int> consumers = graph.consumers(node.outputs[0]);
    bool is_graph_output = false;
    for (const auto& output : graph.outputs) is_graph_output |= output.name == node.outputs[0];
    if (consumers.size() == 1 && !is_graph_output) {
      const Node& next = graph.nodes[static_cast<size_t>(consumers[0])];
      if (is_op(next, "Relu") || is_op(next, "Clip")) {
        layer.output = next.outputs[0];
        layer.fused_activation_node = consumers[0];
      }
    }
    if (values) {
      auto output = values->find(node.outputs[0]);
      if (output != values->end()) {
        // Every output element is one dot product of the weight's per-channel fan-in.
        const int64_t fan_in = layer.parameters / layer.channels;
        layer.macs = output->second.elements() * fan_in;
      }
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::vector<std::string> activation_tensors(const Graph& graph,
                                            const std::vector<QuantLayer>& layers) {
  std::set<int> fused;
  std::map<size_t, const QuantLayer*> layer_at;
  for (const auto& layer : layers) {
    layer_at[layer.node] = &layer;
    if (layer.fused_activation_node >= 0) fused.insert(layer.fused_activation_node);
  }
  std::vector<std::string> ordered;
  std::set<std::string> seen;
  auto mark = [&](const std::string& value) {
    if (value.empty() || graph.is_initializer(value) || !seen.insert(value).second) return;
    ordered.push_back(value);
  };
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node& node = graph.nodes[index];
    auto layer = layer_at.find(index);
    if (layer != layer_at.end()) {
      mark(layer->second->input);
      mark(layer->second->output);
    } else if (fused.count(static_cast<int>(index))) {
      continue;  // its output is the layer's result, marked with the layer
    } else if (is_integer_capable(node)) {
      // Shape inputs of Reshape etc. are integer tensors; the caller skips non-float values.
      for (const auto& input : node.inputs) mark(input);
      for (const auto& output : node.outputs) mark(output);
    } else if (is_op(node, "Softmax")) {
      mark(node.inputs[0]);
    }
  }
  return ordered;
}

}  // namespace cimtlm::quant
