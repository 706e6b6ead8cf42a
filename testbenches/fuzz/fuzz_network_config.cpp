// Fuzz target: a layer-list network file through the network schema, the layer checks and the
// construction of the quantized graph (weights drawn, shapes checked against the budget).
#include "compiler/graph/graph.h"
#include "compiler/graph/layered_network.h"
#include "platforms/config/config.h"
#include "platforms/config/network_config.h"
#include "testbenches/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cimtlm::fuzz::set_small_budgets();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cimtlm;
  try {
    const platforms::Config config = platforms::load_config_text(
        fuzz::text_of(data, size), "fuzz_network.yaml", platforms::network_schema());
    const graph::LayeredNetworkSpec spec = platforms::network_spec_of(config);
    (void)graph::build_layered_network(spec);
  } catch (const platforms::ConfigError&) {
  } catch (const graph::ModelError&) {
  } catch (const graph::TensorSizeError&) {  // load_network() adds the file name to these
  }
  return 0;
}
