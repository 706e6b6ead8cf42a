#include "compiler/graph/layered_network.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "compiler/graph/random.h"

namespace cimtlm::graph {

namespace {

constexpr const char* kCimtlm = "cimtlm";
// Calibration target: the largest |value| of a layer's output maps to this many codes, leaving
// headroom so that other inputs rarely saturate.
constexpr double kTargetCodes = 100.0;

[[noreturn]] void layer_error(const LayerSpec& layer, size_t index, const std::string& message) {
  std::string where = layer.where.empty() ? "" : layer.where + ": ";
  throw ModelError(where + "layers." + std::to_string(index) + " (" + layer.name + ", " +
                   layer.type + "): " + message);
}

std::pair<int32_t, int32_t> activation_clamp(const std::string& activation, float scale,
                                              int32_t zero_point) {
  if (activation == "relu") return {zero_point, 127};
  if (activation == "relu6") {
    const auto six = static_cast<int64_t>(std::nearbyint(6.0f / scale)) + zero_point;
    return {zero_point, static_cast<int32_t>(std::min<int64_t>(six, 127))};
  }
  return {-128, 127};
}

struct Builder {
  const LayeredNetworkSpec& spec;
  Graph graph;
  SplitMix64 rng;
  // Current activation: value name, its tensor (computed as we go, for calibration), scale, zp.
  struct Activation {
    std::string name;
    Tensor value;
    float scale;
    int32_t zero_point;
  };
  Activation current;
  std::map<std::string, Activation> named;

  explicit Builder(const LayeredNetworkSpec& network) : spec(network), rng(network.seed * 7919 + 17) {}

  Tensor run_node(const Node& node, const std::vector<const Tensor*>& inputs) {
    Graph single;
    single.name = "calibration";
    for (size_t index = 0; index < node.inputs.size(); ++index) {
      if (node.inputs[index].empty()) continue;
      if (graph.is_initializer(node.inputs[index])) {
        single.initializers[node.inputs[index]] = *graph.initializer(node.inputs[index]);
      } else if (std::none_of(single.inputs.begin(), single.inputs.end(),
                              [&](const ValueInfo& v) { return v.name == node.inputs[index]; })) {
        single.inputs.push_back({node.inputs[index], inputs[index]->type(), inputs[index]->shape()});
      }
    }
    single.nodes.push_back(node);
    single.outputs.push_back({node.outputs[0], DataType::Undefined, {}});
    ValueMap feed;
    for (size_t index = 0; index < node.inputs.size(); ++index) {
      if (!node.inputs[index].empty() && !graph.is_initializer(node.inputs[index])) {
        feed[node.inputs[index]] = *inputs[index];
      }
    }
    return ReferenceExecutor(single).run(feed).at(node.outputs[0]);
  }

  void add_weights(const LayerSpec& layer, const std::string& prefix, const Shape& shape,
                   int64_t out_channels) {
    const int64_t limit = (int64_t{1} << (layer.weight_bits - 1)) - 1;
    Tensor weights(DataType::Int8, shape);
    int8_t* values = weights.data<int8_t>();
    const int64_t count = weights.elements();  // hoisted: it multiplies the shape with checks
    for (int64_t i = 0; i < count; ++i) {
      const bool zero = rng.uniform() < layer.weight_sparsity;
      // 1-bit weights: {-1, +1} (limit would be 0).
      const int64_t value = layer.weight_bits == 1 ? (rng.uniform() < 0.5 ? -1 : 1)
                                                   : rng.uniform_int(-limit, limit);
      values[i] = static_cast<int8_t>(zero ? 0 : value);
    }
    if (layer.structured_sparsity > 0.0) prune_structured(layer, weights);
    graph.initializers[prefix + ".weight"] = weights;
    Tensor bias(DataType::Int32, {out_channels});
    for (int64_t i = 0; i < out_channels; ++i) {
      bias.data<int32_t>()[i] = static_cast<int32_t>(rng.uniform_int(-256, 256));
    }
    graph.initializers[prefix + ".bias"] = bias;
  }

