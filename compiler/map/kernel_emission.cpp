// Ops the arithmetic unit computes with the reference executor's kernels (core::KernelOp): the ops
// of general float islands (LayerNormalization, Softmax, GELU, reductions, float shape ops, ...)
// and integer matrix products of two activations (attention's Q.K^T and softmax.V). The kernels
// follow onnxruntime's arithmetic, so the platform's results stay bit-exact; what the unit is
// charged is counted here per op (float32 operations, 8-bit multiply-accumulates,
// requantizations) and priced by the unit's parameters (models/arith).
#include <cstring>

#include "compiler/graph/kernel_registry.h"
#include "compiler/graph/lowering.h"
#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

namespace {

// The reference kernel of one node over byte buffers: inputs and outputs in the node's order,
// omitted optional inputs and outputs skipped.
class ReferenceKernel : public core::ArithKernel {
 public:
  ReferenceKernel(const Node& node, std::vector<std::pair<DataType, Shape>> inputs)
      : node_(node), inputs_(std::move(inputs)) {
    kernel_ = graph::KernelRegistry::instance().find(node.domain, node.op_type);
    if (!kernel_) throw ModelError(node.describe() + ": no kernel for op '" + node.op_type + "'");
  }

  void compute(const std::vector<const uint8_t*>& inputs,
               std::vector<std::vector<uint8_t>>& outputs) const override {
    std::vector<Tensor> operands;
    operands.reserve(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i) {
      operands.emplace_back(inputs_[i].first, inputs_[i].second);
      std::memcpy(operands.back().raw(), inputs.at(i), operands.back().bytes());
    }
    std::vector<const Tensor*> pointers;
    size_t next = 0;
    for (const auto& name : node_.inputs)
      pointers.push_back(name.empty() ? nullptr : &operands[next++]);
    std::vector<Tensor> results(node_.outputs.size());
    (*kernel_)(node_, pointers, results);
    size_t produced = 0;
    for (size_t o = 0; o < node_.outputs.size(); ++o) {
      if (node_.outputs[o].empty()) continue;
      const Tensor& result = results[o];
      const auto* raw = static_cast<const uint8_t*>(result.raw());
      outputs.at(produced).assign(raw, raw + result.bytes());
      ++produced;
    }
  }

 private:
  Node node_;
  std::vector<std::pair<DataType, Shape>> inputs_;
  const graph::Kernel* kernel_ = nullptr;
};

}  // namespace

bool Mapper::runs_as_kernel(const Node& node) const {
  if (node.domain == "cimtlm") {
    // An integer matrix product whose B is an activation, not constant weights for the macros.
    return node.op_type == "QGemm" && node.inputs.size() > 1 &&
           !graph_.is_initializer(node.inputs[1]);
  }
  if (!(node.domain.empty() || node.domain == "ai.onnx")) return false;
  if (node.op_type == "QuantizeLinear" || node.op_type == "DequantizeLinear") {
    // The Quantize/Dequantize commands take constant per-tensor parameters of 8-bit codes.
    const Tensor* scale = node.inputs.size() > 1 ? graph_.initializer(node.inputs[1]) : nullptr;
    const Tensor* zero = node.has_input(2) ? graph_.initializer(node.inputs[2]) : nullptr;
    const bool per_tensor =
        scale && scale->elements() == 1 && (!node.has_input(2) || (zero && zero->elements() == 1));
    const DataType codes =
        value(node.op_type == "QuantizeLinear" ? node.outputs[0] : node.inputs[0]).type();
    return !per_tensor || !(codes == DataType::Int8 || codes == DataType::UInt8);
  }
  if (!graph::float_island_ops().count(node.op_type)) return false;
  // The platform's integer commands (pooling, gathers, copies) stay for 8-bit data; float data
  // of an island goes through the kernel.
  for (const auto& output : node.outputs) {
    if (!output.empty() && value(output).type() == DataType::Float) return true;
  }
  return !graph::is_lowered_op(node);
}

