// Per-layer quantization-type decisions and the QDQ graph they produce.
#include <gtest/gtest.h>

#include "compiler/graph/lowering.h"
#include "compiler/graph/quantized_math.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/quant/calibration.h"
#include "compiler/quant/evaluation.h"
#include "compiler/quant/model_search.h"
#include "compiler/quant/quantizer.h"
#include "quant_test_support.h"

namespace cimtlm::quant {
namespace {

const ActivationDecision& activation(QuantizationSession& session, const std::string& tensor) {
  for (const auto& decision : session.activations()) {
    if (decision.tensor == tensor) return decision;
  }
  throw std::runtime_error("no decision for " + tensor);
}

std::string reason_of(const std::vector<Decision>& decisions, const std::string& aspect) {
  for (const auto& decision : decisions) {
    if (decision.aspect == aspect) return decision.reason;
  }
  return {};
}

// The MSE weight search evaluates all 96 candidate scales in one vectorised pass; it must pick
// exactly the scale the one-scale-at-a-time search with graph::quantize/dequantize picks.
TEST(Calibration, MseScaleEqualsTheOneScaleAtATimeSearch) {
  uint32_t state = 7;
  auto uniform = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  };
  int compared = 0;
  for (int bits : {2, 3, 4, 6, 8}) {
    for (int size : {1, 7, 64, 1000}) {
      for (int shape = 0; shape < 4; ++shape) {
        std::vector<float> values(static_cast<size_t>(size));
        for (auto& value : values) {
          const float u = uniform() - 0.5f;
          value = shape == 0 ? u : shape == 1 ? u * u * u * 40.0f : shape == 2 ? std::fabs(u)
                                                                               : -std::fabs(u);
        }
        if (shape == 1) values[0] = 25.0f;  // an outlier: clipping pays
        const int lo = weight_code_min(bits), hi = weight_code_max(bits);
        double low = 0.0, high = 0.0;
        for (float w : values) {
          low = std::min(low, static_cast<double>(w));
          high = std::max(high, static_cast<double>(w));
        }
        const double cover = std::max(high / hi, low / lo);
        float expected = 1.0f;
        if (cover > 0.0) {
          auto error_of = [&](float scale) {
            double error = 0.0;
            for (float w : values) {
              const int32_t code = graph::quantize(w, scale, 0, lo, hi);
              const double d = static_cast<double>(w) -
                               static_cast<double>(graph::dequantize(code, scale, 0));
              error += d * d;
            }
            return error;
          };
          expected = static_cast<float>(cover);
          double best = error_of(expected);
          for (int step = 1; step <= 95; ++step) {
            const auto scale = static_cast<float>(cover * (1.0 - 0.01 * step));
            const double error = error_of(scale);
            if (error < best) {
              best = error;
              expected = scale;
            }
          }
        }
        const float got = weight_group_scale(values, bits, CalibrationMethod::Mse);
        ASSERT_EQ(got, expected) << bits << " bits, size " << size << ", shape " << shape;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 80);
}

TEST(QuantLayers, FindsCimLayersAndFusedActivations) {
  const graph::Graph g = testing::small_mlp();
  const auto layers = find_quant_layers(g, nullptr);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].name, "fc1");
  EXPECT_EQ(layers[0].output, "r");     // the Relu fuses
  EXPECT_EQ(layers[0].weight_axis, 0);  // transB: [N, K]
  EXPECT_EQ(layers[0].channels, 8);
  EXPECT_EQ(layers[1].output, "y");
  EXPECT_EQ(activation_tensors(g, layers), (std::vector<std::string>{"x", "r", "y"}));
}

TEST(Decisions, EncodingFollowsTheRange) {
  const graph::Graph g = testing::small_mlp();
  QuantizationSession session(g, testing::small_mlp_data(64), QuantizeOptions{});
  EXPECT_EQ(activation(session, "r").quant.encoding, ActivationEncoding::Unsigned);  // post-ReLU
  EXPECT_EQ(activation(session, "r").quant.zero_point, 0);
  EXPECT_EQ(activation(session, "x").quant.encoding,
            ActivationEncoding::Symmetric);  // uniform [-1, 1]
  EXPECT_EQ(activation(session, "x").quant.zero_point, 128);
  // Every decision carries a reason.
  for (const auto& decision : session.activations()) {
    ASSERT_FALSE(decision.decisions.empty());
    for (const auto& d : decision.decisions)
      EXPECT_FALSE(d.reason.empty()) << d.subject << " " << d.aspect;
  }
}

TEST(Decisions, MinMaxWithoutOutliersMeasuredMethodWithOutliers) {
  const graph::Graph g = testing::small_mlp();
  QuantizationSession clean(g, testing::small_mlp_data(200), QuantizeOptions{});
  EXPECT_EQ(activation(clean, "x").quant.method, CalibrationMethod::MinMax);
  EXPECT_NE(reason_of(activation(clean, "x").decisions, "activation_method")
                .find("nothing worth clipping"),
            std::string::npos);

  // One far outlier in 12000 values: the percentile method clips it, so the methods disagree
  // and are measured on the network outputs.
  QuantizationSession spiky(g, testing::small_mlp_data(3000, 3000, 40.0f), QuantizeOptions{});
  const ActivationDecision& x = activation(spiky, "x");
  EXPECT_GT(spiky.sensitivity_runs(), 0);
  const std::string reason = reason_of(x.decisions, "activation_method");
  for (const char* method : {"minmax", "percentile", "entropy", "mse"}) {
    EXPECT_NE(reason.find(method), std::string::npos) << reason;
  }
  EXPECT_NE(reason.find("NMSE"), std::string::npos) << reason;
}

TEST(Decisions, AFixedActivationMethodIsNotMeasured) {
  // The outlier case above, with the method fixed by the caller (make_zoo.py's minmax): no
  // reference run is spent on the activations, and the range is the fixed method's.
  const graph::Graph g = testing::small_mlp();
  const Dataset data = testing::small_mlp_data(3000, 3000, 40.0f);
  for (CalibrationMethod method : {CalibrationMethod::MinMax, CalibrationMethod::Percentile}) {
    QuantizeOptions options;
    options.activation_method = method;
    QuantizationSession fixed(g, data, options);
    const ActivationDecision& x = activation(fixed, "x");
    EXPECT_EQ(fixed.sensitivity_runs(), 0);
    EXPECT_EQ(x.quant.method, method);
    EXPECT_NE(reason_of(x.decisions, "activation_method").find("fixed by the caller"),
              std::string::npos);
  }
  QuantizeOptions minmax;
  minmax.activation_method = CalibrationMethod::MinMax;
  QuantizeOptions percentile;
  percentile.activation_method = CalibrationMethod::Percentile;
  QuantizationSession wide(g, data, minmax), clipped(g, data, percentile);
  // The percentile clips the outlier: a narrower range than min-max's.
  EXPECT_LT(activation(clipped, "x").quant.range.hi - activation(clipped, "x").quant.range.lo,
            activation(wide, "x").quant.range.hi - activation(wide, "x").quant.range.lo);
}

TEST(Decisions, GranularityFollowsTheChannelSpread) {
  const Dataset data = testing::small_mlp_data(32);
  QuantizationSession alike(testing::small_mlp(1.0f), data, QuantizeOptions{});
  QuantizationSession spread(testing::small_mlp(100.0f), data, QuantizeOptions{});
  const LayerDecision& a = alike.layer_decision("fc1", 8);
  const LayerDecision& b = spread.layer_decision("fc1", 8);
  EXPECT_FALSE(a.weights.per_channel) << reason_of(a.decisions, "weight_granularity");
  EXPECT_TRUE(b.weights.per_channel) << reason_of(b.decisions, "weight_granularity");
  EXPECT_EQ(reason_of(b.decisions, "weight_symmetry").empty(), false);
  // 2-bit weights clip: min-max wastes the few levels on the largest weights.
  const LayerDecision& two = spread.layer_decision("fc1", 2);
  EXPECT_EQ(two.weights.method, CalibrationMethod::Mse)
      << reason_of(two.decisions, "weight_method");
  EXPECT_EQ(two.weights.bits, 2);
}

TEST(QdqGraph, HasTheOnnxRuntimeQdqForm) {
  const graph::Graph g = testing::small_mlp(100.0f);
  QuantizationSession session(g, testing::small_mlp_data(32), QuantizeOptions{});
  const graph::Graph qdq = session.build({{"fc1", 4}, {"fc2", 8}});
  EXPECT_EQ(qdq.metadata.at("cimtlm.weight_bits.fc1"), "4");
  EXPECT_EQ(qdq.metadata.at("cimtlm.weight_bits.fc2"), "8");
  int quantize = 0, dequantize = 0;
  for (const auto& node : qdq.nodes) {
    quantize += node.op_type == "QuantizeLinear";
    dequantize += node.op_type == "DequantizeLinear";
    if (node.op_type == "QuantizeLinear") {
      EXPECT_EQ(qdq.initializer(node.inputs[2])->type(),
                graph::DataType::UInt8);  // uint8 activations
    }
  }
  EXPECT_EQ(quantize, 3);        // x, r, y
  EXPECT_EQ(dequantize, 3 + 4);  // + two weights, two biases
  // fc1: int8 container, 4-bit codes, per-channel scales on axis 0, zero point 0.
  const graph::Node* fc1 = nullptr;
  for (const auto& node : qdq.nodes) {
    if (node.name == "fc1") fc1 = &node;
  }
  ASSERT_NE(fc1, nullptr);
  const graph::Node& weight_dq = qdq.nodes[static_cast<size_t>(qdq.producer(fc1->inputs[1]))];
  const graph::Tensor& codes = *qdq.initializer(weight_dq.inputs[0]);
  ASSERT_EQ(codes.type(), graph::DataType::Int8);
  for (int64_t i = 0; i < codes.elements(); ++i) {
    EXPECT_GE(codes.data<int8_t>()[i], -8);
    EXPECT_LE(codes.data<int8_t>()[i], 7);
  }
  EXPECT_EQ(weight_dq.get_int("axis", 1), 0);
  const graph::Tensor& w_scales = *qdq.initializer(weight_dq.inputs[1]);
  EXPECT_EQ(w_scales.elements(), 8);
  for (int64_t zp : qdq.initializer(weight_dq.inputs[2])->to_int_vector()) EXPECT_EQ(zp, 0);
  // Bias: int32 at scale x_scale * w_scale exactly (float32 product).
  const graph::Node& bias_dq = qdq.nodes[static_cast<size_t>(qdq.producer(fc1->inputs[2]))];
  EXPECT_EQ(qdq.initializer(bias_dq.inputs[0])->type(), graph::DataType::Int32);
  const float x_scale = activation(session, "x").quant.scale;
  const auto bias_scales = qdq.initializer(bias_dq.inputs[1])->to_float_vector();
  for (size_t c = 0; c < 8; ++c) EXPECT_EQ(bias_scales[c], x_scale * w_scales.data<float>()[c]);
  // The graph output keeps its name and is float; the float weights are gone.
  EXPECT_EQ(qdq.outputs[0].name, "y");
  EXPECT_FALSE(qdq.is_initializer("w1"));
  // It lowers onto the platform's fused ops and runs.
  const graph::Graph lowered = graph::lower_quantized(qdq);
  int fused = 0;
  for (const auto& node : lowered.nodes)
    fused += node.domain == "cimtlm" && (node.op_type == "QGemm");
  EXPECT_EQ(fused, 2);
  const auto outputs = run_outputs(lowered, testing::small_mlp_data(4).samples);
  EXPECT_EQ(outputs.size(), 4u);
}

TEST(Policies, FixedPoliciesSetEveryLayerAndLogReasons) {
  const graph::Graph g = testing::small_mlp();
  QuantizationSession session(g, testing::small_mlp_data(32), QuantizeOptions{});
  for (auto [policy, bits] :
       {std::pair{Policy::Int8, 8}, std::pair{Policy::Int4, 4}, std::pair{Policy::Int2, 2}}) {
    const QuantizeResult result = session.quantize(policy);
    for (const auto& entry : result.bits) EXPECT_EQ(entry.second, bits);
    EXPECT_EQ(result.report.at("policy"), to_string(policy));
    ASSERT_EQ(result.report.at("layers").size(), 2u);
    for (const auto& layer : result.report.at("layers")) {
      EXPECT_EQ(layer.at("weight_bits"), bits);
      EXPECT_GE(layer.at("decisions").size(), 4u);  // symmetry, granularity, method, bits
    }
  }
  EXPECT_THROW(policy_from_string("int3"), std::invalid_argument);
}

TEST(Policies, AutoLowersBitsWithinToleranceOnDigits) {
  const graph::Graph g = onnx::load_onnx(testing::digits_model());
  QuantizationSession session(g, load_dataset(testing::digits_calib(), g), QuantizeOptions{});
  const QuantizeResult result = session.quantize(Policy::Auto);
  int below_eight = 0;
  for (const auto& entry : result.bits) {
    EXPECT_TRUE(entry.second == 2 || entry.second == 4 || entry.second == 8);
    below_eight += entry.second < 8;
  }
  EXPECT_GT(below_eight, 0);
  // The joint check holds: agreement with the float model within the allowed drop of int8's.
  const Sensitivity eight = session.model_sensitivity(session.quantize(Policy::Int8).qdq);
  const Sensitivity chosen = session.model_sensitivity(result.qdq);
  EXPECT_GE(chosen.top1_agreement, eight.top1_agreement - 0.01);
  // The mixed policy runs the search with proxies and keeps the fidelity to the float model.
  const QuantizeResult mixed = mixed_precision(session, nullptr, 0.01, nullptr);
  const Sensitivity kept = session.model_sensitivity(mixed.qdq);
  EXPECT_GE(kept.top1_agreement - kept.output_nmse,
            eight.top1_agreement - eight.output_nmse - 0.01);
  EXPECT_TRUE(mixed.report.contains("search"));
}

}  // namespace
}  // namespace cimtlm::quant
