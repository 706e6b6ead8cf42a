#include <algorithm>

#include "compiler/graph/lowering.h"
#include "compiler/graph/lowering_internal.h"
#include "compiler/graph/quantized_math.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph::lowering_detail {

// True when the QuantizeLinear `q` was replaced by fused integer ops; false when the island
// stays as it is (a general float island: DequantizeLinear -> float ops -> QuantizeLinear).
bool Lowering::lower_island(const Node& q) {
  const QuantParams y = quantize_params(q);
  const std::string& f = q.inputs[0];
  const std::string& out = q.outputs[0];
  const Node* p = producer(f);
  const std::string name = q.name.empty() ? out : q.name;

  if (is_onnx(*p, "DequantizeLinear")) {
    const QuantParams x = activation(q, f, "input");
    emit_requantization(name, x.value, x, y, out);
    return true;
  }
  if (try_linear(*p, y, out)) return true;
  if (try_lookup(q, y, out)) return true;
  if (try_binary(*p, y, out)) return true;
  if (is_onnx(*p, "AveragePool") || is_onnx(*p, "GlobalAveragePool")) {
    lower_pool(*p, y, out);
    return true;
  }
  if (is_onnx(*p, "Softmax") && dequantized(p->inputs[0])) {
    lower_softmax(*p, &y, out);
    return true;
  }
  if (is_onnx(*p, "Concat") && all_dequantized(*p)) {
    lower_concat(*p, y, out);
    return true;
  }
  if (is_data_movement(*p) && dequantized(p->inputs[0])) {
    lower_data_movement(*p, &y, out);
    return true;
  }
  keep_float_island(q);
  return false;
}

bool Lowering::all_dequantized(const Node& node) const {
  return std::all_of(node.inputs.begin(), node.inputs.end(),
                     [&](const std::string& input) { return dequantized(input).has_value(); });
}

// A general float island: every value between the DequantizeLinears (8-bit, per tensor) and
// `q` comes from an op of float_island_ops() or a constant. The nodes stay in the lowered
// graph as they are, so the reference executor computes the island with the float kernels,
// which follow onnxruntime's arithmetic (onnxruntime runs such islands unfused as well).
void Lowering::keep_float_island(const Node& q) {
  keep_float_values(q.inputs[0], q);
  island_values_.insert(q.outputs[0]);
}

// The island computing `start` (see keep_float_island); `owner` names errors.
void Lowering::keep_float_values(const std::string& start, const Node& q) {
  std::vector<std::string> stack = {start};
  std::set<std::string> visited;
  std::vector<std::string> members;
  while (!stack.empty()) {
    const std::string value = stack.back();
    stack.pop_back();
    if (value.empty() || !visited.insert(value).second) continue;
    if (source_.initializer(value)) continue;
    if (dequantized(value)) {
      const Node& dq = *producer(value);
      const QuantParams params = *dequantized(value);
      if (!is_eight_bit(params.type) && params.type != DataType::Int32) {
        cannot_run(
            dq, "island input '" + params.value + "' is " + to_string(params.type) + ", not 8-bit");
      }
      members.push_back(value);
      continue;
    }
    const Node* node = producer(value);
    if (!node && graph_inputs_.count(value) && is_integer(type_of(value))) continue;  // indices
    if (!node) {
      cannot_run(q, "float island reads the float graph input '" + value +
                        "' (quantize it with a QuantizeLinear first)");
    }
    if (!(node->domain.empty() || node->domain == "ai.onnx") ||
        !float_island_ops().count(node->op_type)) {
      cannot_run(*node, "float " + node->op_type +
                            " between DequantizeLinear and QuantizeLinear "
                            "is not one of the float-island ops");
    }
    for (const auto& output : node->outputs) members.push_back(output);
    // A Cast of integers (MatMulInteger's int32 products, dequantized by Cast and Mul as
    // onnxruntime's quantizer writes them) is an island input, like a DequantizeLinear: the
    // integers come from the platform's integer ops.
    if (is_onnx(*node, "Cast") && is_integer(type_of(node->inputs[0]))) continue;
    for (const auto& input : node->inputs) stack.push_back(input);
  }
  island_values_.insert(members.begin(), members.end());
}

