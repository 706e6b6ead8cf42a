// Shared fixtures of the quantization tests: the digits CNN and its data (configs/networks), a
// scratch directory per test process, and a small hand-built float network.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/onnx/onnx_io.h"
#include "compiler/quant/dataset.h"
#include "compiler/quant/fingerprint.h"

namespace cimtlm::quant::testing {

inline std::string source_path(const std::string& relative) {
  return std::string(CIMTLM_SOURCE_DIR) + "/" + relative;
}
inline std::string digits_model() {
  return source_path("configs/networks/digits_cnn.onnx");
}
inline std::string digits_calib() {
  return source_path("configs/networks/digits_data/calib.npy");
}
inline std::string digits_val() {
  return source_path("configs/networks/digits_data/val_inputs.npy");
}
inline std::string default_platform() {
  return source_path("configs/platforms/default.yaml");
}

// A fresh directory for this test process (tests run as separate processes).
inline std::string scratch_dir(const std::string& name) {
  const std::filesystem::path path =
      std::filesystem::path(CIMTLM_TEST_OUTPUT_DIR) / (name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

inline graph::Tensor floats(graph::Shape shape, std::vector<float> values) {
  return graph::Tensor::from<float>(std::move(shape), values);
}

// x [1, 4] -> Gemm(w1 [8, 4], transB) -> Relu -> Gemm(w2 [3, 8], transB) -> y [1, 3].
// Channel c of w1 has magnitude `channel_spread`^(c / 7), so a spread of 1 makes all channels
// alike and a large spread makes their ranges differ.
inline graph::Graph small_mlp(float channel_spread = 1.0f) {
  graph::Graph g;
  g.name = "small_mlp";
  g.inputs.push_back({"x", graph::DataType::Float, {1, 4}});
  g.outputs.push_back({"y", graph::DataType::Float, {1, 3}});
  std::vector<float> w1(32), b1(8), w2(24), b2(3);
  for (int o = 0; o < 8; ++o) {
    const float magnitude = std::pow(channel_spread, static_cast<float>(o) / 7.0f);
    // Every channel holds the same four values (rotated), scaled by its magnitude.
    const float base[4] = {0.5f, -0.3f, 0.1f, -0.45f};
    for (int i = 0; i < 4; ++i) w1[o * 4 + i] = magnitude * base[(i + o) % 4];
    b1[o] = 0.05f * static_cast<float>(o % 3);
  }
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 8; ++i)
      w2[o * 8 + i] = 0.08f * static_cast<float>((o * 5 + i * 2) % 9) - 0.3f;
    b2[o] = -0.1f * static_cast<float>(o);
  }
  g.initializers["w1"] = floats({8, 4}, w1);
  g.initializers["b1"] = floats({8}, b1);
  g.initializers["w2"] = floats({3, 8}, w2);
  g.initializers["b2"] = floats({3}, b2);
  graph::Node fc1;
  fc1.name = "fc1";
  fc1.op_type = "Gemm";
  fc1.inputs = {"x", "w1", "b1"};
  fc1.outputs = {"h"};
  fc1.attributes["transB"] = graph::Attribute::of_int(1);
  graph::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"h"};
  relu.outputs = {"r"};
  graph::Node fc2 = fc1;
  fc2.name = "fc2";
  fc2.inputs = {"r", "w2", "b2"};
  fc2.outputs = {"y"};
  g.nodes = {fc1, relu, fc2};
  return g;
}

// `count` seeded samples for small_mlp, uniform in [-1, 1]; every `outlier_every`-th sample
// (0: none) has one element scaled by `outlier_scale`.
inline Dataset small_mlp_data(size_t count, int outlier_every = 0, float outlier_scale = 20.0f) {
  Dataset data;
  data.source = "small_mlp_data";
  uint32_t state = 12345;
  for (size_t s = 0; s < count; ++s) {
    std::vector<float> x(4);
    for (auto& value : x) {
      state = state * 1664525u + 1013904223u;
      value = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
    }
    if (outlier_every > 0 && s % static_cast<size_t>(outlier_every) == 0) x[s % 4] *= outlier_scale;
    data.samples.push_back({{"x", floats({1, 4}, x)}});
  }
  data.fingerprint = samples_fingerprint(data.samples);
  return data;
}

}  // namespace cimtlm::quant::testing
