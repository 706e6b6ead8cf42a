#include "compiler/onnx/op_schemas.h"

#include <onnx/defs/operator_sets.h>
#include <onnx/defs/shape_inference.h>

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace cimtlm::onnx {

namespace {

using SchemaMaker = ::onnx::OpSchema (*)();

struct Version {
  int since;
  SchemaMaker make;
};

#define SCHEMA(op, version)                                                                    \
  {                                                                                            \
#op, Version {                                                                             \
      version,                                                                                 \
          &::onnx::GetOpSchema<::onnx::ONNX_OPERATOR_SET_SCHEMA_CLASS_NAME(Onnx, version, op)> \
    }                                                                                          \
  }

// Gelu-20 (newer than ONNX 1.12): one input, one output of the same type and shape, attribute
// 'approximate' ("none" or "tanh"), as onnx/defs/math/defs.cc of ONNX 1.15 defines it.
::onnx::OpSchema gelu_20() {
  ::onnx::OpSchema schema;
  schema.SetName("Gelu")
      .SetDomain("")
      .SinceVersion(20)
      .Attr("approximate", "none (erf) or tanh", ::onnx::AttributeProto::STRING,
            std::string("none"))
      .Input(0, "X", "input", "T")
      .Output(0, "Y", "output", "T")
      .TypeConstraint("T",
                      {"tensor(float16)", "tensor(float)", "tensor(double)", "tensor(bfloat16)"},
                      "float tensors")
      .TypeAndShapeInferenceFunction(::onnx::propagateShapeAndTypeFromFirstInput);
  return schema;
}

// ReduceMean / ReduceMax / ReduceMin of opset 18 take the axes as an optional second input, as
// ReduceSum does since 13: ReduceSum-13's shape inference is theirs (18 changed nothing else;
// 20 added bool tensors to ReduceMax / ReduceMin).
using ReduceSum13 = ::onnx::ONNX_OPERATOR_SET_SCHEMA_CLASS_NAME(Onnx, 13, ReduceSum);
::onnx::OpSchema reduce_18() {
  return ::onnx::GetOpSchema<ReduceSum13>();
}

// Every version ONNX 1.12 defines of each op cimtlm supports (onnx/defs/operator_sets.h),
// ascending, and the definitions of opsets 18..20 cimtlm knows (Gelu-20, Reduce*-18; the other
// ops whose definitions changed in 18..20 are checked by check_op_at_opset and keep their
// opset-17 schema).
const std::multimap<std::string, Version>& versions() {
  static const std::multimap<std::string, Version> table = {
      {"Gelu", Version{20, &gelu_20}},
      {"ReduceMax", Version{18, &reduce_18}},
      {"ReduceMean", Version{18, &reduce_18}},
      {"ReduceMin", Version{18, &reduce_18}},
      SCHEMA(Abs, 1),
      SCHEMA(Abs, 6),
      SCHEMA(Abs, 13),
      SCHEMA(Add, 1),
      SCHEMA(Add, 6),
      SCHEMA(Add, 7),
      SCHEMA(Add, 13),
      SCHEMA(Add, 14),
      SCHEMA(AveragePool, 1),
      SCHEMA(AveragePool, 7),
      SCHEMA(AveragePool, 10),
      SCHEMA(AveragePool, 11),
      SCHEMA(BatchNormalization, 1),
      SCHEMA(BatchNormalization, 6),
      SCHEMA(BatchNormalization, 7),
      SCHEMA(BatchNormalization, 9),
      SCHEMA(BatchNormalization, 14),
      SCHEMA(BatchNormalization, 15),
      SCHEMA(Cast, 1),
      SCHEMA(Cast, 6),
      SCHEMA(Cast, 9),
      SCHEMA(Cast, 13),
      SCHEMA(Clip, 1),
      SCHEMA(Clip, 6),
      SCHEMA(Clip, 11),
      SCHEMA(Clip, 12),
      SCHEMA(Clip, 13),
      SCHEMA(Concat, 1),
      SCHEMA(Concat, 4),
      SCHEMA(Concat, 11),
      SCHEMA(Concat, 13),
      SCHEMA(Conv, 1),
      SCHEMA(Conv, 11),
      SCHEMA(ConvInteger, 10),
      SCHEMA(ConvTranspose, 1),
      SCHEMA(ConvTranspose, 11),
      SCHEMA(DequantizeLinear, 10),
      SCHEMA(DequantizeLinear, 13),
      SCHEMA(Div, 1),
      SCHEMA(Div, 6),
      SCHEMA(Div, 7),
      SCHEMA(Div, 13),
      SCHEMA(Div, 14),
      SCHEMA(DynamicQuantizeLinear, 11),
      SCHEMA(Erf, 9),
      SCHEMA(Erf, 13),
      SCHEMA(Exp, 1),
      SCHEMA(Exp, 6),
      SCHEMA(Exp, 13),
      SCHEMA(Expand, 8),
      SCHEMA(Expand, 13),
      SCHEMA(Flatten, 1),
      SCHEMA(Flatten, 9),
      SCHEMA(Flatten, 11),
      SCHEMA(Flatten, 13),
      SCHEMA(Gather, 1),
      SCHEMA(Gather, 11),
      SCHEMA(Gather, 13),
      SCHEMA(Gemm, 1),
      SCHEMA(Gemm, 6),
      SCHEMA(Gemm, 7),
      SCHEMA(Gemm, 9),
      SCHEMA(Gemm, 11),
      SCHEMA(Gemm, 13),
      SCHEMA(GlobalAveragePool, 1),
      SCHEMA(GlobalMaxPool, 1),
      SCHEMA(HardSigmoid, 1),
      SCHEMA(HardSigmoid, 6),
      SCHEMA(HardSwish, 14),
      SCHEMA(Identity, 1),
      SCHEMA(Identity, 13),
      SCHEMA(Identity, 14),
      SCHEMA(Identity, 16),
      SCHEMA(LayerNormalization, 17),
      SCHEMA(LeakyRelu, 1),
      SCHEMA(LeakyRelu, 6),
      SCHEMA(LeakyRelu, 16),
      SCHEMA(Log, 1),
      SCHEMA(Log, 6),
      SCHEMA(Log, 13),
      SCHEMA(MatMul, 1),
      SCHEMA(MatMul, 9),
      SCHEMA(MatMul, 13),
      SCHEMA(MatMulInteger, 10),
      SCHEMA(Max, 1),
      SCHEMA(Max, 6),
      SCHEMA(Max, 8),
      SCHEMA(Max, 12),
      SCHEMA(Max, 13),
      SCHEMA(MaxPool, 1),
      SCHEMA(MaxPool, 8),
      SCHEMA(MaxPool, 10),
      SCHEMA(MaxPool, 11),
      SCHEMA(MaxPool, 12),
      SCHEMA(Min, 1),
      SCHEMA(Min, 6),
      SCHEMA(Min, 8),
      SCHEMA(Min, 12),
      SCHEMA(Min, 13),
      SCHEMA(Mul, 1),
      SCHEMA(Mul, 6),
      SCHEMA(Mul, 7),
      SCHEMA(Mul, 13),
      SCHEMA(Mul, 14),
      SCHEMA(Neg, 1),
      SCHEMA(Neg, 6),
      SCHEMA(Neg, 13),
      SCHEMA(PRelu, 1),
      SCHEMA(PRelu, 6),
      SCHEMA(PRelu, 7),
      SCHEMA(PRelu, 9),
      SCHEMA(PRelu, 16),
      SCHEMA(Pad, 1),
      SCHEMA(Pad, 2),
      SCHEMA(Pad, 11),
      SCHEMA(Pad, 13),
      SCHEMA(Pow, 1),
      SCHEMA(Pow, 7),
      SCHEMA(Pow, 12),
      SCHEMA(Pow, 13),
      SCHEMA(Pow, 15),
      SCHEMA(QLinearConv, 10),
      SCHEMA(QLinearMatMul, 10),
      SCHEMA(QuantizeLinear, 10),
      SCHEMA(QuantizeLinear, 13),
      SCHEMA(Reciprocal, 1),
      SCHEMA(Reciprocal, 6),
      SCHEMA(Reciprocal, 13),
      SCHEMA(ReduceMax, 1),
      SCHEMA(ReduceMax, 11),
      SCHEMA(ReduceMax, 12),
      SCHEMA(ReduceMax, 13),
      SCHEMA(ReduceMean, 1),
      SCHEMA(ReduceMean, 11),
      SCHEMA(ReduceMean, 13),
      SCHEMA(ReduceMin, 1),
      SCHEMA(ReduceMin, 11),
      SCHEMA(ReduceMin, 12),
      SCHEMA(ReduceMin, 13),
      SCHEMA(ReduceSum, 1),
      SCHEMA(ReduceSum, 11),
      SCHEMA(ReduceSum, 13),
      SCHEMA(Relu, 1),
      SCHEMA(Relu, 6),
      SCHEMA(Relu, 13),
      SCHEMA(Relu, 14),
      SCHEMA(Reshape, 1),
      SCHEMA(Reshape, 5),
      SCHEMA(Reshape, 13),
      SCHEMA(Reshape, 14),
      SCHEMA(Resize, 10),
      SCHEMA(Resize, 11),
      SCHEMA(Resize, 13),
      SCHEMA(Sigmoid, 1),
      SCHEMA(Sigmoid, 6),
      SCHEMA(Sigmoid, 13),
      SCHEMA(Slice, 1),
      SCHEMA(Slice, 10),
      SCHEMA(Slice, 11),
      SCHEMA(Slice, 13),
      SCHEMA(Softmax, 1),
      SCHEMA(Softmax, 11),
      SCHEMA(Softmax, 13),
      SCHEMA(Split, 1),
      SCHEMA(Split, 2),
      SCHEMA(Split, 11),
      SCHEMA(Split, 13),
      SCHEMA(Sqrt, 1),
      SCHEMA(Sqrt, 6),
      SCHEMA(Sqrt, 13),
      SCHEMA(Squeeze, 1),
      SCHEMA(Squeeze, 11),
      SCHEMA(Squeeze, 13),
      SCHEMA(Sub, 1),
      SCHEMA(Sub, 6),
      SCHEMA(Sub, 7),
      SCHEMA(Sub, 13),
      SCHEMA(Sub, 14),
      SCHEMA(Tanh, 1),
      SCHEMA(Tanh, 6),
      SCHEMA(Tanh, 13),
      SCHEMA(Transpose, 1),
      SCHEMA(Transpose, 13),
      SCHEMA(Unsqueeze, 1),
      SCHEMA(Unsqueeze, 11),
      SCHEMA(Unsqueeze, 13),
      SCHEMA(Where, 9),
      SCHEMA(Where, 16),
  };
  return table;
}

#undef SCHEMA

bool default_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// ONNX 1.12's convolution shape inference (convPoolShapeInference, convTransposeShapeInference)
// indexes the data input's dimensions by the weight's without comparing the ranks: a Conv whose
// data has fewer dimensions than its weight reads past the shape and crashes the process (found
// by the onnx_model fuzzer). The ONNX spec requires data and weight of equal rank >= 3; checked
// here first, so such a model is an inference error naming the node, as ONNX's other checks are.
struct ConvInputs {
  int data;
  int weight;
};

const ConvInputs* conv_inputs(const std::string& op_type) {
  static const std::map<std::string, ConvInputs> ops = {
      {"Conv", {0, 1}}, {"ConvInteger", {0, 1}}, {"ConvTranspose", {0, 1}}, {"QLinearConv", {0, 3}}};
  auto found = ops.find(op_type);
  return found == ops.end() ? nullptr : &found->second;
}

void guard_conv_ranks(::onnx::OpSchema& schema, ConvInputs inputs) {
  ::onnx::InferenceFunction original = schema.GetTypeAndShapeInferenceFunction();
  schema.TypeAndShapeInferenceFunction([original, inputs](::onnx::InferenceContext& ctx) {
    const auto data = static_cast<size_t>(inputs.data);
    const auto weight = static_cast<size_t>(inputs.weight);
    if (::onnx::hasInputShape(ctx, data) && ::onnx::hasInputShape(ctx, weight)) {
      const int data_rank = ctx.getInputType(data)->tensor_type().shape().dim_size();
      const int weight_rank = ctx.getInputType(weight)->tensor_type().shape().dim_size();
      if (data_rank < 3 || data_rank != weight_rank) {
        // fail_shape_inference's expansion names `onnx::`, which is this namespace here.
        throw ::onnx::InferenceError(::onnx::MakeString(
            "[ShapeInferenceError] data (input ", data, ") has rank ", data_rank,
            " and weight (input ", weight, ") rank ", weight_rank,
            ": both must be the same, at least 3"));
      }
    }
    if (original) original(ctx);
  });
}

}  // namespace