// What the arithmetic unit does for `node` (assumptions: a multiply-accumulate, a compare or an
// add counts one float32 operation; the per-element counts of the composite ops below are those
// of a straightforward implementation; data movement counts one operation per element moved).
void Mapper::kernel_costs(const Node& node, core::KernelOp& command) const {
  const std::string& op = node.op_type;
  auto elements = [&](const std::string& name) -> uint64_t {
    return name.empty() ? 0 : static_cast<uint64_t>(value(name).elements());
  };
  uint64_t out = 0;
  for (const auto& output : node.outputs) out += elements(output);
  const uint64_t in = node.inputs.empty() ? 0 : elements(node.inputs[0]);
  if (node.domain == "cimtlm") {  // QGemm of two activations: A [M, K] x B [K, N]
    const Tensor& a = value(node.inputs[0]);
    const auto k = static_cast<uint64_t>(a.rank() > 0 ? a.dim(a.rank() - 1) : 1);
    command.int8_macs = out * k;
    const Tensor& y = value(node.outputs[0]);
    command.requantized = y.type() == DataType::Int32 ? 0 : out;
    return;
  }
  if (op == "MatMul" || op == "Gemm") {
    const Tensor& a = value(node.inputs[0]);
    const bool trans_a = op == "Gemm" && node.get_int("transA", 0) != 0;
    const auto k = static_cast<uint64_t>(a.rank() == 0 ? 1
                                         : trans_a     ? a.dim(0)
                                                       : a.dim(a.rank() - 1));
    command.float_ops = out * k + (node.has_input(2) ? out : 0);
  } else if (op == "Conv") {
    const Tensor& w = value(node.inputs[1]);
    command.float_ops = out * static_cast<uint64_t>(w.elements() / std::max<int64_t>(1, w.dim(0)));
  } else if (op == "ConvTranspose") {
    const Tensor& w = value(node.inputs[1]);
    command.float_ops = in * static_cast<uint64_t>(w.elements() / std::max<int64_t>(1, w.dim(0)));
  } else if (op == "LayerNormalization") {
    command.float_ops = 8 * in;  // mean, centre, square, variance, normalise, scale, shift
  } else if (op == "Softmax") {
    command.float_ops = 4 * in;  // max, subtract and exponentiate, sum, scale
  } else if (op == "Gelu") {
    command.float_ops = 4 * out;  // erf or tanh, and three multiply-adds
  } else if (op == "HardSwish" || op == "Sigmoid" || op == "HardSigmoid") {
    command.float_ops = 2 * out;
  } else if (op == "Resize") {
    command.float_ops = (node.get_string("mode", "nearest") == "nearest" ? 1 : 4) * out;
  } else if (op == "MaxPool" || op == "AveragePool") {
    uint64_t window = 1;
    for (int64_t extent : node.get_ints("kernel_shape", {1}))
      window *= static_cast<uint64_t>(extent);
    command.float_ops = out * window;
  } else if (op == "GlobalAveragePool" || op.rfind("Reduce", 0) == 0) {
    command.float_ops = in;
  } else {
    command.float_ops = out;
  }
  if (op == "QuantizeLinear") {  // a requantization, not a float op
    command.requantized = out;
    command.float_ops = 0;
  }
}

void Mapper::emit_kernel_op(const Node& node, int core) {
  core::KernelOp command;
  std::vector<std::pair<DataType, Shape>> inputs;
  for (const auto& input : node.inputs) {
    if (input.empty()) continue;
    command.inputs.push_back(on_core(input, core, node));
    const Tensor& tensor = value(input);
    inputs.emplace_back(tensor.type(), tensor.shape());
  }
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    if (node.outputs[o].empty()) continue;
    command.outputs.push_back(output_buffer(node, core, o));
  }
  command.kernel = std::make_shared<ReferenceKernel>(node, std::move(inputs));
  kernel_costs(node, command);
  command.layer = node.name.empty() ? node.outputs[0] : node.name;
  program(core).body.push_back(command);
  size_t next = 0;
  for (const auto& output : node.outputs) {
    if (!output.empty()) distribute(output, core, command.outputs[next++]);
  }
}

}  // namespace detail
}  // namespace cimtlm::map
