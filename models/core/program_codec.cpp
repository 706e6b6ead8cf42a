#include "models/core/program_codec.h"

#include <cstring>
#include <type_traits>

namespace cimtlm::core {

namespace {

constexpr uint32_t kMagic = 0x504d4943;  // "CIMP"
constexpr uint32_t kVersion = 1;

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsSharedVector : std::false_type {};
template <typename T>
struct IsSharedVector<std::shared_ptr<const std::vector<T>>> : std::true_type {};

// Each struct's fields, once for both directions (`archive` is a Writer or a Reader).
template <typename A>
void fields(A& a, TensorRef& t) {
  a(t.addr, t.type, t.shape);
}
template <typename A>
void fields(A& a, LoadWeights& c) {
  a(c.macro, c.source, c.rows, c.cols, c.weight_bits, c.weights_signed, c.weight_zero_points,
    c.layer);
}
template <typename A>
void fields(A& a, ConvGeometry& g) {
  a(g.in_channels, g.in_height, g.in_width, g.kernel_h, g.kernel_w, g.stride_h, g.stride_w,
    g.pad_top, g.pad_left, g.dilation_h, g.dilation_w, g.out_height, g.out_width, g.channel_offset,
    g.group_channels);
}
template <typename A>
void fields(A& a, VectorSource& s) {
  a(s.kind, s.input, s.first_element, s.element_count, s.element_index, s.first_vector,
    s.vector_count, s.conv);
}
template <typename A>
void fields(A& a, CimMatmul& c) {
  a(c.macro, c.source, c.cols, c.input_zero_point, c.input_bits, c.accumulator,
    c.accumulator_stride, c.column_offset, c.accumulate, c.rescale_shift, c.accumulator_bits,
    c.layer);
}
template <typename A>
void fields(A& a, Requantize& c) {
  a(c.accumulator, c.vectors, c.cols, c.accumulator_stride, c.bias, c.multipliers,
    c.output_zero_point, c.clamp_min, c.clamp_max, c.output, c.out_vector_stride,
    c.out_column_stride, c.out_column_offset, c.rescale_shift, c.accumulator_bits, c.column_index,
    c.zero_accumulator, c.layer);
}
template <typename A>
void fields(A& a, Lookup& c) {
  a(c.input, c.output, c.table, c.layer);
}
template <typename A>
void fields(A& a, Eltwise& c) {
  a(c.op, c.integer_product, c.a, c.b, c.output, c.a_scale, c.b_scale, c.y_scale, c.a_zero_point,
    c.b_zero_point, c.y_zero_point, c.b_inner, c.clamp_min, c.clamp_max, c.layer);
}
template <typename A>
void fields(A& a, Pool& c) {
  a(c.kind, c.input, c.output, c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.pad_top,
    c.pad_left, c.pad_bottom, c.pad_right, c.dilation_h, c.dilation_w, c.count_include_pad,
    c.input_scale, c.output_scale, c.input_zero_point, c.output_zero_point, c.layer);
}
template <typename A>
void fields(A& a, Softmax& c) {
  a(c.input, c.output, c.extent, c.inner, c.input_scale, c.output_scale, c.input_zero_point,
    c.output_zero_point, c.exp_table, c.output_reciprocal, c.layer);
}
template <typename A>
void fields(A& a, Quantize& c) {
  a(c.input, c.output, c.scale, c.zero_point, c.layer);
}
template <typename A>
void fields(A& a, Dequantize& c) {
  a(c.input, c.output, c.scale, c.zero_point, c.layer);
}
template <typename A>
void fields(A& a, Copy& c) {
  a(c.source, c.destination, c.type, c.extent, c.source_stride, c.destination_stride, c.layer);
}
template <typename A>
void fields(A& a, Gather& c) {
  a(c.table, c.indices, c.output, c.layer);
}
template <typename A>
void fields(A& a, Send& c) {
  a(c.to_core, c.source, c.destination, c.bytes, c.tag, c.layer);
}
template <typename A>
void fields(A& a, Receive& c) {
  a(c.from_core, c.tag, c.layer);
}
template <typename A>
void fields(A& a, PowerGate& c) {
  a(c.level, c.gate);
}
template <typename A>
void fields(A&, InferenceDone&) {}
template <typename A>
void fields(A&, KernelOp&) {
  throw std::invalid_argument("a KernelOp cannot be encoded (its arithmetic is host code)");
}
// A KernelOp in the arithmetic unit's parameter memory: everything but the kernel, which the
// unit's kernel table holds (the slot precedes these fields).
template <typename A>
void kernel_op_fields(A& a, KernelOp& c) {
  a(c.inputs, c.outputs, c.float_ops, c.int8_macs, c.requantized, c.layer);
}

// Largest valid value of each enum (a decoded value above it is an error).
constexpr uint8_t enum_max(ElemType) {
  return static_cast<uint8_t>(ElemType::Int64);
}
constexpr uint8_t enum_max(VectorSource::Kind) {
  return static_cast<uint8_t>(VectorSource::Kind::ConvPatches);
}
constexpr uint8_t enum_max(Eltwise::Op) {
  return static_cast<uint8_t>(Eltwise::Op::Mul);
}
constexpr uint8_t enum_max(Pool::Kind) {
  return static_cast<uint8_t>(Pool::Kind::GlobalAverage);
}

class Writer {
 public:
  std::vector<uint8_t> bytes;

