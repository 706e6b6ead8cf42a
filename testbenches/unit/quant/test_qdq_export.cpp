// The exported QDQ model: it loads back, lowers, and gives identical integers through the
// reference executor, the simulated platform (`cimtlm run`) and onnxruntime.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "compiler/graph/lowering.h"
#include "compiler/quant/evaluation.h"
#include "compiler/quant/quantizer.h"
#include "quant_test_support.h"
#include "testbenches/regression/cli_runner.h"

namespace cimtlm::quant {
namespace {

namespace fs = std::filesystem;

// Mixed bit widths exercise every container range at once.
const std::map<std::string, int> kMixed = {
    {"/conv1/Conv", 2}, {"/conv2/Conv", 4}, {"/fc1/Gemm", 8}, {"/fc2/Gemm", 2}};

class DigitsExport : public ::testing::Test {
 protected:
  void SetUp() override {
    float_graph_ = onnx::load_onnx(testing::digits_model());
    calibration_ = load_dataset(testing::digits_calib(), float_graph_);
    validation_ = load_dataset(testing::digits_val(), float_graph_);
    session_ = std::make_unique<QuantizationSession>(float_graph_, calibration_, QuantizeOptions{});
    directory_ = testing::scratch_dir("qdq_export");
  }
  std::string export_model(const std::map<std::string, int>& bits, const std::string& name) {
    const std::string path = directory_ + "/" + name + ".onnx";
    onnx::save_onnx(session_->build(bits), path);
    return path;
  }

  graph::Graph float_graph_;
  Dataset calibration_, validation_;
  std::unique_ptr<QuantizationSession> session_;
  std::string directory_;
};

TEST_F(DigitsExport, RoundTripThroughTheFileIsBitExact) {
  for (const auto& bits : {std::map<std::string, int>{}, kMixed}) {
    const graph::Graph in_memory = session_->build(bits);
    const std::string path = export_model(bits, "roundtrip");
    const graph::Graph reloaded = onnx::load_onnx(path);
    for (const auto& entry : kMixed) {
      const auto found = bits.find(entry.first);
      EXPECT_EQ(reloaded.metadata.at("cimtlm.weight_bits." + entry.first),
                std::to_string(found == bits.end() ? 8 : found->second));
    }
    const Dataset some = head(validation_, 24);
    const auto expected = run_outputs(graph::lower_quantized(in_memory), some.samples);
    const auto actual = run_outputs(graph::lower_quantized(reloaded), some.samples);
    ASSERT_EQ(expected.size(), actual.size());
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_EQ(expected[i], actual[i]) << "sample " << i;
  }
}

TEST_F(DigitsExport, SimulatedPlatformGivesTheReferenceIntegers) {
  const std::string model = export_model(kMixed, "mixed");
  // Three validation images, each through `cimtlm run` and through the reference executor.
  const graph::Graph lowered = graph::lower_quantized(onnx::load_onnx(model));
  for (size_t sample = 0; sample < 3; ++sample) {
    const std::string input = directory_ + "/input_" + std::to_string(sample) + ".npy";
    onnx::save_npy(validation_.samples[sample].at("image"), input);
    const std::string outputs = directory_ + "/run_" + std::to_string(sample);
    const std::string stats = directory_ + "/run_" + std::to_string(sample) + ".json";
    const auto result = cimtlm::testing::run_cimtlm(
        {"run", testing::default_platform(), "--network", model, "--input", "image=" + input,
         "--output-dir", outputs, "--stats", stats, "--quiet"});
    ASSERT_EQ(result.exit_status, 0) << result.err;
    const graph::Tensor simulated = onnx::load_npy(outputs + "/output_0.npy");
    const graph::Tensor reference = run_outputs(lowered, {validation_.samples[sample]}).at(0);
    EXPECT_EQ(simulated, reference);
    std::ifstream file(stats);
    const nlohmann::json json = nlohmann::json::parse(file);
    EXPECT_TRUE(json["outputs"]["match_reference"].get<bool>());
    // The mapper sees the planned bit widths.
    for (const auto& layer : json["networks"][0]["layers"]) {
      EXPECT_EQ(layer["weight_bits"].get<int>(), kMixed.at(layer["layer"].get<std::string>()))
          << layer.dump();
    }
  }
}

// onnxruntime (scripts/ort, `npm ci`) runs the same file; its float outputs are the final
// DequantizeLinear of the same integers, so they must be equal bit for bit.
TEST_F(DigitsExport, OnnxRuntimeGivesTheSameIntegers) {
  const std::string ort_dir = testing::source_path("scripts/ort");
  ASSERT_TRUE(fs::exists(ort_dir + "/node_modules/onnxruntime-node/package.json"))
      << "onnxruntime is not installed: run `npm ci` in " << ort_dir << " (scripts/setup.sh does)";
  ASSERT_FALSE(std::string(CIMTLM_NODE).empty() ||
               std::string(CIMTLM_NODE).find("NOTFOUND") != std::string::npos)
      << "node (Node.js) was not found";
  for (const auto& bits : {std::map<std::string, int>{}, kMixed}) {
    // A batch of 32 images in one onnxruntime session: the same model with batch dimension 32.
    graph::Graph batched = session_->build(bits);
    const int64_t batch = 32;
    batched.inputs[0].shape[0] = batch;
    batched.outputs[0].shape[0] = batch;
    const std::string model = directory_ + "/ort_batch.onnx";
    onnx::save_onnx(batched, model);
    graph::Tensor images(graph::DataType::Float, {batch, 1, 8, 8});
    for (int64_t i = 0; i < batch; ++i) {
      std::memcpy(images.data<float>() + i * 64,
                  validation_.samples[static_cast<size_t>(i)].at("image").data<float>(),
                  64 * sizeof(float));
    }
    const std::string input = directory_ + "/ort_images.npy";
    onnx::save_npy(images, input);
    const std::string out = directory_ + "/ort_out";
    fs::remove_all(out);
    const std::string command =
        std::string(CIMTLM_NODE) + " " + cimtlm::testing::quote(ort_dir + "/run_ort.js") + " " +
        cimtlm::testing::quote(model) + " --input image=" + cimtlm::testing::quote(input) +
        " --output-dir " + cimtlm::testing::quote(out) + " --format npy > " +
        cimtlm::testing::quote(directory_ + "/ort.log") + " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0)
        << cimtlm::testing::read_text(directory_ + "/ort.log");
    const graph::Tensor ort = onnx::load_npy(out + "/output_0.npy");
    ASSERT_EQ(ort.shape(), (graph::Shape{batch, 10}));
    const graph::Graph lowered = graph::lower_quantized(session_->build(bits));
    const auto reference =
        run_outputs(lowered, head(validation_, static_cast<size_t>(batch)).samples);
    int differing = 0;
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t k = 0; k < 10; ++k) {
        differing +=
            ort.data<float>()[i * 10 + k] != reference[static_cast<size_t>(i)].data<float>()[k];
      }
    }
    EXPECT_EQ(differing, 0) << (bits.empty() ? "int8" : "mixed") << " model";
  }
}

}  // namespace
}  // namespace cimtlm::quant
