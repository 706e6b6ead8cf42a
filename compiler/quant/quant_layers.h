// The layers a quantization decides on: the CIM layers of a float graph (Conv, Gemm and MatMul
// with constant weights) and the activation tensors around them that become uint8.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::quant {

struct QuantLayer {
  std::string name;   // the node's name (its first output when unnamed): the layer's key everywhere
  std::string op;     // Conv, Gemm or MatMul
  size_t node = 0;    // index in graph.nodes
  std::string input;  // the activation the layer reads
  std::string weight;  // float initializer
  std::string bias;    // float initializer, or empty
  // The layer's result: its own output, or that of a Relu/Clip that only it feeds (fused by the
  // lowering, so the uint8 quantization sits after the activation function).
  std::string output;
  int fused_activation_node = -1;
  int64_t weight_axis = 0;  // output-channel axis of the weight tensor
  int64_t channels = 0;
  int64_t parameters = 0;  // weights
  int64_t macs = 0;        // multiply-accumulates per inference (0 without shapes)
};

// The CIM layers of `graph` in node order. `values` (one reference run with keep_all) gives
// shapes for the MAC counts; null leaves macs at 0.
std::vector<QuantLayer> find_quant_layers(const graph::Graph& graph, const graph::ValueMap* values);

// The float tensors that get QuantizeLinear/DequantizeLinear when every layer of `layers` is
// quantized: layer inputs and results, the inputs and outputs of the integer-capable ops around
// them (pools, data movement, element-wise ops), and Softmax inputs. In graph order.
std::vector<std::string> activation_tensors(const graph::Graph& graph,
                                            const std::vector<QuantLayer>& layers);

// Ops whose output takes the quantization parameters of their input (onnxruntime does the same:
// the integer op then runs without requantization).
bool passes_quantization_through(const graph::Node& node);

}  // namespace cimtlm::quant
