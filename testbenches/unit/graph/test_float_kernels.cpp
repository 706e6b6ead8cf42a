// Float and data-movement kernels on cases ONNX's node test suite does not cover: grouped and
// dilated convolutions against the direct formula, Gemm broadcasting, Gather along inner axes,
// Reshape allowzero, Softmax axes, integer Clip/Add/Mul.
#include <gtest/gtest.h>

#include <cmath>

#include "compiler/graph/reference_executor.h"

namespace cimtlm::graph {
namespace {

Tensor run_node(const std::string& op, const std::vector<Tensor>& inputs,
                std::map<std::string, Attribute> attributes = {}) {
  Graph graph;
  Node node;
  node.name = op;
  node.op_type = op;
  node.outputs = {"y"};
  node.attributes = std::move(attributes);
  ValueMap values;
  for (size_t index = 0; index < inputs.size(); ++index) {
    const std::string name = "in" + std::to_string(index);
    node.inputs.push_back(inputs[index].empty() ? "" : name);
    if (inputs[index].empty()) continue;
    graph.inputs.push_back({name, inputs[index].type(), inputs[index].shape()});
    values[name] = inputs[index];
  }
  graph.nodes.push_back(node);
  graph.outputs.push_back({"y", DataType::Undefined, {}});
  return ReferenceExecutor(graph).run(values).at("y");
}

Tensor pattern(Shape shape, int seed) {
  Tensor tensor(DataType::Float, shape);
  for (int64_t i = 0; i < tensor.elements(); ++i) {
    tensor.data<float>()[i] = static_cast<float>(((i + 1) * (seed + 3) * 7919) % 201 - 100) / 64.0f;
  }
  return tensor;
}

// Conv straight from the ONNX definition, in double.
std::vector<double> direct_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t group,
                                int64_t stride, int64_t dilation, int64_t pad, int64_t& out_h,
                                int64_t& out_w) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t m = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  out_h = (h + 2 * pad - dilation * (kh - 1) - 1) / stride + 1;
  out_w = (wd + 2 * pad - dilation * (kw - 1) - 1) / stride + 1;
  std::vector<double> y(static_cast<size_t>(n * m * out_h * out_w));
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) {
          double sum = b.data<float>()[om];
          const int64_t g = om / (m / group);
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ih = oh * stride - pad + i * dilation;
                const int64_t iw = ow * stride - pad + j * dilation;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                sum += static_cast<double>(x.data<float>()[((in * c + g * cg + ic) * h + ih) * wd + iw]) *
                       w.data<float>()[((om * cg + ic) * kh + i) * kw + j];
              }
          y[static_cast<size_t>(((in * m + om) * out_h + oh) * out_w + ow)] = sum;
        }
  (void)c;
  return y;
}

TEST(FloatConv, GroupedDilatedStridedMatchesTheDefinition) {
  struct Case {
    int64_t channels, out_channels, group, stride, dilation, pad;
  };
  for (const Case& c : {Case{4, 6, 2, 1, 2, 2}, Case{3, 3, 3, 2, 1, 1}, Case{4, 8, 4, 1, 1, 0},
                        Case{2, 5, 1, 2, 3, 3}}) {
    const Tensor x = pattern({2, c.channels, 7, 6}, 1);
    const Tensor w = pattern({c.out_channels, c.channels / c.group, 3, 3}, 2);
    const Tensor b = pattern({c.out_channels}, 3);
    const Tensor y = run_node("Conv", {x, w, b},
                              {{"group", Attribute::of_int(c.group)},
                               {"strides", Attribute::of_ints({c.stride, c.stride})},
                               {"dilations", Attribute::of_ints({c.dilation, c.dilation})},
                               {"pads", Attribute::of_ints({c.pad, c.pad, c.pad, c.pad})}});
    int64_t out_h = 0, out_w = 0;
    const auto expected = direct_conv(x, w, b, c.group, c.stride, c.dilation, c.pad, out_h, out_w);
    ASSERT_EQ(y.shape(), (Shape{2, c.out_channels, out_h, out_w}));
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(y.data<float>()[i], expected[i], 1e-4) << "group " << c.group << " at " << i;
    }
  }
}

