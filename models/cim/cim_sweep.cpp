#include "models/cim/cim_sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>

#include "models/cim/cim_array_model.h"

namespace cimtlm::cim {

namespace {

struct CodeRange {
  int32_t lo;
  int32_t hi;
};

CodeRange code_range(int bits, bool is_signed) {
  if (is_signed) return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  return {0, (1 << bits) - 1};
}

// One vector's zero rows: exactly round(sparsity x rows) of them.
std::vector<bool> zero_rows(double sparsity, int64_t rows, int64_t row_block, bool clustered,
                            std::mt19937_64& rng) {
  const auto zeros = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(rows)));
  std::vector<bool> zero(static_cast<size_t>(rows), false);
  std::vector<int64_t> candidates;
  if (clustered) {
    // Whole blocks first, the remainder scattered over the other rows.
    const int64_t full_blocks = rows / row_block;
    std::vector<int64_t> blocks(static_cast<size_t>(full_blocks));
    std::iota(blocks.begin(), blocks.end(), 0);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    const int64_t zero_blocks = std::min(full_blocks, zeros / row_block);
    for (int64_t i = 0; i < zero_blocks; ++i) {
      for (int64_t r = 0; r < row_block; ++r)
        zero[static_cast<size_t>(blocks[i] * row_block + r)] = true;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (!zero[static_cast<size_t>(r)]) candidates.push_back(r);
  }
  std::shuffle(candidates.begin(), candidates.end(), rng);
  const int64_t placed = static_cast<int64_t>(std::count(zero.begin(), zero.end(), true));
  for (int64_t i = 0; i < zeros - placed && i < static_cast<int64_t>(candidates.size()); ++i) {
    zero[static_cast<size_t>(candidates[i])] = true;
  }
  return zero;
}

void write_csv(const std::vector<CimSweepPoint>& points, double threshold,
               const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write sweep CSV '" + path + "'");
  out << "sparsity,pattern,mode,measured_sparsity,rows_disabled_fraction,blocks_skipped_fraction,"
         "energy_pj_per_vector,array_pj,adc_pj,digital_pj,detection_pj,compensation_pj,leakage_pj,"
         "latency_cycles_per_vector,latency_ns_per_vector,adc_conversions_per_vector,pj_per_mac,"
         "max_abs_error,sparsity_threshold\n";
  out.setf(std::ios::fixed);
  for (const auto& p : points) {
    out.precision(4);
    out << p.target_sparsity << ',' << p.pattern << ',' << p.mode << ',' << p.measured_sparsity
        << ',' << p.rows_disabled_fraction << ',' << p.blocks_skipped_fraction << ',';
    out.precision(3);
    out << p.energy_pj_per_vector << ',' << p.array_pj_per_vector << ',' << p.adc_pj_per_vector
        << ',' << p.digital_pj_per_vector << ',' << p.detection_pj_per_vector << ','
        << p.compensation_pj_per_vector << ',' << p.leakage_pj_per_vector << ','
        << p.latency_cycles_per_vector << ',' << p.latency_ns_per_vector << ','
        << p.adc_conversions_per_vector << ',';
    out.precision(5);
    out << p.pj_per_mac << ',' << p.max_abs_error << ',' << threshold << '\n';
  }
  if (!out) throw std::runtime_error("cannot write sweep CSV '" + path + "'");
}

}  // namespace

