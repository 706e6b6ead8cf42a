// Precision allocation across networks sharing a chip, and requantizing lowered CIM weights.
#include <gtest/gtest.h>

#include <random>

#include "compiler/graph/lowering.h"
#include "compiler/map/mapper.h"
#include "compiler/quant/evaluation.h"
#include "compiler/quant/precision_allocation.h"
#include "compiler/quant/quantizer.h"
#include "quant_test_support.h"

namespace cimtlm::quant {
namespace {

std::vector<NetworkDemand> three_networks() {
  return {{"A", {{8, 4}, {4, 2}, {2, 1}}, {{4, 0.01}, {2, 0.1}}},
          {"B", {{8, 6}, {4, 3}, {2, 2}}, {{4, 0.001}, {2, 0.05}}},
          {"C", {{8, 2}, {4, 1}, {2, 1}}, {{4, 0.02}, {2, 0.2}}}};
}

TEST(PrecisionAllocation, ReferenceThenCheapestDowngradesPerFreedCore) {
  const auto networks = three_networks();
  // Everything fits at 8 bits.
  PrecisionAllocation all = allocate_precision(12, networks);
  EXPECT_TRUE(all.fits);
  EXPECT_EQ(all.reference_bits, 8);
  EXPECT_EQ(all.target_bits, (std::vector<int>{8, 8, 8}));
  // 10 cores: reference 4 (6 cores); from all-8 (12) B frees 3 cores at the least cost per core.
  PrecisionAllocation ten = allocate_precision(10, networks);
  EXPECT_EQ(ten.reference_bits, 4);
  EXPECT_EQ(ten.target_bits, (std::vector<int>{8, 4, 8}));
  EXPECT_EQ(ten.cores, (std::vector<int>{4, 3, 2}));
  EXPECT_EQ(ten.cores_used, 9);
  // 5 cores: reference 2; from all-4 (6) B again is cheapest per core; C frees nothing at 2 bits
  // and keeps 4 bits.
  PrecisionAllocation five = allocate_precision(5, networks);
  EXPECT_EQ(five.reference_bits, 2);
  EXPECT_EQ(five.target_bits, (std::vector<int>{4, 2, 4}));
  EXPECT_EQ(five.cores_used, 5);
  EXPECT_FALSE(five.log.empty());
  // 3 cores: not even 2-bit weights fit.
  PrecisionAllocation three = allocate_precision(3, networks);
  EXPECT_FALSE(three.fits);
  EXPECT_EQ(three.reference_bits, 0);
  EXPECT_EQ(three.target_bits, (std::vector<int>{2, 2, 2}));
}

TEST(PrecisionAllocation, FitsAndIsMonotoneInTheCoreCount) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<NetworkDemand> networks;
    const int count = 1 + static_cast<int>(random() % 5);
    for (int n = 0; n < count; ++n) {
      NetworkDemand network;
      network.name = "net" + std::to_string(n);
      const int two = 1 + static_cast<int>(random() % 4);
      const int four = two + static_cast<int>(random() % 4);
      const int eight = four + static_cast<int>(random() % 6);
      network.cores = {{8, eight}, {4, four}, {2, two}};
      const double at4 = std::uniform_real_distribution<double>(0.0, 0.05)(random);
      network.accuracy_cost = {{4, at4},
                               {2, at4 + std::uniform_real_distribution<double>(0.0, 0.3)(random)}};
      networks.push_back(network);
    }
    int lowest = 0, highest = 0;
    for (const auto& network : networks) {
      lowest += network.cores.at(2);
      highest += network.cores.at(8);
    }
    std::vector<int> previous;
    for (int total = 0; total <= highest + 2; ++total) {
      const PrecisionAllocation allocation = allocate_precision(total, networks);
      ASSERT_EQ(allocation.fits, lowest <= total) << "trial " << trial << " total " << total;
      if (allocation.fits) {
        EXPECT_LE(allocation.cores_used, total);
        // The reference is the highest level at which all fit; targets are it or one level up.
        for (int bits : allocation.target_bits) {
          const int above = allocation.reference_bits == 8 ? 8 : allocation.reference_bits * 2;
          EXPECT_TRUE(bits == allocation.reference_bits || bits == above);
        }
        if (!previous.empty()) {
          for (size_t n = 0; n < networks.size(); ++n) {
            EXPECT_GE(allocation.target_bits[n], previous[n])
                << "trial " << trial << " total " << total << " network " << n;
          }
        }
        previous = allocation.target_bits;
      }
    }
  }
}

