#include "models/cim/cim_array_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "models/cim/cim_codes.h"
#include "models/cim/cim_vector_kernels.h"

namespace cimtlm::cim {

using codes::decode;
using codes::kBitsInByte;

namespace {

constexpr int64_t kWordBits = 64;

int bit_width(uint64_t value) {
  return value == 0 ? 0 : 64 - __builtin_clzll(value);
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Codes a `bits`-wide number can hold: [-2^(bits-1), 2^(bits-1)) signed, [0, 2^bits) unsigned.
bool fits(int32_t value, int bits, bool is_signed) {
  if (is_signed) return value >= -(1 << (bits - 1)) && value < (1 << (bits - 1));
  return value >= 0 && value < (1 << bits);
}

// Zero points have the type of their codes (ONNX): int8 or uint8 range.
bool valid_zero_point(int32_t zero_point, bool is_signed) {
  return is_signed ? (zero_point >= -128 && zero_point <= 127)
                   : (zero_point >= 0 && zero_point <= 255);
}

int32_t wrap_add(int32_t a, int64_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

}  // namespace

CimEnergyPj& CimEnergyPj::operator+=(const CimEnergyPj& other) {
  array += other.array;
  adc += other.adc;
  digital += other.digital;
  detection += other.detection;
  compensation += other.compensation;
  write += other.write;
  return *this;
}

CimCounts& CimCounts::operator+=(const CimCounts& other) {
  weight_loads += other.weight_loads;
  rows_written += other.rows_written;
  cells_written += other.cells_written;
  vectors += other.vectors;
  macs += other.macs;
  rows_applied += other.rows_applied;
  zero_inputs += other.zero_inputs;
  sparsity_sum += other.sparsity_sum;
  sparse_vectors += other.sparse_vectors;
  rows_disabled += other.rows_disabled;
  row_blocks += other.row_blocks;
  row_blocks_skipped += other.row_blocks_skipped;
  activations += other.activations;
  conducting_rows += other.conducting_rows;
  adc_conversions += other.adc_conversions;
  compensation_conversions += other.compensation_conversions;
  compensations += other.compensations;
  cycles += other.cycles;
  energy += other.energy;
  return *this;
}

AdcRange adc_range(const CimMacroParams& params, int64_t full_scale, bool narrowed) {
  AdcRange range;
  range.full_scale = full_scale;
  const int64_t levels = int64_t{1} << params.adc_bits;
  // Smallest power-of-two step whose rounding never clips by more than half a step.
  while (2 * full_scale > (2 * levels - 1) * (int64_t{1} << range.shift)) ++range.shift;
  range.bits_resolved =
      narrowed ? std::min(params.adc_bits, bit_width(static_cast<uint64_t>(full_scale)))
               : params.adc_bits;
  range.energy_pj = params.adc_energy_pj(range.bits_resolved);
  return range;
}

int64_t adc_ideal_reading(int64_t partial_sum, const AdcRange& range, int adc_bits) {
  if (range.shift == 0) return std::min(partial_sum, (int64_t{1} << adc_bits) - 1);
  // Round to nearest, ties to even: integer partial sums fall exactly on the decision levels of a
  // 2^shift step, and ties always rounded up would bias every conversion by +1/2 LSB, which
  // the MSB plane and slice place values amplify into a large systematic output error.
  const int64_t half = int64_t{1} << (range.shift - 1);
  const int64_t odd_quotient = (partial_sum >> range.shift) & 1;
  const int64_t code = std::min((partial_sum + half - 1 + odd_quotient) >> range.shift,
                                (int64_t{1} << adc_bits) - 1);
  return code << range.shift;
}

int64_t lossy_adc_error_bound(const CimMacroParams& params, int64_t tile_rows, int weight_bits,
                              int input_bits, int32_t input_zero_point, bool sparse_mode) {
  const AdcRange full = adc_range(params, params.rows_per_activation * params.cell_max(), false);
  const int64_t per_conversion = full.shift == 0 ? 0 : int64_t{1} << (full.shift - 1);
  const int64_t slices = ceil_div(weight_bits, params.cell_bits);
  const int64_t place_value_sum =
      ((int64_t{1} << (slices * params.cell_bits)) - 1) / params.cell_max();
  const int64_t polarities = params.differential() ? 2 : 1;
  const int64_t steps = ceil_div(tile_rows, params.rows_per_activation);
  const int64_t plane_weight_sum =
      ((int64_t{1} << input_bits) - 1) + (sparse_mode ? std::abs(input_zero_point) : 0);
  return polarities * place_value_sum * steps * per_conversion * plane_weight_sum;
}

CimArrayModel::CimArrayModel(const CimMacroParams& params) : params_(params) {
  const std::string problem = params_.validate();
  if (!problem.empty()) throw std::invalid_argument("CIM macro parameters: " + problem);
  detection_on_ = params_.sparsity_threshold < 1.0;
  analog_errors_ = params_.adc_offset_lsb > 0.0 || params_.adc_noise_lsb > 0.0;
  pack_rows_ = params_.packs_rows();
  blocks_per_step_ = params_.rows_per_activation / params_.row_block;
  const int64_t full_scale = params_.rows_per_activation * params_.cell_max();
  dense_range_ = adc_range(params_, full_scale, false);
  narrowed_ranges_.reserve(static_cast<size_t>(full_scale + 1));
  for (int64_t scale = 0; scale <= full_scale; ++scale) {
    narrowed_ranges_.push_back(adc_range(params_, scale, true));
  }

  // Independent streams for the three non-idealities, so that turning one on does not change
  // the draws of another.
  std::seed_seq offset_seed{params_.seed, uint64_t{1}};
  std::seed_seq conductance_seed{params_.seed, uint64_t{2}};
  std::seed_seq noise_seed{params_.seed, uint64_t{3}};
  noise_rng_.seed(noise_seed);
  adc_offset_lsb_.assign(static_cast<size_t>(params_.adc_count()), 0.0);
  if (params_.adc_offset_lsb > 0.0) {
    std::mt19937_64 rng(offset_seed);
    for (double& offset : adc_offset_lsb_) offset = params_.adc_offset_lsb * unit_normal_(rng);
  }
  if (params_.conductance_sigma > 0.0) {
    std::mt19937_64 rng(conductance_seed);
    conductance_.resize(static_cast<size_t>(params_.rows * params_.cols));
    for (float& factor : conductance_) {
      factor =
          static_cast<float>(std::max(0.0, 1.0 + params_.conductance_sigma * unit_normal_(rng)));
    }
  }
}

int64_t CimArrayModel::activation_step_cycles() const {
  return params_.row_activation_cycles +
         ceil_div(used_columns_, params_.adc_count()) * params_.adc_conversion_cycles;
}

CimCounts CimArrayModel::load_weights(const WeightTileView& tile) {
  if (!tile.values || !tile.zero_points)
    throw CimJobError("weight tile without values or zero points");
  if (tile.weight_bits < 1 || tile.weight_bits > params_.max_weight_bits) {
    throw CimJobError("weight_bits " + std::to_string(tile.weight_bits) + " outside 1.." +
                      std::to_string(params_.max_weight_bits));
  }
  if (tile.rows < 1 || tile.rows > params_.rows) {
    throw CimJobError("weight tile of " + std::to_string(tile.rows) + " rows does not fit " +
                      std::to_string(params_.rows) + " rows");
  }
  const int64_t capacity = logical_weight_columns(params_, tile.weight_bits);
  if (tile.cols < 1 || tile.cols > capacity) {
    throw CimJobError("weight tile of " + std::to_string(tile.cols) + " columns of " +
                      std::to_string(tile.weight_bits) + "-bit weights does not fit " +
                      std::to_string(capacity) + " logical columns");
  }
  const int64_t rows = tile.rows;
  const int64_t cols = tile.cols;
  TileImage* image = cached_tile(tile);
  if (image == nullptr) {
    for (int64_t c = 0; c < cols; ++c) {
      if (!valid_zero_point(tile.zero_points[c], tile.values_signed)) {
        throw CimJobError("weight zero point " + std::to_string(tile.zero_points[c]) +
                          " of column " + std::to_string(c) + " is outside the code range");
      }
    }
    for (int64_t index = 0; index < rows * cols; ++index) {
      const int32_t w = decode(tile.values, index, tile.values_signed);
      if (!fits(w, tile.weight_bits, tile.values_signed)) {
        throw CimJobError("weight " + std::to_string(w) + " at row " +
                          std::to_string(index / cols) + ", column " +
                          std::to_string(index % cols) + " needs more than " +
                          std::to_string(tile.weight_bits) + " bits");
      }
    }
    image = cache_tile(tile);
  }

  loaded_ = true;
  tile_ = image;
  array_ = nullptr;
  tile_rows_ = rows;
  tile_cols_ = cols;
  weight_bits_ = tile.weight_bits;
  slices_ = ceil_div(tile.weight_bits, params_.cell_bits);
  polarities_ = params_.differential() ? 2 : 1;
  used_columns_ = cols * polarities_ * slices_;
  row_words_ = ceil_div(rows, kWordBits);
  blocks_ = ceil_div(rows, params_.row_block);
  if (energy_model_.signal_dependent() && image->row_cells.empty()) count_row_cells(*image);

  CimCounts counts;
  counts.weight_loads = 1;
  counts.rows_written = rows;
  counts.cells_written = rows * used_columns_;
  counts.cycles = rows * params_.weight_write_cycles_per_row;
  // Cells, plus one add per weight into its column and block sums (the compensation table).
  counts.energy.write =
      static_cast<double>(counts.cells_written) * params_.write_energy_pj_per_cell +
      static_cast<double>(rows * cols) * params_.shift_add_energy_pj;
  return counts;
}

// The stored cells and compensation tables of the loaded tile, for the bit-serial paths. Built on
// first use: the lossless path needs only the tile's product weights.
void CimArrayModel::build_array_image() {
  if (array_ != nullptr) return;
  if (tile_->array) {
    array_ = tile_->array.get();
    return;
  }
  auto built = std::make_unique<ArrayImage>();
  ArrayImage& array = *built;
  const int64_t rows = tile_rows_;
  const int64_t cols = tile_cols_;
  const int cell_bits = params_.cell_bits;
  const int64_t cell_max = params_.cell_max();
  // Offset encoding stores w + 2^(bits-1) for signed weights: an unsigned number.
  const int32_t offset =
      (!params_.differential() && tile_->values_signed) ? (1 << (tile_->weight_bits - 1)) : 0;

  array.cell_bits_by_word.assign(static_cast<size_t>(row_words_ * cell_bits * used_columns_), 0);
  array.cell_conductance.clear();
  if (!conductance_.empty())
    array.cell_conductance.assign(static_cast<size_t>(rows * used_columns_), 0.0f);
  array.column_of.resize(static_cast<size_t>(used_columns_));
  array.place_value.resize(static_cast<size_t>(used_columns_));
  array.weight_reference.resize(static_cast<size_t>(cols));
  array.column_sum.assign(static_cast<size_t>(cols), 0);
  array.block_sum.assign(static_cast<size_t>(blocks_ * cols), 0);

  for (int64_t c = 0; c < cols; ++c) {
    array.weight_reference[c] = tile_->zero_points[c] + offset;
    for (int64_t polarity = 0; polarity < polarities_; ++polarity) {
      for (int64_t slice = 0; slice < slices_; ++slice) {
        const int64_t column = (c * polarities_ + polarity) * slices_ + slice;
        array.column_of[column] = c;
        array.place_value[column] = (polarity == 0 ? 1 : -1) * (int64_t{1} << (slice * cell_bits));
      }
    }
  }
  // Column by column: the stored magnitudes down the rows, packed into one row mask per magnitude
  // bit by the kernel that packs input planes (pack_planes); bit `bit` of slice `slice`'s cell is
  // magnitude bit slice * cell_bits + bit. Magnitudes fit 8 bits (offset-encoded codes, or the
  // two polarities of a differential one), so higher bits are zero.
  const int magnitude_bits = static_cast<int>(std::min<int64_t>(8, slices_ * cell_bits));
  std::vector<uint8_t> magnitudes(static_cast<size_t>(rows));
  std::vector<uint64_t> planes(static_cast<size_t>(magnitude_bits * row_words_));
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t stored = decode(tile_->codes.data(), r * cols + c, tile_->values_signed) +
                             offset;  // differential: the signed weight p - n
      array.column_sum[c] += stored;
      array.block_sum[(r / params_.row_block) * cols + c] += stored;
    }
    for (int64_t polarity = 0; polarity < polarities_; ++polarity) {
      for (int64_t r = 0; r < rows; ++r) {
        const int32_t w = decode(tile_->codes.data(), r * cols + c, tile_->values_signed);
        // Magnitude held by this column set: offset-encoded value, or max(w,0) / max(-w,0).
        magnitudes[r] = static_cast<uint8_t>(!params_.differential() ? w + offset
                                             : polarity == 0         ? std::max(w, 0)
                                                                     : std::max(-w, 0));
      }
      pack_planes({magnitudes.data(), rows, magnitude_bits, 0, planes.data(), nullptr});
      for (int64_t slice = 0; slice < slices_; ++slice) {
        const int64_t column = (c * polarities_ + polarity) * slices_ + slice;
        for (int bit = 0; bit < cell_bits; ++bit) {
          const int64_t plane = slice * cell_bits + bit;
          for (int64_t word = 0; word < row_words_; ++word) {
            array.cell_bits_by_word[(word * cell_bits + bit) * used_columns_ + column] =
                plane < magnitude_bits ? planes[plane * row_words_ + word] : 0;
          }
        }
        if (array.cell_conductance.empty()) continue;
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t cell = (int64_t{magnitudes[r]} >> (slice * cell_bits)) & cell_max;
          array.cell_conductance[r * used_columns_ + column] =
              static_cast<float>(cell) * conductance_[r * params_.cols + column];
        }
      }
    }
  }
  // Counted in the tile cache's host-memory budget from the next tile cached on.
  cache_bytes_ += array.bytes();
  tile_->array = std::move(built);
  array_ = tile_->array.get();
}

