// Step 3 of the network quantization method: the quantized network, as a QDQ ONNX graph.
//
// The form is the one onnxruntime's static quantizer writes and runs with its integer kernels:
//   * every quantized activation T becomes QuantizeLinear(T) -> DequantizeLinear, uint8, per
//     tensor (the producer writes "T_prequant", the DequantizeLinear writes T, so consumers and
//     graph outputs keep their names; a graph input T is read as "T_dequantized");
//   * weights are int8 initializers (b-bit weights use the narrowed codes of
//     calibration.h) behind a per-channel (axis = output channels) or per-tensor
//     DequantizeLinear with zero point 0;
//   * biases become int32 initializers at scale x_scale * w_scale behind a DequantizeLinear;
//   * graph.metadata["cimtlm.weight_bits.<layer>"] = bits for the mapper and for reports.
// compiler/graph/lowering.h turns the result into the platform's fused integer ops.
#pragma once

#include <map>
#include <string>

#include "compiler/graph/graph.h"
#include "compiler/quant/calibration.h"
#include "compiler/quant/quant_layers.h"

namespace cimtlm::quant {

struct QdqPlan {
  std::map<std::string, WeightSpec> weights;           // layer name -> spec (others stay float)
  std::map<std::string, ActivationQuant> activations;  // tensor -> parameters (others stay float)
};

// Builds the QDQ graph. A layer's bias is quantized to int32 when both its weights and its input
// are quantized (kept float otherwise). `quantized_weights` (optional) receives the integer
// weights of every quantized layer. Throws graph::ModelError for a tensor of the plan that the
// graph does not have.
graph::Graph build_qdq_graph(const graph::Graph& float_graph, const std::vector<QuantLayer>& layers,
                             const QdqPlan& plan,
                             std::map<std::string, QuantizedWeights>* quantized_weights = nullptr);

}  // namespace cimtlm::quant
