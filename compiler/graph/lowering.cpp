#include "compiler/graph/lowering.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include "compiler/graph/kernel_sets.h"
#include "compiler/graph/quantized_math.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph {

namespace {

constexpr const char* kCimtlm = "cimtlm";

bool is_onnx(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op;
}

bool is_eight_bit(DataType type) { return type == DataType::Int8 || type == DataType::UInt8; }

[[noreturn]] void cannot_run(const Node& node, const std::string& why) {
  throw ModelError(node.describe() + ": cannot run on the CIM platform: " + why);
}

// Quantization parameters of a DequantizeLinear (its integer input) or a QuantizeLinear.
struct QuantParams {
  std::string value;  // the integer tensor (DequantizeLinear input); empty for QuantizeLinear
  DataType type = DataType::UInt8;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int64_t axis = 1;

  bool per_tensor() const { return scales.size() == 1; }
  float scale() const { return scales.at(0); }
  int32_t zero_point() const { return zero_points.at(0); }
  bool same_as(const QuantParams& other) const {
    return type == other.type && scales == other.scales && zero_points == other.zero_points;
  }
};

class Lowering {
 public:
  explicit Lowering(const Graph& source) : source_(source) {
    for (const auto& input : source_.inputs) {
      names_.insert(input.name);
      types_[input.name] = input.type;
      graph_inputs_.insert(input.name);
    }
    for (const auto& output : source_.outputs) graph_outputs_.insert(output.name);
    for (const auto& entry : source_.initializers) {
      names_.insert(entry.first);
      types_[entry.first] = entry.second.type();
    }
    for (size_t index = 0; index < source_.nodes.size(); ++index) {
      const Node& node = source_.nodes[index];
      for (const auto& output : node.outputs) {
        names_.insert(output);
        producer_[output] = static_cast<int>(index);
      }
      for (const auto& input : node.inputs) {
        if (!input.empty()) consumers_[input].push_back(static_cast<int>(index));
      }
    }
    infer_source_types();
  }

  Graph run() {
    for (size_t index = 0; index < source_.nodes.size(); ++index) {
      const Node& node = source_.nodes[index];
      if (is_onnx(node, "QLinearConv") || is_onnx(node, "QLinearMatMul") ||
          is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger")) {
        lower_qlinear(node);
        replaced_.insert(index);
      } else if (node.domain == "com.microsoft") {
        lower_com_microsoft(node);
        replaced_.insert(index);
      } else if (is_onnx(node, "QuantizeLinear") && producer(node.inputs[0]) != nullptr) {
        if (lower_island(node)) replaced_.insert(index);
      }
    }
    lower_float_outputs();
    return assemble();
  }

 private:
  // ---------------------------------------------------------------------------------------
  // Graph queries on the source.

  const Node* producer(const std::string& value) const {
    auto found = producer_.find(value);
    return found == producer_.end() ? nullptr : &source_.nodes[static_cast<size_t>(found->second)];
  }
  size_t consumer_count(const std::string& value) const {
    auto found = consumers_.find(value);
    return (found == consumers_.end() ? 0 : found->second.size()) + graph_outputs_.count(value);
  }
  const Tensor& constant(const Node& node, size_t index, const char* what) const {
    if (!node.has_input(index)) cannot_run(node, std::string(what) + " is missing");
    const Tensor* tensor = source_.initializer(node.inputs[index]);
    if (!tensor) cannot_run(node, std::string(what) + " '" + node.inputs[index] + "' is not a constant");
    return *tensor;
  }

