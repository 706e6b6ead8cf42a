// onnx_conformance CASE_DIR [--legacy-opset] [--lower]
//
// Runs one case of ONNX's node test suite (libonnx-testdata: CASE_DIR/model.onnx and
// CASE_DIR/test_data_set_*/{input,output}_*.pb) through cimtlm's importer and reference executor.
// Integer outputs must be equal; float outputs within
//   |actual - expected| <= kRelativeTolerance * max(|expected|, kMagnitudeFloor)
// i.e. 1e-5 relative, with an absolute floor of 1e-5 * 0.1 = 1e-6 for values near zero (float32
// results of a different but valid summation order differ by a few ulps of the operands, which
// can exceed 1e-5 relative of a result that cancels towards 0).
// --legacy-opset lifts the importer's opset floor of 10 to 1 for cases whose op did not change
// since (GlobalAveragePool-1, HardSigmoid-6).
// --lower runs graph::lower_quantized on the imported model first (the onnxruntime island tests:
// the lowered graph must reproduce onnxruntime's integers exactly).
// Exit status: 0 pass, 1 mismatch, 2 the importer or executor refused the case.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "compiler/graph/lowering.h"
#include "compiler/graph/reference_executor.h"
#include "compiler/onnx/onnx_io.h"

namespace {

constexpr double kRelativeTolerance = 1e-5;
constexpr double kMagnitudeFloor = 0.1;

namespace fs = std::filesystem;
using cimtlm::graph::Tensor;

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int index = 0;; ++index) {
    fs::path file = dir / (prefix + std::to_string(index) + ".pb");
    if (!fs::exists(file)) break;
    files.push_back(file);
  }
  return files;
}

// Number of mismatching elements (printing the first few).
int64_t compare(const std::string& what, const Tensor& actual, const Tensor& expected) {
  if (actual.type() != expected.type() || actual.shape() != expected.shape()) {
    std::cout << what << ": got " << cimtlm::graph::to_string(actual.type()) << ' ' << cimtlm::graph::to_string(actual.shape())
              << ", expected " << cimtlm::graph::to_string(expected.type()) << ' ' << cimtlm::graph::to_string(expected.shape())
              << '\n';
    return std::max<int64_t>(expected.elements(), 1);
  }
  const bool floating = !cimtlm::graph::is_integer(expected.type());
  int64_t mismatches = 0;
  for (int64_t i = 0; i < expected.elements(); ++i) {
    bool equal;
    double a = 0, e = 0;
    if (floating) {
      a = actual.as_double(i);
      e = expected.as_double(i);
      equal = (std::isnan(a) && std::isnan(e)) || a == e ||
              std::fabs(a - e) <= kRelativeTolerance * std::max(std::fabs(e), kMagnitudeFloor);
    } else {
      equal = actual.as_int(i) == expected.as_int(i);
      a = static_cast<double>(actual.as_int(i));
      e = static_cast<double>(expected.as_int(i));
    }
    if (!equal && ++mismatches <= 8) {
      std::cout << what << "[" << i << "]: got " << a << ", expected " << e << '\n';
    }
  }
  return mismatches;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: onnx_conformance CASE_DIR [--legacy-opset] [--lower]\n";
    return 2;
  }
  const fs::path case_dir = argv[1];
  cimtlm::onnx::LoadOptions options;
  bool lower = false;
  for (int arg = 2; arg < argc; ++arg) {
    const std::string flag = argv[arg];
    if (flag == "--legacy-opset") {
      options.min_opset = 1;
    } else if (flag == "--lower") {
      lower = true;
    } else {
      std::cerr << "unknown option " << flag << '\n';
      return 2;
    }
  }
  try {
    auto graph = cimtlm::onnx::load_onnx((case_dir / "model.onnx").string(), options);
    if (lower) graph = cimtlm::graph::lower_quantized(graph);
    const cimtlm::graph::ReferenceExecutor executor(graph);
    std::vector<fs::path> sets;
    for (const auto& entry : fs::directory_iterator(case_dir)) {
      if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
        sets.push_back(entry.path());
      }
    }
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) {
      std::cout << case_dir << ": no test_data_set_* directories\n";
      return 2;
    }
    int64_t mismatches = 0;
    for (const auto& set : sets) {
      cimtlm::graph::ValueMap inputs;
      const auto input_files = numbered(set, "input_");
      if (input_files.size() != graph.inputs.size()) {
        std::cout << set << ": " << input_files.size() << " input files for " << graph.inputs.size()
                  << " graph inputs\n";
        return 2;
      }
      for (size_t index = 0; index < input_files.size(); ++index) {
        inputs[graph.inputs[index].name] = cimtlm::onnx::load_tensor_pb(input_files[index].string());
      }
      const auto outputs = executor.run(inputs);
      const auto output_files = numbered(set, "output_");
      if (output_files.size() != graph.outputs.size()) {
        std::cout << set << ": " << output_files.size() << " output files for "
                  << graph.outputs.size() << " graph outputs\n";
        return 2;
      }
      for (size_t index = 0; index < output_files.size(); ++index) {
        const std::string& name = graph.outputs[index].name;
        mismatches += compare(set.filename().string() + "/" + name, outputs.at(name),
                              cimtlm::onnx::load_tensor_pb(output_files[index].string()));
      }
    }
    std::cout << case_dir.filename().string() << ": " << sets.size() << " data set(s), "
              << (mismatches ? std::to_string(mismatches) + " mismatching elements" : "all outputs match")
              << '\n';
    return mismatches ? 1 : 0;
  } catch (const cimtlm::graph::ModelError& error) {
    std::cout << "ModelError: " << error.what() << '\n';
    return 2;
  }
}
