#include "compiler/quant/qdq_builder.h"

#include <cmath>
#include <set>

namespace cimtlm::quant {

using graph::Attribute;
using graph::DataType;
using graph::Graph;
using graph::ModelError;
using graph::Node;
using graph::Tensor;

namespace {

class QdqRewriter {
 public:
  explicit QdqRewriter(const Graph& source) : graph_(source) {
    for (const auto& input : graph_.inputs) values_.insert(input.name);
    for (const auto& entry : graph_.initializers) values_.insert(entry.first);
    for (const auto& node : graph_.nodes) {
      node_names_.insert(node.name);
      for (const auto& output : node.outputs) values_.insert(output);
    }
  }

  void quantize_activation(const std::string& tensor, const ActivationQuant& quant) {
    const std::string scale = fresh_value(tensor + "_scale");
    const std::string zero_point = fresh_value(tensor + "_zero_point");
    graph_.initializers[scale] = Tensor::scalar<float>(quant.scale);
    graph_.initializers[zero_point] =
        Tensor::scalar<uint8_t>(static_cast<uint8_t>(quant.zero_point));
    const std::string quantized = fresh_value(tensor + "_quantized");

    bool is_input = false;
    for (const auto& input : graph_.inputs) is_input |= input.name == tensor;
    if (is_input) {
      const std::string dequantized = fresh_value(tensor + "_dequantized");
      for (auto& node : graph_.nodes) {
        for (auto& input : node.inputs) {
          if (input == tensor) input = dequantized;
        }
      }
      added_.push_back(make("QuantizeLinear", tensor + "_QuantizeLinear",
                            {tensor, scale, zero_point}, quantized));
      added_.push_back(make("DequantizeLinear", tensor + "_DequantizeLinear",
                            {quantized, scale, zero_point}, dequantized));
      return;
    }
    Node* producer = nullptr;
    size_t slot = 0;
    for (auto& node : graph_.nodes) {
      for (size_t output = 0; output < node.outputs.size(); ++output) {
        if (node.outputs[output] == tensor) {
          producer = &node;
          slot = output;
        }
      }
    }
    if (!producer)
      throw ModelError("quantization plan names tensor '" + tensor + "', which no node computes");
    const std::string prequant = fresh_value(tensor + "_prequant");
    producer->outputs[slot] = prequant;
    added_.push_back(make("QuantizeLinear", tensor + "_QuantizeLinear",
                          {prequant, scale, zero_point}, quantized));
    added_.push_back(make("DequantizeLinear", tensor + "_DequantizeLinear",
                          {quantized, scale, zero_point}, tensor));
  }