std::vector<CimSweepPoint> run_sparsity_sweep(const CimMacroParams& params,
                                              const CimSweepOptions& options,
                                              const std::string& csv_path) {
  // The three macros compared: no sparsity awareness, and awareness with either packing.
  CimMacroParams unaware_params = params;
  unaware_params.sparsity_threshold = 1.0;
  CimMacroParams block_params = params;
  block_params.activation_packing = "blocks";
  CimMacroParams row_params = params;
  row_params.activation_packing = "rows";
  CimArrayModel unaware(unaware_params);  // validates the parameters
  CimArrayModel blocks(block_params);
  CimArrayModel packed_rows(row_params);
  const std::pair<const char*, CimArrayModel*> modes[] = {
      {"unaware", &unaware}, {"blocks", &blocks}, {"rows", &packed_rows}};

  if (options.vectors_per_point < 1)
    throw std::invalid_argument("sweep: vectors_per_point must be >= 1");
  if (options.weight_bits < 1 || options.weight_bits > params.max_weight_bits ||
      options.input_bits < 1 || options.input_bits > params.max_input_bits) {
    throw std::invalid_argument("sweep: weight_bits / input_bits outside the macro's precision");
  }
  const CodeRange inputs = code_range(options.input_bits, options.inputs_signed);
  if (options.input_zero_point < inputs.lo || options.input_zero_point > inputs.hi) {
    throw std::invalid_argument(
        "sweep: input_zero_point " + std::to_string(options.input_zero_point) +
        " is not an input code of " + std::to_string(options.input_bits) + " bits");
  }
  if (!(options.clock_hz > 0.0)) throw std::invalid_argument("sweep: clock_hz must be positive");
  std::vector<double> sparsities = options.sparsities;
  if (sparsities.empty()) {
    for (int step = 0; step <= 19; ++step) sparsities.push_back(0.05 * step);
  }
  for (double sparsity : sparsities) {
    if (!(sparsity >= 0.0 && sparsity <= 1.0))
      throw std::invalid_argument("sweep: sparsity outside [0, 1]");
  }

  const int64_t rows = options.tile_rows > 0 ? options.tile_rows : params.rows;
  const int64_t cols = options.tile_cols > 0 ? options.tile_cols
                                             : logical_weight_columns(params, options.weight_bits);
  std::mt19937_64 rng(options.seed);

  // Symmetric signed weights of weight_bits bits (zero point 0).
  const CodeRange weight_codes = code_range(options.weight_bits, true);
  std::uniform_int_distribution<int32_t> weight_dist(weight_codes.lo, weight_codes.hi);
  std::vector<uint8_t> weights(static_cast<size_t>(rows * cols));
  std::vector<int32_t> weight_zero_points(static_cast<size_t>(cols), 0);
  for (auto& code : weights) code = static_cast<uint8_t>(static_cast<int8_t>(weight_dist(rng)));
  const WeightTileView tile{weights.data(),           true, rows, cols, options.weight_bits,
                            weight_zero_points.data()};
  for (const auto& mode : modes) mode.second->load_weights(tile);

  const int64_t vectors = options.vectors_per_point;
  std::vector<uint8_t> input_codes(static_cast<size_t>(vectors * rows));
  std::vector<int32_t> outputs(static_cast<size_t>(vectors * cols));
  std::vector<int64_t> expected(static_cast<size_t>(vectors * cols));
  std::uniform_int_distribution<int32_t> input_dist(inputs.lo, inputs.hi - 1);

  std::vector<CimSweepPoint> points;
  for (double sparsity : sparsities) {
    for (const char* pattern : {"random", "clustered"}) {
      const bool clustered = std::string(pattern) == "clustered";
      for (int64_t v = 0; v < vectors; ++v) {
        const std::vector<bool> zero = zero_rows(sparsity, rows, params.row_block, clustered, rng);
        for (int64_t r = 0; r < rows; ++r) {
          int32_t x = options.input_zero_point;
          if (!zero[static_cast<size_t>(r)]) {
            // Uniform over the codes other than the zero point.
            x = input_dist(rng);
            if (x >= options.input_zero_point) ++x;
          }
          input_codes[static_cast<size_t>(v * rows + r)] = static_cast<uint8_t>(x);
        }
        for (int64_t c = 0; c < cols; ++c) {
          int64_t acc = 0;
          for (int64_t r = 0; r < rows; ++r) {
            const int32_t x =
                options.inputs_signed
                    ? static_cast<int8_t>(input_codes[static_cast<size_t>(v * rows + r)])
                    : input_codes[static_cast<size_t>(v * rows + r)];
            acc += static_cast<int64_t>(x - options.input_zero_point) *
                   static_cast<int8_t>(weights[static_cast<size_t>(r * cols + c)]);
          }
          expected[static_cast<size_t>(v * cols + c)] = acc;
        }
      }
      const InputBatchView batch{
          input_codes.data(), options.inputs_signed, vectors, options.input_zero_point,
          options.input_bits, outputs.data(),        cols,    false};
      for (const auto& mode : modes) {
        const CimCounts counts = mode.second->compute(batch);
        CimSweepPoint point;
        point.target_sparsity = sparsity;
        point.pattern = pattern;
        point.mode = mode.first;
        const auto per_vector = [&](double total) { return total / static_cast<double>(vectors); };
        point.measured_sparsity =
            static_cast<double>(counts.zero_inputs) / static_cast<double>(counts.rows_applied);
        point.rows_disabled_fraction =
            static_cast<double>(counts.rows_disabled) / static_cast<double>(counts.rows_applied);
        point.blocks_skipped_fraction =
            static_cast<double>(counts.row_blocks_skipped) / static_cast<double>(counts.row_blocks);
        point.array_pj_per_vector = per_vector(counts.energy.array);
        point.adc_pj_per_vector = per_vector(counts.energy.adc);
        point.digital_pj_per_vector = per_vector(counts.energy.digital);
        point.detection_pj_per_vector = per_vector(counts.energy.detection);
        point.compensation_pj_per_vector = per_vector(counts.energy.compensation);
        point.latency_cycles_per_vector = per_vector(static_cast<double>(counts.cycles));
        point.latency_ns_per_vector = point.latency_cycles_per_vector * 1e9 / options.clock_hz;
        point.leakage_pj_per_vector =
            params.leakage_mw * point.latency_ns_per_vector;  // mW x ns = pJ
        point.energy_pj_per_vector =
            per_vector(counts.energy.total()) + point.leakage_pj_per_vector;
        point.adc_conversions_per_vector = per_vector(static_cast<double>(counts.adc_conversions));
        point.pj_per_mac = point.energy_pj_per_vector / static_cast<double>(rows * cols);
        for (size_t i = 0; i < outputs.size(); ++i) {
          point.max_abs_error =
              std::max<int64_t>(point.max_abs_error, std::llabs(outputs[i] - expected[i]));
        }
        points.push_back(point);
      }
    }
  }
  if (!csv_path.empty()) write_csv(points, params.sparsity_threshold, csv_path);
  return points;
}

}  // namespace cimtlm::cim