// Element-wise float ops whose result is a function of one 8-bit input alone -> QLookup.
bool Lowering::try_lookup(const Node& q, const QuantParams& y, const std::string& out) {
  const std::set<std::string>& kElementwise = lookup_island_ops();
  std::vector<int> island;  // source node indices, any order
  std::set<std::string> visited;
  std::optional<QuantParams> source;
  std::vector<const Node*> dequantizers;
  std::vector<std::string> stack = {q.inputs[0]};
  while (!stack.empty()) {
    const std::string value = stack.back();
    stack.pop_back();
    if (value.empty() || !visited.insert(value).second) continue;
    if (auto params = dequantized(value)) {
      if (!params->per_tensor() || !is_eight_bit(params->type)) return false;
      if (source && (source->value != params->value || !source->same_as(*params))) return false;
      source = params;
      dequantizers.push_back(producer(value));
      continue;
    }
    if (const Tensor* constant_value = source_.initializer(value)) {
      if (constant_value->elements() != 1) return false;
      continue;
    }
    auto found = producer_.find(value);
    if (found == producer_.end()) return false;  // a float graph input
    const Node& node = source_.nodes[static_cast<size_t>(found->second)];
    if (!(node.domain.empty() || node.domain == "ai.onnx") || !kElementwise.count(node.op_type) ||
        node.outputs.size() != 1) {
      return false;
    }
    island.push_back(found->second);
    for (const auto& input : node.inputs) stack.push_back(input);
  }
  if (!source || island.empty()) return false;

  // Run DQ -> island -> Q on all 256 codes through the reference kernels.
  std::sort(island.begin(), island.end());
  Graph table_graph;
  table_graph.opset = source_.opset;
  table_graph.inputs.push_back({"codes", source->type, {256}});
  for (const Node* dq : dequantizers) {
    Node copy = *dq;
    copy.inputs[0] = "codes";
    table_graph.nodes.push_back(copy);
  }
  for (int index : island) table_graph.nodes.push_back(source_.nodes[static_cast<size_t>(index)]);
  table_graph.nodes.push_back(q);
  for (const Node& node : table_graph.nodes) {
    for (const auto& input : node.inputs) {
      if (const Tensor* tensor = source_.initializer(input))
        table_graph.initializers[input] = *tensor;
    }
  }
  table_graph.outputs.push_back({out, y.type, {256}});
  Tensor codes(source->type, {256});
  const auto lo = static_cast<int32_t>(lowest(source->type));
  for (int32_t i = 0; i < 256; ++i) {
    if (source->type == DataType::Int8) {
      codes.data<int8_t>()[i] = static_cast<int8_t>(i + lo);
    } else {
      codes.data<uint8_t>()[i] = static_cast<uint8_t>(i);
    }
  }
  const Tensor result = ReferenceExecutor(table_graph).run({{"codes", codes}}).at(out);
  const Node& last = *producer(q.inputs[0]);
  Node lookup = make("QLookup", last.name.empty() ? out : last.name, {source->value}, {out});
  lookup.attributes["table"] = Attribute::of_ints(result.to_int_vector());
  lookup.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y.type));
  emit(std::move(lookup));
  return true;
}

