// What cimtlm can run: per-op attribute, value and cheap shape checks done at import, so that an
// unsupported op or attribute is a ModelError naming the node instead of a wrong result
// (internal to compiler/onnx).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"

namespace cimtlm::onnx {

// Types and shapes known at import (graph inputs, initializers, ONNX shape inference results);
// a dimension of -1 is unknown, a ValueInfo with Undefined type means "rank unknown".
using KnownValues = std::map<std::string, graph::ValueInfo>;

// Whether the op has a reference kernel and an import check (domain "" / "com.microsoft" /
// "cimtlm"); throws ModelError naming the node otherwise.
void check_op_known(const graph::Node& node);

// The definitions that changed in opsets 18..20 (newer than libonnx 1.12) of the ops cimtlm
// supports: a node using what changed (Split's num_outputs, Pad's axes input and 'wrap' mode,
// Resize's antialias / axes / keep_aspect_ratio_policy / half_pixel_symmetric, AveragePool's
// dilations) is a ModelError naming the node and why; Reduce* with axes as an input (18) is
// implemented. `opset` is the model's default-domain opset.
void check_op_at_opset(const graph::Node& node, int64_t opset);

// The default-domain ONNX ops the importer accepts, sorted.
std::vector<std::string> supported_onnx_ops();
// The com.microsoft ops the importer accepts, sorted.
std::vector<std::string> supported_com_microsoft_ops();

// Attributes, their values and the shapes that can be checked without running the graph.
void check_node(const graph::Node& node, const graph::Graph& graph, const KnownValues& known);

}  // namespace cimtlm::onnx
