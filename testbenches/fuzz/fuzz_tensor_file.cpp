// Fuzz target: the .npy and ONNX TensorProto (.pb) readers of `cimtlm run --input`. The first
// byte picks the reader, the rest is the file.
#include "compiler/graph/graph.h"
#include "compiler/onnx/onnx_io.h"
#include "testbenches/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cimtlm::fuzz::set_small_budgets();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cimtlm;
  if (size == 0) return 0;
  const std::string bytes = fuzz::text_of(data + 1, size - 1);
  try {
    if (data[0] & 1) {
      (void)onnx::parse_npy(bytes, "fuzz.npy");
    } else {
      (void)onnx::parse_tensor_pb(bytes, "fuzz.pb");
    }
  } catch (const graph::ModelError&) {
  }
  return 0;
}