// Add / Mul [-> Relu | Clip] of two dequantized tensors.
bool Lowering::try_binary(const Node& last, const QuantParams& y, const std::string& out) {
  const Node* binary = &last;
  const Node* act = nullptr;
  if ((is_onnx(last, "Relu") || is_onnx(last, "Clip")) && consumer_count(last.inputs[0]) == 1) {
    const Node* before = producer(last.inputs[0]);
    if (before && (is_onnx(*before, "Add") || is_onnx(*before, "Sub") || is_onnx(*before, "Mul"))) {
      binary = before;
      act = &last;
    }
  }
  // Sub is Add with the second operand's scale negated: float(b - zb) * -sb is exactly
  // -(float(b - zb) * sb), and a + (-b) is exactly a - b in IEEE arithmetic.
  const bool subtract = is_onnx(*binary, "Sub");
  const bool add = is_onnx(*binary, "Add") || subtract;
  if (!add && !is_onnx(*binary, "Mul")) return false;
  const auto a_params = dequantized(binary->inputs[0]);
  const auto b_params = dequantized(binary->inputs[1]);
  if (!a_params || !b_params || !a_params->per_tensor() || !b_params->per_tensor() ||
      !is_eight_bit(a_params->type) || !is_eight_bit(b_params->type)) {
    return false;  // a general float island
  }
  const QuantParams a = activation(*binary, binary->inputs[0], "input A");
  const QuantParams b = activation(*binary, binary->inputs[1], "input B");
  Node fused = make(add ? "QAdd" : "QMul", binary->name.empty() ? out : binary->name,
                    {a.value, b.value}, {out});
  fused.attributes["a_scale"] = Attribute::of_float(a.scale());
  fused.attributes["a_zero_point"] = Attribute::of_int(a.zero_point());
  fused.attributes["b_scale"] = Attribute::of_float(subtract ? -b.scale() : b.scale());
  fused.attributes["b_zero_point"] = Attribute::of_int(b.zero_point());
  set_output_quant(fused, y);
  // onnxruntime has no fused QLinearSub: a Sub stays a float island.
  if (subtract) fused.attributes["arithmetic"] = Attribute::of_string("float");
  if (act) {
    int32_t clamp_min = 0, clamp_max = 0;
    activation_clamp(*act, y, clamp_min, clamp_max);
    // onnxruntime drops a Relu whose output zero point is the type's minimum (the Q clamps
    // there anyway) and then fuses QLinearAdd / QLinearMul; any other activation leaves a float
    // island.
    const bool relu_is_noop = is_onnx(*act, "Relu") && y.zero_point() == lowest(y.type);
    if (!relu_is_noop) fused.attributes["arithmetic"] = Attribute::of_string("float");
    fused.attributes["clamp_min"] = Attribute::of_int(clamp_min);
    fused.attributes["clamp_max"] = Attribute::of_int(clamp_max);
  }
  emit(std::move(fused));
  return true;
}

void Lowering::lower_pool(const Node& pool, const QuantParams& y, const std::string& out) {
  const QuantParams x = activation(pool, pool.inputs[0], "input");
  if (x.type != y.type) cannot_run(pool, "input and output quantization types differ");
  const bool global = is_onnx(pool, "GlobalAveragePool");
  Node fused = make(global ? "QGlobalAveragePool" : "QAveragePool",
                    pool.name.empty() ? out : pool.name, {x.value}, {out});
  if (!global) {
    for (const char* name :
         {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}) {
      auto found = pool.attributes.find(name);
      if (found != pool.attributes.end()) fused.attributes[name] = found->second;
    }
  }
  fused.attributes["x_scale"] = Attribute::of_float(x.scale());
  fused.attributes["x_zero_point"] = Attribute::of_int(x.zero_point());
  fused.attributes["y_scale"] = Attribute::of_float(y.scale());
  fused.attributes["y_zero_point"] = Attribute::of_int(y.zero_point());
  emit(std::move(fused));
}

// Softmax of a dequantized tensor; `y` null for a float result.
void Lowering::lower_softmax(const Node& softmax, const QuantParams* y, const std::string& out) {
  const QuantParams x = activation(softmax, softmax.inputs[0], "input");
  if (y && x.type != y->type) cannot_run(softmax, "input and output quantization types differ");
  Node fused = make("QSoftmax", softmax.name.empty() ? out : softmax.name, {x.value}, {out});
  fused.attributes["axis"] = Attribute::of_int(softmax.get_int("axis", -1));
  fused.attributes["x_scale"] = Attribute::of_float(x.scale());
  fused.attributes["x_zero_point"] = Attribute::of_int(x.zero_point());
  if (y) {
    set_output_quant(fused, *y);
  } else {
    fused.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(DataType::Float));
  }
  emit(std::move(fused));
}

void Lowering::lower_concat(const Node& concat, const QuantParams& y, const std::string& out) {
  std::vector<QuantParams> parts;
  bool all_equal = true;
  for (size_t index = 0; index < concat.inputs.size(); ++index) {
    parts.push_back(activation(concat, concat.inputs[index], "input"));
    if (parts.back().type != y.type)
      cannot_run(concat, "input and output quantization types differ");
    all_equal = all_equal && parts.back().same_as(y);
  }
  Node fused =
      make(all_equal ? "Concat" : "QConcat", concat.name.empty() ? out : concat.name, {}, {out});
  for (const auto& part : parts) fused.inputs.push_back(part.value);
  fused.attributes["axis"] = Attribute::of_int(concat.get_int("axis"));
  if (all_equal) {
    fused.domain.clear();
  } else {
    std::vector<float> scales;
    std::vector<int64_t> zero_points;
    for (const auto& part : parts) {
      scales.push_back(part.scale());
      zero_points.push_back(part.zero_point());
    }
    fused.attributes["x_scales"] = Attribute::of_floats(scales);
    fused.attributes["x_zero_points"] = Attribute::of_ints(zero_points);
    fused.attributes["y_scale"] = Attribute::of_float(y.scale());
    fused.attributes["y_zero_point"] = Attribute::of_int(y.zero_point());
  }
  emit(std::move(fused));
}