  // Element types of the source graph's values (for the checks of the lowered graph).
  void infer_source_types() {
    for (const Node& node : source_.nodes) {
      for (size_t output = 0; output < node.outputs.size(); ++output) {
        types_[node.outputs[output]] = output_type(node, output);
      }
    }
  }
  DataType type_of(const std::string& value) const {
    auto found = types_.find(value);
    return found == types_.end() ? DataType::Undefined : found->second;
  }
  DataType output_type(const Node& node, size_t output) const {
    const DataType first = node.inputs.empty() ? DataType::Undefined : type_of(node.inputs[0]);
    if (node.domain == kCimtlm) {
      return node.has("y_type") ? static_cast<DataType>(node.get_int("y_type")) : first;
    }
    if (is_onnx(node, "QuantizeLinear")) {
      return node.has_input(2) ? type_of(node.inputs[2]) : DataType::UInt8;
    }
    if (is_onnx(node, "DequantizeLinear")) return DataType::Float;
    if (is_onnx(node, "QLinearConv") || is_onnx(node, "QLinearMatMul")) return type_of(node.inputs[7]);
    if (is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger")) return DataType::Int32;
    if (is_onnx(node, "DynamicQuantizeLinear")) return output == 1 ? DataType::Float : DataType::UInt8;
    if (is_onnx(node, "MaxPool") && output == 1) return DataType::Int64;
    if (node.domain == "com.microsoft" && node.op_type == "QLinearConcat") {
      return node.inputs.size() > 2 ? type_of(node.inputs[2]) : DataType::Undefined;
    }
    return first;
  }

  // A value name not used in the source graph or by earlier fused nodes.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int suffix = 1; names_.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
    names_.insert(name);
    return name;
  }
  // The name of a fused node: the name of the source node it replaces (so that reports keep the
  // model's layer names), made unique among the fused nodes.
  std::string node_name(const std::string& base) {
    std::string name = base;
    for (int suffix = 1; node_names_.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
    node_names_.insert(name);
    return name;
  }

  // ---------------------------------------------------------------------------------------
  // Quantization parameters.

  // The parameters of the DequantizeLinear producing `value`, or nothing.
  std::optional<QuantParams> dequantized(const std::string& value) const {
    const Node* node = producer(value);
    if (!node || !is_onnx(*node, "DequantizeLinear")) return std::nullopt;
    QuantParams params;
    params.value = node->inputs[0];
    params.type = type_of(node->inputs[0]);
    params.scales = constant(*node, 1, "scale").to_float_vector();
    if (node->has_input(2)) {
      for (int64_t zp : constant(*node, 2, "zero point").to_int_vector()) {
        params.zero_points.push_back(static_cast<int32_t>(zp));
      }
    } else {
      params.zero_points.assign(1, 0);
    }
    params.axis = node->get_int("axis", 1);
    if (params.zero_points.size() == 1 && params.scales.size() > 1) {
      params.zero_points.assign(params.scales.size(), params.zero_points[0]);
    }
    // Every later use indexes scales and zero points by channel: they must agree in count.
    if (params.scales.empty() || params.zero_points.size() != params.scales.size()) {
      cannot_run(*node, std::to_string(params.scales.size()) + " scales and " +
                            std::to_string(params.zero_points.size()) +
                            " zero points do not match");
    }
    return params;
  }

  // A per-tensor 8-bit DequantizeLinear source, or a ModelError naming `consumer`.
  QuantParams activation(const Node& consumer, const std::string& value, const char* what) const {
    auto params = dequantized(value);
    if (!params) {
      cannot_run(consumer, std::string(what) + " '" + value + "' does not come from a DequantizeLinear");
    }
    if (!params->per_tensor()) {
      cannot_run(consumer, std::string(what) + " '" + value + "' is quantized per channel");
    }
    if (!is_eight_bit(params->type)) {
      cannot_run(consumer, std::string(what) + " '" + value + "' is " + to_string(params->type) +
                               ", not 8-bit");
    }
    return *params;
  }

  QuantParams quantize_params(const Node& q) const {
    QuantParams params;
    params.scales = constant(q, 1, "y_scale").to_float_vector();
    if (q.has_input(2)) {
      const Tensor& zp = constant(q, 2, "y_zero_point");
      params.type = zp.type();
      for (int64_t value : zp.to_int_vector()) params.zero_points.push_back(static_cast<int32_t>(value));
    } else {
      params.zero_points.assign(1, 0);
    }
    if (params.scales.size() != 1 || params.zero_points.size() != 1) {
      cannot_run(q, "per-channel output quantization is not supported");
    }
    if (!is_eight_bit(params.type)) cannot_run(q, "output type is not 8-bit");
    return params;
  }

  // ---------------------------------------------------------------------------------------
  // Node construction.

  Node make(const std::string& op, const std::string& name, std::vector<std::string> inputs,
            std::vector<std::string> outputs) {
    Node node;
    node.domain = kCimtlm;
    node.op_type = op;
    node.name = node_name(name);
    node.inputs = std::move(inputs);
    node.outputs = std::move(outputs);
    return node;
  }
  void emit(Node node) {
    for (size_t output = 0; output < node.outputs.size(); ++output) {
      types_[node.outputs[output]] = output_type(node, output);
    }
    fused_.push_back(std::move(node));
  }
  static void set_output_quant(Node& node, const QuantParams& y) {
    node.attributes["y_scale"] = Attribute::of_float(y.scale());
    node.attributes["y_zero_point"] = Attribute::of_int(y.zero_point());
    node.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y.type));
  }