const AdcRange& CimArrayModel::step_range(const VectorPlan& plan, int64_t step) const {
  if (plan.sparse && params_.adc_range_narrowing) {
    const int64_t enabled = step_offsets_[step + 1] - step_offsets_[step];
    return narrowed_ranges_[static_cast<size_t>(enabled * params_.cell_max())];
  }
  return dense_range_;
}

const AdcRange& CimArrayModel::mask_range(int64_t mask_step) const {
  if (params_.adc_range_narrowing) {
    const int64_t driven = mask_offsets_[mask_step + 1] - mask_offsets_[mask_step];
    return narrowed_ranges_[static_cast<size_t>(driven * params_.cell_max())];
  }
  return dense_range_;
}

void CimArrayModel::account_vector(const VectorPlan& plan, int input_bits,
                                   CimCounts& counts) const {
  const int64_t rows = tile_rows_;
  const int64_t cols = tile_cols_;
  const int64_t used = used_columns_;
  counts.vectors += 1;
  counts.macs += rows * cols;
  counts.rows_applied += rows;
  counts.zero_inputs += plan.zeros;
  counts.sparsity_sum += static_cast<double>(plan.zeros) / static_cast<double>(rows);
  counts.sparse_vectors += plan.sparse ? 1 : 0;
  counts.rows_disabled += plan.rows_disabled;
  counts.row_blocks += blocks_;
  counts.row_blocks_skipped += plan.blocks_skipped;
  const int64_t activations = input_bits * plan.steps + plan.mask_steps;
  counts.activations += activations;
  counts.conducting_rows += plan.conducting_rows;
  const int64_t input_conversions = input_bits * plan.steps * used;
  const int64_t mask_conversions = plan.mask_steps * used;
  counts.adc_conversions += input_conversions + mask_conversions;
  counts.compensation_conversions += mask_conversions;
  counts.compensations += plan.compensating ? cols : 0;
  counts.cycles += (detection_on_ ? params_.detection_cycles : 0) +
                   activations * activation_step_cycles() + params_.shift_add_cycles +
                   (plan.compensating ? params_.compensation_cycles : 0);

  // Conversions (cim_energy.h): from the partial sums for signal-dependent ADCs, else per
  // resolved bit count.
  double adc_pj = 0.0;
  if (energy_model_.signal_dependent()) {
    adc_pj = signal_adc_energy_pj(plan, input_bits);
  } else {
    for (int64_t step = 0; step < plan.steps; ++step) {
      adc_pj += static_cast<double>(input_bits * used) *
                energy_model_.conversion_pj(step_range(plan, step).bits_resolved);
    }
    for (int64_t step = 0; step < plan.mask_steps; ++step) {
      adc_pj +=
          static_cast<double>(used) * energy_model_.conversion_pj(mask_range(step).bits_resolved);
    }
  }
  counts.energy.adc += adc_pj;
  // Word-line drivers per pulsed row; every used bit line is precharged and read once per
  // activation whatever the number of conducting cells (C_bl * V_dd * dV).
  counts.energy.array +=
      static_cast<double>(plan.conducting_rows) * energy_model_.wordline_pj_per_row() +
      static_cast<double>(activations * used) * energy_model_.bitline_pj_per_column();
  counts.energy.digital += params_.shift_add_energy_pj *
                           static_cast<double>(input_conversions + mask_conversions + cols);
  if (detection_on_) {
    counts.energy.detection += params_.detection_energy_pj_per_row * static_cast<double>(rows);
  }
  if (plan.compensating) {
    counts.energy.compensation += params_.compensation_energy_pj * static_cast<double>(cols);
  }
}

