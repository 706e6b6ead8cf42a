#include "models/cim/cim_activity.h"

#include <fstream>
#include <random>
#include <stdexcept>

#include "models/cim/cim_array_model.h"

namespace cimtlm::cim {

std::vector<CimActivityPoint> run_activity_sweep(const CimMacroParams& macro,
                                                 const CimActivityOptions& options,
                                                 const std::string& csv_path) {
  CimMacroParams params = macro;
  params.sparsity_threshold = 1.0;  // dense, like the reference sub-array
  if (options.weight_bits < 1 || options.weight_bits > params.max_weight_bits ||
      options.input_bits < 1 || options.input_bits > params.max_input_bits ||
      options.vectors_per_point < 1) {
    throw std::invalid_argument("activity sweep: bad weight/input bits or vector count");
  }
  std::vector<double> activities = options.activities;
  if (activities.empty()) {
    for (int i = 0; i <= 10; ++i) activities.push_back(i / 10.0);
  }
  for (double activity : activities) {
    if (!(activity >= 0.0 && activity <= 1.0)) {
      throw std::invalid_argument("activity sweep: activity " + std::to_string(activity) +
                                  " outside [0, 1]");
    }
  }

  // A full tile of uniformly random weights: every stored bit is 1 with probability 1/2.
  const int64_t rows = params.rows;
  const int64_t cols = logical_weight_columns(params, options.weight_bits);
  std::mt19937_64 rng(options.seed);
  std::vector<uint8_t> weights(static_cast<size_t>(rows * cols));
  const int weight_max = (1 << (options.weight_bits - 1)) - 1;
  std::uniform_int_distribution<int> weight(-weight_max - 1, weight_max);
  for (auto& w : weights) w = static_cast<uint8_t>(static_cast<int8_t>(weight(rng)));
  std::vector<int32_t> zero_points(static_cast<size_t>(cols), 0);
  CimArrayModel model(params);
  WeightTileView tile{weights.data(), true, rows, cols, options.weight_bits, zero_points.data()};
  model.load_weights(tile);

  std::vector<CimActivityPoint> points;
  std::vector<uint8_t> inputs(static_cast<size_t>(options.vectors_per_point * rows));
  std::vector<int32_t> outputs(static_cast<size_t>(options.vectors_per_point * cols));
  for (double activity : activities) {
    std::bernoulli_distribution bit(activity);
    int64_t ones = 0;
    for (auto& x : inputs) {
      int code = 0;
      for (int b = 0; b < options.input_bits; ++b) {
        if (bit(rng)) {
          code |= 1 << b;
          ++ones;
        }
      }
      x = static_cast<uint8_t>(code);
    }
    InputBatchView batch{
        inputs.data(), false, options.vectors_per_point, 0, options.input_bits, outputs.data(),
        cols,          false};
    const CimCounts counts = model.compute(batch);
    const double planes = static_cast<double>(options.vectors_per_point * options.input_bits);
    CimActivityPoint point;
    point.activity = activity;
    point.measured_activity =
        static_cast<double>(ones) / static_cast<double>(inputs.size()) / options.input_bits;
    point.adc_pj = counts.energy.adc / planes;
    point.array_pj = counts.energy.array / planes;
    point.digital_pj = counts.energy.digital / planes;
    point.latency_cycles = static_cast<double>(counts.cycles) / planes;
    point.latency_ns = point.latency_cycles * 1e9 / options.clock_hz;
    point.leakage_pj = params.leakage_mw * point.latency_ns;  // mW x ns = pJ
    point.total_pj = counts.energy.total() / planes + point.leakage_pj;
    points.push_back(point);
  }

  if (!csv_path.empty()) {
    std::ofstream csv(csv_path);
    if (!csv) throw std::runtime_error("cannot write " + csv_path);
    csv << "activity,measured_activity,total_pj,adc_pj,array_pj,digital_pj,leakage_pj,"
           "latency_cycles,latency_ns\n";
    for (const auto& p : points) {
      csv << p.activity << ',' << p.measured_activity << ',' << p.total_pj << ',' << p.adc_pj << ','
          << p.array_pj << ',' << p.digital_pj << ',' << p.leakage_pj << ',' << p.latency_cycles
          << ',' << p.latency_ns << '\n';
    }
  }
  return points;
}

}  // namespace cimtlm::cim
