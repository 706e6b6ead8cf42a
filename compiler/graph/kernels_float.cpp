// Floating-point kernels of the reference executor (ONNX semantics, float32).
#include <algorithm>

#include "compiler/graph/kernel_registry.h"

namespace cimtlm::graph {

namespace {

void identity(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  out[0] = require_input(node, in, 0);
}

template <typename T>
void relu_typed(const Tensor& x, Tensor& y) {
  y = Tensor(x.type(), x.shape());
  const T* in = x.data<T>();
  T* values = y.data<T>();
  for (int64_t i = 0; i < x.elements(); ++i) values[i] = std::max<T>(in[i], T(0));
}

void relu(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  switch (x.type()) {
    case DataType::Float: relu_typed<float>(x, out[0]); break;
    case DataType::Double: relu_typed<double>(x, out[0]); break;
    case DataType::Int8: relu_typed<int8_t>(x, out[0]); break;
    case DataType::Int32: relu_typed<int32_t>(x, out[0]); break;
    default: throw ModelError(node.describe() + ": Relu on " + to_string(x.type()));
  }
}

void flatten(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = require_input(node, in, 0);
  int64_t axis = node.get_int("axis", 1);
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis > x.rank()) throw ModelError(node.describe() + ": axis out of range");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  out[0] = x.reshaped({outer, outer == 0 ? 0 : x.elements() / outer});
}

}  // namespace

void register_float_kernels(KernelRegistry& registry) {
  registry.add("", "Identity", identity);
  registry.add("", "Relu", relu);
  registry.add("", "Flatten", flatten);
}

}  // namespace cimtlm::graph
