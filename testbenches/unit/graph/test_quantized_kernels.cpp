// Reference executor on hand-computed cases: the golden integer rules of quantized_math.h.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "compiler/graph/quantized_math.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph {
namespace {

Node make_node(const std::string& domain, const std::string& op, std::vector<std::string> inputs,
               std::map<std::string, Attribute> attributes = {}) {
  Node node;
  node.name = op;
  node.op_type = op;
  node.domain = domain;
  node.inputs = std::move(inputs);
  node.outputs = {"y"};
  node.attributes = std::move(attributes);
  return node;
}

Tensor run_single(const Node& node, const std::map<std::string, Tensor>& values,
                  const std::string& input_name) {
  Graph graph;
  for (const auto& entry : values) {
    if (entry.first == input_name) {
      graph.inputs.push_back({entry.first, entry.second.type(), entry.second.shape()});
    } else {
      graph.initializers[entry.first] = entry.second;
    }
  }
  graph.nodes.push_back(node);
  graph.outputs.push_back({"y", DataType::Undefined, {}});
  ReferenceExecutor executor(graph);
  return executor.run({{input_name, values.at(input_name)}}).at("y");
}

TEST(QuantizedMath, RoundsHalfToEven) {
  EXPECT_EQ(round_half_even(0.5f), 0.0f);
  EXPECT_EQ(round_half_even(1.5f), 2.0f);
  EXPECT_EQ(round_half_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_even(-0.5f), 0.0f);
  EXPECT_EQ(round_half_even(-1.5f), -2.0f);
}

// round_half_even replaces std::nearbyint by float arithmetic: it must agree on every float
// class that matters, bit for bit (sign of zero included): ties at every magnitude up to 2^24,
// the 2^22/2^23 boundaries, a sweep of random floats over all exponents, inf and huge values.
TEST(QuantizedMath, RoundHalfEvenIsNearbyintBitForBit) {
  auto same = [](float value) {
    const float expected = std::nearbyint(value), got = round_half_even(value);
    uint32_t a = 0, b = 0;
    std::memcpy(&a, &expected, 4);
    std::memcpy(&b, &got, 4);
    return a == b;
  };
  for (int64_t twice = -(int64_t{1} << 25); twice <= (int64_t{1} << 25); twice += 4099) {
    ASSERT_TRUE(same(static_cast<float>(twice) / 2.0f)) << twice;  // ties and integers
  }
  for (float value : {0.0f, -0.0f, 0.49999997f, -0.49999997f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f,
                      4194303.5f, 4194304.5f, 8388607.5f, -8388607.5f, 8388608.0f, 16777215.0f,
                      1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity(),
                      std::numeric_limits<float>::denorm_min()}) {
    EXPECT_TRUE(same(value)) << value;
  }
  uint32_t bits = 12345;
  for (int i = 0; i < 2000000; ++i) {
    bits = bits * 1664525u + 1013904223u;
    float value = 0.0f;
    std::memcpy(&value, &bits, 4);
    if (std::isnan(value)) continue;
    ASSERT_TRUE(same(value)) << value;
  }
}

TEST(QuantizedMath, RequantizeSaturatesAndAddsZeroPoint) {
  // 10 * 0.25 = 2.5 -> 2 (half to even) + zp 3 = 5
  EXPECT_EQ(requantize(10, 0.25f, 3, -128, 127), 5);
  // 14 * 0.25 = 3.5 -> 4 + 3 = 7
  EXPECT_EQ(requantize(14, 0.25f, 3, -128, 127), 7);
  EXPECT_EQ(requantize(100000, 0.25f, 0, -128, 127), 127);
  EXPECT_EQ(requantize(-100000, 0.25f, 0, 0, 255), 0);
  // fused ReLU: clamp at the zero point
  EXPECT_EQ(requantize(-40, 0.5f, 10, 10, 127), 10);
}

TEST(QuantizedMath, MultiplierIsFloat32ProductThenQuotient) {
  const float x = 0.1f, w = 0.3f, y = 0.7f;
  const float expected = (x * w) / y;
  EXPECT_EQ(requant_multiplier(x, w, y), expected);
}

TEST(QLinearMatMul, HandComputed) {
  // a = [[1, 2], [3, 4]] (uint8, zp 1), b = [[1, -1], [2, 0]] (int8, zp 0)
  // (a - 1) = [[0, 1], [2, 3]];  acc = [[2, 0], [8, -2]]
  // multiplier = 0.5 * 1 / 1 = 0.5 -> [[1, 0], [4, -1]] + y_zp 2 = [[3, 2], [6, 1]]
  std::map<std::string, Tensor> values = {
      {"a", Tensor::from<uint8_t>({2, 2}, {1, 2, 3, 4})},
      {"a_scale", Tensor::scalar<float>(0.5f)},
      {"a_zp", Tensor::scalar<uint8_t>(1)},
      {"b", Tensor::from<int8_t>({2, 2}, {1, -1, 2, 0})},
      {"b_scale", Tensor::scalar<float>(1.0f)},
      {"b_zp", Tensor::scalar<int8_t>(0)},
      {"y_scale", Tensor::scalar<float>(1.0f)},
      {"y_zp", Tensor::scalar<uint8_t>(2)},
  };
  Node node = make_node("", "QLinearMatMul",
                        {"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"});
  const Tensor y = run_single(node, values, "a");
  EXPECT_EQ(y, Tensor::from<uint8_t>({2, 2}, {3, 2, 6, 1}));
}

TEST(QConv, PaddingStrideAndBias) {
  // 1x1x3x3 input 1..9 (int8, zp 0), 1x1x2x2 kernel of ones, stride 2, pad 1 all round:
  // windows (top-left at -1,-1): [1]=1, [2,3]=5, [4,7]=11, [5,6,8,9]=28; bias 2.
  std::map<std::string, Attribute> attributes = {
      {"strides", Attribute::of_ints({2, 2})},
      {"pads", Attribute::of_ints({1, 1, 1, 1})},
      {"x_scale", Attribute::of_float(1.0f)},
      {"w_scales", Attribute::of_floats({1.0f})},
      {"y_scale", Attribute::of_float(1.0f)},
      {"y_type", Attribute::of_int(static_cast<int64_t>(DataType::Int8))},
  };
  std::map<std::string, Tensor> values = {
      {"x", Tensor::from<int8_t>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})},
      {"w", Tensor::from<int8_t>({1, 1, 2, 2}, {1, 1, 1, 1})},
      {"b", Tensor::from<int32_t>({1}, {2})},
  };
  const Tensor y =
      run_single(make_node("cimtlm", "QConv", {"x", "w", "b"}, attributes), values, "x");
  EXPECT_EQ(y, Tensor::from<int8_t>({1, 1, 2, 2}, {3, 7, 13, 30}));
}