  // Structured pruning: the same fraction p of output channels and of input channels (dense:
  // input rows) is zeroed whole, with 1 - (1 - p)^2 = structured_sparsity, the layout of
  // channel-pruned networks (whole rows and columns of the weight matrix vanish).
  void prune_structured(const LayerSpec& layer, Tensor& weights) {
    const double p = 1.0 - std::sqrt(1.0 - layer.structured_sparsity);
    const Shape& shape = weights.shape();
    const bool conv = shape.size() == 4;
    const int64_t outputs = conv ? shape[0] : shape[1];
    const int64_t inputs = conv ? shape[1] : shape[0];
    const int64_t taps = conv ? shape[2] * shape[3] : 1;
    auto choose = [&](int64_t count) {
      std::vector<bool> pruned(static_cast<size_t>(count), false);
      const auto target = static_cast<int64_t>(std::llround(p * static_cast<double>(count)));
      for (int64_t chosen = 0; chosen < target;) {
        const auto index = static_cast<size_t>(rng.uniform_int(0, count - 1));
        if (!pruned[index]) {
          pruned[index] = true;
          ++chosen;
        }
      }
      return pruned;
    };
    const std::vector<bool> pruned_out = choose(outputs);
    const std::vector<bool> pruned_in = choose(inputs);
    int8_t* values = weights.data<int8_t>();
    for (int64_t o = 0; o < outputs; ++o) {
      for (int64_t i = 0; i < inputs; ++i) {
        if (!pruned_out[static_cast<size_t>(o)] && !pruned_in[static_cast<size_t>(i)]) continue;
        for (int64_t t = 0; t < taps; ++t) {
          const int64_t index = conv ? (o * inputs + i) * taps + t : i * outputs + o;
          values[index] = 0;
        }
      }
    }
  }

  // Runs a CIM node with a raw int32 output to find the accumulator range, then sets the output
  // scale so the largest value maps to kTargetCodes and returns the requantized node.
  void finish_cim_node(Node node, const LayerSpec& layer, float w_scale) {
    const std::string output = node.outputs[0];
    Node raw = node;
    raw.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(DataType::Int32));
    const Tensor acc = run_node(raw, {&current.value, graph.initializer(node.inputs[1]),
                                      graph.initializer(node.inputs[2])});
    int64_t largest = 1;
    for (int64_t i = 0; i < acc.elements(); ++i) largest = std::max(largest, std::abs(acc.as_int(i)));
    const float real_largest = static_cast<float>(largest) * current.scale * w_scale;
    const float y_scale = real_largest / static_cast<float>(kTargetCodes);
    node.attributes["y_scale"] = Attribute::of_float(y_scale);
    node.attributes["y_zero_point"] = Attribute::of_int(0);
    node.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(DataType::Int8));
    const auto clamp = activation_clamp(layer.activation, y_scale, 0);
    node.attributes["clamp_min"] = Attribute::of_int(clamp.first);
    node.attributes["clamp_max"] = Attribute::of_int(clamp.second);
    const Tensor value = run_node(node, {&current.value, graph.initializer(node.inputs[1]),
                                         graph.initializer(node.inputs[2])});
    graph.nodes.push_back(node);
    current = {output, value, y_scale, 0};
  }

  void quant_attributes(Node& node, const LayerSpec& layer, float w_scale) {
    node.attributes["x_scale"] = Attribute::of_float(current.scale);
    node.attributes["x_zero_point"] = Attribute::of_int(current.zero_point);
    node.attributes["w_scales"] = Attribute::of_floats({w_scale});
    node.attributes["w_zero_points"] = Attribute::of_ints({0});
    node.attributes["weight_bits"] = Attribute::of_int(layer.weight_bits);
    node.attributes["input_bits"] = Attribute::of_int(8);
  }

  void dense(const LayerSpec& layer, size_t index) {
    const Shape& shape = current.value.shape();
    if (shape.size() != 2) {
      layer_error(layer, index, "needs a 2-D input [batch, features] but gets " + to_string(shape) +
                                    "; add a 'flatten' layer before it");
    }
    if (layer.units <= 0) layer_error(layer, index, "needs 'units'");
    add_weights(layer, layer.name, {shape[1], layer.units}, layer.units);
    Node node;
    node.name = layer.name;
    node.op_type = "QGemm";
    node.domain = kCimtlm;
    node.inputs = {current.name, layer.name + ".weight", layer.name + ".bias"};
    node.outputs = {layer.name};
    const float w_scale = 1.0f / static_cast<float>(1 << std::max(layer.weight_bits - 1, 0));
    quant_attributes(node, layer, w_scale);
    finish_cim_node(node, layer, w_scale);
  }

