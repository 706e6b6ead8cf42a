#include "compiler/onnx/tensor_proto.h"

#include <cstring>

#include "compiler/graph/graph.h"

// raw_data and .npy payloads are little-endian; cimtlm copies them as they are.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "cimtlm assumes a little-endian host");

namespace cimtlm::onnx {

using graph::DataType;
using graph::ModelError;
using graph::Tensor;

std::string onnx_type_name(int32_t data_type) {
  switch (data_type) {
    case 8: return "string";
    case 10: return "float16";
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    default: break;
  }
  if (is_supported_type(data_type)) return graph::to_string(static_cast<DataType>(data_type));
  return "element type " + std::to_string(data_type);
}

bool is_supported_type(int32_t data_type) {
  switch (static_cast<DataType>(data_type)) {
    case DataType::Float:
    case DataType::UInt8:
    case DataType::Int8:
    case DataType::UInt16:
    case DataType::Int16:
    case DataType::Int32:
    case DataType::Int64:
    case DataType::Bool:
    case DataType::Double:
    case DataType::UInt32:
    case DataType::UInt64: return true;
    default: return false;
  }
}

namespace {

template <typename Target, typename Field>
void copy_field(const Field& field, Tensor& tensor) {
  Target* out = static_cast<Target*>(tensor.raw());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<Target>(field.Get(i));
}

}  // namespace

Tensor tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& context) {
  if (proto.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL ||
      proto.external_data_size() > 0) {
    throw ModelError(context + ": external data is not supported (save the model with the data "
                               "inside the .onnx file)");
  }
  if (proto.has_segment()) throw ModelError(context + ": segmented tensors are not supported");
  if (!is_supported_type(proto.data_type())) {
    throw ModelError(context + ": element type " + onnx_type_name(proto.data_type()) +
                     " is not supported");
  }
  graph::Shape shape;
  for (int64_t extent : proto.dims()) {
    if (extent < 0) throw ModelError(context + ": negative dimension " + std::to_string(extent));
    shape.push_back(extent);
  }
  const auto type = static_cast<DataType>(proto.data_type());
  // Sizes are checked against the data actually present before anything is allocated: dims of
  // 2^40 over a few bytes of data must not reach the allocator.
  uint64_t needed = 0;
  int64_t expected = 0;
  try {
    needed = graph::checked_tensor_bytes(type, shape);
    expected = graph::element_count(shape);
  } catch (const graph::TensorSizeError& error) {
    throw ModelError(context + ": " + error.what());
  }
  auto mismatch = [&](int64_t found, const char* field) {
    return ModelError(context + ": " + std::to_string(found) + " values in " + field + " for shape " +
                      graph::to_string(shape) + " (" + std::to_string(expected) + " expected)");
  };
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != needed) {
      throw ModelError(context + ": raw_data has " + std::to_string(raw.size()) + " bytes, shape " +
                       graph::to_string(shape) + " of " + graph::to_string(type) + " needs " +
                       std::to_string(needed));
    }
    Tensor tensor(type, shape);
    if (!raw.empty()) std::memcpy(tensor.raw(), raw.data(), raw.size());
    return tensor;
  }
  int64_t present = 0;
  const char* field = "int32_data";
  switch (type) {
    case DataType::Float:
      present = proto.float_data_size();
      field = "float_data";
      break;
    case DataType::Double:
      present = proto.double_data_size();
      field = "double_data";
      break;
    case DataType::Int64:
      present = proto.int64_data_size();
      field = "int64_data";
      break;
    case DataType::UInt32:
    case DataType::UInt64:
      present = proto.uint64_data_size();
      field = "uint64_data";
      break;
    default:
      present = proto.int32_data_size();
      break;
  }
  if (present != expected) throw mismatch(present, field);
  Tensor tensor(type, shape);
  switch (type) {
    case DataType::Float:
      if (proto.float_data_size() != expected) throw mismatch(proto.float_data_size(), "float_data");
      copy_field<float>(proto.float_data(), tensor);
      break;
    case DataType::Double:
      if (proto.double_data_size() != expected) throw mismatch(proto.double_data_size(), "double_data");
      copy_field<double>(proto.double_data(), tensor);
      break;
    case DataType::Int64:
      if (proto.int64_data_size() != expected) throw mismatch(proto.int64_data_size(), "int64_data");
      copy_field<int64_t>(proto.int64_data(), tensor);
      break;
    case DataType::UInt32:
    case DataType::UInt64:
      if (proto.uint64_data_size() != expected) throw mismatch(proto.uint64_data_size(), "uint64_data");
      if (type == DataType::UInt32) {
        copy_field<uint32_t>(proto.uint64_data(), tensor);
      } else {
        copy_field<uint64_t>(proto.uint64_data(), tensor);
      }
      break;
    default:  // the 8/16/32-bit integer types and bool live in int32_data
      if (proto.int32_data_size() != expected) throw mismatch(proto.int32_data_size(), "int32_data");
      switch (type) {
        case DataType::Int32: copy_field<int32_t>(proto.int32_data(), tensor); break;
        case DataType::Int16: copy_field<int16_t>(proto.int32_data(), tensor); break;
        case DataType::UInt16: copy_field<uint16_t>(proto.int32_data(), tensor); break;
        case DataType::Int8: copy_field<int8_t>(proto.int32_data(), tensor); break;
        case DataType::UInt8: copy_field<uint8_t>(proto.int32_data(), tensor); break;
        case DataType::Bool: {
          bool* out = tensor.data<bool>();
          for (int i = 0; i < proto.int32_data_size(); ++i) out[i] = proto.int32_data(i) != 0;
          break;
        }
        default: throw ModelError(context + ": unsupported element type");
      }
  }
  return tensor;
}

void tensor_to_proto(const Tensor& tensor, const std::string& name, ::onnx::TensorProto& proto) {
  proto.Clear();
  if (!name.empty()) proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.type()));
  for (int64_t extent : tensor.shape()) proto.add_dims(extent);
  proto.set_raw_data(std::string(static_cast<const char*>(tensor.raw()), tensor.bytes()));
}

}  // namespace cimtlm::onnx
