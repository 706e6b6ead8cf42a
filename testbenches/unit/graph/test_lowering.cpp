// lower_quantized: the lowered graph holds only CIM ops, and on random inputs its outputs equal
// the original graph's through the reference executor -- exactly where onnxruntime's integer
// arithmetic is the float island's (QLinear ops, lookups, Add, Concat, requantization), and within
// one quantization step where onnxruntime fuses into different integer arithmetic (QLinearMul,
// QLinearAveragePool, QLinearGlobalAveragePool, QLinearSoftmax, integer Conv/Gemm accumulation).
// Bit-exactness against onnxruntime itself is the onnx_ort_islands test.
#include <gtest/gtest.h>

#include <random>

#include "compiler/graph/lowering.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph {
namespace {

// Builds QDQ graphs node by node; value names are generated.
class Builder {
 public:
  explicit Builder(DataType type) : type_(type) {}

  std::string input(Shape shape) {
    const std::string name = "x" + std::to_string(graph_.inputs.size());
    graph_.inputs.push_back({name, type_, std::move(shape)});
    return name;
  }
  std::string constant(Tensor tensor) {
    const std::string name = "c" + std::to_string(counter_++);
    graph_.initializers[name] = std::move(tensor);
    return name;
  }
  std::string zero_point(int32_t value, DataType type = DataType::Undefined) {
    type = type == DataType::Undefined ? type_ : type;
    Tensor zp(type, {});
    if (type == DataType::Int8) zp.data<int8_t>()[0] = static_cast<int8_t>(value);
    if (type == DataType::UInt8) zp.data<uint8_t>()[0] = static_cast<uint8_t>(value);
    if (type == DataType::Int32) zp.data<int32_t>()[0] = value;
    return constant(zp);
  }
  std::string node(const std::string& op, std::vector<std::string> inputs,
                   std::map<std::string, Attribute> attributes = {}) {
    Node node;
    node.op_type = op;
    node.name = op + std::to_string(counter_);
    node.inputs = std::move(inputs);
    node.outputs = {"v" + std::to_string(counter_++)};
    node.attributes = std::move(attributes);
    graph_.nodes.push_back(node);
    return node.outputs[0];
  }
  std::string dq(const std::string& x, float scale, int32_t zp, DataType type = DataType::Undefined) {
    return node("DequantizeLinear", {x, constant(Tensor::scalar<float>(scale)), zero_point(zp, type)});
  }
  std::string q(const std::string& f, float scale, int32_t zp) {
    return node("QuantizeLinear", {f, constant(Tensor::scalar<float>(scale)), zero_point(zp)});
  }
  Graph finish(const std::string& output) {
    graph_.outputs.push_back({output, DataType::Undefined, {}});
    graph_.sort_topologically();
    return graph_;
  }
  DataType type() const { return type_; }