  void conv(const LayerSpec& layer, size_t index) {
    const Shape& shape = current.value.shape();
    if (shape.size() != 4) {
      layer_error(layer, index, "needs a 4-D input [N, C, H, W] but gets " + to_string(shape));
    }
    if (layer.channels <= 0) layer_error(layer, index, "needs 'channels'");
    if (shape[1] % layer.groups != 0 || layer.channels % layer.groups != 0) {
      layer_error(layer, index, "groups " + std::to_string(layer.groups) +
                                    " must divide input channels " + std::to_string(shape[1]) +
                                    " and output channels " + std::to_string(layer.channels));
    }
    if (shape[2] + 2 * layer.padding < layer.kernel || shape[3] + 2 * layer.padding < layer.kernel) {
      layer_error(layer, index, "kernel " + std::to_string(layer.kernel) +
                                    " is larger than the padded input " + to_string(shape));
    }
    add_weights(layer, layer.name, {layer.channels, shape[1] / layer.groups, layer.kernel, layer.kernel},
                layer.channels);
    Node node;
    node.name = layer.name;
    node.op_type = "QConv";
    node.domain = kCimtlm;
    node.inputs = {current.name, layer.name + ".weight", layer.name + ".bias"};
    node.outputs = {layer.name};
    node.attributes["strides"] = Attribute::of_ints({layer.stride, layer.stride});
    node.attributes["pads"] =
        Attribute::of_ints({layer.padding, layer.padding, layer.padding, layer.padding});
    node.attributes["group"] = Attribute::of_int(layer.groups);
    const float w_scale = 1.0f / static_cast<float>(1 << std::max(layer.weight_bits - 1, 0));
    quant_attributes(node, layer, w_scale);
    finish_cim_node(node, layer, w_scale);
  }

  void pool(const LayerSpec& layer, size_t index) {
    const Shape& shape = current.value.shape();
    if (shape.size() != 4) {
      layer_error(layer, index, "needs a 4-D input [N, C, H, W] but gets " + to_string(shape));
    }
    Node node;
    node.name = layer.name;
    node.inputs = {current.name};
    node.outputs = {layer.name};
    if (layer.type == "global_avgpool") {
      node.op_type = "QGlobalAveragePool";
      node.domain = kCimtlm;
    } else {
      if (shape[2] + 2 * layer.padding < layer.kernel || shape[3] + 2 * layer.padding < layer.kernel) {
        layer_error(layer, index, "kernel " + std::to_string(layer.kernel) +
                                      " is larger than the padded input " + to_string(shape));
      }
      node.op_type = layer.type == "maxpool" ? "MaxPool" : "QAveragePool";
      node.domain = layer.type == "maxpool" ? "" : kCimtlm;
      node.attributes["kernel_shape"] = Attribute::of_ints({layer.kernel, layer.kernel});
      node.attributes["strides"] = Attribute::of_ints({layer.stride, layer.stride});
      node.attributes["pads"] =
          Attribute::of_ints({layer.padding, layer.padding, layer.padding, layer.padding});
    }
    if (node.domain == kCimtlm) {
      node.attributes["x_scale"] = Attribute::of_float(current.scale);
      node.attributes["x_zero_point"] = Attribute::of_int(current.zero_point);
      node.attributes["y_scale"] = Attribute::of_float(current.scale);
      node.attributes["y_zero_point"] = Attribute::of_int(current.zero_point);
    }
    const Tensor value = run_node(node, {&current.value});
    graph.nodes.push_back(node);
    current = {layer.name, value, current.scale, current.zero_point};
  }

  void flatten(const LayerSpec& layer) {
    Node node;
    node.name = layer.name;
    node.op_type = "Flatten";
    node.inputs = {current.name};
    node.outputs = {layer.name};
    node.attributes["axis"] = Attribute::of_int(1);
    const Shape& shape = current.value.shape();
    const Tensor value = current.value.reshaped({shape[0], current.value.elements() / shape[0]});
    graph.nodes.push_back(node);
    current = {layer.name, value, current.scale, current.zero_point};
  }

  void add(const LayerSpec& layer, size_t index) {
    auto found = named.find(layer.from);
    if (layer.from.empty() || found == named.end()) {
      layer_error(layer, index, "'from' must name an earlier layer (got '" + layer.from + "')");
    }
    const Activation& other = found->second;
    if (other.value.shape() != current.value.shape()) {
      layer_error(layer, index, "cannot add '" + layer.from + "' of shape " +
                                    to_string(other.value.shape()) + " to an input of shape " +
                                    to_string(current.value.shape()));
    }
    // Output scale from the real range of the sum.
    float largest = 1e-6f;
    for (int64_t i = 0; i < current.value.elements(); ++i) {
      const float sum = static_cast<float>(current.value.as_int(i) - current.zero_point) * current.scale +
                        static_cast<float>(other.value.as_int(i) - other.zero_point) * other.scale;
      largest = std::max(largest, std::fabs(sum));
    }
    const float y_scale = largest / static_cast<float>(kTargetCodes);
    Node node;
    node.name = layer.name;
    node.op_type = "QAdd";
    node.domain = kCimtlm;
    node.inputs = {current.name, other.name};
    node.outputs = {layer.name};
    node.attributes["a_scale"] = Attribute::of_float(current.scale);
    node.attributes["a_zero_point"] = Attribute::of_int(current.zero_point);
    node.attributes["b_scale"] = Attribute::of_float(other.scale);
    node.attributes["b_zero_point"] = Attribute::of_int(other.zero_point);
    node.attributes["y_scale"] = Attribute::of_float(y_scale);
    node.attributes["y_zero_point"] = Attribute::of_int(0);
    const auto clamp = activation_clamp(layer.activation, y_scale, 0);
    node.attributes["clamp_min"] = Attribute::of_int(clamp.first);
    node.attributes["clamp_max"] = Attribute::of_int(clamp.second);
    const Tensor value = run_node(node, {&current.value, &other.value});
    graph.nodes.push_back(node);
    current = {layer.name, value, y_scale, 0};
  }
};

}  // namespace