bool Lowering::is_data_movement(const Node& node) {
  return is_onnx(node, "MaxPool") || is_onnx(node, "Reshape") || is_onnx(node, "Flatten") ||
         is_onnx(node, "Transpose") || is_onnx(node, "Gather") || is_onnx(node, "Identity") ||
         is_onnx(node, "Squeeze") || is_onnx(node, "Unsqueeze");
}

// The op on the integers of its dequantized data input, then requantization to `y` (null: a
// DequantizeLinear to the float graph output `out`).
void Lowering::lower_data_movement(const Node& node, const QuantParams* y, const std::string& out) {
  if (is_onnx(node, "MaxPool") && node.outputs.size() > 1 && !node.outputs[1].empty()) {
    cannot_run(node, "MaxPool indices output is not supported");
  }
  const QuantParams x = activation(node, node.inputs[0], "data");
  for (size_t index = 1; index < node.inputs.size(); ++index) {
    if (!node.inputs[index].empty() && type_of(node.inputs[index]) == DataType::Float) {
      cannot_run(node, "input '" + node.inputs[index] + "' is float");
    }
  }
  Node moved = node;
  moved.name = node_name(node.name.empty() ? out : node.name);
  moved.inputs[0] = x.value;
  moved.outputs.resize(1);
  const bool direct = y && x.same_as(*y);
  const std::string integers = direct ? out : fresh(out + "_int");
  moved.outputs[0] = integers;
  emit(std::move(moved));
  if (direct) return;
  if (y) {
    emit_requantization(node.name.empty() ? out : node.name + "_requantize", integers, x, *y, out);
    return;
  }
  Node dq;
  dq.op_type = "DequantizeLinear";
  dq.name = node_name(out + "_dequantize");
  const std::string scale = fresh(out + "_scale"), zero_point = fresh(out + "_zero_point");
  new_initializers_[scale] = Tensor::scalar<float>(x.scale());
  Tensor zp(x.type, {});
  if (x.type == DataType::Int8) {
    zp.data<int8_t>()[0] = static_cast<int8_t>(x.zero_point());
  } else {
    zp.data<uint8_t>()[0] = static_cast<uint8_t>(x.zero_point());
  }
  new_initializers_[zero_point] = zp;
  dq.inputs = {integers, scale, zero_point};
  dq.outputs = {out};
  emit(std::move(dq));
}

// Float graph outputs computed from a dequantized tensor by Softmax or data movement.
void Lowering::lower_float_outputs() {
  for (const auto& output : source_.outputs) {
    const auto found = producer_.find(output.name);
    if (found == producer_.end()) continue;
    const auto index = static_cast<size_t>(found->second);
    if (replaced_.count(index)) continue;
    const Node& node = source_.nodes[index];
    if (!dequantized(node.inputs.empty() ? std::string() : node.inputs[0])) continue;
    if (is_onnx(node, "Softmax")) {
      lower_softmax(node, nullptr, output.name);
      replaced_.insert(index);
    } else if (is_data_movement(node)) {
      lower_data_movement(node, nullptr, output.name);
      replaced_.insert(index);
    }
  }
  // Other float outputs of float ops on dequantized values: general float islands.
  for (const auto& output : source_.outputs) {
    const auto found = producer_.find(output.name);
    if (found == producer_.end() || replaced_.count(static_cast<size_t>(found->second))) continue;
    const Node& node = source_.nodes[static_cast<size_t>(found->second)];
    if ((node.domain.empty() || node.domain == "ai.onnx") &&
        float_island_ops().count(node.op_type) && type_of(output.name) == DataType::Float) {
      keep_float_values(output.name, node);
    }
  }
}

}  // namespace cimtlm::graph::lowering_detail
