// The host's side of a tile and of an input vector: tiles recognised when written again, the
// vector plans (sparsity, activation steps, conducting rows) and the per-step signal statistics
// of the signal-dependent ADC energy. The arithmetic of the macro is in cim_array_model.cpp.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "models/cim/cim_array_model.h"
#include "models/cim/cim_codes.h"
#include "models/cim/cim_vector_kernels.h"

namespace cimtlm::cim {

using codes::decode;
using codes::kBitsInByte;

namespace {

// 64-bit hash of a byte string, eight bytes at a time (a tile's identity in the cache; equal
// hashes are confirmed by comparing the bytes).
uint64_t hash_bytes(const uint8_t* bytes, size_t count, uint64_t seed) {
  uint64_t hash = seed ^ (count * 0x9e3779b97f4a7c15ull);
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    hash = (hash ^ (word * 0xbf58476d1ce4e5b9ull)) * 0x94d049bb133111ebull;
    hash ^= hash >> 31;
  }
  for (; i < count; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash ^ (hash >> 29);
}

uint64_t tile_hash(const WeightTileView& tile) {
  uint64_t hash =
      hash_bytes(tile.values, static_cast<size_t>(tile.rows * tile.cols),
                 static_cast<uint64_t>(tile.rows * 131 + tile.cols) * 16 +
                     static_cast<uint64_t>(tile.weight_bits) * 2 + (tile.values_signed ? 1 : 0));
  return hash_bytes(reinterpret_cast<const uint8_t*>(tile.zero_points),
                    static_cast<size_t>(tile.cols) * sizeof(int32_t), hash);
}

}  // namespace

CimArrayModel::TileImage* CimArrayModel::cached_tile(const WeightTileView& tile) {
  const uint64_t hash = tile_hash(tile);
  const auto [first, last] = tile_index_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    TileImage* entry = it->second;
    if (entry->rows != tile.rows || entry->cols != tile.cols ||
        entry->weight_bits != tile.weight_bits || entry->values_signed != tile.values_signed ||
        std::memcmp(entry->codes.data(), tile.values, entry->codes.size()) != 0 ||
        std::memcmp(entry->zero_points.data(), tile.zero_points,
                    entry->zero_points.size() * sizeof(int32_t)) != 0) {
      continue;
    }
    entry->last_use = ++cache_clock_;
    return entry;
  }
  return nullptr;
}

CimArrayModel::TileImage* CimArrayModel::cache_tile(const WeightTileView& tile) {
  auto image = std::make_unique<TileImage>();
  image->hash = tile_hash(tile);
  image->rows = tile.rows;
  image->cols = tile.cols;
  image->weight_bits = tile.weight_bits;
  image->values_signed = tile.values_signed;
  image->codes.assign(tile.values, tile.values + tile.rows * tile.cols);
  image->zero_points.assign(tile.zero_points, tile.zero_points + tile.cols);
  image->last_use = ++cache_clock_;
  // Bounded: the least recently loaded tiles leave first (host memory only; the modelled
  // array always holds just the loaded tile).
  const size_t bytes = static_cast<size_t>(tile.rows * tile.cols) * 4;
  while (!tile_cache_.empty() &&
         (cache_bytes_ + bytes > kTileCacheBytes || tile_cache_.size() >= kTileCacheEntries)) {
    auto oldest =
        std::min_element(tile_cache_.begin(), tile_cache_.end(),
                         [](const auto& a, const auto& b) { return a->last_use < b->last_use; });
    if (oldest->get() == tile_) break;  // never evict the loaded tile
    cache_bytes_ -= static_cast<size_t>((*oldest)->rows * (*oldest)->cols) * 4 +
                    ((*oldest)->array ? (*oldest)->array->bytes() : 0);
    const auto [first, last] = tile_index_.equal_range((*oldest)->hash);
    for (auto it = first; it != last; ++it) {
      if (it->second == oldest->get()) {
        tile_index_.erase(it);
        break;
      }
    }
    tile_cache_.erase(oldest);
  }
  cache_bytes_ += bytes;
  tile_index_.emplace(image->hash, image.get());
  tile_cache_.push_back(std::move(image));
  return tile_cache_.back().get();
}

