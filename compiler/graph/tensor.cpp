#include "compiler/graph/tensor.h"

#include <limits>
#include <sstream>

#include "compiler/graph/input_limits.h"

namespace cimtlm::graph {

size_t byte_size(DataType type) {
  switch (type) {
    case DataType::Float: return 4;
    case DataType::UInt8: return 1;
    case DataType::Int8: return 1;
    case DataType::UInt16: return 2;
    case DataType::Int16: return 2;
    case DataType::Int32: return 4;
    case DataType::Int64: return 8;
    case DataType::Bool: return 1;
    case DataType::Double: return 8;
    case DataType::UInt32: return 4;
    case DataType::UInt64: return 8;
    case DataType::Undefined: return 0;
  }
  return 0;
}

const char* to_string(DataType type) {
  switch (type) {
    case DataType::Float: return "float32";
    case DataType::UInt8: return "uint8";
    case DataType::Int8: return "int8";
    case DataType::UInt16: return "uint16";
    case DataType::Int16: return "int16";
    case DataType::Int32: return "int32";
    case DataType::Int64: return "int64";
    case DataType::Bool: return "bool";
    case DataType::Double: return "float64";
    case DataType::UInt32: return "uint32";
    case DataType::UInt64: return "uint64";
    case DataType::Undefined: return "undefined";
  }
  return "unknown";
}

bool is_integer(DataType type) {
  switch (type) {
    case DataType::UInt8:
    case DataType::Int8:
    case DataType::UInt16:
    case DataType::Int16:
    case DataType::Int32:
    case DataType::Int64:
    case DataType::UInt32:
    case DataType::UInt64:
    case DataType::Bool: return true;
    default: return false;
  }
}

int64_t lowest(DataType type) {
  switch (type) {
    case DataType::UInt8: return 0;
    case DataType::Int8: return -128;
    case DataType::UInt16: return 0;
    case DataType::Int16: return -32768;
    case DataType::Int32: return std::numeric_limits<int32_t>::min();
    case DataType::Int64: return std::numeric_limits<int64_t>::min();
    case DataType::UInt32: return 0;
    case DataType::UInt64: return 0;
    case DataType::Bool: return 0;
    default: throw std::logic_error(std::string("lowest() of non-integer type ") + to_string(type));
  }
}

int64_t highest(DataType type) {
  switch (type) {
    case DataType::UInt8: return 255;
    case DataType::Int8: return 127;
    case DataType::UInt16: return 65535;
    case DataType::Int16: return 32767;
    case DataType::Int32: return std::numeric_limits<int32_t>::max();
    case DataType::Int64: return std::numeric_limits<int64_t>::max();
    case DataType::UInt32: return std::numeric_limits<uint32_t>::max();
    case DataType::UInt64: return std::numeric_limits<int64_t>::max();
    case DataType::Bool: return 1;
    default: throw std::logic_error(std::string("highest() of non-integer type ") + to_string(type));
  }
}

int64_t element_count(const Shape& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) throw TensorSizeError("negative extent in shape " + to_string(shape));
  }
  for (int64_t extent : shape) {
    // A zero extent anywhere makes the product 0 whatever the other extents are.
    if (__builtin_mul_overflow(count, extent, &count)) {
      bool has_zero = false;
      for (int64_t other : shape) has_zero = has_zero || other == 0;
      if (has_zero) return 0;
      throw TensorSizeError("shape " + to_string(shape) + " has more than 2^63 elements");
    }
  }
  return count;
}

uint64_t checked_tensor_bytes(DataType type, const Shape& shape) {
  const auto elements = static_cast<uint64_t>(element_count(shape));
  uint64_t total = 0;
  const uint64_t budget = memory_budget_bytes();
  const bool fits = multiply_checked(elements, byte_size(type), total);
  if (!fits || total > budget) {
    throw TensorSizeError("a " + std::string(to_string(type)) + " tensor of shape " +
                          to_string(shape) + " needs " +
                          (fits ? std::to_string(total) : std::string("more than 2^64")) +
                          " bytes, more than the memory budget of " + std::to_string(budget) +
                          " bytes (CIMTLM_MEMORY_BUDGET)");
  }
  return total;
}

std::string to_string(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t axis = 0; axis < shape.size(); ++axis) out << (axis ? ", " : "") << shape[axis];
  out << ']';
  return out.str();
}

Tensor::Tensor(DataType type, Shape shape) : type_(type), shape_(std::move(shape)) {
  const auto total = static_cast<size_t>(checked_tensor_bytes(type_, shape_));
  storage_.words.assign((total + 7) / 8, 0);
}

Tensor Tensor::reshaped(Shape shape) const {
  if (element_count(shape) != elements()) {
    throw std::invalid_argument("cannot reshape " + to_string(shape_) + " to " + to_string(shape));
  }
  Tensor out = *this;
  out.shape_ = std::move(shape);
  return out;
}

double Tensor::as_double(int64_t index) const {
  switch (type_) {
    case DataType::Float: return data<float>()[index];
    case DataType::Double: return data<double>()[index];
    default: return static_cast<double>(as_int(index));
  }
}

int64_t Tensor::as_int(int64_t index) const {
  switch (type_) {
    case DataType::Float: return static_cast<int64_t>(data<float>()[index]);
    case DataType::Double: return static_cast<int64_t>(data<double>()[index]);
    case DataType::UInt8: return data<uint8_t>()[index];
    case DataType::Int8: return data<int8_t>()[index];
    case DataType::UInt16: return data<uint16_t>()[index];
    case DataType::Int16: return data<int16_t>()[index];
    case DataType::Int32: return data<int32_t>()[index];
    case DataType::Int64: return data<int64_t>()[index];
    case DataType::UInt32: return data<uint32_t>()[index];
    case DataType::UInt64: return static_cast<int64_t>(data<uint64_t>()[index]);
    case DataType::Bool: return data<bool>()[index] ? 1 : 0;
    case DataType::Undefined: break;
  }
  throw std::logic_error("as_int on an undefined tensor");
}

std::vector<int64_t> Tensor::to_int_vector() const {
  std::vector<int64_t> values(static_cast<size_t>(elements()));
  for (int64_t index = 0; index < elements(); ++index) values[index] = as_int(index);
  return values;
}

std::vector<float> Tensor::to_float_vector() const {
  std::vector<float> values(static_cast<size_t>(elements()));
  for (int64_t index = 0; index < elements(); ++index) {
    values[index] = static_cast<float>(as_double(index));
  }
  return values;
}

bool Tensor::operator==(const Tensor& other) const {
  // An empty tensor may have no storage: memcmp must not see its null pointer, even for 0 bytes.
  return type_ == other.type_ && shape_ == other.shape_ &&
         (bytes() == 0 || std::memcmp(raw(), other.raw(), bytes()) == 0);
}

}  // namespace cimtlm::graph
