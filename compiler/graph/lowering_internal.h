// The lowering's state and its jobs, shared by the files that implement them (internal to
// compiler/graph; the interface is lowering.h):
//   lowering.cpp               the pass order, graph queries, node construction, assembly and
//                              the check of the lowered graph;
//   lowering_quant_params.cpp  recognition of quantization parameters (DequantizeLinear,
//                              QuantizeLinear, scalar constants, fused activation clamps);
//   lowering_linear.cpp        QLinear/Integer ops, com.microsoft ops, Conv/Gemm/MatMul fusion;
//   lowering_islands.cpp       islands ending in a QuantizeLinear: lookup tables, binary ops,
//                              pools, softmax, concat, data movement, general float islands.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"

namespace cimtlm::graph::lowering_detail {

inline constexpr const char* kCimtlm = "cimtlm";

inline bool is_onnx(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op;
}

inline bool is_eight_bit(DataType type) {
  return type == DataType::Int8 || type == DataType::UInt8;
}

[[noreturn]] inline void cannot_run(const Node& node, const std::string& why) {
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
  explicit Lowering(const Graph& source);
  Graph run();

 private:
  // Graph queries on the source, names and node construction (lowering.cpp).
  const Node* producer(const std::string& value) const;
  size_t consumer_count(const std::string& value) const;
  const Tensor& constant(const Node& node, size_t index, const char* what) const;
  void infer_source_types();
  DataType type_of(const std::string& value) const;
  DataType output_type(const Node& node, size_t output) const;
  std::string fresh(const std::string& base);
  std::string node_name(const std::string& base);
  Node make(const std::string& op, const std::string& name, std::vector<std::string> inputs,
            std::vector<std::string> outputs);
  void emit(Node node);
  static void set_output_quant(Node& node, const QuantParams& y);
  void emit_requantization(const std::string& name, const std::string& input, const QuantParams& x,
                           const QuantParams& y, const std::string& output);

  // Quantization parameters (lowering_quant_params.cpp).
  std::optional<QuantParams> dequantized(const std::string& value) const;
  QuantParams activation(const Node& consumer, const std::string& value, const char* what) const;
  QuantParams quantize_params(const Node& q) const;
  float scalar(const Node& node, size_t index, const char* what) const;
  int64_t scalar_int_or_zero(const Node& node, size_t index, const char* what) const;
  std::vector<int64_t> ints_or_zero(const Node& node, size_t index, const char* what) const;
  bool activation_clamp(const Node& act, const QuantParams& y, int32_t& clamp_min,
                        int32_t& clamp_max) const;

  // QLinear / Integer ops, com.microsoft ops, Conv / Gemm / MatMul islands (lowering_linear.cpp).
  static void copy_conv_attributes(const Node& from, Node& to);
  void lower_qlinear(const Node& node);
  void lower_com_microsoft(const Node& node);
  std::string transposed_initializer(const std::string& base, const Tensor& matrix);
  bool try_linear(const Node& last, const QuantParams& y, const std::string& out);
  std::string bias(const Node& node, const QuantParams& x, const QuantParams& w, int64_t channels);

  // Islands ending in a QuantizeLinear (lowering_islands.cpp).
  bool lower_island(const Node& q);
  bool all_dequantized(const Node& node) const;
  void keep_float_island(const Node& q);
  void keep_float_values(const std::string& start, const Node& q);
  bool try_lookup(const Node& q, const QuantParams& y, const std::string& out);
  bool try_binary(const Node& last, const QuantParams& y, const std::string& out);
  void lower_pool(const Node& pool, const QuantParams& y, const std::string& out);
  void lower_softmax(const Node& softmax, const QuantParams* y, const std::string& out);
  void lower_concat(const Node& concat, const QuantParams& y, const std::string& out);
  static bool is_data_movement(const Node& node);
  void lower_data_movement(const Node& node, const QuantParams* y, const std::string& out);
  void lower_float_outputs();

  // The lowered graph: kept + fused nodes that the outputs need, checked (lowering.cpp).
  Graph assemble();
  void check_lowered(const Node& node) const;

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

}  // namespace cimtlm::graph::lowering_detail
