// `cimtlm quantize` and `cimtlm search` as a user runs them: results, database reuse across
// processes, and exit status 2 with a clear message for bad inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "quant_test_support.h"
#include "testbenches/regression/cli_runner.h"

namespace cimtlm::quant {
namespace {

using cimtlm::testing::run_cimtlm;
namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

TEST(QuantizeCommand, QuantizesSimulatesAndReusesTheDatabase) {
  const std::string dir = testing::scratch_dir("cli_quantize");
  const std::vector<std::string> args = {"quantize",   testing::digits_model(),
                                         "--calib",    testing::digits_calib(),
                                         "--platform", testing::default_platform(),
                                         "--db",       dir + "/stats.sqlite",
                                         "--policy",   "int8",
                                         "-o",         dir + "/digits.q.onnx"};
  const auto first = run_cimtlm(args);
  ASSERT_EQ(first.exit_status, 0) << first.err;
  EXPECT_NE(first.out.find("collected in 256 executor runs"), std::string::npos) << first.out;
  const nlohmann::json report = read_json(dir + "/digits.q.report.json");
  EXPECT_EQ(report["calibration"]["statistics_reused"], false);
  EXPECT_TRUE(report["simulation"]["ok"].get<bool>());
  EXPECT_TRUE(report["simulation"]["bit_exact"].get<bool>());
  EXPECT_GT(report["simulation"]["energy_pj_per_inference"].get<double>(), 0.0);
  EXPECT_EQ(report["layers"].size(), 4u);
  for (const auto& layer : report["layers"]) {
    EXPECT_EQ(layer["weight_bits"], 8);
    for (const auto& decision : layer["decisions"])
      EXPECT_FALSE(decision["reason"].get<std::string>().empty());
  }
  EXPECT_TRUE(fs::exists(dir + "/digits.q.onnx"));

  // A second process: the statistics come from the database, no calibration run.
  const auto second = run_cimtlm(args);
  ASSERT_EQ(second.exit_status, 0) << second.err;
  EXPECT_NE(second.out.find("reused from the database"), std::string::npos) << second.out;
  const nlohmann::json again = read_json(dir + "/digits.q.report.json");
  EXPECT_EQ(again["calibration"]["statistics_reused"], true);
  EXPECT_EQ(again["calibration"]["calibration_executor_runs"], 0);
  EXPECT_EQ(again["calibration"]["created_utc"], report["calibration"]["created_utc"]);
}

TEST(QuantizeCommand, BadInputsExitTwoNamingTheProblem) {
  const std::string dir = testing::scratch_dir("cli_quantize_bad");
  std::ofstream(dir + "/garbage.npy") << "not numpy";
  onnx::save_npy(testing::floats({5, 3}, std::vector<float>(15, 0.5f)), dir + "/wrong_shape.npy");
  onnx::save_npy(graph::Tensor(graph::DataType::Int32, {4, 1, 8, 8}), dir + "/wrong_type.npy");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"quantize", dir + "/missing.onnx", "--calib", testing::digits_calib()}, "missing.onnx"},
      {{"quantize", testing::digits_model()}, "--calib"},
      {{"quantize", testing::digits_model(), "--calib", dir + "/nothing_here.npy"},
       "nothing_here.npy"},
      {{"quantize", testing::digits_model(), "--calib", dir + "/garbage.npy"}, "garbage.npy"},
      {{"quantize", testing::digits_model(), "--calib", dir + "/wrong_shape.npy"}, "shape"},
      {{"quantize", testing::digits_model(), "--calib", dir + "/wrong_type.npy"}, "int32"},
      {{"quantize", testing::digits_model(), "--calib", testing::digits_calib(), "--policy",
        "int3"},
       "int3"},
      {{"quantize", testing::digits_model(), "--calib", testing::digits_calib(),
        "--activation-method", "median"},
       "--activation-method: unknown calibration method 'median'"},
      {{"quantize", testing::digits_model(), "--calib", testing::digits_calib(), "--platform",
        dir + "/none.yaml"},
       "none.yaml"},
      {{"quantize", testing::digits_model(), "--calib", testing::digits_calib(), "--db",
        dir + "/garbage.npy"},
       "garbage.npy"},
      {{"quantize", testing::digits_model(), "--calib", testing::digits_calib(), "--val",
        testing::digits_calib()},
       "labels"},
  };
  for (const auto& c : cases) {
    const auto result = run_cimtlm(c.args);
    EXPECT_EQ(result.exit_status, 2) << c.args.back() << ": " << result.err;
    EXPECT_NE(result.err.find(c.message), std::string::npos)
        << "expected '" << c.message << "' in: " << result.err;
  }
  // An already quantized model is not a float model.
  const auto quantized =
      run_cimtlm({"quantize", testing::digits_model(), "--calib", testing::digits_calib(),
                  "--policy", "int8", "-o", dir + "/q.onnx"});
  ASSERT_EQ(quantized.exit_status, 0) << quantized.err;
  const auto twice = run_cimtlm({"quantize", dir + "/q.onnx", "--calib", testing::digits_calib()});
  EXPECT_EQ(twice.exit_status, 2);
  EXPECT_NE(twice.err.find("already quantized"), std::string::npos) << twice.err;
}

