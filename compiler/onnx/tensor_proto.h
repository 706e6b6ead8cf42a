// graph::Tensor <-> onnx::TensorProto (internal to compiler/onnx).
#pragma once

#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h (ONNX_ML=1)

#include <string>

#include "compiler/graph/tensor.h"

namespace cimtlm::onnx {

// Converts a TensorProto (raw_data or the typed fields). Throws graph::ModelError with `context`
// ("model.onnx: initializer 'w'") for external data, unsupported element types or sizes that do
// not match the dims.
graph::Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& context);

// Fills `proto` (dims, data_type, raw_data little-endian, name).
void tensor_to_proto(const graph::Tensor& tensor, const std::string& name,
                     ::onnx::TensorProto& proto);

// "float32", "float16", ... for ONNX element type numbers (also ones cimtlm does not support).
std::string onnx_type_name(int32_t data_type);

// Whether graph::DataType has this ONNX element type.
bool is_supported_type(int32_t data_type);

}  // namespace cimtlm::onnx
