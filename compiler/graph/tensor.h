// Tensors of the graph IR: a data type, a shape and dense row-major storage.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace cimtlm::graph {

// Element types, numbered as ONNX TensorProto.DataType so that import and export are direct.
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  Bool = 9,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
};

size_t byte_size(DataType type);
const char* to_string(DataType type);
bool is_integer(DataType type);
// Range of an integer type (for saturation); undefined for floating types.
int64_t lowest(DataType type);
int64_t highest(DataType type);

using Shape = std::vector<int64_t>;

// A shape that is negative, overflows int64 or asks for more than the memory budget
// (graph::memory_budget_bytes()); callers add the file and value names.
class TensorSizeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Product of the extents; throws TensorSizeError on a negative extent or an int64 overflow.
int64_t element_count(const Shape& shape);
// Bytes of a `type` tensor of `shape`; throws TensorSizeError when that exceeds the memory budget.
uint64_t checked_tensor_bytes(DataType type, const Shape& shape);
std::string to_string(const Shape& shape);

template <typename T> struct TypeOf;
template <> struct TypeOf<float> { static constexpr DataType value = DataType::Float; };
template <> struct TypeOf<double> { static constexpr DataType value = DataType::Double; };
template <> struct TypeOf<uint8_t> { static constexpr DataType value = DataType::UInt8; };
template <> struct TypeOf<int8_t> { static constexpr DataType value = DataType::Int8; };
template <> struct TypeOf<uint16_t> { static constexpr DataType value = DataType::UInt16; };
template <> struct TypeOf<int16_t> { static constexpr DataType value = DataType::Int16; };
template <> struct TypeOf<int32_t> { static constexpr DataType value = DataType::Int32; };
template <> struct TypeOf<int64_t> { static constexpr DataType value = DataType::Int64; };
template <> struct TypeOf<uint32_t> { static constexpr DataType value = DataType::UInt32; };
template <> struct TypeOf<uint64_t> { static constexpr DataType value = DataType::UInt64; };
template <> struct TypeOf<bool> { static constexpr DataType value = DataType::Bool; };

class Tensor {
 public:
  Tensor() = default;
  Tensor(DataType type, Shape shape);  // zero-filled; checked_tensor_bytes() first

  template <typename T>
  static Tensor from(Shape shape, const std::vector<T>& values) {
    Tensor tensor(TypeOf<T>::value, std::move(shape));
    if (static_cast<int64_t>(values.size()) != tensor.elements()) {
      throw std::invalid_argument("Tensor::from: " + std::to_string(values.size()) +
                                  " values for shape " + to_string(tensor.shape()));
    }
    if (!values.empty()) std::memcpy(tensor.raw(), values.data(), values.size() * sizeof(T));
    return tensor;
  }
  template <typename T>
  static Tensor scalar(T value) { return from<T>({}, {value}); }

  DataType type() const { return type_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t axis) const { return shape_.at(static_cast<size_t>(axis)); }
  int64_t elements() const { return element_count(shape_); }
  size_t bytes() const { return static_cast<size_t>(elements()) * byte_size(type_); }
  bool empty() const { return type_ == DataType::Undefined; }

  // Same storage, new shape (element count must match).
  Tensor reshaped(Shape shape) const;

  template <typename T> T* data() {
    check<T>();
    return reinterpret_cast<T*>(storage_.data());
  }
  template <typename T> const T* data() const {
    check<T>();
    return reinterpret_cast<const T*>(storage_.data());
  }
  void* raw() { return storage_.data(); }
  const void* raw() const { return storage_.data(); }

  // Element i converted to double / int64 (any numeric type); for tests and slow paths.
  double as_double(int64_t index) const;
  int64_t as_int(int64_t index) const;
  std::vector<int64_t> to_int_vector() const;
  std::vector<float> to_float_vector() const;

  bool operator==(const Tensor& other) const;
  bool operator!=(const Tensor& other) const { return !(*this == other); }

 private:
  template <typename T> void check() const {
    if (TypeOf<T>::value != type_) {
      throw std::logic_error(std::string("tensor of type ") + to_string(type_) + " accessed as " +
                             to_string(TypeOf<T>::value));
    }
  }
  DataType type_ = DataType::Undefined;
  Shape shape_;
  // Words of 8 bytes keep every element type aligned.
  struct Buffer {
    std::vector<uint64_t> words;
    uint8_t* data() { return reinterpret_cast<uint8_t*>(words.data()); }
    const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(words.data()); }
  } storage_;
};

}  // namespace cimtlm::graph