  template <typename... Ts>
  void operator()(Ts&... values) {
    (put(values), ...);
  }

 private:
  template <typename T>
  void put(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      put(static_cast<uint8_t>(value ? 1 : 0));
    } else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
      const auto* raw = reinterpret_cast<const uint8_t*>(&value);
      bytes.insert(bytes.end(), raw, raw + sizeof(T));
    } else if constexpr (std::is_same_v<T, std::string>) {
      put(static_cast<uint64_t>(value.size()));
      bytes.insert(bytes.end(), value.begin(), value.end());
    } else if constexpr (IsSharedVector<T>::value) {
      put(static_cast<uint8_t>(value ? 1 : 0));
      if (value) put(*value);
    } else if constexpr (std::is_same_v<T, std::shared_ptr<const std::array<int32_t, 256>>>) {
      put(static_cast<uint8_t>(value ? 1 : 0));
      if (value) put(*value);
    } else if constexpr (std::is_same_v<T, std::array<int64_t, 4>> ||
                         std::is_same_v<T, std::array<int32_t, 256>>) {
      for (const auto& element : value) put(element);
    } else if constexpr (IsVector<T>::value) {
      put(static_cast<uint64_t>(value.size()));
      for (const auto& element : value) put(element);
    } else {
      fields(*this, const_cast<T&>(value));
    }
  }
};

class Reader {
 public:
  Reader(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  uint64_t offset() const { return offset_; }
  bool at_end() const { return offset_ == size_; }

  template <typename... Ts>
  void operator()(Ts&... values) {
    (get(values), ...);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ProgramFormatError("program image: " + what + " at byte " + std::to_string(offset_));
  }

  template <typename T>
  void get(T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t flag = 0;
      get(flag);
      if (flag > 1) fail("a flag of " + std::to_string(flag));
      value = flag == 1;
    } else if constexpr (std::is_enum_v<T>) {
      uint8_t code = 0;
      static_assert(sizeof(T) == 1, "enums of the program are one byte");
      get(code);
      if (code > enum_max(T{})) fail("an unknown enum value " + std::to_string(code));
      value = static_cast<T>(code);
    } else if constexpr (std::is_arithmetic_v<T>) {
      need(sizeof(T));
      std::memcpy(&value, data_ + offset_, sizeof(T));
      offset_ += sizeof(T);
    } else if constexpr (std::is_same_v<T, std::string>) {
      const uint64_t count = count_of(1);
      value.assign(reinterpret_cast<const char*>(data_ + offset_), count);
      offset_ += count;
    } else if constexpr (IsSharedVector<T>::value) {
      bool present = false;
      get(present);
      if (!present) {
        value.reset();
        return;
      }
      auto table = std::make_shared<std::vector<typename T::element_type::value_type>>();
      get(*table);
      value = std::move(table);
    } else if constexpr (std::is_same_v<T, std::shared_ptr<const std::array<int32_t, 256>>>) {
      bool present = false;
      get(present);
      if (!present) {
        value.reset();
        return;
      }
      auto table = std::make_shared<std::array<int32_t, 256>>();
      get(*table);
      value = std::move(table);
    } else if constexpr (std::is_same_v<T, std::array<int64_t, 4>> ||
                         std::is_same_v<T, std::array<int32_t, 256>>) {
      for (auto& element : value) get(element);
    } else if constexpr (IsVector<T>::value) {
      // The elements fit in what remains: a corrupt count cannot allocate past the image.
      using Element = typename T::value_type;
      const uint64_t count = count_of(std::is_arithmetic_v<Element> ? sizeof(Element) : 1);
      value.assign(static_cast<size_t>(count), typename T::value_type{});
      for (auto& element : value) get(element);
    } else {
      fields(*this, value);
    }
  }