TEST(FloatConv, OneDimensionalAndSameUpper) {
  // [1, 1, 5] with kernel [1, 1, 2] of ones, SAME_UPPER: pad 0 before, 1 after.
  const Tensor y = run_node("Conv",
                            {Tensor::from<float>({1, 1, 5}, {1, 2, 3, 4, 5}),
                             Tensor::from<float>({1, 1, 2}, {1, 1})},
                            {{"auto_pad", Attribute::of_string("SAME_UPPER")}});
  EXPECT_EQ(y, Tensor::from<float>({1, 1, 5}, {3, 5, 7, 9, 5}));
}

TEST(FloatGemm, TransposesAndBroadcastsC) {
  const Tensor a = Tensor::from<float>({3, 2}, {1, 2, 3, 4, 5, 6});  // A^T is [2, 3]
  const Tensor b = Tensor::from<float>({2, 3}, {1, 0, 1, 0, 1, 1});  // B^T is [3, 2]
  const Tensor c = Tensor::from<float>({2, 1}, {10, 20});            // broadcast over columns
  const Tensor y = run_node("Gemm", {a, b, c},
                            {{"transA", Attribute::of_int(1)}, {"transB", Attribute::of_int(1)},
                             {"alpha", Attribute::of_float(2.0f)}, {"beta", Attribute::of_float(0.5f)}});
  // A^T = [[1,3,5],[2,4,6]], B^T = [[1,0],[0,1],[1,1]]: product [[6,8],[8,10]]
  EXPECT_EQ(y, Tensor::from<float>({2, 2}, {17, 21, 26, 30}));
}

TEST(FloatMatMul, BroadcastsBatchesAndVectors) {
  const Tensor a = Tensor::from<float>({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::from<float>({3}, {1, 0, -1});
  EXPECT_EQ(run_node("MatMul", {a, b}), Tensor::from<float>({2, 1}, {-2, -2}));
  const Tensor c = Tensor::from<float>({3, 2}, {1, 0, 0, 1, 1, 1});
  EXPECT_EQ(run_node("MatMul", {a, c}), Tensor::from<float>({2, 1, 2}, {4, 5, 10, 11}));
}

TEST(Gather, InnerAxisAndNegativeIndices) {
  const Tensor data = Tensor::from<int8_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor indices = Tensor::from<int64_t>({2}, {-1, 0});
  EXPECT_EQ(run_node("Gather", {data, indices}, {{"axis", Attribute::of_int(1)}}),
            Tensor::from<int8_t>({2, 2}, {3, 1, 6, 4}));
  // Embedding lookup: rows of a table by int32 token ids.
  const Tensor table = Tensor::from<float>({3, 2}, {0, 1, 10, 11, 20, 21});
  EXPECT_EQ(run_node("Gather", {table, Tensor::from<int32_t>({1, 2}, {2, 1})}),
            Tensor::from<float>({1, 2, 2}, {20, 21, 10, 11}));
  EXPECT_THROW(run_node("Gather", {table, Tensor::from<int64_t>({1}, {3})}), ModelError);
}

TEST(Reshape, ZeroCopiesUnlessAllowzero) {
  const Tensor data(DataType::Float, {2, 3, 4});
  EXPECT_EQ(run_node("Reshape", {data, Tensor::from<int64_t>({3}, {0, -1, 2})}).shape(),
            (Shape{2, 6, 2}));
  const Tensor empty(DataType::Float, {0, 3});
  EXPECT_EQ(run_node("Reshape", {empty, Tensor::from<int64_t>({2}, {3, 0})},
                     {{"allowzero", Attribute::of_int(1)}})
                .shape(),
            (Shape{3, 0}));
  EXPECT_THROW(run_node("Reshape", {data, Tensor::from<int64_t>({2}, {-1, -1})}), ModelError);
  EXPECT_THROW(run_node("Reshape", {data, Tensor::from<int64_t>({1}, {5})}), ModelError);
}

TEST(Softmax, MiddleAxisSumsToOne) {
  const Tensor x = pattern({2, 3, 4}, 5);
  const Tensor y = run_node("Softmax", {x}, {{"axis", Attribute::of_int(1)}});
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t i = 0; i < 4; ++i) {
      double sum = 0;
      for (int64_t k = 0; k < 3; ++k) sum += y.data<float>()[(n * 3 + k) * 4 + i];
      EXPECT_NEAR(sum, 1.0, 1e-6);
    }
  }
}