TEST(SearchCommand, WritesCandidatesParetoAndTheChosenModel) {
  const std::string dir = testing::scratch_dir("cli_search");
  const auto result = run_cimtlm(
      {"search", testing::digits_model(), "--calib", testing::digits_calib(), "--val",
       testing::digits_val(), "--platform", testing::default_platform(), "--target", "energy",
       "--min-accuracy", "int8-1", "--max-evaluations", "5", "--out-dir", dir, "--no-plot"});
  ASSERT_EQ(result.exit_status, 0) << result.err << result.out;
  const std::string csv = cimtlm::testing::read_text(dir + "/pareto.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);  // header + 5 candidates
  EXPECT_TRUE(fs::exists(dir + "/chosen.onnx"));
  const nlohmann::json report = read_json(dir + "/search_report.json");
  ASSERT_EQ(report["candidates"].size(), 5u);
  for (const auto& candidate : report["candidates"])
    EXPECT_TRUE(candidate["bit_exact"].get<bool>()) << candidate.dump();
  // The simulator's energy falls with the weight bits of the single-bit-width models.
  EXPECT_GT(report["candidates"][0]["energy_pj"].get<double>(),
            report["candidates"][1]["energy_pj"].get<double>());
  EXPECT_GT(report["candidates"][1]["energy_pj"].get<double>(),
            report["candidates"][2]["energy_pj"].get<double>());
  const auto chosen = report["chosen"].get<int>();
  EXPECT_GE(report["candidates"][static_cast<size_t>(chosen)]["accuracy"].get<double>(),
            report["min_accuracy"].get<double>());
}

TEST(SearchCommand, BadInputsExitTwo) {
  const std::string dir = testing::scratch_dir("cli_search_bad");
  onnx::save_npy(graph::Tensor(graph::DataType::Int64, {3}), dir + "/labels.npy");
  const std::vector<std::string> base = {
      "search",     testing::digits_model(),     "--calib",   testing::digits_calib(),
      "--platform", testing::default_platform(), "--out-dir", dir};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cimtlm(args);
  };
  const auto no_val = with({});
  EXPECT_EQ(no_val.exit_status, 2);
  EXPECT_NE(no_val.err.find("--val"), std::string::npos) << no_val.err;
  const auto bad_labels = with({"--val", testing::digits_val(), "--labels", dir + "/labels.npy"});
  EXPECT_EQ(bad_labels.exit_status, 2);
  EXPECT_NE(bad_labels.err.find("3 labels"), std::string::npos) << bad_labels.err;
  const auto bad_target = with({"--val", testing::digits_val(), "--target", "power=3"});
  EXPECT_EQ(bad_target.exit_status, 2);
  EXPECT_NE(bad_target.err.find("power=3"), std::string::npos) << bad_target.err;
  const auto bad_accuracy = with({"--val", testing::digits_val(), "--min-accuracy", "97"});
  EXPECT_EQ(bad_accuracy.exit_status, 2);
  EXPECT_NE(bad_accuracy.err.find("97%"), std::string::npos) << bad_accuracy.err;
}

}  // namespace
}  // namespace cimtlm::quant
