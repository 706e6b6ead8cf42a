// Graph pass: fold inference-mode BatchNormalization into the preceding float Conv or Gemm.
#pragma once

#include "compiler/graph/graph.h"

namespace cimtlm::graph {

// For every BatchNormalization whose input is the only use of a float Conv's (or Gemm's) output
// and whose parameters, like the Conv/Gemm weights and bias, are initializers:
//   f[c] = scale[c] / sqrt(var[c] + epsilon)
//   W'[c, ...] = W[c, ...] * f[c]            (Gemm: column c of op(B))
//   B'[c] = (B[c] - mean[c]) * f[c] + bias[c] (Gemm: beta * C, then beta = 1)
// in float32, the order onnxruntime's Conv+BatchNormalization fusion uses. The BatchNormalization
// node disappears and the Conv/Gemm writes its output. BatchNormalizations that do not fit stay
// and run their own kernel. Returns how many were folded.
int fold_batch_norm(Graph& graph);

}  // namespace cimtlm::graph
