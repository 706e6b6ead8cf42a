// Quantized lowering: rewrites the integer sub-graphs of an imported model (QDQ or QLinear form)
// into the fused ops of domain "cimtlm" that map onto the hardware commands of
// models/core/program.h.
//
// After lowering every node is one of
//   cimtlm.QConv, QGemm, QLookup, QAdd, QMul, QAveragePool, QGlobalAveragePool, QSoftmax, QConcat,
//   MaxPool on 8-bit tensors; Reshape, Flatten, Transpose, Concat, Gather, Identity, Squeeze,
//   Unsqueeze on integers;
//   QuantizeLinear of a float graph input; DequantizeLinear producing a float graph output.
// Anything else is a ModelError naming the node ("cannot run on the CIM platform: ...").
//
// Patterns (x_int is the 8-bit tensor a DequantizeLinear reads, "Q" the QuantizeLinear that ends
// an island; scales and zero points must be constants):
//   QLinearConv / QLinearMatMul           -> QConv / QGemm
//   com.microsoft QLinearAdd, QLinearMul, QLinearAveragePool, QLinearGlobalAveragePool,
//   QLinearSigmoid, QLinearLeakyRelu, QLinearConcat, QLinearSoftmax, QGemm
//                                         -> the cimtlm op with the same arithmetic
//   ConvInteger / MatMulInteger           -> QConv / QGemm with y_type int32
//   DQ(x), DQ(w) [, DQ(b)] -> Conv / Gemm / MatMul [-> Relu | Clip] -> Q
//                                         -> QConv / QGemm with the clamp fused (Gemm with transB
//                                            gets a transposed weight initializer)
//   DQ(x) -> f -> Q, f any graph of element-wise Relu, Clip, HardSigmoid, HardSwish, Sigmoid,
//            Identity and Add/Mul with scalar constants reading that one x (hard-swish
//            x * HardSigmoid(x), SiLU x * Sigmoid(x), ...)
//                                         -> QLookup; its 256-entry table is the original ops run
//                                            through the reference kernels on every input code
//   DQ(a), DQ(b) -> Add / Mul [-> Relu | Clip] -> Q -> QAdd / QMul (see kernels_quantized.cpp for
//                                            which Mul arithmetic onnxruntime uses when)
//   DQ -> AveragePool / GlobalAveragePool -> Q -> QAveragePool / QGlobalAveragePool
//   DQ -> Softmax [-> Q]                  -> QSoftmax (float output without the Q)
//   DQ... -> Concat -> Q                  -> QConcat (Concat when all parameters are equal)
//   DQ -> MaxPool / Reshape / Flatten / Transpose / Gather / Identity / Squeeze / Unsqueeze -> Q
//                                         -> the op on the integers (+ QLookup requantization when
//                                            the DQ and Q parameters differ)
//   DQ -> Q                               -> Identity or QLookup (requantization)
//   DQ... -> any graph of float_island_ops() and constants -> Q
//                                         -> kept as it is (a general float island, computed by
//                                            the float kernels with onnxruntime's arithmetic)
#pragma once

#include <set>
#include <string>

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

Graph lower_quantized(const Graph& graph);

// The float ops a general float island (DequantizeLinear -> these -> QuantizeLinear) may hold
// when no fused integer op computes it; the island's nodes stay in the lowered graph.
const std::set<std::string>& float_island_ops();

// The element-wise float ops an island of one 8-bit input may chain (with scalar constants) to
// be lowered to a 256-entry QLookup table.
const std::set<std::string>& lookup_island_ops();

// Whether `node` may appear in a lowered graph (the list above; `graph` gives value types).
bool is_lowered_op(const Node& node);

}  // namespace cimtlm::graph