TEST(QConv, GroupsAndPerChannelScales) {
  // Depthwise: two channels, each convolved with its own 1x1 weight; per-channel scales.
  std::map<std::string, Attribute> attributes = {
      {"group", Attribute::of_int(2)},
      {"x_scale", Attribute::of_float(1.0f)},
      {"x_zero_point", Attribute::of_int(1)},
      {"w_scales", Attribute::of_floats({1.0f, 0.5f})},
      {"y_scale", Attribute::of_float(1.0f)},
      {"y_type", Attribute::of_int(static_cast<int64_t>(DataType::Int8))},
  };
  std::map<std::string, Tensor> values = {
      {"x", Tensor::from<int8_t>({1, 2, 1, 2}, {3, 5, 2, 10})},
      {"w", Tensor::from<int8_t>({2, 1, 1, 1}, {2, 3})},
  };
  // ch0: (3-1)*2=4, (5-1)*2=8; ch1: (2-1)*3*0.5=1.5->2, (10-1)*3*0.5=13.5->14
  const Tensor y = run_single(make_node("cimtlm", "QConv", {"x", "w"}, attributes), values, "x");
  EXPECT_EQ(y, Tensor::from<int8_t>({1, 2, 1, 2}, {4, 8, 2, 14}));
}

TEST(QAdd, FloatIslandSemantics) {
  std::map<std::string, Attribute> attributes = {
      {"a_scale", Attribute::of_float(0.5f)},        {"b_scale", Attribute::of_float(0.25f)},
      {"y_scale", Attribute::of_float(1.0f)},        {"y_zero_point", Attribute::of_int(1)},
      {"arithmetic", Attribute::of_string("float")},
  };
  std::map<std::string, Tensor> values = {
      {"a", Tensor::from<int8_t>({3}, {1, 3, -100})},
      {"b", Tensor::from<int8_t>({3}, {2, 2, -100})},
  };
  // 0.5+0.5=1 -> 2; 1.5+0.5=2 -> 3; -50-25=-75 -> -74
  const Tensor y = run_single(make_node("cimtlm", "QAdd", {"a", "b"}, attributes), values, "a");
  EXPECT_EQ(y, Tensor::from<int8_t>({3}, {2, 3, -74}));
}

