// Fuzz target: ONNX model bytes through the importer (protobuf parsing, cimtlm's checks, ONNX
// shape inference) and, for quantized models, the lowering to the platform's ops: what
// `cimtlm run --network NET.onnx` does before mapping.
#include "compiler/graph/graph.h"
#include "compiler/graph/lowering.h"
#include "compiler/onnx/onnx_io.h"
#include "testbenches/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cimtlm::fuzz::set_small_budgets();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cimtlm;
  try {
    graph::Graph model = onnx::parse_onnx(fuzz::text_of(data, size), "fuzz.onnx");
    (void)graph::lower_quantized(model);
  } catch (const graph::ModelError&) {
  }
  return 0;
}
