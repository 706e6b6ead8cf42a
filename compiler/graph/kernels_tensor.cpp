// Data-movement kernels on any element type (they copy bytes, never convert): ONNX Concat,
// Reshape (0 and -1, allowzero), Flatten, Transpose, Gather (any axis, negative indices).
#include <cstring>

#include "compiler/graph/kernel_sets.h"

namespace cimtlm::graph {

namespace {

using Inputs = std::vector<const Tensor*>;
using Outputs = std::vector<Tensor>;

const uint8_t* bytes_of(const Tensor& tensor) { return static_cast<const uint8_t*>(tensor.raw()); }
uint8_t* bytes_of(Tensor& tensor) { return static_cast<uint8_t*>(tensor.raw()); }

void concat(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& first = require_input(node, in, 0);
  if (first.rank() == 0) throw ModelError(node.describe() + ": cannot concatenate scalars");
  const int64_t axis = normalize_axis(node, node.get_int("axis"), first.rank());
  Shape shape = first.shape();
  shape[axis] = 0;
  for (size_t index = 0; index < in.size(); ++index) {
    const Tensor& part = require_input(node, in, index);
    bool compatible = part.type() == first.type() && part.rank() == first.rank();
    for (int64_t d = 0; compatible && d < first.rank(); ++d) {
      compatible = d == axis || part.dim(d) == first.dim(d);
    }
    if (!compatible) {
      throw ModelError(node.describe() + ": input " + std::to_string(index) + " " +
                       to_string(part.shape()) + " " + to_string(part.type()) +
                       " does not match input 0 " + to_string(first.shape()) + " " +
                       to_string(first.type()) + " outside axis " + std::to_string(axis));
    }
    shape[axis] += part.dim(axis);
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  const size_t element = byte_size(first.type());
  int64_t inner_bytes = static_cast<int64_t>(element);
  for (int64_t d = axis + 1; d < first.rank(); ++d) inner_bytes *= shape[d];
  out[0] = Tensor(first.type(), shape);
  uint8_t* destination = bytes_of(out[0]);
  const int64_t out_block = shape[axis] * inner_bytes;
  int64_t offset = 0;
  for (const Tensor* part : in) {
    const int64_t block = part->dim(axis) * inner_bytes;
    const uint8_t* source = bytes_of(*part);
    for (int64_t o = 0; o < outer; ++o) {
      std::memcpy(destination + o * out_block + offset, source + o * block,
                  static_cast<size_t>(block));
    }
    offset += block;
  }
}

// Reshape (opset 14): 0 copies the input extent at that index unless allowzero=1 (then it is a
// real zero); one -1 is inferred from the element count.
Shape reshape_target(const Node& node, const Shape& input, const Tensor& shape_tensor) {
  if (shape_tensor.type() != DataType::Int64 || shape_tensor.rank() != 1) {
    throw ModelError(node.describe() + ": shape must be a 1-D int64 tensor");
  }
  const bool allow_zero = node.get_int("allowzero", 0) != 0;
  Shape target(shape_tensor.data<int64_t>(), shape_tensor.data<int64_t>() + shape_tensor.elements());
  int64_t inferred = -1;
  int64_t known = 1;
  for (size_t d = 0; d < target.size(); ++d) {
    if (target[d] == -1) {
      if (inferred >= 0) throw ModelError(node.describe() + ": more than one -1 in shape");
      inferred = static_cast<int64_t>(d);
      continue;
    }
    if (target[d] == 0 && !allow_zero) {
      if (d >= input.size()) {
        throw ModelError(node.describe() + ": shape " + to_string(target) + " copies dimension " +
                         std::to_string(d) + " that input " + to_string(input) + " lacks");
      }
      target[d] = input[d];
    }
    if (target[d] < 0) {
      throw ModelError(node.describe() + ": invalid extent " + std::to_string(target[d]) +
                       " in shape " + to_string(target));
    }
    known *= target[d];
  }
  const int64_t count = element_count(input);
  if (inferred >= 0) {
    if (known == 0 || count % known != 0) {
      throw ModelError(node.describe() + ": cannot infer -1 reshaping " + to_string(input) +
                       " to " + to_string(target));
    }
    target[inferred] = count / known;
  } else if (known != count) {
    throw ModelError(node.describe() + ": cannot reshape " + to_string(input) + " to " +
                     to_string(target));
  }
  return target;
}

void reshape(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& data = require_input(node, in, 0);
  out[0] = data.reshaped(reshape_target(node, data.shape(), require_input(node, in, 1)));
}

void flatten(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& data = require_input(node, in, 0);
  int64_t axis = node.get_int("axis", 1);
  if (axis < -data.rank() || axis > data.rank()) {
    throw ModelError(node.describe() + ": axis " + std::to_string(axis) +
                     " out of range for rank " + std::to_string(data.rank()));
  }
  if (axis < 0) axis += data.rank();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < data.rank(); ++d) (d < axis ? outer : inner) *= data.dim(d);
  out[0] = data.reshaped({outer, inner});
}

// Element copy for one element size; Word is an unsigned type of that size.
template <typename Word>
void transpose_words(const Tensor& data, const std::vector<int64_t>& perm, Tensor& y) {
  const int64_t rank = data.rank();
  std::vector<int64_t> input_stride(static_cast<size_t>(rank), 1);
  for (int64_t d = rank - 1; d > 0; --d) input_stride[d - 1] = input_stride[d] * data.dim(d);
  // Stride in the input of each output axis.
  std::vector<int64_t> stride(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) stride[d] = input_stride[perm[d]];
  const Word* source = static_cast<const Word*>(data.raw());
  Word* destination = static_cast<Word*>(y.raw());
  const int64_t total = y.elements();
  if (total == 0) return;
  if (rank == 0) {
    destination[0] = source[0];
    return;
  }
  const int64_t last_extent = y.dim(rank - 1);
  const int64_t last_stride = stride[rank - 1];
  std::vector<int64_t> counter(static_cast<size_t>(rank), 0);
  int64_t position = 0;
  for (int64_t linear = 0; linear < total; linear += last_extent) {
    const Word* row = source + position;
    Word* out_row = destination + linear;
    for (int64_t i = 0; i < last_extent; ++i) out_row[i] = row[i * last_stride];
    for (int64_t d = rank - 1; d-- > 0;) {
      position += stride[d];
      if (++counter[d] < y.dim(d)) break;
      position -= stride[d] * y.dim(d);
      counter[d] = 0;
    }
  }
}

void transpose(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& data = require_input(node, in, 0);
  const int64_t rank = data.rank();
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) perm[d] = rank - 1 - d;
  perm = node.get_ints("perm", perm);
  std::vector<bool> used(static_cast<size_t>(rank), false);
  if (static_cast<int64_t>(perm.size()) != rank) {
    throw ModelError(node.describe() + ": perm has " + std::to_string(perm.size()) +
                     " entries for rank " + std::to_string(rank));
  }
  Shape shape(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank || used[perm[d]]) {
      throw ModelError(node.describe() + ": perm is not a permutation of 0.." +
                       std::to_string(rank - 1));
    }
    used[perm[d]] = true;
    shape[d] = data.dim(perm[d]);
  }
  out[0] = Tensor(data.type(), shape);
  switch (byte_size(data.type())) {
    case 1: transpose_words<uint8_t>(data, perm, out[0]); break;
    case 2: transpose_words<uint16_t>(data, perm, out[0]); break;
    case 4: transpose_words<uint32_t>(data, perm, out[0]); break;
    case 8: transpose_words<uint64_t>(data, perm, out[0]); break;
    default:
      throw ModelError(node.describe() + ": Transpose of " + to_string(data.type()));
  }
}

