// Tensor files: ONNX TensorProto (.pb) and NumPy (.npy).
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "compiler/graph/input_limits.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/onnx/tensor_proto.h"

namespace cimtlm::onnx {

using graph::DataType;
using graph::ModelError;
using graph::Tensor;

namespace {

std::string read_file(const std::string& path) {
  std::string bytes;
  const std::string error = graph::read_input_file(path, bytes);
  if (!error.empty()) throw ModelError(path + ": " + error);
  return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw ModelError(path + ": cannot create file");
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw ModelError(path + ": write error");
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// NumPy dtype descriptors ('<f4', '|u1', ...) of graph::DataType.
struct NpyType {
  DataType type;
  const char* descr;
};
constexpr NpyType kNpyTypes[] = {
    {DataType::Float, "<f4"},  {DataType::Double, "<f8"}, {DataType::UInt8, "|u1"},
    {DataType::Int8, "|i1"},   {DataType::UInt16, "<u2"}, {DataType::Int16, "<i2"},
    {DataType::Int32, "<i4"},  {DataType::Int64, "<i8"},  {DataType::UInt32, "<u4"},
    {DataType::UInt64, "<u8"}, {DataType::Bool, "|b1"},
};

DataType npy_type(const std::string& path, const std::string& descr) {
  // Byte order does not matter for 1-byte types; '=' (native) is little-endian here.
  std::string normalized = descr;
  if (descr.size() == 3 && descr[2] == '1') {
    normalized[0] = '|';
  } else if (descr.size() == 3 && descr[0] == '=') {
    normalized[0] = '<';
  }
  for (const auto& known : kNpyTypes) {
    if (normalized == known.descr) return known.type;
  }
  if (!descr.empty() && descr[0] == '>') {
    throw ModelError(path + ": big-endian dtype '" + descr + "' is not supported");
  }
  throw ModelError(path + ": dtype '" + descr + "' is not supported");
}

// The value text of `key` in the header dict, e.g. "'<f4'" or "(2, 3)".
std::string header_value(const std::string& path, const std::string& header, const std::string& key) {
  const std::string quoted = "'" + key + "'";
  const size_t at = header.find(quoted);
  if (at == std::string::npos) throw ModelError(path + ": .npy header lacks '" + key + "'");
  size_t begin = header.find(':', at + quoted.size());
  if (begin == std::string::npos) throw ModelError(path + ": malformed .npy header");
  ++begin;
  while (begin < header.size() && header[begin] == ' ') ++begin;
  size_t end = begin;
  if (begin < header.size() && header[begin] == '(') {
    end = header.find(')', begin);
    if (end == std::string::npos) throw ModelError(path + ": malformed shape in .npy header");
    ++end;
  } else if (begin < header.size() && header[begin] == '\'') {
    end = header.find('\'', begin + 1);
    if (end == std::string::npos) throw ModelError(path + ": malformed .npy header");
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(begin, end - begin);
}

}  // namespace

Tensor load_tensor_pb(const std::string& path, std::string* name) {
  return parse_tensor_pb(read_file(path), path, name);
}

Tensor parse_tensor_pb(const std::string& bytes, const std::string& path, std::string* name) {
  ::onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) {
    throw ModelError(path + ": not a valid ONNX TensorProto (truncated or corrupt)");
  }
  if (!proto.has_data_type() || proto.data_type() == 0) {
    throw ModelError(path + ": TensorProto has no data_type");
  }
  if (name) *name = proto.name();
  return tensor_from_proto(proto, path + ": tensor '" + proto.name() + "'");
}

void save_tensor_pb(const Tensor& tensor, const std::string& name, const std::string& path) {
  ::onnx::TensorProto proto;
  tensor_to_proto(tensor, name, proto);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) throw ModelError(path + ": cannot serialize tensor");
  write_file(path, bytes);
}

Tensor load_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

Tensor parse_npy(const std::string& bytes, const std::string& path) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    throw ModelError(path + ": not a NumPy .npy file (bad magic)");
  }
  const auto major = static_cast<uint8_t>(bytes[6]);
  size_t header_length = 0, header_start = 0;
  if (major == 1) {
    header_length = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw ModelError(path + ": truncated .npy header");
    for (int i = 3; i >= 0; --i) header_length = (header_length << 8) | static_cast<uint8_t>(bytes[8 + i]);
    header_start = 12;
  } else {
    throw ModelError(path + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_length > bytes.size()) {
    throw ModelError(path + ": truncated .npy header");
  }
  const std::string header = bytes.substr(header_start, header_length);
  std::string descr = header_value(path, header, "descr");
  if (descr.size() < 2 || descr.front() != '\'' || descr.back() != '\'') {
    throw ModelError(path + ": unsupported dtype " + descr + " (structured arrays are not supported)");
  }
  const DataType type = npy_type(path, descr.substr(1, descr.size() - 2));
  if (header_value(path, header, "fortran_order") != "False") {
    throw ModelError(path + ": Fortran-order arrays are not supported (save with C order)");
  }
  const std::string shape_text = header_value(path, header, "shape");
  graph::Shape shape;
  for (size_t at = 1; at + 1 < shape_text.size();) {
    while (at < shape_text.size() && (shape_text[at] == ' ' || shape_text[at] == ',')) ++at;
    if (at + 1 >= shape_text.size()) break;
    size_t end = at;
    int64_t extent = 0;
    while (end < shape_text.size() && std::isdigit(static_cast<unsigned char>(shape_text[end]))) {
      if (__builtin_mul_overflow(extent, 10, &extent) ||
          __builtin_add_overflow(extent, shape_text[end] - '0', &extent)) {
        throw ModelError(path + ": extent in shape " + shape_text +
                         " of the .npy header is too large");
      }
      ++end;
    }
    if (end == at) throw ModelError(path + ": malformed shape " + shape_text + " in .npy header");
    shape.push_back(extent);
    at = end;
  }
  uint64_t needed = 0;
  try {
    needed = graph::checked_tensor_bytes(type, shape);
  } catch (const graph::TensorSizeError& error) {
    throw ModelError(path + ": " + error.what());
  }
  const size_t data_start = header_start + header_length;
  if (bytes.size() - data_start != needed) {
    throw ModelError(path + ": .npy data has " + std::to_string(bytes.size() - data_start) +
                     " bytes, shape " + graph::to_string(shape) + " of " + graph::to_string(type) +
                     " needs " + std::to_string(needed));
  }
  Tensor tensor(type, shape);
  if (tensor.bytes() > 0) std::memcpy(tensor.raw(), bytes.data() + data_start, tensor.bytes());
  return tensor;
}

void save_npy(const Tensor& tensor, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& known : kNpyTypes) {
    if (known.type == tensor.type()) descr = known.descr;
  }
  if (!descr) {
    throw ModelError(path + ": cannot write " + graph::to_string(tensor.type()) + " as .npy");
  }
  std::string shape = "(";
  for (size_t axis = 0; axis < tensor.shape().size(); ++axis) {
    shape += std::to_string(tensor.shape()[axis]) + (tensor.shape().size() == 1 ? "," : "");
    if (axis + 1 < tensor.shape().size()) shape += ", ";
  }
  shape += ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Format 1.0: magic, version, uint16 header length; the data starts 64-byte aligned.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(static_cast<const char*>(tensor.raw()), tensor.bytes());
  write_file(path, bytes);
}

Tensor load_tensor_file(const std::string& path) {
  if (ends_with(path, ".npy")) return load_npy(path);
  if (ends_with(path, ".pb")) return load_tensor_pb(path);
  throw ModelError(path + ": unknown tensor file type (expected .pb or .npy)");
}

}  // namespace cimtlm::onnx