  void quantize_layer(const QuantLayer& layer, const WeightSpec& spec, const ActivationQuant* input,
                      QuantizedWeights& weights) {
    const Tensor* float_weights = graph_.initializer(layer.weight);
    if (!float_weights)
      throw ModelError("layer '" + layer.name + "': weight '" + layer.weight +
                       "' is not a constant");
    weights = quantize_weights(*float_weights, layer.weight_axis, spec);
    const bool per_channel = weights.scales.size() > 1 || spec.per_channel;
    const graph::Shape scale_shape =
        per_channel ? graph::Shape{static_cast<int64_t>(weights.scales.size())} : graph::Shape{};

    const std::string codes = fresh_value(layer.weight + "_quantized");
    const std::string scale = fresh_value(layer.weight + "_scale");
    const std::string zero_point = fresh_value(layer.weight + "_zero_point");
    const std::string dequantized = fresh_value(layer.weight + "_dequantized");
    graph_.initializers[codes] = weights.codes;
    graph_.initializers[scale] = Tensor::from<float>(scale_shape, weights.scales);
    graph_.initializers[zero_point] = Tensor(DataType::Int8, scale_shape);
    Node dq = make("DequantizeLinear", layer.name + "_weight_DequantizeLinear",
                   {codes, scale, zero_point}, dequantized);
    if (per_channel) dq.attributes["axis"] = Attribute::of_int(weights.axis);
    added_.push_back(std::move(dq));
    Node& node = graph_.nodes[layer.node];
    node.inputs[1] = dequantized;

    if (!layer.bias.empty() && input) {
      const Tensor& float_bias = *graph_.initializer(layer.bias);
      if (float_bias.type() != DataType::Float || float_bias.elements() != layer.channels) {
        throw ModelError("layer '" + layer.name + "': bias '" + layer.bias + "' must hold " +
                         std::to_string(layer.channels) + " float values");
      }
      // The lowering and onnxruntime both expect the bias scale x_scale * w_scale, computed in
      // float32 exactly so.
      std::vector<float> bias_scales;
      for (float w_scale : weights.scales) bias_scales.push_back(input->scale * w_scale);
      Tensor integers(DataType::Int32, {layer.channels});
      for (int64_t c = 0; c < layer.channels; ++c) {
        const float product = bias_scales[per_channel ? static_cast<size_t>(c) : 0];
        const double rounded =
            std::nearbyint(static_cast<double>(float_bias.data<float>()[c]) / product);
        if (std::fabs(rounded) > 2147483647.0) {
          throw ModelError("layer '" + layer.name + "': bias does not fit int32 at scale " +
                           std::to_string(product));
        }
        integers.data<int32_t>()[c] = static_cast<int32_t>(rounded);
      }
      const std::string bias_codes = fresh_value(layer.bias + "_quantized");
      const std::string bias_scale = fresh_value(layer.bias + "_scale");
      const std::string bias_zero_point = fresh_value(layer.bias + "_zero_point");
      const std::string bias_dequantized = fresh_value(layer.bias + "_dequantized");
      graph_.initializers[bias_codes] = std::move(integers);
      graph_.initializers[bias_scale] = Tensor::from<float>(scale_shape, bias_scales);
      graph_.initializers[bias_zero_point] = Tensor(DataType::Int32, scale_shape);
      Node bias_dq = make("DequantizeLinear", layer.name + "_bias_DequantizeLinear",
                          {bias_codes, bias_scale, bias_zero_point}, bias_dequantized);
      if (per_channel) bias_dq.attributes["axis"] = Attribute::of_int(0);
      added_.push_back(std::move(bias_dq));
      graph_.nodes[layer.node].inputs[2] = bias_dequantized;
    }
    graph_.metadata["cimtlm.weight_bits." + layer.name] = std::to_string(spec.bits);
  }

  Graph finish() {
    for (auto& node : added_) graph_.nodes.push_back(std::move(node));
    added_.clear();
    // Float initializers that only the replaced weights and biases used.
    std::set<std::string> used;
    for (const auto& node : graph_.nodes) used.insert(node.inputs.begin(), node.inputs.end());
    for (const auto& output : graph_.outputs) used.insert(output.name);
    for (auto it = graph_.initializers.begin(); it != graph_.initializers.end();) {
      it = used.count(it->first) ? std::next(it) : graph_.initializers.erase(it);
    }
    graph_.sort_topologically();
    return std::move(graph_);
  }

 private:
  std::string fresh_value(const std::string& base) {
    std::string name = base;
    for (int suffix = 1; values_.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
    values_.insert(name);
    return name;
  }
  Node make(const std::string& op, const std::string& name, std::vector<std::string> inputs,
            const std::string& output) {
    Node node;
    node.op_type = op;
    node.name = name;
    for (int suffix = 1; node_names_.count(node.name); ++suffix)
      node.name = name + "_" + std::to_string(suffix);
    node_names_.insert(node.name);
    node.inputs = std::move(inputs);
    node.outputs = {output};
    return node;
  }

  Graph graph_;
  std::set<std::string> values_;
  std::set<std::string> node_names_;
  std::vector<Node> added_;
};

}  // namespace

Graph build_qdq_graph(const Graph& float_graph, const std::vector<QuantLayer>& layers,
                      const QdqPlan& plan,
                      std::map<std::string, QuantizedWeights>* quantized_weights) {
  QdqRewriter rewriter(float_graph);
  // Layers first: they read their input's scale, and node indices are still those of `layers`.
  for (const auto& layer : layers) {
    auto spec = plan.weights.find(layer.name);
    if (spec == plan.weights.end()) continue;
    auto input = plan.activations.find(layer.input);
    QuantizedWeights weights;
    rewriter.quantize_layer(layer, spec->second,
                            input == plan.activations.end() ? nullptr : &input->second, weights);
    if (quantized_weights) (*quantized_weights)[layer.name] = std::move(weights);
  }
  for (const auto& entry : plan.activations)
    rewriter.quantize_activation(entry.first, entry.second);
  Graph graph = rewriter.finish();
  graph.metadata["cimtlm.quantized_by"] = "cimtlm quantize";
  return graph;
}

}  // namespace cimtlm::quant