void CimArrayModel::decode_inputs(const InputBatchView& batch, int64_t vector) {
  const uint8_t* codes = batch.inputs + vector * tile_rows_;
  for (int64_t r = 0; r < tile_rows_; ++r) x_[r] = decode(codes, r, batch.inputs_signed);
}

void CimArrayModel::plan_vector(int input_bits, int32_t input_zero_point, VectorPlan& plan) {
  const int64_t rows = tile_rows_;
  const int64_t block_rows = params_.row_block;
  const int64_t per_activation = params_.rows_per_activation;
  plan = VectorPlan{};
  std::fill(block_zeros_.begin(), block_zeros_.end(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (x_[r] == input_zero_point) {
      ++plan.zeros;
      ++block_zeros_[r / block_rows];
    }
  }
  plan.sparse = detection_on_ && static_cast<double>(plan.zeros) / static_cast<double>(rows) >
                                     params_.sparsity_threshold;
  plan.rows_disabled = plan.sparse ? plan.zeros : 0;
  plan.compensating = plan.sparse && input_zero_point != 0;

  // Activation steps as row lists. Input planes drive the enabled rows; the compensation mask
  // plane drives the disabled rows of non-skipped blocks (skipped blocks use precomputed sums).
  step_rows_.clear();
  mask_rows_.clear();
  step_offsets_.assign(1, 0);
  mask_offsets_.assign(1, 0);
  auto close_step = [](const std::vector<int64_t>& list, std::vector<int64_t>& offsets) {
    if (static_cast<int64_t>(list.size()) > offsets.back())
      offsets.push_back(static_cast<int64_t>(list.size()));
  };
  auto step_full = [per_activation](const std::vector<int64_t>& list,
                                    const std::vector<int64_t>& offsets) {
    return static_cast<int64_t>(list.size()) - offsets.back() == per_activation;
  };
  const bool pack_rows = pack_rows_;
  int64_t active_blocks = 0;
  for (int64_t b = 0; b < blocks_; ++b) {
    const int64_t first = b * block_rows;
    const int64_t last = std::min(rows, first + block_rows);
    block_skipped_[b] = plan.sparse && block_zeros_[b] == last - first;
    if (block_skipped_[b]) {
      ++plan.blocks_skipped;
      continue;
    }
    if (!pack_rows && active_blocks > 0 && active_blocks % blocks_per_step_ == 0) {
      close_step(step_rows_, step_offsets_);
      close_step(mask_rows_, mask_offsets_);
    }
    ++active_blocks;
    for (int64_t r = first; r < last; ++r) {
      const bool disabled = plan.sparse && x_[r] == input_zero_point;
      if (!disabled) {
        step_rows_.push_back(r);
        if (pack_rows && step_full(step_rows_, step_offsets_))
          close_step(step_rows_, step_offsets_);
      } else if (plan.compensating) {
        mask_rows_.push_back(r);
        if (pack_rows && step_full(mask_rows_, mask_offsets_))
          close_step(mask_rows_, mask_offsets_);
      }
    }
  }
  close_step(step_rows_, step_offsets_);
  close_step(mask_rows_, mask_offsets_);
  plan.steps = static_cast<int64_t>(step_offsets_.size()) - 1;
  plan.mask_steps = static_cast<int64_t>(mask_offsets_.size()) - 1;

  const uint32_t code_mask = (1u << input_bits) - 1;
  for (int64_t row : step_rows_) {
    plan.conducting_rows += kBitsInByte[static_cast<uint32_t>(x_[row]) & code_mask];
  }
  plan.conducting_rows += static_cast<int64_t>(mask_rows_.size());
}

// Per row block: zero inputs and input-plane ones, and with signal_from_blocks_ (a signal-
// dependent ADC energy linear in the signal, block-packed activations) the block's signal sums.
// Returns the zero inputs of the vector.
int64_t CimArrayModel::sum_blocks(const uint8_t* codes, int input_bits, int32_t input_zero_point,
                                  bool inputs_signed) {
  block_popcount_.resize(static_cast<size_t>(blocks_));
  signal_from_blocks_ = energy_model_.signal_dependent() && energy_model_.linear_in_signal() &&
                        !pack_rows_ && !tile_->row_cells.empty();
  BlockSumsJob job;
  job.codes = codes;
  job.rows = tile_rows_;
  job.block_rows = params_.row_block;
  job.code_mask = static_cast<uint8_t>((1u << input_bits) - 1);
  job.zero_code = static_cast<uint8_t>(input_zero_point);
  job.codes_signed = inputs_signed;
  job.zeros = block_zeros_.data();
  job.ones = block_popcount_.data();
  if (signal_from_blocks_) {
    block_signal_.resize(static_cast<size_t>(blocks_));
    block_zero_cells_.resize(static_cast<size_t>(blocks_));
    if (!tile_->row_cells16.empty()) {
      job.cells16 = tile_->row_cells16.data();
    } else {
      job.cells32 = tile_->row_cells.data();
    }
    job.signal = block_signal_.data();
    job.zero_cells = block_zero_cells_.data();
  }
  const VectorSums sums = block_sums(job);
  vector_code_sum_ = sums.code_sum;
  return sums.zeros;
}

// plan_vector's counts without its row lists (the lossless path needs no rows): zero inputs and
// bit-plane popcounts per row block, then the steps' sizes from the blocks. Fills the same
// VectorPlan and step/mask offsets as plan_vector (tests compare them). With a signal-dependent
// ADC energy linear in the signal and block-packed activations, the blocks' signal sums are
// gathered in the same pass over the codes and the steps' signal sums (step_cells_, mask_cells_:
// what collect_signal_from_blocks computes) in the walk of the blocks, instead of second walks.
void CimArrayModel::plan_vector_counts(const uint8_t* codes, int input_bits,
                                       int32_t input_zero_point, bool inputs_signed,
                                       VectorPlan& plan) {
  const int64_t rows = tile_rows_;
  const int64_t block_rows = params_.row_block;
  const int64_t per_activation = params_.rows_per_activation;
  const auto code_byte_mask = static_cast<uint8_t>((1u << input_bits) - 1);
  const uint64_t code_mask = code_byte_mask;
  plan = VectorPlan{};
  plan.zeros = sum_blocks(codes, input_bits, input_zero_point, inputs_signed);
  plan.sparse = detection_on_ && static_cast<double>(plan.zeros) / static_cast<double>(rows) >
                                     params_.sparsity_threshold;
  plan.rows_disabled = plan.sparse ? plan.zeros : 0;
  plan.compensating = plan.sparse && input_zero_point != 0;
  const int64_t zero_point_ones =
      kBitsInByte[static_cast<uint8_t>(input_zero_point) & (code_mask & 0xff)];

  // Steps: with row packing, full activations of the enabled (mask) rows in order; else groups
  // of blocks_per_step non-skipped blocks. A step or mask step with no rows does not exist.
  step_offsets_.assign(1, 0);
  mask_offsets_.assign(1, 0);
  const bool pack_rows = pack_rows_;
  // With signal_from_blocks_ (block-packed steps), the steps' signal sums as well: what
  // collect_signal_from_blocks() computes, in the same pass over the blocks.
  const bool signal = signal_from_blocks_;
  if (signal) {
    step_cells_.clear();
    mask_cells_.clear();
  }
  if (!plan.sparse) {
    // Dense: every row conducts, no block is skipped and no mask plane is read, so the steps
    // are fixed groups of blocks (or full activations) and the pulses are the planes' ones.
    for (int64_t b = 0; b < blocks_; ++b) plan.conducting_rows += block_popcount_[b];
    if (pack_rows) {
      for (int64_t done = per_activation; done < rows; done += per_activation)
        step_offsets_.push_back(done);
      step_offsets_.push_back(rows);
    } else {
      for (int64_t first = 0; first < blocks_; first += blocks_per_step_) {
        const int64_t last = std::min(blocks_, first + blocks_per_step_);
        step_offsets_.push_back(std::min(rows, last * block_rows));
        if (!signal) continue;
        int64_t group_signal = 0;
        for (int64_t b = first; b < last; ++b) group_signal += block_signal_[b];
        step_cells_.push_back(group_signal);
      }
    }
    plan.steps = static_cast<int64_t>(step_offsets_.size()) - 1;
    return;
  }
  int64_t enabled_total = 0, mask_total = 0;
  int64_t group_enabled = 0, group_mask = 0;
  int64_t group_signal = 0, group_mask_cells = 0;
  auto close_group = [&] {
    if (group_enabled > 0) {
      step_offsets_.push_back(step_offsets_.back() + group_enabled);
      if (signal) step_cells_.push_back(group_signal);
    }
    if (group_mask > 0) {
      mask_offsets_.push_back(mask_offsets_.back() + group_mask);
      if (signal) mask_cells_.push_back(group_mask_cells);
    }
    group_enabled = group_mask = 0;
    group_signal = group_mask_cells = 0;
  };
  // Sparse: all-zero blocks are skipped, the zero-point rows disabled (and, compensating, read
  // in the mask steps). Active blocks still to come in the current group: a countdown.
  int64_t group_room = blocks_per_step_;
  for (int64_t b = 0; b < blocks_; ++b) {
    const int64_t size = b + 1 < blocks_ ? block_rows : rows - b * block_rows;
    const int64_t zeros = block_zeros_[b];
    if (zeros == size) {
      ++plan.blocks_skipped;
      continue;
    }
    const int64_t enabled = size - zeros;
    const int64_t disabled = plan.compensating ? zeros : 0;
    plan.conducting_rows += block_popcount_[b] - zeros * zero_point_ones;
    if (!pack_rows && group_room == 0) {
      close_group();
      group_room = blocks_per_step_;
    }
    --group_room;
    if (signal) {
      // The zero-point rows leave a sparse step's signal; compensating, they drive its mask step.
      group_signal += block_signal_[b] - zero_point_ones * block_zero_cells_[b];
      group_mask_cells += disabled > 0 ? block_zero_cells_[b] : 0;
    }
    group_enabled += enabled;
    group_mask += disabled;
    enabled_total += enabled;
    mask_total += disabled;
  }
  if (pack_rows) {
    for (int64_t done = per_activation; done < enabled_total; done += per_activation)
      step_offsets_.push_back(done);
    if (enabled_total > 0) step_offsets_.push_back(enabled_total);
    for (int64_t done = per_activation; done < mask_total; done += per_activation)
      mask_offsets_.push_back(done);
    if (mask_total > 0) mask_offsets_.push_back(mask_total);
  } else {
    close_group();
  }
  plan.steps = static_cast<int64_t>(step_offsets_.size()) - 1;
  plan.mask_steps = static_cast<int64_t>(mask_offsets_.size()) - 1;
  plan.conducting_rows += mask_total;
}

void CimArrayModel::count_row_cells(TileImage& image) const {
  // From the codes rather than the simulation's cell layout: sum over the used columns of each
  // row of the stored cell values (what the row's cells conduct when its word line is pulsed).
  // A weight's cells depend on its code alone: one table of 256 entries, then a sum per row.
  const int64_t cell_max = params_.cell_max();
  const bool differential = params_.differential();
  const int32_t offset =
      (!differential && image.values_signed) ? (1 << (image.weight_bits - 1)) : 0;
  std::array<int32_t, 256> cells_of_code{};
  for (int code = 0; code < 256; ++code) {
    const uint8_t byte = static_cast<uint8_t>(code);
    const int32_t w = decode(&byte, 0, image.values_signed);
    int32_t cells = 0;
    for (int64_t polarity = 0; polarity < polarities_; ++polarity) {
      const int64_t magnitude = !differential   ? w + offset
                                : polarity == 0 ? std::max<int64_t>(w, 0)
                                                : std::max<int64_t>(-w, 0);
      for (int64_t slice = 0; slice < slices_; ++slice) {
        cells += static_cast<int32_t>((magnitude >> (slice * params_.cell_bits)) & cell_max);
      }
    }
    cells_of_code[static_cast<size_t>(code)] = cells;
  }
  image.row_cells.assign(static_cast<size_t>(image.rows), 0);
  const uint8_t* codes = image.codes.data();
  for (int64_t r = 0; r < image.rows; ++r) {
    int32_t cells = 0;
    const uint8_t* row = codes + r * image.cols;
    for (int64_t c = 0; c < image.cols; ++c) cells += cells_of_code[row[c]];
    image.row_cells[static_cast<size_t>(r)] = cells;
  }
  // 16-bit copies for pmaddwd when a cell count and a block's lane sums (rows x 8 planes x
  // cells) fit.
  const int32_t most = image.row_cells.empty()
                           ? 0
                           : *std::max_element(image.row_cells.begin(), image.row_cells.end());
  image.row_cells16.clear();
  if (most <= INT16_MAX && static_cast<int64_t>(most) * 8 * image.rows < INT32_MAX) {
    image.row_cells16.assign(image.row_cells.begin(), image.row_cells.end());
  }
}

namespace {

// For each 8-bit input code, a lane of all ones per set bit (signal_adc_energy_pj()).
struct PlaneMasks {
  int32_t lanes[256][8];
  PlaneMasks() {
    for (int code = 0; code < 256; ++code) {
      for (int bit = 0; bit < 8; ++bit) lanes[code][bit] = ((code >> bit) & 1) ? -1 : 0;
    }
  }
};
const PlaneMasks kPlaneMasks;

}  // namespace

// Per step, what the signal-dependent ADC energy needs (signal_adc_energy_pj): for SAR and
// flash the sum over the step's enabled rows of popcount(x_r) x row_cells[r]; otherwise each
// plane's sum of row_cells over the rows whose bit is 1; per mask step, the sum over its rows.
// Rows are visited in row order, as both plans order their steps, so enabled row e belongs to the
// step s with step_offsets_[s] <= e < step_offsets_[s + 1] (mask rows likewise).
void CimArrayModel::collect_signal(const VectorPlan& plan, const uint8_t* codes, int input_bits,
                                   int32_t input_zero_point) {
  const bool linear = energy_model_.linear_in_signal();
  const uint32_t code_mask = (1u << input_bits) - 1;
  const int32_t* row_cells = tile_->row_cells.data();
  step_cells_.assign(static_cast<size_t>(plan.steps), 0);
  if (!linear) step_plane_cells_.assign(static_cast<size_t>(plan.steps) * 8, 0);
  mask_cells_.assign(static_cast<size_t>(plan.mask_steps), 0);
  const auto zero_code = static_cast<uint8_t>(input_zero_point);
  int64_t enabled = 0, step = 0, masked = 0, mask_step = 0;
  for (int64_t b = 0; b < blocks_; ++b) {
    const int64_t first = b * params_.row_block;
    const int64_t last = std::min(tile_rows_, first + params_.row_block);
    if (plan.sparse && block_zeros_[b] == last - first) continue;  // skipped block
    for (int64_t r = first; r < last; ++r) {
      const uint8_t code = codes[r];
      if (plan.sparse && code == zero_code) {
        if (!plan.compensating) continue;
        while (masked >= mask_offsets_[mask_step + 1]) ++mask_step;
        mask_cells_[mask_step] += row_cells[r];
        ++masked;
        continue;
      }
      while (enabled >= step_offsets_[step + 1]) ++step;
      const uint32_t bits = code & code_mask;
      if (linear) {
        step_cells_[step] += int64_t{kBitsInByte[bits]} * row_cells[r];
      } else {
        int32_t* planes = step_plane_cells_.data() + step * 8;
        const int32_t* masks = kPlaneMasks.lanes[bits];
        for (int plane = 0; plane < 8; ++plane) planes[plane] += masks[plane] & row_cells[r];
      }
      ++enabled;
    }
  }
}

// collect_signal() for block-packed activations, from the blocks' sums: a step is a group of
// blocks_per_step_ non-skipped blocks (as plan_vector_counts groups them); in a sparse plan the
// zero-point rows leave the step's signal and, when compensating, drive the group's mask step.
void CimArrayModel::collect_signal_from_blocks(const VectorPlan& plan, int input_bits,
                                               int32_t input_zero_point) {
  step_cells_.assign(static_cast<size_t>(plan.steps), 0);
  mask_cells_.assign(static_cast<size_t>(plan.mask_steps), 0);
  const int64_t zero_point_ones =
      kBitsInByte[static_cast<uint8_t>(input_zero_point) & ((1u << input_bits) - 1)];
  int64_t active_blocks = 0, step = 0, mask_step = 0;
  bool group_masked = false;
  for (int64_t b = 0; b < blocks_; ++b) {
    const int64_t size = std::min(tile_rows_, (b + 1) * params_.row_block) - b * params_.row_block;
    if (plan.sparse && block_zeros_[b] == size) continue;  // skipped block
    if (active_blocks > 0 && active_blocks % blocks_per_step_ == 0) {
      ++step;
      if (group_masked) ++mask_step;
      group_masked = false;
    }
    ++active_blocks;
    if (!plan.sparse) {
      step_cells_[step] += block_signal_[b];
      continue;
    }
    step_cells_[step] += block_signal_[b] - zero_point_ones * block_zero_cells_[b];
    if (plan.compensating && block_zeros_[b] > 0) {
      mask_cells_[mask_step] += block_zero_cells_[b];
      group_masked = true;
    }
  }
}

double CimArrayModel::signal_adc_energy_pj(const VectorPlan& plan, int input_bits) const {
  // The mean partial sum of the used columns stands for every column of an activation (the
  // columns of one activation see the same rows; README "Energy").
  const double used = static_cast<double>(used_columns_);
  double energy = 0.0;
  for (int64_t step = 0; step < plan.steps; ++step) {
    const AdcRange& range = step_range(plan, step);
    if (energy_model_.linear_in_signal()) {
      // SAR and flash: the conversion energy is linear in the partial sum, so the planes' total
      // gives the same sum as plane by plane: popcount(x_r) pulses of row r's cells.
      energy +=
          input_bits * used *
          energy_model_.conversion_pj(range.bits_resolved, range.full_scale,
                                      static_cast<double>(step_cells_[step]) / (input_bits * used));
      continue;
    }
    const int32_t* plane_cells = step_plane_cells_.data() + step * 8;
    for (int plane = 0; plane < input_bits; ++plane) {
      energy += used * energy_model_.conversion_pj(range.bits_resolved, range.full_scale,
                                                   static_cast<double>(plane_cells[plane]) / used);
    }
  }
  for (int64_t step = 0; step < plan.mask_steps; ++step) {
    const AdcRange& range = mask_range(step);
    energy += used * energy_model_.conversion_pj(range.bits_resolved, range.full_scale,
                                                 static_cast<double>(mask_cells_[step]) / used);
  }
  return energy;
}

}  // namespace cimtlm::cim