// Gather: out[i..., j..., k...] = data[i..., indices[j...], k...] along `axis`.
void gather(const Node& node, const Inputs& in, Outputs& out) {
  const Tensor& data = require_input(node, in, 0);
  const Tensor& indices = require_input(node, in, 1);
  require_type(node, indices, {DataType::Int32, DataType::Int64}, "indices");
  if (data.rank() == 0) throw ModelError(node.describe() + ": data must not be a scalar");
  const int64_t axis = normalize_axis(node, node.get_int("axis", 0), data.rank());
  Shape shape(data.shape().begin(), data.shape().begin() + axis);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), data.shape().begin() + axis + 1, data.shape().end());
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.dim(d);
  int64_t inner_bytes = static_cast<int64_t>(byte_size(data.type()));
  for (int64_t d = axis + 1; d < data.rank(); ++d) inner_bytes *= data.dim(d);
  const int64_t extent = data.dim(axis);
  const int64_t count = indices.elements();
  std::vector<int64_t> rows(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    int64_t index = indices.as_int(i);
    if (index < -extent || index >= extent) {
      throw ModelError(node.describe() + ": index " + std::to_string(index) +
                       " is out of range for axis extent " + std::to_string(extent));
    }
    rows[i] = index < 0 ? index + extent : index;
  }
  out[0] = Tensor(data.type(), shape);
  const uint8_t* source = bytes_of(data);
  uint8_t* destination = bytes_of(out[0]);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(destination + (o * count + i) * inner_bytes,
                  source + (o * extent + rows[i]) * inner_bytes, static_cast<size_t>(inner_bytes));
    }
  }
}

}  // namespace

void register_tensor_kernels(KernelRegistry& registry) {
  registry.add("", "Concat", concat);
  registry.add("", "Reshape", reshape);
  registry.add("", "Flatten", flatten);
  registry.add("", "Transpose", transpose);
  registry.add("", "Gather", gather);
}

}  // namespace cimtlm::graph