 private:
  DataType type_;
  Graph graph_;
  int counter_ = 0;
};

Tensor random_codes(DataType type, const Shape& shape, std::mt19937& rng) {
  Tensor tensor(type, shape);
  std::uniform_int_distribution<int> code(0, 255);
  for (int64_t i = 0; i < tensor.elements(); ++i) {
    if (type == DataType::Int8) {
      tensor.data<int8_t>()[i] = static_cast<int8_t>(code(rng) - 128);
    } else if (type == DataType::UInt8) {
      tensor.data<uint8_t>()[i] = static_cast<uint8_t>(code(rng));
    } else {
      tensor.data<float>()[i] = static_cast<float>(code(rng) - 128) / 32.0f;
    }
  }
  return tensor;
}

struct Difference {
  int64_t elements = 0, differing = 0, largest = 0;
};

// Runs original and lowered graphs on `trials` random inputs and compares their outputs.
Difference compare(const Graph& original, int trials = 20) {
  const Graph lowered = lower_quantized(original);
  for (const Node& node : lowered.nodes) {
    EXPECT_TRUE(is_lowered_op(node)) << node.describe() << " left in the lowered graph";
  }
  const ReferenceExecutor reference(original), cim(lowered);
  std::mt19937 rng(7);
  Difference difference;
  for (int trial = 0; trial < trials; ++trial) {
    ValueMap inputs;
    for (const auto& input : original.inputs) inputs[input.name] = random_codes(input.type, input.shape, rng);
    const ValueMap expected = reference.run(inputs);
    const ValueMap actual = cim.run(inputs);
    for (const auto& entry : expected) {
      const Tensor& got = actual.at(entry.first);
      EXPECT_EQ(got.type(), entry.second.type());
      EXPECT_EQ(got.shape(), entry.second.shape());
      for (int64_t i = 0; i < entry.second.elements(); ++i) {
        const int64_t delta = std::llabs(got.as_int(i) - entry.second.as_int(i));
        ++difference.elements;
        difference.differing += delta != 0;
        difference.largest = std::max(difference.largest, delta);
      }
    }
  }
  return difference;
}

void expect_exact(const Graph& graph) {
  const Difference difference = compare(graph);
  EXPECT_GT(difference.elements, 0);
  EXPECT_EQ(difference.differing, 0) << "of " << difference.elements;
}

// At most one quantization step apart, on a small fraction of the elements.
void expect_within_one_step(const Graph& graph, double max_fraction = 0.05) {
  const Difference difference = compare(graph);
  EXPECT_GT(difference.elements, 0);
  EXPECT_LE(difference.largest, 1);
  EXPECT_LE(static_cast<double>(difference.differing), max_fraction * static_cast<double>(difference.elements))
      << difference.differing << " of " << difference.elements;
}

int32_t zp_a(DataType type) { return type == DataType::UInt8 ? 128 : 3; }
int32_t zp_y(DataType type) { return type == DataType::UInt8 ? 120 : -7; }

class EachType : public ::testing::TestWithParam<DataType> {};

TEST_P(EachType, UnaryIslandsBecomeExactLookups) {
  const DataType type = GetParam();
  using Build = std::function<std::string(Builder&, const std::string&)>;
  const std::vector<Build> islands = {
      [](Builder& b, const std::string& x) { return b.node("Sigmoid", {x}); },
      [](Builder& b, const std::string& x) { return b.node("HardSigmoid", {x}); },
      [](Builder& b, const std::string& x) {
        return b.node("Mul", {x, b.node("HardSigmoid", {x}, {{"alpha", Attribute::of_float(1.0f / 6.0f)}})});
      },
      [](Builder& b, const std::string& x) { return b.node("Mul", {x, b.node("Sigmoid", {x})}); },
      [](Builder& b, const std::string& x) {
        return b.node("Clip", {b.node("Add", {x, b.constant(Tensor::scalar<float>(0.25f))}),
                               b.constant(Tensor::scalar<float>(-1.0f)), b.constant(Tensor::scalar<float>(2.0f))});
      },
      [](Builder& b, const std::string& x) { return b.node("HardSwish", {x}); },
      [](Builder&, const std::string& x) { return x; },  // plain requantization
  };
  for (const auto& island : islands) {
    Builder b(type);
    const std::string x = b.dq(b.input({2, 4, 8, 8}), 0.05f, zp_a(type));
    const Graph graph = b.finish(b.q(island(b, x), 0.02f, zp_y(type)));
    const Graph lowered = lower_quantized(graph);
    ASSERT_EQ(lowered.nodes.size(), 1u);
    EXPECT_EQ(lowered.nodes[0].op_type, "QLookup");
    expect_exact(graph);
  }
}

TEST_P(EachType, AddAndFloatMulIslandsAreExact) {
  const DataType type = GetParam();
  for (const char* act : {"", "Relu", "Clip"}) {
    for (const char* op : {"Add", "Mul"}) {
      if (std::string(op) == "Mul" && std::string(act).empty()) continue;  // integer QLinearMul
      Builder b(type);
      const std::string a = b.dq(b.input({1, 4, 6, 6}), 0.05f, zp_a(type));
      const std::string c = b.dq(b.input({1, 4, 1, 1}), 0.03f, zp_y(type));
      std::string f = b.node(op, {a, c});
      if (std::string(act) == "Relu") f = b.node("Relu", {f});
      if (std::string(act) == "Clip") {
        f = b.node("Clip", {f, b.constant(Tensor::scalar<float>(-0.5f)), b.constant(Tensor::scalar<float>(1.0f))});
      }
      const Graph graph = b.finish(b.q(f, 0.07f, zp_y(type)));
      ASSERT_EQ(lower_quantized(graph).nodes.size(), 1u) << op << " " << act;
      expect_exact(graph);
    }
  }
}

TEST_P(EachType, IntegerArithmeticIslandsAreWithinOneStep) {
  const DataType type = GetParam();
  std::vector<Graph> graphs;
  {  // QLinearMul arithmetic
    Builder b(type);
    const std::string a = b.dq(b.input({1, 8, 8, 8}), 0.05f, zp_a(type));
    const std::string c = b.dq(b.input({1, 8, 8, 8}), 0.03f, zp_y(type));
    graphs.push_back(b.finish(b.q(b.node("Mul", {a, c}), 0.07f, zp_y(type))));
  }
  {  // pools
    Builder b(type);
    const std::string x = b.dq(b.input({1, 8, 9, 9}), 0.05f, zp_a(type));
    graphs.push_back(b.finish(b.q(b.node("AveragePool", {x}, {{"kernel_shape", Attribute::of_ints({3, 3})},
                                                               {"strides", Attribute::of_ints({2, 2})},
                                                               {"pads", Attribute::of_ints({1, 1, 1, 1})}}),
                                  0.045f, zp_y(type))));
  }
  {
    Builder b(type);
    const std::string x = b.dq(b.input({2, 16, 7, 7}), 0.05f, zp_a(type));
    graphs.push_back(b.finish(b.q(b.node("GlobalAveragePool", {x}), 0.045f, zp_y(type))));
  }
  if (type == DataType::UInt8) {  // softmax, probabilities in [0, 1] at zero point 0
    Builder b(type);
    const std::string x = b.dq(b.input({4, 3, 10}), 0.1f, zp_a(type));
    graphs.push_back(b.finish(b.q(b.node("Softmax", {x}, {{"axis", Attribute::of_int(-1)}}), 1.0f / 256.0f, 0)));
  }
  for (const Graph& graph : graphs) expect_within_one_step(graph, 0.1);
}

TEST_P(EachType, ConcatAndDataMovementAreExact) {
  const DataType type = GetParam();
  {
    Builder b(type);
    const std::string a = b.dq(b.input({1, 2, 4, 4}), 0.05f, zp_a(type));
    const std::string c = b.dq(b.input({1, 3, 4, 4}), 0.03f, zp_y(type));
    const Graph graph = b.finish(b.q(b.node("Concat", {a, c}, {{"axis", Attribute::of_int(1)}}), 0.07f, zp_y(type)));
    EXPECT_EQ(lower_quantized(graph).nodes[0].op_type, "QConcat");
    expect_exact(graph);
  }
  {  // equal parameters: the integer ops themselves, no requantization
    Builder b(type);
    const std::string x = b.dq(b.input({1, 3, 4, 4}), 0.05f, zp_a(type));
    const std::string pooled = b.q(b.node("MaxPool", {x}, {{"kernel_shape", Attribute::of_ints({2, 2})}}), 0.05f, zp_a(type));
    const std::string flat = b.node("Flatten", {b.dq(pooled, 0.05f, zp_a(type))});
    const Graph graph = b.finish(b.q(flat, 0.05f, zp_a(type)));
    const Graph lowered = lower_quantized(graph);
    ASSERT_EQ(lowered.nodes.size(), 2u);
    EXPECT_EQ(lowered.nodes[0].op_type, "MaxPool");
    EXPECT_EQ(lowered.nodes[1].op_type, "Flatten");
    expect_exact(graph);
  }
  {  // different parameters: integer op, then a requantization lookup
    Builder b(type);
    const std::string x = b.dq(b.input({1, 3, 4, 5}), 0.05f, zp_a(type));
    const Graph graph = b.finish(b.q(b.node("Transpose", {x}, {{"perm", Attribute::of_ints({0, 2, 3, 1})}}), 0.03f, zp_y(type)));
    const Graph lowered = lower_quantized(graph);
    ASSERT_EQ(lowered.nodes.size(), 2u);
    EXPECT_EQ(lowered.nodes[1].op_type, "QLookup");
    expect_exact(graph);
  }
}

TEST(Lowering, Int8SoftmaxWrapsLikeOnnxruntime) {
  // onnxruntime's int8 QLinearSoftmax stores q = round(p * floor(1 / y_scale)) + y_zero_point
  // without a lower clamp, so a probability that rounds to 1 (q = 256 - 128 = 128) wraps to -128
  // where the float island gives 127. Everything else stays within one step.
  Builder b(DataType::Int8);
  const std::string x = b.dq(b.input({64, 4}), 0.5f, 0);
  const Graph graph = b.finish(b.q(b.node("Softmax", {x}), 1.0f / 256.0f, -128));
  const Graph lowered = lower_quantized(graph);  // the executor keeps a reference
  const ReferenceExecutor reference(graph), cim(lowered);
  std::mt19937 rng(13);
  int64_t wrapped = 0;
  for (int trial = 0; trial < 10; ++trial) {
    const ValueMap inputs = {{graph.inputs[0].name, random_codes(DataType::Int8, {64, 4}, rng)}};
    const Tensor expected = reference.run(inputs).begin()->second;
    const Tensor actual = cim.run(inputs).begin()->second;
    for (int64_t i = 0; i < expected.elements(); ++i) {
      if (expected.as_int(i) == 127 && actual.as_int(i) == -128) {
        ++wrapped;
      } else {
        EXPECT_LE(std::llabs(expected.as_int(i) - actual.as_int(i)), 1);
      }
    }
  }
  EXPECT_GT(wrapped, 0);
}

INSTANTIATE_TEST_SUITE_P(Lowering, EachType, ::testing::Values(DataType::UInt8, DataType::Int8),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// QDQ Conv (per-channel weights, int32 bias, fused Relu) and Gemm with transB.
Graph conv_gemm_graph() {
  Builder b(DataType::UInt8);
  std::mt19937 rng(3);
  Tensor w = random_codes(DataType::Int8, {6, 4, 3, 3}, rng);
  for (int64_t i = 0; i < w.elements(); ++i) {
    if (w.data<int8_t>()[i] == -128) w.data<int8_t>()[i] = -127;
  }
  const std::vector<float> w_scales = {0.004f, 0.006f, 0.003f, 0.008f, 0.005f, 0.007f};
  std::vector<float> b_scales;
  for (float scale : w_scales) b_scales.push_back(0.02f * scale);
  const std::string x = b.dq(b.input({1, 4, 9, 9}), 0.02f, 128);
  const std::string wf = b.node("DequantizeLinear", {b.constant(w), b.constant(Tensor::from<float>({6}, w_scales)),
                                                      b.constant(Tensor(DataType::Int8, {6}))},
                                {{"axis", Attribute::of_int(0)}});
  const std::string bf = b.node("DequantizeLinear", {b.constant(Tensor::from<int32_t>({6}, {100, -200, 300, -400, 500, -600})),
                                                      b.constant(Tensor::from<float>({6}, b_scales))},
                                {{"axis", Attribute::of_int(0)}});
  const std::string conv = b.node("Relu", {b.node("Conv", {x, wf, bf}, {{"pads", Attribute::of_ints({1, 1, 1, 1})},
                                                                       {"strides", Attribute::of_ints({2, 2})}})});
  const std::string y = b.q(conv, 0.05f, 10);
  const std::string flat = b.q(b.node("Flatten", {b.dq(y, 0.05f, 10)}), 0.05f, 10);
  Tensor g = random_codes(DataType::Int8, {5, 150}, rng);  // [N, K]: transB
  const std::string gf = b.dq(b.constant(g), 0.003f, 0, DataType::Int8);
  const std::string gemm = b.node("Gemm", {b.dq(flat, 0.05f, 10), gf}, {{"transB", Attribute::of_int(1)}});
  return b.finish(b.q(gemm, 0.1f, 128));
}

TEST(Lowering, ConvAndGemmBecomeQConvAndQGemmWithinOneStep) {
  const Graph graph = conv_gemm_graph();
  const Graph lowered = lower_quantized(graph);
  std::vector<std::string> ops;
  for (const Node& node : lowered.nodes) ops.push_back(node.op_type);
  EXPECT_EQ(ops, (std::vector<std::string>{"QConv", "Flatten", "QGemm"}));
  EXPECT_EQ(lowered.nodes[0].get_int("clamp_min"), 10);  // fused Relu at the zero point
  expect_within_one_step(graph);
}

TEST(Lowering, QLinearModelsAreExact) {
  Builder b(DataType::UInt8);
  std::mt19937 rng(5);
  const std::string x = b.input({1, 3, 8, 8});
  const std::string conv = b.node("QLinearConv",
                                  {x, b.constant(Tensor::scalar<float>(0.03f)), b.zero_point(128),
                                   b.constant(random_codes(DataType::Int8, {5, 3, 3, 3}, rng)),
                                   b.constant(Tensor::from<float>({5}, {0.003f, 0.004f, 0.005f, 0.006f, 0.007f})),
                                   b.constant(Tensor(DataType::Int8, {5})), b.constant(Tensor::scalar<float>(0.04f)),
                                   b.zero_point(120), b.constant(Tensor::from<int32_t>({5}, {10, -20, 30, -40, 50}))},
                                  {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  const std::string pooled = b.node("MaxPool", {conv}, {{"kernel_shape", Attribute::of_ints({2, 2})},
                                                      {"strides", Attribute::of_ints({2, 2})}});
  const std::string flat = b.node("Reshape", {pooled, b.constant(Tensor::from<int64_t>({2}, {1, 80}))});
  const std::string out = b.node("QLinearMatMul", {flat, b.constant(Tensor::scalar<float>(0.04f)), b.zero_point(120),
                                                   b.constant(random_codes(DataType::Int8, {80, 7}, rng)),
                                                   b.constant(Tensor::scalar<float>(0.002f)), b.zero_point(0, DataType::Int8),
                                                   b.constant(Tensor::scalar<float>(0.05f)), b.zero_point(120)});
  const Graph graph = b.finish(out);
  expect_exact(graph);
}

TEST(Lowering, NetworkBoundaryKeepsQuantizeAndDequantize) {
  Builder b(DataType::Float);
  const std::string x = b.input({2, 4, 4, 4});
  const std::string codes = b.node("QuantizeLinear", {x, b.constant(Tensor::scalar<float>(0.05f)), b.zero_point(128, DataType::UInt8)});
  const std::string pooled = b.node("MaxPool", {b.dq(codes, 0.05f, 128, DataType::UInt8)},
                                    {{"kernel_shape", Attribute::of_ints({2, 2})}});
  const std::string y = b.node("QuantizeLinear", {pooled, b.constant(Tensor::scalar<float>(0.04f)), b.zero_point(128, DataType::UInt8)});
  const std::string flat = b.node("QuantizeLinear", {b.node("Flatten", {b.dq(y, 0.04f, 128, DataType::UInt8)}),
                                                     b.constant(Tensor::scalar<float>(0.04f)), b.zero_point(128, DataType::UInt8)});
  const Graph graph = b.finish(b.node("Softmax", {b.dq(flat, 0.04f, 128, DataType::UInt8)}));
  const Graph lowered = lower_quantized(graph);
  std::vector<std::string> ops;
  for (const Node& node : lowered.nodes) ops.push_back(node.op_type);
  EXPECT_EQ(::testing::PrintToString(ops), ::testing::PrintToString(std::vector<std::string>{"QuantizeLinear", "MaxPool", "QLookup", "Flatten", "QSoftmax"}));
  // The float Softmax output is the float kernel on the dequantized codes: bit for bit.
  std::mt19937 rng(11);
  for (int trial = 0; trial < 10; ++trial) {
    const ValueMap inputs = {{x, random_codes(DataType::Float, {2, 4, 4, 4}, rng)}};
    const Tensor expected = ReferenceExecutor(graph).run(inputs).begin()->second;
    const Tensor actual = ReferenceExecutor(lowered).run(inputs).begin()->second;
    EXPECT_EQ(actual, expected);
    EXPECT_EQ(actual.shape(), (Shape{2, 36}));
  }
}

TEST(Lowering, FloatOpsOutsideIslandsNameTheNode) {
  {  // a float Conv on the float graph input
    Builder b(DataType::Float);
    const std::string x = b.input({1, 1, 3, 3});
    const std::string y = b.node("Conv", {x, b.constant(Tensor::from<float>({1, 1, 1, 1}, {2.0f}))});
    const Graph graph = b.finish(y);
    try {
      lower_quantized(graph);
      FAIL() << "no ModelError";
    } catch (const ModelError& error) {
      EXPECT_NE(std::string(error.what()).find("cannot run on the CIM platform"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find(graph.nodes[0].name), std::string::npos) << error.what();
    }
  }
  {  // bias at a scale other than x_scale * w_scale
    Builder b(DataType::UInt8);
    const std::string x = b.dq(b.input({1, 1, 3, 3}), 0.1f, 0);
    const std::string w = b.dq(b.constant(Tensor::from<int8_t>({1, 1, 1, 1}, {3})), 0.5f, 0, DataType::Int8);
    const std::string bias = b.dq(b.constant(Tensor::from<int32_t>({1}, {7})), 0.3f, 0, DataType::Int32);
    const Graph graph = b.finish(b.q(b.node("Conv", {x, w, bias}), 0.2f, 0));
    EXPECT_THROW(lower_quantized(graph), ModelError);
  }
  {  // an op that is neither fused nor a float-island op between DQ and Q
    Builder b(DataType::UInt8);
    const std::string x = b.dq(b.input({1, 2, 2, 2}), 0.1f, 0);
    const std::string c = b.constant(Tensor::from<float>({2}, {1.0f, 2.0f}));
    const std::string y = b.node("BatchNormalization", {x, c, c, c, c});
    try {
      lower_quantized(b.finish(b.q(y, 0.1f, 0)));
      FAIL() << "no ModelError";
    } catch (const ModelError& error) {
      EXPECT_NE(std::string(error.what()).find("(BatchNormalization)"), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("not one of the float-island ops"), std::string::npos) << error.what();
    }
  }
}

TEST(Lowering, GeneralFloatIslandsStayFloatAndComputeTheSame) {
  // A float Gemm with float weights and a LayerNormalization between DQ and Q: kept as float
  // ops (onnxruntime runs them unfused too); the lowered graph computes what the source does.
  Builder b(DataType::UInt8);
  const std::string x = b.dq(b.input({3, 4}), 0.1f, 128);
  const std::string y = b.node("Gemm", {x, b.constant(Tensor::from<float>({4, 4}, {0.5f, -1.0f, 0.25f, 2.0f, 1.0f, 0.0f, -0.5f, 0.75f,
                                                                                 -0.25f, 1.5f, 1.0f, -2.0f, 0.125f, 0.5f, 1.0f, 1.0f}))});
  const std::string gamma = b.constant(Tensor::from<float>({4}, {1.0f, 0.5f, 2.0f, 1.5f}));
  const std::string normalised = b.node("LayerNormalization", {y, gamma}, {{"axis", Attribute::of_int(-1)}});
  const Graph graph = b.finish(b.q(normalised, 0.02f, 128));
  const Graph lowered = lower_quantized(graph);
  std::vector<std::string> ops;
  for (const Node& node : lowered.nodes) ops.push_back(node.op_type);
  EXPECT_EQ(::testing::PrintToString(ops),
            ::testing::PrintToString(std::vector<std::string>{"DequantizeLinear", "Gemm", "LayerNormalization", "QuantizeLinear"}));
  std::mt19937 rng(5);
  for (int trial = 0; trial < 10; ++trial) {
    const ValueMap inputs = {{graph.inputs[0].name, random_codes(DataType::UInt8, {3, 4}, rng)}};
    EXPECT_EQ(ReferenceExecutor(lowered).run(inputs).begin()->second, ReferenceExecutor(graph).run(inputs).begin()->second);
  }
}

}  // namespace
}  // namespace cimtlm::graph