// onnxruntime 1.22's fused QLinearAdd and the float island part here (the zoo's ResNet-18, its
// first residual Add: 129 + 129 with these parameters gives 168 in onnxruntime, 167 in the float
// island; found with scripts/ort/first_difference.py).
TEST(QAdd, FusedArithmeticIsOnnxruntimesQLinearAdd) {
  std::map<std::string, Attribute> attributes = {
      {"a_scale", Attribute::of_float(0.0075917490758001804f)},
      {"a_zero_point", Attribute::of_int(128)},
      {"b_scale", Attribute::of_float(0.01437072828412056f)},
      {"y_scale", Attribute::of_float(0.015195230022072792f)},
      {"y_zero_point", Attribute::of_int(45)},
  };
  std::map<std::string, Tensor> values = {{"a", Tensor::from<uint8_t>({1}, {129})},
                                          {"b", Tensor::from<uint8_t>({1}, {129})}};
  const Node fused = make_node("cimtlm", "QAdd", {"a", "b"}, attributes);
  EXPECT_EQ(run_single(fused, values, "a"), Tensor::from<uint8_t>({1}, {168}));
  attributes["arithmetic"] = Attribute::of_string("float");
  const Node island = make_node("cimtlm", "QAdd", {"a", "b"}, attributes);
  EXPECT_EQ(run_single(island, values, "a"), Tensor::from<uint8_t>({1}, {167}));
}

TEST(MaxPool, Int8Window) {
  std::map<std::string, Attribute> attributes = {{"kernel_shape", Attribute::of_ints({2, 2})},
                                                 {"strides", Attribute::of_ints({2, 2})}};
  std::map<std::string, Tensor> values = {
      {"x", Tensor::from<int8_t>({1, 1, 2, 4}, {1, -5, 7, 2, 3, 4, -1, 0})}};
  const Tensor y = run_single(make_node("", "MaxPool", {"x"}, attributes), values, "x");
  EXPECT_EQ(y, Tensor::from<int8_t>({1, 1, 1, 2}, {4, 7}));
}

TEST(QAveragePool, RoundsTheFloatMean) {
  std::map<std::string, Attribute> attributes = {{"kernel_shape", Attribute::of_ints({1, 2})},
                                                 {"strides", Attribute::of_ints({1, 2})},
                                                 {"x_scale", Attribute::of_float(1.0f)},
                                                 {"y_scale", Attribute::of_float(1.0f)}};
  std::map<std::string, Tensor> values = {{"x", Tensor::from<int8_t>({1, 1, 1, 4}, {1, 2, 3, 6})}};
  // means 1.5 -> 2, 4.5 -> 4 (half to even)
  const Tensor y = run_single(make_node("cimtlm", "QAveragePool", {"x"}, attributes), values, "x");
  EXPECT_EQ(y, Tensor::from<int8_t>({1, 1, 1, 2}, {2, 4}));
}

TEST(ReferenceExecutor, UnknownOpIsAModelError) {
  Graph graph;
  graph.inputs.push_back({"x", DataType::Float, {1}});
  graph.nodes.push_back(make_node("", "NoSuchOp", {"x"}));
  EXPECT_THROW(ReferenceExecutor{graph}, ModelError);
}

}  // namespace
}  // namespace cimtlm::graph