  // y = Q(DQ(x)) as a 256-entry table (or Identity when the parameters are equal).
  void emit_requantization(const std::string& name, const std::string& input, const QuantParams& x,
                           const QuantParams& y, const std::string& output) {
    if (x.same_as(y)) {
      Node identity = make("Identity", name, {input}, {output});
      identity.domain.clear();
      emit(std::move(identity));
      return;
    }
    const auto lo = static_cast<int32_t>(lowest(x.type));
    std::vector<int64_t> table(256);
    const auto y_lo = static_cast<int32_t>(lowest(y.type));
    const auto y_hi = static_cast<int32_t>(highest(y.type));
    for (int32_t code = 0; code < 256; ++code) {
      table[static_cast<size_t>(code)] =
          quantize(dequantize(code + lo, x.scale(), x.zero_point()), y.scale(), y.zero_point(), y_lo, y_hi);
    }
    Node lookup = make("QLookup", name, {input}, {output});
    lookup.attributes["table"] = Attribute::of_ints(std::move(table));
    lookup.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y.type));
    emit(std::move(lookup));
  }

  // ---------------------------------------------------------------------------------------
  // QLinearConv / QLinearMatMul / ConvInteger / MatMulInteger.

  static void copy_conv_attributes(const Node& from, Node& to) {
    for (const char* name : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}) {
      auto found = from.attributes.find(name);
      if (found != from.attributes.end()) to.attributes[name] = found->second;
    }
  }

  float scalar(const Node& node, size_t index, const char* what) const {
    const Tensor& tensor = constant(node, index, what);
    if (tensor.elements() != 1) cannot_run(node, std::string(what) + " must be a scalar");
    return static_cast<float>(tensor.as_double(0));
  }
  int64_t scalar_int_or_zero(const Node& node, size_t index, const char* what) const {
    if (!node.has_input(index)) return 0;
    const Tensor& tensor = constant(node, index, what);
    if (tensor.elements() != 1) cannot_run(node, std::string(what) + " must be a scalar");
    return tensor.as_int(0);
  }
  std::vector<int64_t> ints_or_zero(const Node& node, size_t index, const char* what) const {
    if (!node.has_input(index)) return {0};
    return constant(node, index, what).to_int_vector();
  }

  void lower_qlinear(const Node& node) {
    const bool conv = is_onnx(node, "QLinearConv") || is_onnx(node, "ConvInteger");
    const bool integer_output = is_onnx(node, "ConvInteger") || is_onnx(node, "MatMulInteger");
    Node fused = make(conv ? "QConv" : "QGemm", node.name.empty() ? node.outputs[0] : node.name, {},
                      node.outputs);
    if (conv) copy_conv_attributes(node, fused);
    if (integer_output) {
      fused.inputs = {node.inputs[0], node.inputs[1]};
      fused.attributes["x_zero_point"] = Attribute::of_int(scalar_int_or_zero(node, 2, "x_zero_point"));
      fused.attributes["w_zero_points"] = Attribute::of_ints(ints_or_zero(node, 3, "w_zero_point"));
      fused.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(DataType::Int32));
    } else {
      fused.inputs = {node.inputs[0], node.inputs[3]};
      if (conv && node.has_input(8)) fused.inputs.push_back(node.inputs[8]);
      fused.attributes["x_scale"] = Attribute::of_float(scalar(node, 1, "x_scale"));
      fused.attributes["x_zero_point"] = Attribute::of_int(scalar_int_or_zero(node, 2, "x_zero_point"));
      fused.attributes["w_scales"] = Attribute::of_floats(constant(node, 4, "w_scale").to_float_vector());
      fused.attributes["w_zero_points"] = Attribute::of_ints(ints_or_zero(node, 5, "w_zero_point"));
      fused.attributes["y_scale"] = Attribute::of_float(scalar(node, 6, "y_scale"));
      const Tensor& y_zp = constant(node, 7, "y_zero_point");
      fused.attributes["y_zero_point"] = Attribute::of_int(y_zp.as_int(0));
      fused.attributes["y_type"] = Attribute::of_int(static_cast<int64_t>(y_zp.type()));
    }
    emit(std::move(fused));
  }

  // onnxruntime's com.microsoft ops: one cimtlm op each (kernels_com_microsoft.cpp).
  void lower_com_microsoft(const Node& node) {
    std::vector<const Tensor*> constants;
    for (const auto& input : node.inputs) constants.push_back(input.empty() ? nullptr : source_.initializer(input));
    CimtlmEquivalent equivalent;
    try {
      equivalent = com_microsoft_as_cimtlm(node, constants);
    } catch (const ModelError& error) {
      throw ModelError(std::string("cannot run on the CIM platform: ") + error.what());
    }
    Node fused = std::move(equivalent.node);
    fused.name = node_name(node.name.empty() ? node.outputs[0] : node.name);
    for (size_t index : equivalent.data_inputs) fused.inputs.push_back(node.inputs[index]);
    if (equivalent.transpose_b) {
      const Tensor* b = source_.initializer(fused.inputs[1]);
      if (!b || b->rank() != 2) cannot_run(node, "transB needs a constant matrix B");
      fused.inputs[1] = transposed_initializer(fused.inputs[1], *b);
    }
    emit(std::move(fused));
  }

  // A new initializer holding `matrix` transposed ([N, K] -> [K, N]); returns its name.
  std::string transposed_initializer(const std::string& base, const Tensor& matrix) {
    const int64_t rows = matrix.dim(0), cols = matrix.dim(1);
    const size_t element = byte_size(matrix.type());
    Tensor transposed(matrix.type(), {cols, rows});
    const auto* from = static_cast<const uint8_t*>(matrix.raw());
    auto* to = static_cast<uint8_t*>(transposed.raw());
    for (int64_t row = 0; row < rows; ++row) {
      for (int64_t col = 0; col < cols; ++col) {
        std::memcpy(to + (col * rows + row) * element, from + (row * cols + col) * element, element);
      }
    }
    const std::string name = fresh(base + "_transposed");
    new_initializers_[name] = std::move(transposed);
    return name;
  }

  // ---------------------------------------------------------------------------------------
  // Islands ending in a QuantizeLinear.

  // True when the QuantizeLinear `q` was replaced by fused integer ops; false when the island
  // stays as it is (a general float island: DequantizeLinear -> float ops -> QuantizeLinear).
  bool lower_island(const Node& q) {
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

  bool all_dequantized(const Node& node) const {
    return std::all_of(node.inputs.begin(), node.inputs.end(),
                       [&](const std::string& input) { return dequantized(input).has_value(); });
  }

  // A general float island: every value between the DequantizeLinears (8-bit, per tensor) and
  // `q` comes from an op of float_island_ops() or a constant. The nodes stay in the lowered
  // graph as they are, so the reference executor computes the island with the float kernels,
  // which follow onnxruntime's arithmetic (onnxruntime runs such islands unfused as well).
  void keep_float_island(const Node& q) {
    keep_float_values(q.inputs[0], q);
    island_values_.insert(q.outputs[0]);
  }

  // The island computing `start` (see keep_float_island); `owner` names errors.
  void keep_float_values(const std::string& start, const Node& q) {
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
          cannot_run(dq, "island input '" + params.value + "' is " + to_string(params.type) +
                             ", not 8-bit");
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
        cannot_run(*node, "float " + node->op_type + " between DequantizeLinear and QuantizeLinear "
                          "is not one of the float-island ops");
      }
      for (const auto& output : node->outputs) members.push_back(output);
      for (const auto& input : node->inputs) stack.push_back(input);
    }
    island_values_.insert(members.begin(), members.end());
  }

  // Clamp of a fused Relu/Clip as output codes; false when `act` is neither.
  bool activation_clamp(const Node& act, const QuantParams& y, int32_t& clamp_min, int32_t& clamp_max) const {
    const auto lo = static_cast<int32_t>(lowest(y.type));
    const auto hi = static_cast<int32_t>(highest(y.type));
    clamp_min = lo;
    clamp_max = hi;
    if (is_onnx(act, "Relu")) {
      clamp_min = std::max(lo, y.zero_point());
      return true;
    }
    if (is_onnx(act, "Clip")) {
      // Quantization is monotonic, so Q(clip(v, a, b)) = clamp(Q(v), Q(a), Q(b)) exactly.
      if (act.has_input(1)) clamp_min = quantize(scalar(act, 1, "Clip min"), y.scale(), y.zero_point(), lo, hi);
      if (act.has_input(2)) clamp_max = quantize(scalar(act, 2, "Clip max"), y.scale(), y.zero_point(), lo, hi);
      return true;
    }
    return false;
  }

  // Conv / Gemm / MatMul [-> Relu | Clip] with dequantized operands.
  bool try_linear(const Node& last, const QuantParams& y, const std::string& out) {
    const Node* linear = &last;
    const Node* act = nullptr;
    if ((is_onnx(last, "Relu") || is_onnx(last, "Clip")) && consumer_count(last.inputs[0]) == 1) {
      const Node* before = producer(last.inputs[0]);
      if (before && (is_onnx(*before, "Conv") || is_onnx(*before, "Gemm") || is_onnx(*before, "MatMul"))) {
        linear = before;
        act = &last;
      }
    }
    const bool conv = is_onnx(*linear, "Conv");
    if (!conv && !is_onnx(*linear, "Gemm") && !is_onnx(*linear, "MatMul")) return false;
    const Node& node = *linear;
    auto w = dequantized(node.inputs[1]);
    // Float weights (or a float input): a general float island, computed as onnxruntime does.
    if (!w || !dequantized(node.inputs[0]) || (node.has_input(2) && !dequantized(node.inputs[2]) &&
                                               !source_.initializer(node.inputs[2]))) {
      return false;
    }
    const QuantParams x = activation(node, node.inputs[0], "input");
    if (!is_eight_bit(w->type)) {
      cannot_run(node, "weight '" + node.inputs[1] + "' is not an 8-bit DequantizeLinear output");
    }
    const Tensor* w_constant = source_.initializer(w->value);
    std::string weight = w->value;
    int64_t channels = 0;
    int64_t channel_axis = 0;
    bool trans_b = false;
    if (conv) {
      if (!w_constant) cannot_run(node, "convolution weights must be constant");
      channels = w_constant->dim(0);
    } else if (is_onnx(node, "Gemm")) {
      if (node.get_int("transA", 0) != 0) cannot_run(node, "Gemm with transA=1 is not supported");
      if (node.get_float("alpha", 1.0f) != 1.0f) cannot_run(node, "Gemm alpha other than 1 is not supported");
      if (node.has_input(2) && node.get_float("beta", 1.0f) != 1.0f) {
        cannot_run(node, "Gemm beta other than 1 is not supported");
      }
      if (!w_constant || w_constant->rank() != 2) cannot_run(node, "Gemm weights must be a constant matrix");
      trans_b = node.get_int("transB", 0) != 0;
      channels = trans_b ? w_constant->dim(0) : w_constant->dim(1);
      channel_axis = trans_b ? 0 : 1;
    } else {
      if (w_constant) {
        if (w_constant->rank() != 2) cannot_run(node, "MatMul weights must be a matrix");
        channels = w_constant->dim(1);
        channel_axis = 1;
      } else {
        channels = 1;
      }
    }
    if (!w->per_tensor()) {
      int64_t axis = w->axis;
      if (w_constant && axis < 0) axis += w_constant->rank();
      if (axis != channel_axis || static_cast<int64_t>(w->scales.size()) != channels) {
        cannot_run(node, "weights are quantized along axis " + std::to_string(w->axis) +
                             ", not the output-channel axis");
      }
    }
    if (trans_b) weight = transposed_initializer(w->value, *w_constant);  // QGemm reads B as [K, N]

    Node fused = make(conv ? "QConv" : "QGemm", node.name.empty() ? out : node.name, {x.value, weight}, {out});
    if (conv) copy_conv_attributes(node, fused);
    if (node.has_input(2)) fused.inputs.push_back(bias(node, x, *w, channels));
    fused.attributes["x_scale"] = Attribute::of_float(x.scale());
    fused.attributes["x_zero_point"] = Attribute::of_int(x.zero_point());
    fused.attributes["w_scales"] = Attribute::of_floats(w->scales);
    fused.attributes["w_zero_points"] =
        Attribute::of_ints(std::vector<int64_t>(w->zero_points.begin(), w->zero_points.end()));
    set_output_quant(fused, y);
    if (act) {
      int32_t clamp_min = 0, clamp_max = 0;
      activation_clamp(*act, y, clamp_min, clamp_max);
      fused.attributes["clamp_min"] = Attribute::of_int(clamp_min);
      fused.attributes["clamp_max"] = Attribute::of_int(clamp_max);
    }
    emit(std::move(fused));
    return true;
  }

  // The int32 bias of a Conv/Gemm island: a DequantizeLinear of int32 constants whose scale is
  // x_scale * w_scale (onnxruntime uses the integers as they are), or float constants rounded to
  // that scale.
  std::string bias(const Node& node, const QuantParams& x, const QuantParams& w, int64_t channels) {
    const std::string& value = node.inputs[2];
    auto product_scale = [&](int64_t c) { return x.scale() * w.scales[w.per_tensor() ? 0 : c]; };
    if (auto b = dequantized(value)) {
      const Tensor* integers = source_.initializer(b->value);
      const bool scales_fit = b->per_tensor() || static_cast<int64_t>(b->scales.size()) == channels;
      if (!integers || b->type != DataType::Int32 || integers->elements() != channels || !scales_fit) {
        cannot_run(node, "bias '" + value + "' must be " + std::to_string(channels) +
                             " int32 constants behind a DequantizeLinear");
      }
      for (int64_t c = 0; c < channels; ++c) {
        const float expected = product_scale(c);
        const float scale = b->scales[b->per_tensor() ? 0 : c];
        const int32_t zero_point = b->zero_points[b->per_tensor() ? 0 : c];
        if (zero_point != 0 || std::fabs(scale - expected) > 1e-6f * expected) {
          cannot_run(node, "bias scale " + std::to_string(scale) + " (zero point " +
                               std::to_string(zero_point) + ") is not x_scale * w_scale = " +
                               std::to_string(expected));
        }
      }
      return b->value;
    }
    const Tensor* floats = source_.initializer(value);
    if (!floats || floats->type() != DataType::Float || floats->elements() != channels) {
      cannot_run(node, "bias '" + value + "' must be " + std::to_string(channels) + " constants");
    }
    Tensor integers(DataType::Int32, {channels});
    for (int64_t c = 0; c < channels; ++c) {
      const double rounded = std::nearbyint(static_cast<double>(floats->data<float>()[c]) / product_scale(c));
      if (std::fabs(rounded) > 2147483647.0) cannot_run(node, "bias does not fit int32 at its scale");
      integers.data<int32_t>()[c] = static_cast<int32_t>(rounded);
    }
    const std::string name = fresh(value + "_int32");
    new_initializers_[name] = std::move(integers);
    return name;
  }

  // Element-wise float ops whose result is a function of one 8-bit input alone -> QLookup.
  bool try_lookup(const Node& q, const QuantParams& y, const std::string& out) {
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
        if (const Tensor* tensor = source_.initializer(input)) table_graph.initializers[input] = *tensor;
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
  bool try_binary(const Node& last, const QuantParams& y, const std::string& out) {
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
    if (act) {
      int32_t clamp_min = 0, clamp_max = 0;
      activation_clamp(*act, y, clamp_min, clamp_max);
      // onnxruntime drops a Relu whose output zero point is the type's minimum (the Q clamps
      // there anyway) and then fuses QLinearMul; any other activation leaves a float island.
      const bool relu_is_noop = is_onnx(*act, "Relu") && y.zero_point() == lowest(y.type);
      if (!add && !relu_is_noop) fused.attributes["arithmetic"] = Attribute::of_string("float");
      fused.attributes["clamp_min"] = Attribute::of_int(clamp_min);
      fused.attributes["clamp_max"] = Attribute::of_int(clamp_max);
    }
    emit(std::move(fused));
    return true;
  }

  void lower_pool(const Node& pool, const QuantParams& y, const std::string& out) {
    const QuantParams x = activation(pool, pool.inputs[0], "input");
    if (x.type != y.type) cannot_run(pool, "input and output quantization types differ");
    const bool global = is_onnx(pool, "GlobalAveragePool");
    Node fused = make(global ? "QGlobalAveragePool" : "QAveragePool",
                      pool.name.empty() ? out : pool.name, {x.value}, {out});
    if (!global) {
      for (const char* name : {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"}) {
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
  void lower_softmax(const Node& softmax, const QuantParams* y, const std::string& out) {
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

  void lower_concat(const Node& concat, const QuantParams& y, const std::string& out) {
    std::vector<QuantParams> parts;
    bool all_equal = true;
    for (size_t index = 0; index < concat.inputs.size(); ++index) {
      parts.push_back(activation(concat, concat.inputs[index], "input"));
      if (parts.back().type != y.type) cannot_run(concat, "input and output quantization types differ");
      all_equal = all_equal && parts.back().same_as(y);
    }
    Node fused = make(all_equal ? "Concat" : "QConcat", concat.name.empty() ? out : concat.name, {}, {out});
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

  static bool is_data_movement(const Node& node) {
    return is_onnx(node, "MaxPool") || is_onnx(node, "Reshape") || is_onnx(node, "Flatten") ||
           is_onnx(node, "Transpose") || is_onnx(node, "Gather") || is_onnx(node, "Identity") ||
           is_onnx(node, "Squeeze") || is_onnx(node, "Unsqueeze");
  }

  // The op on the integers of its dequantized data input, then requantization to `y` (null: a
  // DequantizeLinear to the float graph output `out`).
  void lower_data_movement(const Node& node, const QuantParams* y, const std::string& out) {
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
  void lower_float_outputs() {
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
      if ((node.domain.empty() || node.domain == "ai.onnx") && float_island_ops().count(node.op_type) &&
          type_of(output.name) == DataType::Float) {
        keep_float_values(output.name, node);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // The lowered graph: kept + fused nodes that the outputs need, checked.

  Graph assemble() {
    std::vector<Node> candidates;
    for (size_t index = 0; index < source_.nodes.size(); ++index) {
      if (!replaced_.count(index)) candidates.push_back(source_.nodes[index]);
    }
    candidates.insert(candidates.end(), fused_.begin(), fused_.end());
    std::map<std::string, size_t> produced_by;
    for (size_t index = 0; index < candidates.size(); ++index) {
      for (const auto& output : candidates[index].outputs) produced_by[output] = index;
    }
    std::vector<bool> live(candidates.size(), false);
    std::vector<std::string> needed(graph_outputs_.begin(), graph_outputs_.end());
    while (!needed.empty()) {
      const std::string value = needed.back();
      needed.pop_back();
      auto found = produced_by.find(value);
      if (found == produced_by.end() || live[found->second]) continue;
      live[found->second] = true;
      for (const auto& input : candidates[found->second].inputs) {
        if (!input.empty()) needed.push_back(input);
      }
    }

    Graph lowered;
    lowered.name = source_.name;
    lowered.opset = source_.opset;
    lowered.metadata = source_.metadata;
    lowered.inputs = source_.inputs;
    lowered.outputs = source_.outputs;
    std::set<std::string> used;
    for (size_t index = 0; index < candidates.size(); ++index) {
      if (!live[index]) continue;
      check_lowered(candidates[index]);
      for (const auto& input : candidates[index].inputs) used.insert(input);
      lowered.nodes.push_back(std::move(candidates[index]));
    }
    for (const auto& output : lowered.outputs) used.insert(output.name);
    for (const auto& entry : source_.initializers) {
      if (used.count(entry.first)) lowered.initializers[entry.first] = entry.second;
    }
    for (auto& entry : new_initializers_) {
      if (used.count(entry.first)) lowered.initializers[entry.first] = std::move(entry.second);
    }
    lowered.sort_topologically();
    return lowered;
  }

  void check_lowered(const Node& node) const {
    if (!node.outputs.empty() && island_values_.count(node.outputs[0])) return;  // float island
    if (!is_lowered_op(node)) {
      cannot_run(node, "op " + node.op_type + " outside the supported integer islands (float " +
                           "computation needs DequantizeLinear/QuantizeLinear around a pattern the "
                           "lowering knows)");
    }
    const DataType data = node.inputs.empty() ? DataType::Undefined : type_of(node.inputs[0]);
    if (is_onnx(node, "QuantizeLinear")) {
      if (!graph_inputs_.count(node.inputs[0])) {
        cannot_run(node, "QuantizeLinear of '" + node.inputs[0] + "', which is not a float graph input");
      }
      return;
    }
    if (is_onnx(node, "DequantizeLinear")) {
      if (!graph_outputs_.count(node.outputs[0]) || !is_eight_bit(data)) {
        cannot_run(node, "DequantizeLinear whose output '" + node.outputs[0] +
                             "' is not a float graph output of 8-bit data");
      }
      return;
    }
    if (is_onnx(node, "MaxPool") && !is_eight_bit(data)) {
      cannot_run(node, "MaxPool on " + std::string(to_string(data)) + " data");
    }
    if (node.domain.empty() && !is_integer(data)) {
      cannot_run(node, node.op_type + " on " + std::string(to_string(data)) + " data");
    }
  }

  const Graph& source_;
  std::set<std::string> names_;       // values and initializers
  std::set<std::string> node_names_;  // fused nodes
  std::map<std::string, DataType> types_;
  std::set<std::string> graph_inputs_, graph_outputs_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<size_t> replaced_;
  std::vector<Node> fused_;
  std::map<std::string, Tensor> new_initializers_;
  std::set<std::string> island_values_;  // outputs of the nodes of general float islands
};

}  // namespace

bool is_lowered_op(const Node& node) {
  static const std::set<std::string> kFused = {"QConv", "QGemm", "QLookup", "QAdd", "QMul",
                                               "QAveragePool", "QGlobalAveragePool", "QSoftmax",
                                               "QConcat"};
  static const std::set<std::string> kInteger = {"MaxPool", "Reshape", "Flatten", "Transpose",
                                                 "Concat", "Gather", "Identity", "Squeeze",
                                                 "Unsqueeze", "QuantizeLinear", "DequantizeLinear"};
  if (node.domain == kCimtlm) return kFused.count(node.op_type) != 0;
  return (node.domain.empty() || node.domain == "ai.onnx") && kInteger.count(node.op_type) != 0;
}

const std::set<std::string>& lookup_island_ops() {
  static const std::set<std::string> ops = {
      "Relu", "Clip", "HardSigmoid", "HardSwish", "Sigmoid", "Identity", "Add", "Mul", "Sub",
      "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh", "LeakyRelu", "PRelu",
      "Min", "Max", "Abs", "Neg", "Gelu"};
  return ops;
}

const std::set<std::string>& float_island_ops() {
  static const std::set<std::string> ops = {
      // element-wise
      "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
      "Sigmoid", "HardSigmoid", "HardSwish", "Relu", "LeakyRelu", "PRelu", "Clip", "Min", "Max",
      "Abs", "Neg", "Where", "Gelu", "Identity",
      // reductions and normalisation
      "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "LayerNormalization", "Softmax",
      // float linear layers with float weights
      "Conv", "ConvTranspose", "MatMul", "Gemm",
      // shape ops
      "Slice", "Split", "Pad", "Resize", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
      "Expand", "Reshape", "Concat", "Gather", "MaxPool", "AveragePool", "GlobalAveragePool"};
  return ops;
}

Graph lower_quantized(const Graph& graph) { return Lowering(graph).run(); }

}  // namespace cimtlm::graph