const SupportedOpSchemas& SupportedOpSchemas::instance() {
  static const SupportedOpSchemas registry;
  return registry;
}

bool SupportedOpSchemas::listed(const std::string& op_type) const {
  return versions().count(op_type) != 0;
}

const ::onnx::OpSchema* SupportedOpSchemas::GetSchema(const std::string& op_type,
                                                      int max_inclusive_version,
                                                      const std::string& domain) const {
  if (!default_domain(domain) || !listed(op_type)) {
    return ::onnx::OpSchemaRegistry::Instance()->GetSchema(op_type, max_inclusive_version, domain);
  }
  const Version* chosen = nullptr;
  auto range = versions().equal_range(op_type);
  for (auto entry = range.first; entry != range.second; ++entry) {
    if (entry->second.since <= max_inclusive_version &&
        (!chosen || entry->second.since > chosen->since)) {
      chosen = &entry->second;
    }
  }
  if (!chosen) return nullptr;
  // Built once per (op, version) and kept for the process, as the full registry keeps its own.
  static std::mutex mutex;
  static std::map<std::pair<std::string, int>, std::unique_ptr<::onnx::OpSchema>> built;
  std::lock_guard<std::mutex> lock(mutex);
  auto& schema = built[{op_type, chosen->since}];
  if (!schema) {
    schema = std::make_unique<::onnx::OpSchema>(chosen->make());
    if (const ConvInputs* inputs = conv_inputs(op_type)) guard_conv_ranks(*schema, *inputs);
    schema->Finalize();
  }
  return schema.get();
}

}  // namespace cimtlm::onnx
