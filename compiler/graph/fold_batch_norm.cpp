#include "compiler/graph/fold_batch_norm.h"

#include <cmath>
#include <set>

namespace cimtlm::graph {

namespace {

bool is_onnx(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op;
}

const Tensor* float_initializer(const Graph& graph, const Node& node, size_t index) {
  if (!node.has_input(index)) return nullptr;
  const Tensor* tensor = graph.initializer(node.inputs[index]);
  return tensor && tensor->type() == DataType::Float ? tensor : nullptr;
}

std::string fresh_initializer_name(const Graph& graph, const std::string& base) {
  std::string name = base;
  for (int suffix = 1; graph.is_initializer(name) || graph.producer(name) >= 0; ++suffix) {
    name = base + "_" + std::to_string(suffix);
  }
  return name;
}

// Per-channel factor f and the BN's own mean/bias, when the BN parameters are usable.
struct BatchNormParams {
  std::vector<float> factor, mean, bias;
};

bool batch_norm_params(const Graph& graph, const Node& bn, int64_t channels, BatchNormParams& out) {
  const Tensor* scale = float_initializer(graph, bn, 1);
  const Tensor* bias = float_initializer(graph, bn, 2);
  const Tensor* mean = float_initializer(graph, bn, 3);
  const Tensor* variance = float_initializer(graph, bn, 4);
  if (!scale || !bias || !mean || !variance) return false;
  for (const Tensor* parameter : {scale, bias, mean, variance}) {
    if (parameter->elements() != channels) return false;
  }
  const float epsilon = bn.get_float("epsilon", 1e-5f);
  out.factor.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    out.factor[c] = scale->data<float>()[c] / std::sqrt(variance->data<float>()[c] + epsilon);
  }
  out.mean.assign(mean->data<float>(), mean->data<float>() + channels);
  out.bias.assign(bias->data<float>(), bias->data<float>() + channels);
  return true;
}

bool fold_into_conv(Graph& graph, Node& conv, const Node& bn) {
  const Tensor* weight = float_initializer(graph, conv, 1);
  if (!weight || weight->rank() < 3) return false;
  const int64_t channels = weight->dim(0);
  const Tensor* bias = conv.has_input(2) ? float_initializer(graph, conv, 2) : nullptr;
  if (conv.has_input(2) && (!bias || bias->elements() != channels)) return false;
  BatchNormParams params;
  if (!batch_norm_params(graph, bn, channels, params)) return false;

  Tensor new_weight = *weight;
  const int64_t per_channel = weight->elements() / channels;
  float* w = new_weight.data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < per_channel; ++i) w[c * per_channel + i] *= params.factor[c];
  }
  Tensor new_bias(DataType::Float, {channels});
  for (int64_t c = 0; c < channels; ++c) {
    const float b = bias ? bias->data<float>()[c] : 0.0f;
    new_bias.data<float>()[c] = (b - params.mean[c]) * params.factor[c] + params.bias[c];
  }
  const std::string base = conv.name.empty() ? conv.outputs[0] : conv.name;
  const std::string weight_name = fresh_initializer_name(graph, base + "_W_bn_folded");
  graph.initializers[weight_name] = std::move(new_weight);
  const std::string bias_name = fresh_initializer_name(graph, base + "_B_bn_folded");
  graph.initializers[bias_name] = std::move(new_bias);
  conv.inputs.resize(3);
  conv.inputs[1] = weight_name;
  conv.inputs[2] = bias_name;
  return true;
}

bool fold_into_gemm(Graph& graph, Node& gemm, const Node& bn) {
  const Tensor* b_matrix = float_initializer(graph, gemm, 1);
  if (!b_matrix || b_matrix->rank() != 2) return false;
  const bool trans_b = gemm.get_int("transB", 0) != 0;
  const int64_t channels = trans_b ? b_matrix->dim(0) : b_matrix->dim(1);
  const Tensor* c_tensor = gemm.has_input(2) ? float_initializer(graph, gemm, 2) : nullptr;
  if (gemm.has_input(2)) {
    // C must broadcast along rows: a scalar, [N] or [1, N].
    if (!c_tensor) return false;
    const bool row = c_tensor->elements() == channels &&
                     (c_tensor->rank() == 1 || (c_tensor->rank() == 2 && c_tensor->dim(0) == 1));
    if (c_tensor->elements() != 1 && !row) return false;
  }
  BatchNormParams params;
  if (!batch_norm_params(graph, bn, channels, params)) return false;

  Tensor new_b = *b_matrix;
  float* values = new_b.data<float>();
  const int64_t inner = trans_b ? b_matrix->dim(1) : b_matrix->dim(0);
  for (int64_t k = 0; k < inner; ++k) {
    for (int64_t c = 0; c < channels; ++c) {
      values[trans_b ? c * inner + k : k * channels + c] *= params.factor[c];
    }
  }
  const float beta = gemm.get_float("beta", 1.0f);
  Tensor new_c(DataType::Float, {channels});
  for (int64_t c = 0; c < channels; ++c) {
    float offset = 0.0f;
    if (c_tensor) offset = beta * c_tensor->data<float>()[c_tensor->elements() == 1 ? 0 : c];
    new_c.data<float>()[c] = (offset - params.mean[c]) * params.factor[c] + params.bias[c];
  }
  const std::string base = gemm.name.empty() ? gemm.outputs[0] : gemm.name;
  const std::string b_name = fresh_initializer_name(graph, base + "_B_bn_folded");
  graph.initializers[b_name] = std::move(new_b);
  const std::string c_name = fresh_initializer_name(graph, base + "_C_bn_folded");
  graph.initializers[c_name] = std::move(new_c);
  gemm.inputs.resize(3);
  gemm.inputs[1] = b_name;
  gemm.inputs[2] = c_name;
  gemm.attributes["beta"] = Attribute::of_float(1.0f);
  return true;
}

}  // namespace

int fold_batch_norm(Graph& graph) {
  std::set<std::string> graph_outputs;
  for (const auto& output : graph.outputs) graph_outputs.insert(output.name);
  int folded = 0;
  for (size_t index = 0; index < graph.nodes.size(); ++index) {
    const Node bn = graph.nodes[index];
    if (!is_onnx(bn, "BatchNormalization") || bn.get_int("training_mode", 0) != 0) continue;
    if (bn.outputs.size() != 1 || !bn.has_input(0)) continue;
    const std::string& x = bn.inputs[0];
    const int producer = graph.producer(x);
    if (producer < 0 || graph_outputs.count(x) || graph.consumers(x).size() != 1) continue;
    Node& previous = graph.nodes[static_cast<size_t>(producer)];
    if (previous.outputs.size() != 1) continue;
    bool done = false;
    if (is_onnx(previous, "Conv")) done = fold_into_conv(graph, previous, bn);
    if (is_onnx(previous, "Gemm")) done = fold_into_gemm(graph, previous, bn);
    if (!done) continue;
    previous.outputs[0] = bn.outputs[0];
    graph.nodes.erase(graph.nodes.begin() + static_cast<std::ptrdiff_t>(index));
    --index;
    ++folded;
  }
  if (folded > 0) {
    // Drop initializers nothing reads any more (the unfolded weights and BN parameters).
    std::set<std::string> read;
    for (const auto& node : graph.nodes) read.insert(node.inputs.begin(), node.inputs.end());
    for (auto it = graph.initializers.begin(); it != graph.initializers.end();) {
      if (!read.count(it->first) && !graph_outputs.count(it->first)) {
        it = graph.initializers.erase(it);
      } else {
        ++it;
      }
    }
  }
  return folded;
}

}  // namespace cimtlm::graph
