// Controller, mapper and arithmetic unit end to end: networks mapped onto cores built from test
// doubles (exact macros, fixed-latency memories and NoC) reproduce the reference executor's
// outputs bit for bit, on one and on several cores.
#include <gtest/gtest.h>

#include <cstring>

#include "compiler/graph/layered_network.h"
#include "compiler/map/mapper.h"
#include "models/core/program_codec.h"
#include "testbenches/unit/core/test_doubles.h"

namespace cimtlm {
namespace {

using graph::LayerSpec;

struct Bench {
  std::vector<std::unique_ptr<testing::FixedLatencyMemory>> memories;
  std::vector<std::unique_ptr<testing::ExactMacro>> macros;
  std::vector<std::unique_ptr<kernel::StatGroup>> stats;
  std::vector<std::unique_ptr<arith::ArithDevice>> ariths;
  std::vector<std::unique_ptr<core::CoreController>> controllers;
  std::unique_ptr<testing::FixedLatencyServices> services;
  std::vector<std::unique_ptr<testing::RegisterCpu>> cpus;
};

constexpr core::Addr kProgramBase = 2 << 20;

graph::LayeredNetworkSpec cnn_spec() {
  graph::LayeredNetworkSpec spec;
  spec.name = "cnn";
  spec.seed = 3;
  spec.input_shape = {1, 3, 10, 10};
  spec.input_type = graph::DataType::UInt8;
  spec.input_zero_point = 0;
  auto layer = [](std::string type, std::function<void(LayerSpec&)> set) {
    LayerSpec spec;
    spec.type = std::move(type);
    set(spec);
    return spec;
  };
  spec.layers = {
      layer("conv", [](LayerSpec& l) { l.channels = 12; l.padding = 1; l.activation = "relu"; }),
      layer("conv", [](LayerSpec& l) { l.name = "dw"; l.channels = 12; l.groups = 12; l.padding = 1; l.activation = "relu"; }),
      layer("maxpool", [](LayerSpec& l) { l.kernel = 2; l.stride = 2; }),
      layer("conv", [](LayerSpec& l) { l.name = "c3"; l.channels = 20; l.kernel = 3; l.padding = 1; l.weight_bits = 4; l.activation = "relu"; }),
      layer("conv", [](LayerSpec& l) { l.channels = 20; l.kernel = 1; l.weight_sparsity = 0.6; }),
      layer("add", [](LayerSpec& l) { l.from = "c3"; l.activation = "relu"; }),
      layer("avgpool", [](LayerSpec& l) { l.kernel = 2; l.stride = 2; }),
      layer("flatten", [](LayerSpec&) {}),
      layer("dense", [](LayerSpec& l) { l.units = 70; l.activation = "relu"; }),
      layer("dense", [](LayerSpec& l) { l.units = 10; }),
  };
  return spec;
}

struct RunResult {
  graph::Tensor expected, simulated;
  map::MappingReport mapping;
};

// Runs the network on `cores` cores and returns (reference output, simulated output).
// With `through_registers`, each core's program is encoded into its memory (program_codec.h)
// and started through the control registers by a CPU stand-in that waits for the done interrupt.
RunResult run_network(const graph::LayeredNetworkSpec& spec, int cores, int macros,
                      bool double_buffering, map::MapOptions options = {},
                      uint64_t accumulator_bytes = 4096, bool through_registers = false) {
  const graph::Graph graph = graph::build_layered_network(spec);
  const graph::ValueMap inputs = graph::random_inputs(graph, 3);
  const graph::ValueMap values = graph::ReferenceExecutor(graph).run(inputs, true);

  map::ArchInfo arch;
  arch.cores = cores;
  arch.mesh_rows = 1;
  arch.mesh_cols = cores;
  arch.macros_per_core = macros;
  arch.macro_rows = 64;
  arch.macro_cols = 64;
  arch.logical_columns = [](int bits) { return int64_t{64} / bits; };
  arch.accumulator_bytes = accumulator_bytes;
  arch.weight_base = 0;
  arch.weight_capacity = 1 << 20;
  arch.activation_base = 1 << 20;
  arch.activation_capacity = 1 << 20;
  const map::Mapping mapping = map::map_network(graph, values, arch, options);

  const sc_core::sc_time period(1, sc_core::SC_NS);
  const kernel::Clock clock(period);
  Bench bench;
  bench.services = std::make_unique<testing::FixedLatencyServices>("noc", cores, period * 20.0);
  kernel::StatGroup root("chip");
  for (int c = 0; c < cores; ++c) {
    const std::string name = "core" + std::to_string(c);
    bench.memories.push_back(std::make_unique<testing::FixedLatencyMemory>(
        (name + "_memory").c_str(), through_registers ? 3 << 20 : 2 << 20, 2, 16, period));
    bench.ariths.push_back(std::make_unique<arith::ArithDevice>(
        (name + "_arith").c_str(), arith::ArithParams{64, accumulator_bytes}, clock,
        root.child(name).child("arith"), nullptr));
    core::CoreParams params;
    params.macros = macros;
    params.double_buffering = double_buffering;
    bench.controllers.push_back(std::make_unique<core::CoreController>(
        (name + "_controller").c_str(), c, params, clock, *bench.services, root.child(name),
        nullptr));
    bench.controllers.back()->memory.bind(bench.memories.back()->target);
    bench.controllers.back()->arith.bind(bench.ariths.back()->target);
    bench.controllers.back()->network.bind(bench.services->interface(c));
    for (int m = 0; m < macros; ++m) {
      bench.macros.push_back(std::make_unique<testing::ExactMacro>(
          (name + "_cim" + std::to_string(m)).c_str(), 8, period));
      (*bench.controllers.back()->cim[static_cast<size_t>(m)]).bind(bench.macros.back()->target);
    }
    bench.services->delivery(c).bind(bench.controllers.back()->network_in);
    const core::Program& program = mapping.program.cores[static_cast<size_t>(c)];
    for (const auto& image : program.images) {
      std::memcpy(bench.memories.back()->storage.data() + image.addr, image.bytes.data(), image.bytes.size());
    }
    if (through_registers) {
      const std::vector<uint8_t> image = core::encode_program(program);
      std::memcpy(bench.memories.back()->storage.data() + kProgramBase, image.data(), image.size());
      bench.cpus.push_back(std::make_unique<testing::RegisterCpu>((name + "_cpu").c_str(),
                                                                  kProgramBase, image.size(), 2));
      bench.cpus.back()->bus.bind(bench.controllers.back()->control);
      bench.cpus.back()->irq.bind(bench.controllers.back()->done_irq);
    } else {
      bench.ariths.back()->install_kernels(program);
      bench.controllers.back()->load(program, 2);
    }
  }
  for (const auto& input : mapping.program.inputs) {
    const graph::Tensor& value = inputs.at(input.name);
    std::memcpy(bench.memories[static_cast<size_t>(input.core)]->storage.data() + input.tensor.addr,
                value.raw(), value.bytes());
  }
  sc_core::sc_start();
  for (const auto& controller : bench.controllers) {
    EXPECT_TRUE(controller->finished());
    EXPECT_EQ(controller->error(), "");
    // Thousands of transactions through a few pooled payloads (the controller's own one, and
    // one more while a NoC delivery writes during a suspended transaction).
    EXPECT_LE(controller->payloads_created(), 2u);
    EXPECT_GE(controller->payloads_created(), 1u);
  }
  EXPECT_EQ(bench.services->inferences_done, 2 * cores);
  for (size_t c = 0; c < bench.cpus.size(); ++c) {
    const testing::RegisterCpu& cpu = *bench.cpus[c];
    EXPECT_FALSE(cpu.bus_error);
    EXPECT_EQ(cpu.status, core::regs::kStatusDone);
    EXPECT_EQ(cpu.error, 0u);
    EXPECT_EQ(cpu.inferences, 2u);
    EXPECT_EQ(cpu.interrupted_at, bench.controllers[c]->finish_time());
    EXPECT_EQ(cpu.finish_cycle, kernel::to_ps(bench.controllers[c]->finish_time()) / 1000);
  }
  const auto& output = mapping.program.outputs.at(0);
  const graph::Tensor& expected = values.at(graph.outputs[0].name);
  graph::Tensor simulated(expected.type(), expected.shape());
  std::memcpy(simulated.raw(),
              bench.memories[static_cast<size_t>(output.core)]->storage.data() + output.tensor.addr,
              simulated.bytes());
  return {expected, simulated, mapping.report};
}

std::pair<graph::Tensor, graph::Tensor> run_on(int cores, int macros, bool double_buffering) {
  const RunResult result = run_network(cnn_spec(), cores, macros, double_buffering);
  return {result.expected, result.simulated};
}

TEST(CoreEndToEnd, OneCoreBitExact) {
  const auto result = run_on(1, 2, true);
  EXPECT_EQ(result.first, result.second);
}

TEST(CoreEndToEnd, FourCoresBitExact) {
  const auto result = run_on(4, 4, true);
  EXPECT_EQ(result.first, result.second);
}

// The same programs fetched from memory and started through the control registers (every field
// of every command survives the encoding, or the outputs would differ).
TEST(CoreEndToEnd, FourCoresThroughRegistersBitExact) {
  const RunResult result = run_network(cnn_spec(), 4, 4, true, {}, 4096, true);
  EXPECT_EQ(result.expected, result.simulated);
}

TEST(CoreEndToEnd, SequentialExecutionBitExact) {
  const auto result = run_on(3, 1, false);
  EXPECT_EQ(result.first, result.second);
}

graph::LayeredNetworkSpec mlp_spec(double structured_sparsity) {
  graph::LayeredNetworkSpec spec;
  spec.name = "mlp";
  spec.seed = 5;
  spec.input_shape = {2, 200};
  for (int64_t units : {180, 150, 10}) {
    LayerSpec layer;
    layer.type = "dense";
    layer.units = units;
    layer.activation = units == 10 ? "none" : "relu";
    layer.structured_sparsity = units == 10 ? 0.0 : structured_sparsity;
    spec.layers.push_back(layer);
  }
  return spec;
}

// Structured pruning: whole rows and columns leave the arrays, so fewer tiles, same outputs.
TEST(CoreEndToEnd, PrunedNetworkTakesFewerTilesAndStaysExact) {
  const RunResult dense = run_network(mlp_spec(0.0), 1, 4, true);
  EXPECT_EQ(dense.expected, dense.simulated);
  EXPECT_EQ(dense.mapping.tiles, dense.mapping.tiles_dense);
  // (Tiles of different runs compared in one process: the second network is mapped but not
  // simulated, because SystemC elaborates once per process.)
  const graph::Graph pruned = graph::build_layered_network(mlp_spec(0.7));
  const graph::ValueMap values = graph::ReferenceExecutor(pruned).run(graph::random_inputs(pruned, 3), true);
  map::ArchInfo arch;
  arch.macro_rows = 64;
  arch.macro_cols = 64;
  arch.logical_columns = [](int bits) { return int64_t{64} / bits; };
  arch.weight_capacity = 1 << 20;
  arch.activation_base = 1 << 20;
  arch.activation_capacity = 1 << 20;
  arch.macros_per_core = 4;
  const map::Mapping mapping = map::map_network(pruned, values, arch);
  EXPECT_EQ(mapping.report.tiles_dense, dense.mapping.tiles_dense);
  EXPECT_LT(mapping.report.tiles, dense.mapping.tiles * 6 / 10);
  int64_t rows_removed = 0, columns_removed = 0;
  for (const auto& layer : mapping.report.layers) {
    rows_removed += layer.rows_removed;
    columns_removed += layer.columns_removed;
  }
  EXPECT_GT(rows_removed, 0);
  EXPECT_GT(columns_removed, 0);
}

TEST(CoreEndToEnd, PrunedNetworkBitExact) {
  const RunResult result = run_network(mlp_spec(0.7), 2, 2, true);
  EXPECT_EQ(result.expected, result.simulated);
  EXPECT_LT(result.mapping.tiles, result.mapping.tiles_dense);
}

// Every layer's output channels split over all cores, slices gathered over the NoC.
TEST(CoreEndToEnd, PartitionedPlacementBitExact) {
  map::MapOptions options;
  options.placement = "partitioned";
  const RunResult result = run_network(cnn_spec(), 4, 2, true, options);
  EXPECT_EQ(result.expected, result.simulated);
  EXPECT_EQ(result.mapping.placement, "partitioned");
  bool split = false;
  for (const auto& layer : result.mapping.layers) split = split || layer.cores.size() > 1;
  EXPECT_TRUE(split);
}

// More cores than layers: cores shared out by MACs, big layers partitioned.
TEST(CoreEndToEnd, SharedPlacementBitExact) {
  const RunResult result = run_network(mlp_spec(0.0), 8, 2, true);
  EXPECT_EQ(result.expected, result.simulated);
  EXPECT_EQ(result.mapping.placement, "shared");
}

// Depthwise groups packed block-diagonally: far fewer tiles than one per group.
TEST(CoreEndToEnd, DepthwiseGroupsArePacked) {
  const RunResult result = run_network(cnn_spec(), 1, 2, true);
  EXPECT_EQ(result.expected, result.simulated);
  for (const auto& layer : result.mapping.layers) {
    if (layer.layer == "dw") {
      EXPECT_EQ(layer.groups, 12);
      EXPECT_LT(layer.tiles, 12);
      EXPECT_LT(layer.blocks, 12);
    }
  }
}

// Exact accumulation in vector batches keeps every value exact however small the memory.
TEST(CoreEndToEnd, SmallAccumulatorExactInBatches) {
  const RunResult result = run_network(cnn_spec(), 1, 2, true, {}, 512);
  EXPECT_EQ(result.expected, result.simulated);
  EXPECT_LE(result.mapping.accumulator_peak_bytes, 256u);
  EXPECT_EQ(result.mapping.rescaled_batches, 0);
}

// Rescaled accumulation: the peak stays under the limit and the error is bounded.
TEST(CoreEndToEnd, RescaledAccumulationStaysUnderTheLimit) {
  map::MapOptions options;
  options.accumulation = "rescale";
  const RunResult result = run_network(cnn_spec(), 1, 2, true, options, 1024);
  EXPECT_LE(result.mapping.accumulator_peak_bytes, 512u);
  EXPECT_GT(result.mapping.rescaled_batches, 0);
  EXPECT_GT(result.mapping.accumulator_exact_bytes, 512u);
  int64_t worst = 0;
  for (int64_t i = 0; i < result.expected.elements(); ++i) {
    worst = std::max(worst, std::abs(result.expected.as_int(i) - result.simulated.as_int(i)));
  }
  EXPECT_LT(worst, 128);  // rescaled, not garbage
}

TEST(CoreEndToEnd, RescaledAccumulationIsExactWhenNothingNeedsRescaling) {
  map::MapOptions options;
  options.accumulation = "rescale";
  const RunResult result = run_network(cnn_spec(), 1, 2, true, options, 1 << 16);
  EXPECT_EQ(result.mapping.rescaled_batches, 0);
  EXPECT_EQ(result.expected, result.simulated);
}

}  // namespace
}  // namespace cimtlm

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
