// Kernel sets registered by register_float_kernels (kernels_float.cpp), one per source file,
// and the element-type dispatch they share.
#pragma once

#include <string>
#include <vector>

#include "compiler/graph/kernel_registry.h"

namespace cimtlm::graph {

// Conv, Gemm, MatMul in float32 (kernels_float_linear.cpp).
void register_float_linear_kernels(KernelRegistry& registry);
// Data movement on any element type: Concat, Reshape, Flatten, Transpose, Gather
// (kernels_tensor.cpp).
void register_tensor_kernels(KernelRegistry& registry);
// Sub, Div, Pow, Min, Max, PRelu, Where, Sqrt, Reciprocal, Exp, Log, Erf, Tanh, Abs, Neg,
// LeakyRelu, Gelu (kernels_math.cpp).
void register_math_kernels(KernelRegistry& registry);
// ReduceMean/Sum/Max/Min, LayerNormalization (kernels_reduce.cpp).
void register_reduce_kernels(KernelRegistry& registry);
// Slice, Split, Pad, Squeeze, Unsqueeze, Expand, Resize (kernels_shape.cpp).
void register_shape_kernels(KernelRegistry& registry);
// ConvTranspose (kernels_conv_transpose.cpp).
void register_conv_transpose_kernel(KernelRegistry& registry);

// Calls `visit(T{})` with the C++ type of `type`; ModelError naming the node for types the
// kernel does not take. `what` says which operand, for the message.
template <typename Visit>
void visit_numeric(const Node& node, DataType type, const char* what, Visit&& visit) {
  switch (type) {
    case DataType::Float: visit(float{}); return;
    case DataType::Double: visit(double{}); return;
    case DataType::Int8: visit(int8_t{}); return;
    case DataType::UInt8: visit(uint8_t{}); return;
    case DataType::Int16: visit(int16_t{}); return;
    case DataType::UInt16: visit(uint16_t{}); return;
    case DataType::Int32: visit(int32_t{}); return;
    case DataType::UInt32: visit(uint32_t{}); return;
    case DataType::Int64: visit(int64_t{}); return;
    case DataType::UInt64: visit(uint64_t{}); return;
    default: break;
  }
  throw ModelError(node.describe() + ": " + what + " has unsupported type " + to_string(type));
}

// Same for float32 and float64 only.
template <typename Visit>
void visit_floating(const Node& node, DataType type, const char* what, Visit&& visit) {
  switch (type) {
    case DataType::Float: visit(float{}); return;
    case DataType::Double: visit(double{}); return;
    default: break;
  }
  throw ModelError(node.describe() + ": " + what + " has unsupported type " + to_string(type) +
                   " (float32 or float64 expected)");
}

// cimtlm.QSoftmax and cimtlm.QConcat (kernels_islands.cpp); registered by
// register_quantized_kernels.
void register_island_kernels(KernelRegistry& registry);

// onnxruntime's com.microsoft quantized ops (kernels_com_microsoft.cpp); registered by
// register_quantized_kernels.
void register_com_microsoft_kernels(KernelRegistry& registry);
const std::vector<std::string>& com_microsoft_ops();

// The cimtlm op computing a com.microsoft op: `node` has the attributes (scales and zero points
// from the constant inputs) and the outputs; `data_inputs` are the indices of the original inputs
// it reads, in order; `transpose_b` asks for the second data input (QGemm's B) transposed.
struct CimtlmEquivalent {
  Node node;
  std::vector<size_t> data_inputs;
  bool transpose_b = false;
};
// `constants` holds the node's inputs where known (null elsewhere); ModelError naming the node
// when a scale or zero point is not constant or an attribute is unsupported.
CimtlmEquivalent com_microsoft_as_cimtlm(const Node& node, const std::vector<const Tensor*>& constants);

// Normalises a possibly negative axis against `rank` (ONNX convention); ModelError when out of
// range.
int64_t normalize_axis(const Node& node, int64_t axis, int64_t rank);

}  // namespace cimtlm::graph
