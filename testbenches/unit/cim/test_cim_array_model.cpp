// CimArrayModel against the reference executor: property tests over random shapes, bit widths,
// signedness, zero points, sparsities and thresholds; counts, timing and energy promises; the
// lossy-ADC error bound of models/cim/README.md; non-idealities; bad jobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "models/cim/cim_array_model.h"
#include "testbenches/unit/cim/cim_test_support.h"

namespace cimtlm::cim {
namespace {

using test::code_range;
using test::random_inputs;
using test::random_tile;
using test::reference_matmul;
using test::Tile;
using test::uniform;

// A random macro geometry; lossless ADC unless `adc_bits_below_lossless` > 0.
CimMacroParams random_params(std::mt19937_64& rng, int adc_bits_below_lossless = 0) {
  CimMacroParams params;
  const int64_t sizes[] = {32, 64, 128, 256};
  params.rows = sizes[uniform(rng, 0, 3)];
  params.cols = sizes[uniform(rng, 0, 3)];
  params.cell_bits = uniform(rng, 1, 2);
  params.encoding = uniform(rng, 0, 1) ? "offset" : "differential";
  const int64_t activation_choices[] = {8, 16, 32, 64};
  params.rows_per_activation = std::min(params.rows, activation_choices[uniform(rng, 0, 3)]);
  const int64_t block_choices[] = {1, 2, 4, 8, 16};
  do {
    params.row_block = block_choices[uniform(rng, 0, 4)];
  } while (params.rows_per_activation % params.row_block != 0 ||
           params.row_block > params.rows_per_activation);
  const int64_t mux_choices[] = {1, 2, 4, 8, 16};
  params.cols_per_adc = mux_choices[uniform(rng, 0, 4)];
  const int64_t full_scale = params.rows_per_activation * params.cell_max();
  int lossless_bits = 1;
  while ((int64_t{1} << lossless_bits) - 1 < full_scale) ++lossless_bits;
  params.adc_bits = std::max(1, lossless_bits - adc_bits_below_lossless);
  const double thresholds[] = {0.0, 0.25, 0.5, 0.75, 1.0};
  params.sparsity_threshold = thresholds[uniform(rng, 0, 4)];
  params.adc_range_narrowing = uniform(rng, 0, 3) != 0;
  params.activation_packing = uniform(rng, 0, 1) ? "blocks" : "rows";
  EXPECT_EQ(params.validate(), "");
  return params;
}

struct RandomJob {
  Tile tile;
  std::vector<uint8_t> inputs;
  bool inputs_signed = false;
  int input_bits = 8;
  int32_t input_zero_point = 0;
  int64_t vectors = 0;
};

RandomJob random_job(std::mt19937_64& rng, const CimMacroParams& params) {
  RandomJob job;
  const int weight_bits = uniform(rng, 1, 8);
  const int64_t capacity = logical_weight_columns(params, weight_bits);
  const int64_t rows = uniform(rng, 1, static_cast<int32_t>(params.rows));
  const int64_t cols = uniform(
      rng, 1, static_cast<int32_t>(std::min<int64_t>(capacity, uniform(rng, 0, 3) ? 16 : 256)));
  job.tile =
      random_tile(rng, rows, cols, weight_bits, uniform(rng, 0, 1) == 1, uniform(rng, 0, 1) == 1);
  job.inputs_signed = uniform(rng, 0, 1) == 1;
  job.input_bits = uniform(rng, 1, 8);
  // Mostly a zero point the inputs can take (so zeros occur); sometimes any 8-bit code.
  const auto range = uniform(rng, 0, 4) == 0 ? code_range(8, job.inputs_signed)
                                             : code_range(job.input_bits, job.inputs_signed);
  job.input_zero_point = uniform(rng, range.lo, range.hi);
  job.vectors = uniform(rng, 1, 6);
  const std::vector<double> sparsities = {0.0, 0.1, 0.3, 0.55, 0.8, 0.95, 1.0};
  std::vector<double> chosen;
  for (int64_t v = 0; v < job.vectors; ++v) chosen.push_back(sparsities[uniform(rng, 0, 6)]);
  job.inputs =
      random_inputs(rng, job.vectors, rows, job.input_bits, job.inputs_signed, job.input_zero_point,
                    chosen, params.row_block, uniform(rng, 0, 1) == 1);
  return job;
}

InputBatchView batch_of(const RandomJob& job, std::vector<int32_t>& outputs) {
  outputs.assign(static_cast<size_t>(job.vectors * job.tile.cols), 0);
  return {job.inputs.data(), job.inputs_signed, job.vectors,   job.input_zero_point,
          job.input_bits,    outputs.data(),    job.tile.cols, false};
}

// A fresh macro with `params` on `path` computes the job: its counts, its outputs in `outputs`.
CimCounts run_job(const CimMacroParams& params, ComputePath path, const RandomJob& job,
                  std::vector<int32_t>& outputs) {
  CimArrayModel model(params);
  model.set_path(path);
  model.load_weights(job.tile.view());
  return model.compute(batch_of(job, outputs));
}

std::vector<int32_t> reference_of(const RandomJob& job) {
  return reference_matmul(job.inputs, job.inputs_signed, job.vectors, job.tile.rows,
                          job.input_zero_point, job.tile.values, job.tile.is_signed, job.tile.cols,
                          job.tile.zero_points);
}

// Expected disabled rows and sparse vectors from the inputs alone (the promise of the brief).
struct SparsityExpectation {
  int64_t zeros = 0;
  int64_t rows_disabled = 0;
  int64_t sparse_vectors = 0;
};
SparsityExpectation expected_sparsity(const RandomJob& job, double threshold) {
  SparsityExpectation e;
  for (int64_t v = 0; v < job.vectors; ++v) {
    int64_t zeros = 0;
    for (int64_t r = 0; r < job.tile.rows; ++r) {
      const uint8_t code = job.inputs[static_cast<size_t>(v * job.tile.rows + r)];
      const int32_t x = job.inputs_signed ? static_cast<int8_t>(code) : code;
      zeros += x == job.input_zero_point ? 1 : 0;
    }
    e.zeros += zeros;
    const bool sparse = threshold < 1.0 &&
                        static_cast<double>(zeros) / static_cast<double>(job.tile.rows) > threshold;
    e.rows_disabled += sparse ? zeros : 0;
    e.sparse_vectors += sparse ? 1 : 0;
  }
  return e;
}

void expect_same_counts(const CimCounts& a, const CimCounts& b) {
  EXPECT_EQ(a.vectors, b.vectors);
  EXPECT_EQ(a.rows_disabled, b.rows_disabled);
  EXPECT_EQ(a.row_blocks_skipped, b.row_blocks_skipped);
  EXPECT_EQ(a.activations, b.activations);
  EXPECT_EQ(a.conducting_rows, b.conducting_rows);
  EXPECT_EQ(a.adc_conversions, b.adc_conversions);
  EXPECT_EQ(a.compensations, b.compensations);
  EXPECT_EQ(a.cycles, b.cycles);
  EXPECT_DOUBLE_EQ(a.energy.total(), b.energy.total());
}

// The central promise: with a lossless ADC the outputs equal the reference executor's exactly,
// in dense and sparse mode (so the compensation is right), on both the fast path and the
// bit-serial path that really disables rows, skips blocks and compensates.
TEST(CimArrayModel, LosslessOutputsEqualReferenceExecutorAboveAndBelowThreshold) {
  std::mt19937_64 rng(20240611);
  int64_t sparse_vectors = 0, dense_vectors = 0, compensated = 0, skipped_blocks = 0,
          mask_conversions = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const CimMacroParams params = random_params(rng);
    ASSERT_TRUE(params.adc_lossless());
    const RandomJob job = random_job(rng, params);
    const std::vector<int32_t> expected = reference_of(job);
    SCOPED_TRACE("trial " + std::to_string(trial) + ": rows " + std::to_string(job.tile.rows) +
                 " cols " + std::to_string(job.tile.cols) + " wbits " +
                 std::to_string(job.tile.bits) + " xbits " + std::to_string(job.input_bits) +
                 " zx " + std::to_string(job.input_zero_point) + " threshold " +
                 std::to_string(params.sparsity_threshold) + " " + params.encoding + " cell_bits " +
                 std::to_string(params.cell_bits) + " packing " + params.activation_packing);

    std::vector<int32_t> fast_out, serial_out;
    const CimCounts fast_counts = run_job(params, ComputePath::Auto, job, fast_out);
    const CimCounts serial_counts = run_job(params, ComputePath::BitSerial, job, serial_out);
    ASSERT_EQ(fast_out, expected);
    ASSERT_EQ(serial_out, expected);
    expect_same_counts(fast_counts, serial_counts);
    if (trial % 3 == 0) {
      // The analog path (conductance sums) and the noisy-ADC path with negligible sigmas must
      // do the same algebra: exact results and identical counts.
      CimMacroParams analog_params = params;
      analog_params.conductance_sigma = 1e-7;
      analog_params.adc_noise_lsb = 1e-9;
      CimArrayModel analog(analog_params);
      analog.load_weights(job.tile.view());
      std::vector<int32_t> analog_out;
      const CimCounts analog_counts = analog.compute(batch_of(job, analog_out));
      ASSERT_EQ(analog_out, expected);
      expect_same_counts(analog_counts, serial_counts);
    }

    const SparsityExpectation e = expected_sparsity(job, params.sparsity_threshold);
    EXPECT_EQ(serial_counts.zero_inputs, e.zeros);
    EXPECT_EQ(serial_counts.rows_disabled, e.rows_disabled);
    EXPECT_EQ(serial_counts.sparse_vectors, e.sparse_vectors);
    EXPECT_EQ(serial_counts.macs, job.vectors * job.tile.rows * job.tile.cols);
    sparse_vectors += e.sparse_vectors;
    dense_vectors += job.vectors - e.sparse_vectors;
    compensated += serial_counts.compensations;
    skipped_blocks += serial_counts.row_blocks_skipped;
    mask_conversions += serial_counts.compensation_conversions;
  }
  // The random cases really covered both modes, compensation, block skipping and mask planes.
  EXPECT_GT(sparse_vectors, 100);
  EXPECT_GT(dense_vectors, 100);
  EXPECT_GT(compensated, 100);
  EXPECT_GT(skipped_blocks, 100);
  EXPECT_GT(mask_conversions, 100);
}

// Default macro, one vector at a time: below the threshold nothing is disabled; above it the
// disabled fraction equals the measured sparsity, energy falls and the output stays exact.
TEST(CimArrayModel, SparseModeDisablesExactlyTheZeroRowsAndSavesEnergy) {
  for (const int32_t zero_point : {0, 100}) {  // symmetric-like and asymmetric uint8 inputs
    std::mt19937_64 rng(7 + static_cast<uint64_t>(zero_point));
    CimMacroParams params;  // threshold 0.5
    CimMacroParams unaware_params = params;
    unaware_params.sparsity_threshold = 1.0;
    const Tile tile = random_tile(rng, 256, 32, 8, true, false);
    CimArrayModel aware(params), unaware(unaware_params), serial(params);
    serial.set_path(ComputePath::BitSerial);
    aware.load_weights(tile.view());
    unaware.load_weights(tile.view());
    serial.load_weights(tile.view());

    double previous_energy = 1e300;
    for (const double sparsity : {0.0, 0.2, 0.45, 0.55, 0.7, 0.85, 0.95}) {
      SCOPED_TRACE("zero point " + std::to_string(zero_point) + ", sparsity " +
                   std::to_string(sparsity));
      const std::vector<uint8_t> x =
          random_inputs(rng, 1, 256, 8, false, zero_point, {sparsity}, params.row_block, false);
      const auto expected =
          reference_matmul(x, false, 1, 256, zero_point, tile.values, true, 32, tile.zero_points);
      std::vector<int32_t> out_aware(32), out_unaware(32), out_serial(32);
      const CimCounts a =
          aware.compute({x.data(), false, 1, zero_point, 8, out_aware.data(), 32, false});
      const CimCounts u =
          unaware.compute({x.data(), false, 1, zero_point, 8, out_unaware.data(), 32, false});
      serial.compute({x.data(), false, 1, zero_point, 8, out_serial.data(), 32, false});
      EXPECT_EQ(out_aware, expected);
      EXPECT_EQ(out_unaware, expected);
      EXPECT_EQ(out_serial, expected);
      const double measured = static_cast<double>(a.zero_inputs) / 256.0;
      EXPECT_NEAR(measured, sparsity, 0.5 / 256);
      EXPECT_EQ(u.rows_disabled, 0);
      EXPECT_EQ(u.energy.detection, 0.0);  // no detector when sparsity awareness is off
      if (measured > params.sparsity_threshold) {
        EXPECT_DOUBLE_EQ(static_cast<double>(a.rows_disabled) / static_cast<double>(a.rows_applied),
                         measured);
        EXPECT_LT(a.energy.total(), u.energy.total());
        EXPECT_LT(a.energy.total(), previous_energy);
        EXPECT_EQ(a.compensations, zero_point != 0 ? 32 : 0);
      } else {
        EXPECT_EQ(a.rows_disabled, 0);
        EXPECT_EQ(a.row_blocks_skipped, 0);
        EXPECT_EQ(a.compensations, 0);
        // Same work as without awareness, plus the detector.
        EXPECT_EQ(a.adc_conversions, u.adc_conversions);
        EXPECT_NEAR(a.energy.total() - u.energy.total(), 256 * params.detection_energy_pj_per_row,
                    1e-9);
        EXPECT_EQ(a.cycles - u.cycles, params.detection_cycles);
      }
      previous_energy = a.energy.total();
    }
  }
}

// README "Timing": per vector, detection + (input_bits x steps + mask steps) x step cycles +
// shift-add drain + compensation; step = row activation + ceil(used cols / ADCs) conversions.
TEST(CimArrayModel, LatencyEqualsTheFormula) {
  CimMacroParams params;
  params.rows = 128;
  params.cols = 64;  // 8 ADCs of 8 columns
  params.rows_per_activation = 64;
  params.row_block = 16;
  params.sparsity_threshold = 0.3;
  CimArrayModel model(params);
  std::mt19937_64 rng(3);
  const Tile tile = random_tile(rng, 128, 8, 8, true, false);  // 8 x 8 slices = 64 columns
  const CimCounts write = model.load_weights(tile.view());
  EXPECT_EQ(write.cycles, 128 * params.weight_write_cycles_per_row);
  EXPECT_EQ(write.cells_written, 128 * 64);
  const int64_t step = params.row_activation_cycles + 8 * params.adc_conversion_cycles;  // 2 + 64
  EXPECT_EQ(model.activation_step_cycles(), step);

  std::vector<int32_t> out(8);
  auto run = [&](const std::vector<uint8_t>& x, int32_t zero_point) {
    return model.compute({x.data(), false, 1, zero_point, 4, out.data(), 8, false}).cycles;
  };
  // Dense: 4 planes x 2 steps.
  std::vector<uint8_t> dense(128, 5);
  EXPECT_EQ(run(dense, 0), 2 + 4 * 2 * step + 1);
  // Rows 0..63 zero (4 whole blocks skipped), zero point 0: one step, no compensation.
  std::vector<uint8_t> half(128, 5);
  std::fill(half.begin(), half.begin() + 64, 0);
  EXPECT_EQ(run(half, 0), 2 + 4 * 1 * step + 1);
  // Same with zero point 3 and one more zero row inside an active block: compensation with a
  // mask plane over the one active step.
  std::vector<uint8_t> asym(128, 5);
  std::fill(asym.begin(), asym.begin() + 64, 3);
  asym[100] = 3;
  EXPECT_EQ(run(asym, 3), 2 + (4 * 1 + 1) * step + 1 + params.compensation_cycles);
  // All zero: every block skipped; the output is the precomputed compensation alone.
  std::vector<uint8_t> zeros(128, 3);
  EXPECT_EQ(run(zeros, 3), 2 + 0 + 1 + params.compensation_cycles);
  EXPECT_EQ(out, std::vector<int32_t>(8, 0));
}

// Row packing: the enabled rows of non-skipped blocks fill activations of 64 rows.
TEST(CimArrayModel, RowPackingLatencyFollowsTheEnabledRows) {
  CimMacroParams params;
  params.rows = 128;
  params.cols = 64;
  params.sparsity_threshold = 0.3;
  params.activation_packing = "rows";
  CimArrayModel model(params);
  std::mt19937_64 rng(4);
  const Tile tile = random_tile(rng, 128, 8, 8, true, false);
  model.load_weights(tile.view());
  const int64_t step = model.activation_step_cycles();
  std::vector<int32_t> out(8);
  // Every other row zero (zero point 3): no block skipped, 64 enabled rows -> 1 step instead of
  // 2; the 64 disabled rows are one mask-plane activation.
  std::vector<uint8_t> x(128, 7);
  for (size_t r = 0; r < 128; r += 2) x[r] = 3;
  const CimCounts counts = model.compute({x.data(), false, 1, 3, 8, out.data(), 8, false});
  EXPECT_EQ(counts.cycles, 2 + (8 * 1 + 1) * step + 1 + params.compensation_cycles);
  EXPECT_EQ(counts.row_blocks_skipped, 0);
  EXPECT_EQ(out, reference_matmul(x, false, 1, 128, 3, tile.values, true, 8, tile.zero_points));
  // The same vector with block packing keeps both activations.
  params.activation_packing = "blocks";
  CimArrayModel blocks(params);
  blocks.load_weights(tile.view());
  EXPECT_EQ(blocks.compute({x.data(), false, 1, 3, 8, out.data(), 8, false}).cycles,
            2 + (8 * 2 + 2) * step + 1 + params.compensation_cycles);
}

TEST(CimArrayModel, AccumulatesIntoStridedOutputs) {
  std::mt19937_64 rng(11);
  CimMacroParams params;
  CimArrayModel model(params);
  const Tile tile = random_tile(rng, 40, 5, 6, false, true);
  model.load_weights(tile.view());
  const auto x = random_inputs(rng, 3, 40, 8, true, -2, {0.7, 0.1, 0.0}, 16, false);
  const auto expected =
      reference_matmul(x, true, 3, 40, -2, tile.values, false, 5, tile.zero_points);
  std::vector<int32_t> out(3 * 9, 1000);
  model.compute({x.data(), true, 3, -2, 8, out.data(), 9, true});
  for (int64_t v = 0; v < 3; ++v) {
    for (int64_t c = 0; c < 9; ++c) {
      const int32_t want = c < 5 ? 1000 + expected[static_cast<size_t>(v * 5 + c)] : 1000;
      EXPECT_EQ(out[static_cast<size_t>(v * 9 + c)], want) << v << "," << c;
    }
  }
}

// Streamed weights: tiles written again (every inference) are recognised on the host and not
// decoded again, yet every write is modelled and charged, and a tile that differs in a single
// weight or zero point is a different tile.
TEST(CimArrayModel, ReloadedTilesComputeTheirOwnWeightsAndChargeEveryWrite) {
  std::mt19937_64 rng(23);
  CimMacroParams params;
  CimArrayModel model(params), serial(params);
  serial.set_path(ComputePath::BitSerial);
  const Tile a = random_tile(rng, 200, 24, 8, true, false);
  Tile b = a;
  b.values[7 * 24 + 3] ^= 0x01;  // one weight differs
  Tile c = a;
  c.zero_points[5] = c.zero_points[5] == 127 ? 126 : c.zero_points[5] + 1;  // one zero point
  const auto x = random_inputs(rng, 6, 200, 8, false, 3, {0.0, 0.6, 0.9, 0.1, 0.0, 0.7}, 16, false);
  CimCounts first_load;
  const Tile* const order[] = {&a, &b, &a, &c, &a, &b};
  for (const Tile* tile : order) {
    const CimCounts load = model.load_weights(tile->view());
    serial.load_weights(tile->view());
    if (first_load.weight_loads == 0) first_load = load;
    EXPECT_EQ(load.weight_loads, 1);
    EXPECT_EQ(load.cycles, first_load.cycles);
    EXPECT_DOUBLE_EQ(load.energy.write, first_load.energy.write);
    const auto expected =
        reference_matmul(x, false, 6, 200, 3, tile->values, true, 24, tile->zero_points);
    std::vector<int32_t> out(6 * 24), serial_out(6 * 24);
    model.compute({x.data(), false, 6, 3, 8, out.data(), 24, false});
    serial.compute({x.data(), false, 6, 3, 8, serial_out.data(), 24, false});
    EXPECT_EQ(out, expected);
    EXPECT_EQ(serial_out, expected);
  }
}

// The ideal ADC of README "ADC quantization", by hand.
TEST(CimAdc, QuantizesToPowerOfTwoStepsWithHalfStepError) {
  CimMacroParams params;
  params.adc_bits = 5;  // 32 levels
  const AdcRange full = adc_range(params, 64, false);
  EXPECT_EQ(full.shift, 2);  // 64 <= 31.5 x 4
  EXPECT_EQ(full.bits_resolved, 5);
  EXPECT_EQ(adc_ideal_reading(5, full, 5), 4);
  EXPECT_EQ(adc_ideal_reading(7, full, 5), 8);
  EXPECT_EQ(adc_ideal_reading(6, full, 5), 8);   // 1.5 steps: tie to even 2
  EXPECT_EQ(adc_ideal_reading(10, full, 5), 8);  // 2.5 steps: tie to even 2
  EXPECT_EQ(adc_ideal_reading(64, full, 5), 64);
  EXPECT_EQ(adc_range(params, 63, false).shift, 1);
  EXPECT_EQ(adc_range(params, 31, false).shift, 0);  // lossless
  const AdcRange narrowed = adc_range(params, 12, true);
  EXPECT_EQ(narrowed.shift, 0);
  EXPECT_EQ(narrowed.bits_resolved, 4);
  EXPECT_DOUBLE_EQ(narrowed.energy_pj, params.adc_energy_pj(4));
  params.adc_bits = 2;
  const AdcRange tiny = adc_range(params, 7, false);
  EXPECT_EQ(tiny.shift, 1);
  EXPECT_EQ(adc_ideal_reading(7, tiny, 2), 6);  // clipped to the top code: error 1 = half a step
  for (int64_t sum = 0; sum <= 7; ++sum)
    EXPECT_LE(std::llabs(adc_ideal_reading(sum, tiny, 2) - sum), 1);
  // Unbiased: over every residue of a 2^shift step the errors sum to zero.
  params.adc_bits = 8;
  const AdcRange step8 = adc_range(params, 1000, false);
  ASSERT_EQ(step8.shift, 2);
  int64_t error_sum = 0;
  for (int64_t sum = 0; sum < 1000; ++sum) error_sum += adc_ideal_reading(sum, step8, 8) - sum;
  EXPECT_EQ(error_sum, 0);
}

TEST(CimAdc, ErrorBoundMatchesTheReadmeFormula) {
  CimMacroParams params;
  params.adc_bits = 5;  // full scale 64: step 4, at most 2 per conversion
  // 1 polarity x (2^8 - 1) place values x 4 steps x 2 x (2^8 - 1 [+ |z_x|]).
  EXPECT_EQ(lossy_adc_error_bound(params, 256, 8, 8, 0, false), 255 * 4 * 2 * 255);
  EXPECT_EQ(lossy_adc_error_bound(params, 256, 8, 8, -7, true), 255 * 4 * 2 * (255 + 7));
  params.encoding = "differential";
  params.cell_bits = 2;  // full scale 192: step 8, at most 4; place values 1+4+16+64 = 85
  EXPECT_EQ(lossy_adc_error_bound(params, 100, 8, 4, 0, false), 2 * 85 * 2 * 4 * 15);
  params.adc_bits = 8;
  EXPECT_EQ(lossy_adc_error_bound(params, 100, 8, 4, 0, false), 0);
}

// With a lossy ADC every output stays within the analytic bound, and the ADC really loses.
TEST(CimArrayModel, LossyAdcErrorStaysWithinTheBound) {
  std::mt19937_64 rng(99);
  int64_t largest_error = 0;
  double largest_ratio = 0.0;
  for (int trial = 0; trial < 400; ++trial) {
    const CimMacroParams params = random_params(rng, uniform(rng, 1, 4));
    ASSERT_FALSE(params.adc_lossless());
    const RandomJob job = random_job(rng, params);
    CimArrayModel model(params);
    model.load_weights(job.tile.view());
    std::vector<int32_t> out;
    const CimCounts counts = model.compute(batch_of(job, out));
    const auto expected = reference_of(job);
    const int64_t bound =
        lossy_adc_error_bound(params, job.tile.rows, job.tile.bits, job.input_bits,
                              job.input_zero_point, counts.sparse_vectors > 0);
    for (size_t i = 0; i < out.size(); ++i) {
      const int64_t error = std::llabs(static_cast<int64_t>(out[i]) - expected[i]);
      ASSERT_LE(error, bound) << "trial " << trial << " output " << i;
      largest_error = std::max(largest_error, error);
      if (bound > 0)
        largest_ratio =
            std::max(largest_ratio, static_cast<double>(error) / static_cast<double>(bound));
    }
  }
  EXPECT_GT(largest_error, 0);
  EXPECT_GT(largest_ratio, 0.05);  // the bound is not vacuous
}

// With a lossy ADC the Auto path takes the steps' rows as masks made from the blocks
// (bit_serial_blocks) where activations pack blocks; BitSerial walks plan_vector's row lists.
// Both must read the same conversions: identical outputs, counts and energy, also with a
// seeded noisy, offset ADC (the same draws in the same order).
TEST(CimArrayModel, LossyAutoPathEqualsTheRowListPath) {
  std::mt19937_64 rng(4242);
  int64_t compared = 0, sparse_vectors = 0, compensations = 0, skipped_blocks = 0;
  for (int trial = 0; trial < 400; ++trial) {
    CimMacroParams params = random_params(rng, uniform(rng, 1, 4));
    if (trial % 4 == 0) {
      params.adc_noise_lsb = 0.4;
      params.adc_offset_lsb = 0.3;
    }
    const char* adc_types[] = {"sar", "flash", "mlsa"};
    params.adc_type = adc_types[trial % 3];
    if (trial % 5 == 0) params.adc_signal_fraction = 0.0;
    const RandomJob job = random_job(rng, params);
    SCOPED_TRACE("trial " + std::to_string(trial) + " packing " + params.activation_packing);
    std::vector<int32_t> automatic_out, serial_out;
    const CimCounts automatic_counts = run_job(params, ComputePath::Auto, job, automatic_out);
    const CimCounts serial_counts = run_job(params, ComputePath::BitSerial, job, serial_out);
    ASSERT_EQ(automatic_out, serial_out);
    expect_same_counts(automatic_counts, serial_counts);
    EXPECT_EQ(automatic_counts.zero_inputs, serial_counts.zero_inputs);
    EXPECT_EQ(automatic_counts.energy.adc, serial_counts.energy.adc);
    compared += params.activation_packing == "blocks" ? job.vectors : 0;
    sparse_vectors += serial_counts.sparse_vectors;
    compensations += serial_counts.compensations;
    skipped_blocks += serial_counts.row_blocks_skipped;
  }
  EXPECT_GT(compared, 300);
  EXPECT_GT(sparse_vectors, 100);
  EXPECT_GT(compensations, 100);
  EXPECT_GT(skipped_blocks, 100);
}

// Narrowing the ADC range to the enabled rows makes a lossy ADC exact when few rows remain.
TEST(CimArrayModel, RangeNarrowingRecoversPrecisionInSparseMode) {
  std::mt19937_64 rng(5);
  CimMacroParams params;
  params.adc_bits = 4;  // 64 rows need 7 bits: lossy when dense
  params.sparsity_threshold = 0.5;
  const Tile tile = random_tile(rng, 256, 32, 8, true, false);
  // 12 nonzero rows per 64-row activation (81% sparsity): a narrowed full scale of 12 <= 2^4 - 1.
  std::vector<uint8_t> x(256, 0);
  for (int64_t step = 0; step < 4; ++step) {
    for (int64_t i = 0; i < 12; ++i)
      x[static_cast<size_t>(step * 64 + i * 5)] = static_cast<uint8_t>(17 + i);
  }
  const auto expected =
      reference_matmul(x, false, 1, 256, 0, tile.values, true, 32, tile.zero_points);
  std::vector<int32_t> out(32);
  CimArrayModel narrowed(params);
  narrowed.load_weights(tile.view());
  narrowed.compute({x.data(), false, 1, 0, 8, out.data(), 32, false});
  EXPECT_EQ(out, expected);
  params.adc_range_narrowing = false;
  CimArrayModel fixed(params);
  fixed.load_weights(tile.view());
  fixed.compute({x.data(), false, 1, 0, 8, out.data(), 32, false});
  EXPECT_NE(out, expected);
}

TEST(CimArrayModel, NonIdealitiesAreSeededMeasurableAndOffByDefault) {
  std::mt19937_64 rng(21);
  const Tile tile = random_tile(rng, 256, 32, 8, true, false);
  const auto x = random_inputs(rng, 4, 256, 8, false, 0, {0.0, 0.6}, 16, false);
  const auto expected =
      reference_matmul(x, false, 4, 256, 0, tile.values, true, 32, tile.zero_points);
  auto run = [&](const CimMacroParams& params) {
    CimArrayModel model(params);
    model.load_weights(tile.view());
    std::vector<int32_t> out(4 * 32);
    model.compute({x.data(), false, 4, 0, 8, out.data(), 32, false});
    return out;
  };
  auto max_error = [&](const std::vector<int32_t>& out) {
    int64_t worst = 0;
    for (size_t i = 0; i < out.size(); ++i)
      worst = std::max<int64_t>(worst, std::llabs(out[i] - expected[i]));
    return worst;
  };
  EXPECT_EQ(run(CimMacroParams{}), expected);
  for (int which = 0; which < 3; ++which) {
    CimMacroParams params;
    if (which == 0) params.conductance_sigma = 0.05;
    if (which == 1) params.adc_noise_lsb = 0.6;
    if (which == 2) params.adc_offset_lsb = 0.7;
    const auto first = run(params);
    EXPECT_EQ(run(params), first) << which;  // same seed, same outputs
    EXPECT_GT(max_error(first), 0) << which;
    params.seed = 2;
    EXPECT_NE(run(params), first) << which;
  }
}

TEST(CimArrayModel, RejectsBadJobs) {
  CimMacroParams params;
  CimArrayModel model(params);
  std::vector<int32_t> out(64);
  std::vector<uint8_t> x(16, 1);
  EXPECT_THROW(model.compute({x.data(), false, 1, 0, 8, out.data(), 4, false}), CimJobError);

  std::mt19937_64 rng(1);
  Tile tile = random_tile(rng, 16, 4, 4, true, false);
  tile.values[3] = static_cast<uint8_t>(int8_t{8});  // needs 5 bits
  EXPECT_THROW(model.load_weights(tile.view()), CimJobError);
  tile = random_tile(rng, 16, 33, 8, true, false);  // 33 > 32 logical columns
  EXPECT_THROW(model.load_weights(tile.view()), CimJobError);
  tile = random_tile(rng, 257, 4, 8, true, false);
  EXPECT_THROW(model.load_weights(tile.view()), CimJobError);
  tile = random_tile(rng, 16, 4, 8, true, false);
  tile.zero_points[0] = 200;  // not an int8 code
  EXPECT_THROW(model.load_weights(tile.view()), CimJobError);
  tile.zero_points[0] = 0;
  tile.bits = 9;
  EXPECT_THROW(model.load_weights(tile.view()), CimJobError);
  tile.bits = 8;
  model.load_weights(tile.view());

  x[2] = 16;  // needs 5 bits
  EXPECT_THROW(model.compute({x.data(), false, 1, 0, 4, out.data(), 4, false}), CimJobError);
  x[2] = 1;
  EXPECT_THROW(model.compute({x.data(), false, 1, 0, 8, out.data(), 3, false}), CimJobError);
  EXPECT_THROW(model.compute({x.data(), false, 1, -1, 8, out.data(), 4, false}), CimJobError);
  EXPECT_NO_THROW(model.compute({x.data(), false, 1, 0, 8, out.data(), 4, false}));
}

}  // namespace
}  // namespace cimtlm::cim