TEST(IntegerElementwise, ClipAddMulOnIntegers) {
  const Tensor x = Tensor::from<int8_t>({4}, {-100, -5, 5, 100});
  EXPECT_EQ(run_node("Clip", {x, Tensor::scalar<int8_t>(-10), Tensor::scalar<int8_t>(20)}),
            Tensor::from<int8_t>({4}, {-10, -5, 5, 20}));
  EXPECT_EQ(run_node("Clip", {x, Tensor(), Tensor::scalar<int8_t>(0)}),
            Tensor::from<int8_t>({4}, {-100, -5, 0, 0}));
  // uint8 wraps around like numpy.
  EXPECT_EQ(run_node("Add", {Tensor::from<uint8_t>({2}, {200, 1}), Tensor::scalar<uint8_t>(100)}),
            Tensor::from<uint8_t>({2}, {44, 101}));
  EXPECT_EQ(run_node("Mul", {Tensor::from<uint8_t>({2}, {16, 3}), Tensor::scalar<uint8_t>(17)}),
            Tensor::from<uint8_t>({2}, {16, 51}));
}

TEST(Transpose, FourDimensionalPermutation) {
  Tensor x(DataType::Int32, {2, 3, 4, 5});
  for (int64_t i = 0; i < x.elements(); ++i) x.data<int32_t>()[i] = static_cast<int32_t>(i);
  const Tensor y = run_node("Transpose", {x}, {{"perm", Attribute::of_ints({2, 0, 3, 1})}});
  ASSERT_EQ(y.shape(), (Shape{4, 2, 5, 3}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t d = 0; d < 5; ++d) {
          EXPECT_EQ(y.data<int32_t>()[((c * 2 + a) * 5 + d) * 3 + b],
                    x.data<int32_t>()[((a * 3 + b) * 4 + c) * 5 + d]);
        }
}

TEST(HardSwish, EqualsXTimesHardSigmoid) {
  const Tensor x = Tensor::from<float>({5}, {-4.0f, -3.0f, -1.0f, 0.5f, 3.5f});
  const Tensor hard_sigmoid = run_node("HardSigmoid", {x}, {{"alpha", Attribute::of_float(1.0f / 6.0f)}});
  const Tensor y = run_node("HardSwish", {x});
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(y.data<float>()[i], x.data<float>()[i] * hard_sigmoid.data<float>()[i]);
  }
  EXPECT_EQ(y.data<float>()[0], 0.0f);
  EXPECT_EQ(y.data<float>()[4], 3.5f);
}

TEST(Cast, Int32ToFloatRoundsAndFloatToIntegerTruncatesOrFails) {
  // MatMulInteger's int32 products to float: 2^24 + 1 is not a float and rounds to even.
  const Tensor products = Tensor::from<int32_t>({3}, {-7, 16777217, 2147483647});
  const Tensor f = run_node("Cast", {products}, {{"to", Attribute::of_int(1)}});
  ASSERT_EQ(f.type(), DataType::Float);
  EXPECT_EQ(f.data<float>()[0], -7.0f);
  EXPECT_EQ(f.data<float>()[1], 16777216.0f);
  EXPECT_EQ(f.data<float>()[2], 2147483648.0f);
  // Float to int8 truncates toward zero; out of range (or NaN) is an error naming the node.
  const Tensor i = run_node("Cast", {Tensor::from<float>({3}, {-2.9f, 127.5f, -128.0f})},
                            {{"to", Attribute::of_int(3)}});
  ASSERT_EQ(i.type(), DataType::Int8);
  EXPECT_EQ(i.data<int8_t>()[0], -2);
  EXPECT_EQ(i.data<int8_t>()[1], 127);
  EXPECT_EQ(i.data<int8_t>()[2], -128);
  try {
    run_node("Cast", {Tensor::from<float>({1}, {128.0f})}, {{"to", Attribute::of_int(3)}});
    FAIL() << "128 fits no int8";
  } catch (const ModelError& error) {
    EXPECT_NE(std::string(error.what()).find("Cast"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("does not fit"), std::string::npos) << error.what();
  }
  EXPECT_THROW(
      run_node("Cast", {Tensor::from<float>({1}, {std::nanf("")})}, {{"to", Attribute::of_int(6)}}),
      ModelError);
}

}  // namespace
}  // namespace cimtlm::graph
