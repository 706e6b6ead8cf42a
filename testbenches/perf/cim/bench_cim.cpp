// Simulated MACs per host second of one 256 x 256 macro with 8-bit weights (32 logical columns)
// and 8-bit inputs: lossless ADC (direct dot products), lossy ADC (bit-plane popcounts), the
// bit-serial path forced on a lossless ADC, and conductance variation (analog sums).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "models/cim/cim_array_model.h"

namespace cimtlm::cim {
namespace {

constexpr int64_t kRows = 256;
constexpr int64_t kVectors = 64;

void simulate_macro(benchmark::State& state, CimMacroParams params, double sparsity,
                    ComputePath path) {
  CimArrayModel model(params);
  model.set_path(path);
  const int64_t cols = logical_weight_columns(params, 8);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> weight(-128, 127), input(1, 255);
  std::bernoulli_distribution zero(sparsity);
  std::vector<uint8_t> weights(static_cast<size_t>(kRows * cols));
  for (auto& w : weights) w = static_cast<uint8_t>(static_cast<int8_t>(weight(rng)));
  std::vector<int32_t> zero_points(static_cast<size_t>(cols), 0);
  model.load_weights({weights.data(), true, kRows, cols, 8, zero_points.data()});
  std::vector<uint8_t> inputs(static_cast<size_t>(kVectors * kRows));
  for (auto& x : inputs) x = zero(rng) ? 0 : static_cast<uint8_t>(input(rng));
  std::vector<int32_t> outputs(static_cast<size_t>(kVectors * cols));
  const InputBatchView batch{inputs.data(), false, kVectors, 0, 8, outputs.data(), cols, false};

  int64_t macs = 0, cycles = 0;
  for (auto _ : state) {
    const CimCounts counts = model.compute(batch);
    benchmark::DoNotOptimize(outputs.data());
    benchmark::ClobberMemory();
    macs += counts.macs;
    cycles += counts.cycles;
  }
  state.counters["MACs/s"] =
      benchmark::Counter(static_cast<double>(macs), benchmark::Counter::kIsRate);
  state.counters["vectors/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kVectors), benchmark::Counter::kIsRate);
  state.counters["cycles/vector"] =
      static_cast<double>(cycles) / static_cast<double>(state.iterations() * kVectors);
}

CimMacroParams lossy() {
  CimMacroParams params;
  params.adc_bits = 5;  // 64 rows need 7 bits
  return params;
}

CimMacroParams with_variation() {
  CimMacroParams params;
  params.conductance_sigma = 0.03;
  return params;
}

BENCHMARK_CAPTURE(simulate_macro, lossless_dense, CimMacroParams{}, 0.0, ComputePath::Auto)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simulate_macro, lossless_sparse70, CimMacroParams{}, 0.7, ComputePath::Auto)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simulate_macro, lossy_adc5_dense, lossy(), 0.0, ComputePath::Auto)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simulate_macro, lossy_adc5_sparse70, lossy(), 0.7, ComputePath::Auto)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simulate_macro, lossless_forced_bit_serial, CimMacroParams{}, 0.0,
                  ComputePath::BitSerial)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(simulate_macro, conductance_variation, with_variation(), 0.0, ComputePath::Auto)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cimtlm::cim

BENCHMARK_MAIN();