Graph build_layered_network(const LayeredNetworkSpec& spec) {
  if (spec.input_shape.empty()) throw ModelError("network '" + spec.name + "': input.shape is empty");
  for (int64_t extent : spec.input_shape) {
    if (extent <= 0) {
      throw ModelError("network '" + spec.name + "': input.shape " + to_string(spec.input_shape) +
                       " has a non-positive extent");
    }
  }
  Builder builder(spec);
  Graph& graph = builder.graph;
  graph.name = spec.name;
  graph.metadata["cimtlm.input_sparsity"] = std::to_string(spec.input_sparsity);
  graph.metadata["cimtlm.input_zero_point"] = std::to_string(spec.input_zero_point);
  graph.inputs.push_back({"input", spec.input_type, spec.input_shape});
  const ValueMap inputs = random_inputs(graph, spec.seed);
  builder.current = {"input", inputs.at("input"), spec.input_scale, spec.input_zero_point};

  for (size_t index = 0; index < spec.layers.size(); ++index) {
    LayerSpec layer = spec.layers[index];
    if (layer.name.empty()) layer.name = layer.type + std::to_string(index);
    if (builder.named.count(layer.name) || layer.name == "input") {
      layer_error(layer, index, "layer name '" + layer.name + "' is used twice");
    }
    if (layer.weight_bits < 1 || layer.weight_bits > 8) {
      layer_error(layer, index, "weight_bits must be 1..8");
    }
    if (layer.type == "dense") {
      builder.dense(layer, index);
    } else if (layer.type == "conv") {
      builder.conv(layer, index);
    } else if (layer.type == "maxpool" || layer.type == "avgpool" || layer.type == "global_avgpool") {
      builder.pool(layer, index);
    } else if (layer.type == "flatten") {
      builder.flatten(layer);
    } else if (layer.type == "add") {
      builder.add(layer, index);
    } else {
      layer_error(layer, index, "unknown layer type");
    }
    builder.named[layer.name] = builder.current;
  }
  graph.outputs.push_back({builder.current.name, DataType::Int8, builder.current.value.shape()});
  return graph;
}

ValueMap random_inputs(const Graph& graph, uint64_t seed) {
  ValueMap inputs;
  double sparsity = 0.0;
  int32_t zero_point = 0;
  try {
    if (auto found = graph.metadata.find("cimtlm.input_sparsity"); found != graph.metadata.end()) {
      sparsity = std::stod(found->second);
    }
    if (auto found = graph.metadata.find("cimtlm.input_zero_point");
        found != graph.metadata.end()) {
      zero_point = std::stoi(found->second);
    }
  } catch (const std::logic_error&) {  // stod/stoi: not a number, or out of range
    throw ModelError("metadata cimtlm.input_sparsity / cimtlm.input_zero_point is not a number");
  }
  SplitMix64 rng(seed * 0x9E37 + 1);
  for (const auto& input : graph.inputs) {
    Shape shape = input.shape;
    for (auto& extent : shape) {
      if (extent < 0) extent = 1;  // unknown (batch) dimensions: one
    }
    Tensor tensor(input.type, shape);
    for (int64_t i = 0; i < tensor.elements(); ++i) {
      switch (input.type) {
        case DataType::UInt8:
        case DataType::Int8: {
          const int64_t lo = lowest(input.type), hi = highest(input.type);
          const int64_t code = rng.uniform() < sparsity ? zero_point : rng.uniform_int(lo, hi);
          if (input.type == DataType::UInt8) {
            tensor.data<uint8_t>()[i] = static_cast<uint8_t>(code);
          } else {
            tensor.data<int8_t>()[i] = static_cast<int8_t>(code);
          }
          break;
        }
        case DataType::Float:
          tensor.data<float>()[i] = static_cast<float>(2.0 * rng.uniform() - 1.0);
          break;
        case DataType::Int64: tensor.data<int64_t>()[i] = rng.uniform_int(0, 7); break;
        case DataType::Int32: tensor.data<int32_t>()[i] = static_cast<int32_t>(rng.uniform_int(0, 7)); break;
        default:
          throw ModelError("graph input '" + input.name + "' has type " +
                           std::string(to_string(input.type)) + ", for which cimtlm cannot draw random values");
      }
    }
    inputs[input.name] = std::move(tensor);
  }
  return inputs;
}

}  // namespace cimtlm::graph