CimCounts CimArrayModel::compute(const InputBatchView& batch) {
  if (!loaded_) throw CimJobError("compute before any weight tile was loaded");
  if (batch.vectors < 0) throw CimJobError("negative vector count");
  if (batch.input_bits < 1 || batch.input_bits > params_.max_input_bits) {
    throw CimJobError("input_bits " + std::to_string(batch.input_bits) + " outside 1.." +
                      std::to_string(params_.max_input_bits));
  }
  if (!valid_zero_point(batch.input_zero_point, batch.inputs_signed)) {
    throw CimJobError("input zero point " + std::to_string(batch.input_zero_point) +
                      " is outside the code range");
  }
  CimCounts counts;
  if (batch.vectors == 0) return counts;
  if (!batch.inputs || !batch.outputs) throw CimJobError("compute job without inputs or outputs");
  if (batch.output_stride < tile_cols_) {
    throw CimJobError("output stride " + std::to_string(batch.output_stride) + " is below the " +
                      std::to_string(tile_cols_) + " columns of the tile");
  }
  for (int64_t index = 0; batch.input_bits < 8 && index < batch.vectors * tile_rows_; ++index) {
    const int32_t x = decode(batch.inputs, index, batch.inputs_signed);
    if (!fits(x, batch.input_bits, batch.inputs_signed)) {
      throw CimJobError("input " + std::to_string(x) + " of vector " +
                        std::to_string(index / tile_rows_) + ", row " +
                        std::to_string(index % tile_rows_) + " needs more than " +
                        std::to_string(batch.input_bits) + " bits");
    }
  }

  x_.resize(static_cast<size_t>(tile_rows_));
  block_zeros_.resize(static_cast<size_t>(blocks_));
  block_skipped_.resize(static_cast<size_t>(blocks_));
  const bool fast =
      path_ == ComputePath::Auto && params_.adc_lossless() && !params_.has_nonidealities();
  VectorPlan plan;
  if (fast) {
    // What the ADCs read is the exact product: the plans give the counts, cycles and energy,
    // one matrix product gives every vector's outputs.
    for (int64_t v = 0; v < batch.vectors; ++v) {
      plan_vector_counts(batch.inputs + v * tile_rows_, batch.input_bits, batch.input_zero_point,
                         batch.inputs_signed, plan);
      if (!signal_from_blocks_ && energy_model_.signal_dependent()) {
        collect_signal(plan, batch.inputs + v * tile_rows_, batch.input_bits,
                       batch.input_zero_point);
      }
      account_vector(plan, batch.input_bits, counts);
    }
    if (!gemm_) gemm_ = std::make_unique<kernel::Int8Gemm>();
    if (tile_->product_weights.empty()) {  // first lossless product of this tile
      tile_->product_weights =
          kernel::Int8Weights(tile_->codes.data(), tile_->values_signed, tile_->rows, tile_->cols,
                              tile_->zero_points.data());
    }
    gemm_->multiply(tile_->product_weights, batch.inputs, batch.inputs_signed, batch.vectors,
                    tile_rows_, batch.input_zero_point, batch.outputs, batch.output_stride,
                    batch.accumulate);
    return counts;
  }
  build_array_image();
  std::vector<int64_t> result(static_cast<size_t>(tile_cols_));
  // Block-packed activations and integer cells: the plan from the block sums and the steps' rows
  // as masks (bit_serial_blocks). BitSerial keeps the row lists, so that tests comparing the
  // two paths check one against an independent computation.
  const bool block_masks =
      path_ == ComputePath::Auto && !pack_rows_ && array_->cell_conductance.empty();
  for (int64_t v = 0; v < batch.vectors && block_masks; ++v) {
    const uint8_t* codes = batch.inputs + v * tile_rows_;
    plan_vector_counts(codes, batch.input_bits, batch.input_zero_point, batch.inputs_signed, plan);
    for (int64_t b = 0; b < blocks_; ++b) {
      const int64_t size =
          std::min(tile_rows_, (b + 1) * params_.row_block) - b * params_.row_block;
      block_skipped_[b] = plan.sparse && block_zeros_[b] == size;
    }
    if (energy_model_.signal_dependent() && !signal_from_blocks_)
      collect_signal(plan, codes, batch.input_bits, batch.input_zero_point);
    account_vector(plan, batch.input_bits, counts);
    bit_serial_blocks(plan, codes, batch.input_bits, batch.inputs_signed, batch.input_zero_point,
                      result.data());
    int32_t* out = batch.outputs + v * batch.output_stride;
    if (batch.accumulate) {
      for (int64_t c = 0; c < tile_cols_; ++c) out[c] = wrap_add(out[c], result[c]);
    } else {
      for (int64_t c = 0; c < tile_cols_; ++c) out[c] = static_cast<int32_t>(result[c]);
    }
  }
  for (int64_t v = 0; v < batch.vectors && !block_masks; ++v) {
    decode_inputs(batch, v);
    plan_vector(batch.input_bits, batch.input_zero_point, plan);
    if (energy_model_.signal_dependent()) {
      // The block sums (the same zero counts as the plan's) give the steps' signal when they
      // can; the BitSerial path keeps the walk of the rows, so that tests comparing it with the
      // fast path check the block sums against an independent computation.
      if (path_ == ComputePath::Auto) {
        sum_blocks(batch.inputs + v * tile_rows_, batch.input_bits, batch.input_zero_point,
                   batch.inputs_signed);
      } else {
        signal_from_blocks_ = false;
      }
      if (signal_from_blocks_) {
        collect_signal_from_blocks(plan, batch.input_bits, batch.input_zero_point);
      } else {
        collect_signal(plan, batch.inputs + v * tile_rows_, batch.input_bits,
                       batch.input_zero_point);
      }
    }
    account_vector(plan, batch.input_bits, counts);
    bit_serial(plan, batch.inputs + v * tile_rows_, batch.input_bits, batch.inputs_signed,
               batch.input_zero_point, result.data());
    int32_t* out = batch.outputs + v * batch.output_stride;
    if (batch.accumulate) {
      for (int64_t c = 0; c < tile_cols_; ++c) out[c] = wrap_add(out[c], result[c]);
    } else {
      for (int64_t c = 0; c < tile_cols_; ++c) out[c] = static_cast<int32_t>(result[c]);
    }
  }
  return counts;
}

}  // namespace cimtlm::cim