 private:
  void need(uint64_t bytes) const {
    if (size_ - offset_ < bytes) fail("truncated (" + std::to_string(bytes) + " bytes needed)");
  }
  uint64_t count_of(uint64_t bytes_each) {
    uint64_t count = 0;
    get(count);
    if (count > (size_ - offset_) / bytes_each) fail("a count of " + std::to_string(count));
    return count;
  }

  const uint8_t* data_;
  uint64_t size_;
  uint64_t offset_ = 0;
};

template <size_t I = 0>
Command make_command(size_t index, Reader& reader) {
  if constexpr (I < std::variant_size_v<Command>) {
    if (index == I) {
      std::variant_alternative_t<I, Command> command;
      if constexpr (std::is_same_v<decltype(command), KernelOp>) {
        reader.fail("a KernelOp (host code cannot be encoded)");
      } else {
        fields(reader, command);
      }
      return command;
    }
    return make_command<I + 1>(index, reader);
  } else {
    reader.fail("an unknown command " + std::to_string(index));
  }
}

}  // namespace

std::vector<uint8_t> encode_command(const Command& command, uint32_t kernel_slot) {
  Writer writer;
  auto index = static_cast<uint8_t>(command.index());
  writer(index);
  if (const auto* op = std::get_if<KernelOp>(&command)) {
    writer(kernel_slot);
    kernel_op_fields(writer, const_cast<KernelOp&>(*op));
  } else {
    std::visit([&](const auto& c) { fields(writer, const_cast<std::decay_t<decltype(c)>&>(c)); },
               command);
  }
  return std::move(writer.bytes);
}

Command decode_command(const uint8_t* data, uint64_t bytes, uint32_t& kernel_slot) {
  Reader reader(data, bytes);
  uint8_t index = 0;
  reader(index);
  Command command;
  if (index == Command(KernelOp{}).index()) {
    KernelOp op;
    reader(kernel_slot);
    kernel_op_fields(reader, op);
    command = std::move(op);
  } else {
    command = make_command(index, reader);
  }
  if (!reader.at_end()) reader.fail("trailing bytes");
  return command;
}

std::vector<uint8_t> encode_program(const Program& program) {
  Writer writer;
  uint32_t magic = kMagic, version = kVersion;
  auto prologue = static_cast<uint32_t>(program.prologue.size());
  auto body = static_cast<uint32_t>(program.body.size());
  writer(magic, version, prologue, body);
  for (const auto* commands : {&program.prologue, &program.body}) {
    for (const Command& command : *commands) {
      auto index = static_cast<uint8_t>(command.index());
      writer(index);
      std::visit([&](const auto& c) { fields(writer, const_cast<std::decay_t<decltype(c)>&>(c)); },
                 command);
    }
  }
  return std::move(writer.bytes);
}

Program decode_program(const uint8_t* data, uint64_t bytes) {
  Reader reader(data, bytes);
  uint32_t magic = 0, version = 0, prologue = 0, body = 0;
  reader(magic);
  if (magic != kMagic) reader.fail("no \"CIMP\" magic");
  reader(version);
  if (version != kVersion) reader.fail("version " + std::to_string(version) + " (1 expected)");
  reader(prologue, body);
  Program program;
  for (auto [count, commands] : {std::pair{prologue, &program.prologue}, {body, &program.body}}) {
    for (uint32_t k = 0; k < count; ++k) {
      uint8_t index = 0;
      reader(index);
      commands->push_back(make_command(index, reader));
    }
  }
  if (!reader.at_end()) reader.fail("trailing bytes");
  return program;
}

}  // namespace cimtlm::core
