// ONNX import/export and tensor files (ONNX TensorProto .pb, NumPy .npy).
//
// Every function throws graph::ModelError whose text starts with the file path and names the
// node, initializer or field at fault; the command line turns that into exit status 2.
#pragma once

#include <cstdint>
#include <string>

#include "compiler/graph/graph.h"

namespace cimtlm::onnx {

struct LoadOptions {
  // Default-domain ("" / "ai.onnx") opsets accepted. Models below 10 use op semantics cimtlm does
  // not implement (e.g. Upsample, the old BatchNormalization 'spatial'). libonnx 1.12 knows
  // opsets up to 17; 18..20 are read where cimtlm knows each op's definition at that opset
  // (check_op_at_opset: the ops that changed are implemented or refused, Gelu-20 has its own
  // schema in op_schemas.cpp).
  int64_t min_opset = 10;
  int64_t max_opset = 20;
  // Fold BatchNormalization into the preceding float Conv/Gemm (graph::fold_batch_norm).
  bool fold_batch_norm = true;
};

// Reads an ONNX model. The result:
//   * nodes are topologically sorted and follow opset-13..17 op semantics whatever opset the file
//     declares (Clip min/max attributes become inputs, Softmax's pre-13 2-D coercion becomes
//     Flatten/Softmax/Reshape when the axis is not the last one); graph.opset is
//     max(declared opset, 13);
//   * Constant nodes became initializers; initializers listed as graph inputs are constants;
//   * every node is an op with a reference kernel and only attributes/values cimtlm implements
//     (otherwise ModelError naming the node: never a silently wrong result): the ONNX ops of
//     op_checks.cpp, onnxruntime's com.microsoft quantized ops, and cimtlm's own (lowered graphs);
//   * shapes were checked by ONNX shape inference (strict) plus cimtlm's own cheap checks
//     (e.g. Conv weight channels against the input's channels).
graph::Graph load_onnx(const std::string& path, const LoadOptions& options = {});

// The supported-ops table of README.md (Markdown), generated from the importer's op table and
// the lowering's island sets; `cimtlm docs --ops` prints it.
std::string supported_ops_markdown();
// Same from serialized bytes; `origin` names the source in error messages.
graph::Graph parse_onnx(const std::string& bytes, const std::string& origin,
                        const LoadOptions& options = {});

// Writes `graph` as an ONNX model (IR version 8, default-domain opset graph.opset, plus opset
// imports for the "cimtlm" and "com.microsoft" domains when nodes use them). Initializers are
// stored as raw_data.
void save_onnx(const graph::Graph& graph, const std::string& path);

// ONNX TensorProto files (the layout of ONNX's own test data: input_0.pb, output_0.pb).
// `name` (optional) receives the tensor's name field.
graph::Tensor load_tensor_pb(const std::string& path, std::string* name = nullptr);
void save_tensor_pb(const graph::Tensor& tensor, const std::string& name, const std::string& path);

// NumPy .npy files (format 1.0-3.0 read, 1.0 written): little-endian, C order, the element types
// of graph::DataType.
graph::Tensor load_npy(const std::string& path);
// The readers above on bytes already in memory (`origin` names them in messages; fuzz targets).
graph::Tensor parse_npy(const std::string& bytes, const std::string& origin);
graph::Tensor parse_tensor_pb(const std::string& bytes, const std::string& origin,
                              std::string* name = nullptr);
void save_npy(const graph::Tensor& tensor, const std::string& path);

// .pb or .npy by file extension (what `cimtlm run --input NAME=FILE` accepts).
graph::Tensor load_tensor_file(const std::string& path);

}  // namespace cimtlm::onnx
