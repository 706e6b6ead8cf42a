// The graph IR: ONNX-like nodes over named tensors.
//
// Imported ONNX models keep their standard ops (domain ""); the quantization lowering
// (compiler/graph/lowering.h) rewrites integer sub-graphs into the fused ops of domain "cimtlm"
// (QConv, QGemm, QLookup, QAdd, ...) that map one-to-one onto the commands of
// models/core/program.h. The reference executor runs both.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/graph/tensor.h"

namespace cimtlm::graph {

// Thrown for an invalid model or an unsupported op/attribute; the CLI exits 2 with its text.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Attribute {
  enum class Kind { Int, Float, String, Ints, Floats, Strings, Tensor };
  Kind kind = Kind::Int;
  int64_t i = 0;
  float f = 0.0f;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const graph::Tensor> tensor;

  static Attribute of_int(int64_t value);
  static Attribute of_float(float value);
  static Attribute of_string(std::string value);
  static Attribute of_ints(std::vector<int64_t> values);
  static Attribute of_floats(std::vector<float> values);
  static Attribute of_tensor(graph::Tensor value);
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" (ONNX), "com.microsoft" or "cimtlm"
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;

  bool has(const std::string& attribute) const { return attributes.count(attribute) != 0; }
  int64_t get_int(const std::string& attribute, int64_t fallback) const;
  int64_t get_int(const std::string& attribute) const;  // throws ModelError when missing
  float get_float(const std::string& attribute, float fallback) const;
  float get_float(const std::string& attribute) const;
  std::string get_string(const std::string& attribute, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attribute,
                                const std::vector<int64_t>& fallback) const;
  std::vector<int64_t> get_ints(const std::string& attribute) const;
  std::vector<float> get_floats(const std::string& attribute,
                                const std::vector<float>& fallback) const;
  std::vector<float> get_floats(const std::string& attribute) const;
  // "Node 'conv1' (Conv)": how errors name a node.
  std::string describe() const;
  // Number of inputs actually given (trailing "" dropped).
  size_t input_count() const;
  bool has_input(size_t index) const { return index < inputs.size() && !inputs[index].empty(); }
};

struct ValueInfo {
  std::string name;
  DataType type = DataType::Undefined;
  Shape shape;  // -1 for a dimension that is not known
};

struct Graph {
  std::string name;
  int64_t opset = 13;
  std::vector<ValueInfo> inputs;   // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::map<std::string, Tensor> initializers;
  std::vector<Node> nodes;  // topologically sorted
  std::map<std::string, std::string> metadata;

  bool is_initializer(const std::string& value) const { return initializers.count(value) != 0; }
  const Tensor* initializer(const std::string& value) const;
  // Index of the node producing `value`, or -1 (graph input, initializer).
  int producer(const std::string& value) const;
  // Indices of the nodes consuming `value`.
  std::vector<int> consumers(const std::string& value) const;
  // Sorts `nodes` topologically; throws ModelError on a cycle or an undefined input.
  void sort_topologically();
};

}  // namespace cimtlm::graph
