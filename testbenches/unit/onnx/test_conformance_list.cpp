// conformance_cases.txt lists every case of ONNX's node test suite on this machine that
// exercises an op cimtlm imports, so that none is silently skipped.
//
// A case belongs to an op when its model is that single op, or when it is the "_expanded"
// (function body) variant of such a case.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "compiler/onnx/op_checks.h"

namespace cimtlm::onnx {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> read_list() {
  std::ifstream file(CIMTLM_CONFORMANCE_LIST);
  EXPECT_TRUE(file) << "cannot read " << CIMTLM_CONFORMANCE_LIST;
  const std::regex pass(R"(^(test_\w+)\s+pass(\s+--legacy-opset)?\s*$)");
  const std::regex unsupported(R"(^(test_\w+)\s+unsupported:\s+\S.*$)");
  std::map<std::string, std::string> cases;
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::smatch match;
    if (std::regex_match(line, match, pass)) {
      EXPECT_TRUE(cases.emplace(match[1], "pass").second) << "duplicate: " << match[1];
    } else if (std::regex_match(line, match, unsupported)) {
      EXPECT_TRUE(cases.emplace(match[1], "unsupported").second) << "duplicate: " << match[1];
    } else {
      ADD_FAILURE() << "conformance_cases.txt:" << number << " is malformed: " << line;
    }
  }
  return cases;
}

// The op of a single-node model, or "".
std::string single_op(const fs::path& model_path) {
  std::ifstream file(model_path, std::ios::binary);
  ::onnx::ModelProto model;
  if (!model.ParseFromIstream(&file)) return "";
  return model.graph().node_size() == 1 ? model.graph().node(0).op_type() : "";
}

TEST(ConformanceList, EveryCaseOfTheSupportedOpsIsListed) {
  const fs::path root = CIMTLM_ONNX_TESTDATA;
  ASSERT_TRUE(fs::is_directory(root))
      << root << " is missing: install Debian's libonnx-testdata (scripts/setup.sh does)";
  const auto listed = read_list();
  const auto ops = supported_onnx_ops();
  const std::set<std::string> supported(ops.begin(), ops.end());

  std::set<std::string> of_supported_ops;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path model = entry.path() / "model.onnx";
    if (fs::exists(model) && supported.count(single_op(model))) {
      of_supported_ops.insert(entry.path().filename().string());
    }
  }
  std::set<std::string> expected = of_supported_ops;
  for (const auto& name : of_supported_ops) {
    if (fs::exists(root / (name + "_expanded"))) expected.insert(name + "_expanded");
  }
  ASSERT_GT(expected.size(), 100u) << "suspiciously few cases found in " << root;
  for (const auto& name : expected) {
    EXPECT_TRUE(listed.count(name)) << name << " is missing from conformance_cases.txt";
  }
  for (const auto& entry : listed) {
    EXPECT_TRUE(fs::exists(root / entry.first / "model.onnx"))
        << entry.first << " is listed but not present in " << root;
    EXPECT_TRUE(expected.count(entry.first))
        << entry.first << " is listed but is not a case of a supported op";
  }
}

}  // namespace
}  // namespace cimtlm::onnx
