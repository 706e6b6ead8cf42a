// Shape inference asks cimtlm's schema table (compiler/onnx/op_schemas.h) instead of ONNX's full
// registry: for every op cimtlm supports and every opset it reads, the answer must be the schema
// ONNX's own registry gives (same op, domain and since-version, with an inference function).
#include <gtest/gtest.h>

#include "compiler/onnx/onnx_io.h"
#include "compiler/onnx/op_checks.h"
#include "compiler/onnx/op_schemas.h"

namespace cimtlm::onnx {
namespace {

TEST(OpSchemas, EverySupportedOpAndOpsetGivesOnnxsOwnSchema) {
  const LoadOptions options;
  const auto& table = SupportedOpSchemas::instance();
  const auto* full = ::onnx::OpSchemaRegistry::Instance();
  int compared = 0;
  for (const auto& op : supported_onnx_ops()) {
    // libonnx 1.12 knows opsets up to 17; 18..20 are cimtlm's own (test below).
    for (int64_t opset = options.min_opset; opset <= 17; ++opset) {
      SCOPED_TRACE(op + " opset " + std::to_string(opset));
      const ::onnx::OpSchema* expected = full->GetSchema(op, static_cast<int>(opset), "");
      const ::onnx::OpSchema* got = table.GetSchema(op, static_cast<int>(opset), "");
      ASSERT_EQ(expected == nullptr, got == nullptr);
      if (!expected) continue;
      EXPECT_TRUE(table.listed(op)) << "answered by the full registry, not the table";
      EXPECT_EQ(got->Name(), expected->Name());
      EXPECT_EQ(got->domain(), expected->domain());
      EXPECT_EQ(got->SinceVersion(), expected->SinceVersion());
      EXPECT_EQ(got->has_type_and_shape_inference_function(),
                expected->has_type_and_shape_inference_function());
      EXPECT_EQ(got->inputs().size(), expected->inputs().size());
      EXPECT_EQ(got->outputs().size(), expected->outputs().size());
      ++compared;
    }
  }
  EXPECT_GT(compared, 300);  // 50-odd ops x 8 opsets, less the ops newer than an opset
}

TEST(OpSchemas, OpsetsEighteenToTwentyHaveCimtlmsDefinitions) {
  const auto& table = SupportedOpSchemas::instance();
  EXPECT_EQ(table.GetSchema("Gelu", 19, ""), nullptr);  // Gelu is new in opset 20
  const ::onnx::OpSchema* gelu = table.GetSchema("Gelu", 20, "");
  ASSERT_NE(gelu, nullptr);
  EXPECT_EQ(gelu->SinceVersion(), 20);
  EXPECT_TRUE(gelu->has_type_and_shape_inference_function());
  EXPECT_EQ(gelu->inputs().size(), 1u);
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin"}) {
    EXPECT_EQ(table.GetSchema(op, 17, "")->inputs().size(), 1u) << op;  // axes attribute
    EXPECT_EQ(table.GetSchema(op, 18, "")->inputs().size(), 2u) << op;  // axes input
    EXPECT_EQ(table.GetSchema(op, 20, "")->inputs().size(), 2u) << op;
  }
  // An op unchanged since 17 keeps its opset-17 definition at 20.
  EXPECT_EQ(table.GetSchema("Softmax", 20, "")->SinceVersion(), 13);
}

TEST(OpSchemas, OtherDomainsGoToTheFullRegistry) {
  const auto& table = SupportedOpSchemas::instance();
  EXPECT_FALSE(table.listed("QLinearAdd"));  // com.microsoft: no ONNX schema at all
  EXPECT_EQ(table.GetSchema("QLinearAdd", 1, "com.microsoft"),
            ::onnx::OpSchemaRegistry::Instance()->GetSchema("QLinearAdd", 1, "com.microsoft"));
  EXPECT_NE(table.GetSchema("LabelEncoder", 2, "ai.onnx.ml"), nullptr);
}

}  // namespace
}  // namespace cimtlm::onnx
