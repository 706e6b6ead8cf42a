// README.md's supported-ops table is the one the code generates (`cimtlm docs --ops`), between
// the markers <!-- ops:begin --> and <!-- ops:end -->.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "compiler/onnx/onnx_io.h"
#include "compiler/onnx/op_checks.h"

namespace cimtlm::onnx {
namespace {

TEST(OpsReference, ReadmeListsTheSupportedOpsAsGenerated) {
  std::ifstream file(CIMTLM_README);
  ASSERT_TRUE(file) << "cannot read " << CIMTLM_README;
  std::stringstream text;
  text << file.rdbuf();
  const std::string readme = text.str();
  const std::string begin = "<!-- ops:begin -->\n", end = "<!-- ops:end -->";
  const size_t from = readme.find(begin), to = readme.find(end);
  ASSERT_NE(from, std::string::npos) << "README.md lacks " << begin;
  ASSERT_NE(to, std::string::npos) << "README.md lacks " << end;
  EXPECT_EQ(readme.substr(from + begin.size(), to - from - begin.size()), supported_ops_markdown())
      << "README.md's supported-ops table is out of date: replace it with `cimtlm docs --ops`";
}

TEST(OpsReference, EveryImportedOpHasARow) {
  const std::string table = supported_ops_markdown();
  for (const auto& op : supported_onnx_ops()) {
    EXPECT_NE(table.find("| " + op + " | "), std::string::npos) << op;
  }
  EXPECT_NE(table.find("| LayerNormalization | float island: arithmetic unit"), std::string::npos);
  EXPECT_NE(table.find("| QLinearMatMul | CIM macros (8-bit weights); arithmetic unit: 8-bit "
                       "products of two activations"),
            std::string::npos);
  EXPECT_NE(table.find("| Div | arithmetic unit: 256-entry table"), std::string::npos);
}

}  // namespace
}  // namespace cimtlm::onnx