TEST(PrecisionAllocation, RejectsIncompleteDemands) {
  EXPECT_THROW(allocate_precision(4, {{"A", {{8, 2}, {4, 1}}, {{4, 0.0}, {2, 0.1}}}}),
               std::invalid_argument);
  EXPECT_THROW(allocate_precision(4, {{"A", {{8, 2}, {4, 1}, {2, 1}}, {{4, 0.0}}}}),
               std::invalid_argument);
  EXPECT_THROW(allocate_precision(4, {{"A", {{8, 2}, {4, 3}, {2, 1}}, {{4, 0.0}, {2, 0.1}}}}),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------

graph::Graph lowered_small_mlp(int bits) {
  QuantizationSession session(testing::small_mlp(30.0f), testing::small_mlp_data(32),
                              QuantizeOptions{});
  return graph::lower_quantized(session.build({{"fc1", bits}, {"fc2", bits}}));
}

const graph::Node& node_named(const graph::Graph& graph, const std::string& name) {
  for (const auto& node : graph.nodes) {
    if (node.name == name) return node;
  }
  throw std::runtime_error("no node " + name);
}

TEST(RequantizeWeights, NewCodesScalesAndBiasesAreConsistent) {
  const graph::Graph eight = lowered_small_mlp(8);
  std::vector<RequantizedLayer> report;
  const graph::Graph four =
      requantize_cim_weights(eight, {}, 4, CalibrationMethod::MinMax, &report);
  ASSERT_EQ(report.size(), 2u);
  for (const auto& layer : report) {
    EXPECT_EQ(layer.from_bits, 8);
    EXPECT_EQ(layer.to_bits, 4);
    EXPECT_GT(layer.relative_error, 0.0);
    EXPECT_LT(layer.relative_error, 0.05);
  }
  for (const std::string name : {"fc1", "fc2"}) {
    const graph::Node& before = node_named(eight, name);
    const graph::Node& after = node_named(four, name);
    EXPECT_EQ(four.metadata.at("cimtlm.weight_bits." + name), "4");
    const graph::Tensor& old_codes = *eight.initializer(before.inputs[1]);
    const graph::Tensor& codes = *four.initializer(after.inputs[1]);
    const auto old_scales = before.get_floats("w_scales");
    const auto scales = after.get_floats("w_scales");
    ASSERT_EQ(codes.shape(), old_codes.shape());
    // Codes are the dequantized int8 weights quantized again (QGemm weights are [K, N]:
    // channels along axis 1), within 4 bits.
    graph::Tensor dequantized(graph::DataType::Float, old_codes.shape());
    const int64_t n = old_codes.dim(1);
    for (int64_t i = 0; i < old_codes.elements(); ++i) {
      dequantized.data<float>()[i] =
          static_cast<float>(old_codes.data<int8_t>()[i]) * old_scales[static_cast<size_t>(i % n)];
    }
    const QuantizedWeights expected =
        quantize_weights(dequantized, 1, {4, true, CalibrationMethod::MinMax});
    EXPECT_EQ(codes, expected.codes);
    EXPECT_EQ(scales, expected.scales);
    for (int64_t i = 0; i < codes.elements(); ++i) {
      EXPECT_GE(codes.data<int8_t>()[i], -8);
      EXPECT_LE(codes.data<int8_t>()[i], 7);
    }
    // The bias keeps its real value (x_scale * w_scale * b) within half a new unit.
    const float x_scale = after.get_float("x_scale");
    const graph::Tensor& old_bias = *eight.initializer(before.inputs[2]);
    const graph::Tensor& bias = *four.initializer(after.inputs[2]);
    for (int64_t c = 0; c < bias.elements(); ++c) {
      const double old_value = static_cast<double>(old_bias.data<int32_t>()[c]) * x_scale *
                               old_scales[static_cast<size_t>(c)];
      const double new_unit = static_cast<double>(x_scale) * scales[static_cast<size_t>(c)];
      EXPECT_LE(std::fabs(bias.data<int32_t>()[c] * new_unit - old_value), 0.5 * new_unit * 1.0001);
    }
  }
  // The rewritten graph runs and stays close to the 8-bit one.
  const auto samples = testing::small_mlp_data(32).samples;
  const Sensitivity difference =
      compare_outputs(run_outputs(eight, samples), run_outputs(four, samples));
  EXPECT_LT(difference.output_nmse, 0.02);
  EXPECT_GT(difference.output_nmse, 0.0);
  // Layers already within the bits are left alone.
  std::vector<RequantizedLayer> again;
  const graph::Graph same = requantize_cim_weights(four, {}, 4, CalibrationMethod::Mse, &again);
  for (const auto& layer : again) EXPECT_EQ(layer.from_bits, 4);
  EXPECT_EQ(*same.initializer(node_named(same, "fc1").inputs[1]),
            *four.initializer(node_named(four, "fc1").inputs[1]));
  // Per-layer bits; 0 leaves a layer unchanged.
  const graph::Graph mixed = requantize_cim_weights(eight, {{"fc1", 2}, {"fc2", 0}}, 8);
  EXPECT_EQ(mixed.metadata.at("cimtlm.weight_bits.fc1"), "2");
  EXPECT_EQ(*mixed.initializer(node_named(mixed, "fc2").inputs[1]),
            *eight.initializer(node_named(eight, "fc2").inputs[1]));
}

TEST(RequantizeWeights, DigitsAt4BitsMapsAs4BitLayers) {
  const graph::Graph float_graph = onnx::load_onnx(testing::digits_model());
  const Dataset calibration = load_dataset(testing::digits_calib(), float_graph);
  QuantizationSession session(float_graph, calibration, QuantizeOptions{});
  const graph::Graph eight = graph::lower_quantized(session.build({}));
  const graph::ValueMap values = graph::ReferenceExecutor(eight).run(calibration.samples[0], true);
  // The proxy grows as bits shrink and is 0 where nothing changes.
  EXPECT_EQ(weight_error_proxy(eight, 8, &values), 0.0);
  const double at4 = weight_error_proxy(eight, 4, &values);
  const double at2 = weight_error_proxy(eight, 2, &values);
  EXPECT_GT(at4, 0.0);
  EXPECT_GT(at2, at4);

  const graph::Graph four = requantize_cim_weights(eight, {}, 4);
  map::ArchInfo arch;
  arch.cores = 4;
  arch.mesh_rows = 2;
  arch.mesh_cols = 2;
  arch.logical_columns = [](int bits) {
    return int64_t{256} / bits;
  };  // offset encoding, 1-bit cells
  arch.weight_base = 0;
  arch.weight_capacity = 1 << 20;
  arch.activation_base = 1 << 20;
  arch.activation_capacity = 1 << 20;
  const graph::ValueMap four_values =
      graph::ReferenceExecutor(four).run(calibration.samples[0], true);
  const map::Mapping eight_mapping = map::map_network(eight, values, arch);
  const map::Mapping four_mapping = map::map_network(four, four_values, arch);
  ASSERT_EQ(four_mapping.report.layers.size(), 4u);
  for (const auto& layer : four_mapping.report.layers)
    EXPECT_EQ(layer.weight_bits, 4) << layer.layer;
  EXPECT_LT(four_mapping.report.tiles, eight_mapping.report.tiles);
}

}  // namespace
}  // namespace cimtlm::quant
