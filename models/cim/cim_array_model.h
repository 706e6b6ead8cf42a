// The arithmetic and cost model of one CIM macro, in plain C++ (no SystemC), so that it can be
// unit tested and benchmarked alone. models/cim/README.md derives every equation used here.
//
// A weight tile is written once (load_weights); input vectors are then applied bit-serially
// (compute). For each vector the model measures input sparsity, decides dense or sparse mode,
// disables zero rows and skips all-zero row blocks in sparse mode, and returns the counts, cycles
// and energy of what the hardware did. Outputs are what the ADCs read, shifted and added, with the
// zero-point algebra and the sparsity compensation applied:
//   * lossless ADC and no non-ideality: a direct int16 dot product (the "fast path"), exact;
//   * otherwise bit-plane popcounts per (input plane, activation, column) through the ADC model,
//     or, with conductance variation, analog sums of per-cell conductances.
// Counts, cycles and energy do not depend on the path taken.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/int8_gemm.h"
#include "models/cim/cim_energy.h"
#include "models/cim/cim_params.h"

namespace cimtlm::cim {

// A weight tile: rows x cols raw 8-bit codes, row-major (row = input element, col = output).
// Mirrors WeightLoadJob of cim_job.h without the TLM dependency.
struct WeightTileView {
  const uint8_t* values = nullptr;
  bool values_signed = true;  // int8 (true) or uint8 (false) codes
  int64_t rows = 0;
  int64_t cols = 0;
  int weight_bits = 8;
  const int32_t* zero_points = nullptr;  // one per column
};

// Input vectors and where their results go. Mirrors ComputeJob of cim_job.h.
struct InputBatchView {
  const uint8_t* inputs = nullptr;  // vectors x tile rows raw 8-bit codes, row-major
  bool inputs_signed = false;
  int64_t vectors = 0;
  int32_t input_zero_point = 0;
  int input_bits = 8;
  int32_t* outputs = nullptr;  // outputs[v * output_stride + c]
  int64_t output_stride = 0;
  bool accumulate = false;
};

// A job the macro cannot execute (bad shape, code out of range for its bit width, no weights).
class CimJobError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Energy by part of the macro, pJ.
struct CimEnergyPj {
  double array = 0.0;         // word-line pulses and bit-line charge
  double adc = 0.0;           // conversions
  double digital = 0.0;       // shift-add and zero-point correction
  double detection = 0.0;     // sparsity detector
  double compensation = 0.0;  // z_x * sum(w of disabled rows) multiply-adds
  double write = 0.0;         // weight writes (cells and compensation tables)

  double total() const { return array + adc + digital + detection + compensation + write; }
  CimEnergyPj& operator+=(const CimEnergyPj& other);
};

// What the macro did. Every field is additive over jobs.
struct CimCounts {
  // Weight writes.
  int64_t weight_loads = 0;
  int64_t rows_written = 0;
  int64_t cells_written = 0;
  // Compute.
  int64_t vectors = 0;
  int64_t macs = 0;            // vectors x tile rows x tile cols (logical multiply-accumulates)
  int64_t rows_applied = 0;    // vectors x tile rows
  int64_t zero_inputs = 0;     // inputs equal to the input zero point
  double sparsity_sum = 0.0;   // sum over vectors of zero_inputs / tile rows
  int64_t sparse_vectors = 0;  // vectors processed in sparse mode
  int64_t rows_disabled = 0;   // rows whose cells were disabled (sparse mode: the zero rows)
  int64_t row_blocks = 0;      // vectors x blocks of the tile
  int64_t row_blocks_skipped = 0;
  int64_t activations = 0;      // (input plane or mask plane) x activation step
  int64_t conducting_rows = 0;  // word-line pulses, summed over planes
  int64_t adc_conversions = 0;
  int64_t compensation_conversions = 0;  // of those, mask-plane conversions for compensation
  int64_t compensations = 0;             // outputs that received a sparsity compensation
  int64_t cycles = 0;                    // macro busy cycles (writes and compute)
  CimEnergyPj energy;

  CimCounts& operator+=(const CimCounts& other);
};

enum class ComputePath {
  Auto,       // direct dot products when the ADC is lossless and no non-ideality is on
  BitSerial,  // always simulate planes, activations and conversions (for tests and debugging)
};

// Range of one ADC conversion (README "ADC quantization").
struct AdcRange {
  int64_t full_scale = 0;  // largest partial sum the reference covers
  int shift = 0;           // the ADC step is 2^shift partial-sum units (0: lossless)
  int bits_resolved = 0;   // SAR bit trials actually performed
  double energy_pj = 0.0;
};

// The ADC range for a full scale: shift is the smallest s >= 0 with
// full_scale <= (2^adc_bits - 1/2) * 2^s. `narrowed` resolves only the bits the full scale needs.
AdcRange adc_range(const CimMacroParams& params, int64_t full_scale, bool narrowed);
// Ideal conversion of an integer partial sum: round to the nearest multiple of 2^shift (ties to
// even), clipped to (2^adc_bits - 1) * 2^shift.
int64_t adc_ideal_reading(int64_t partial_sum, const AdcRange& range, int adc_bits);

// README "Error bound": the largest |output - exact| of one output with an ideal lossy ADC,
// for a tile of `tile_rows` rows; `sparse_mode` adds the compensation mask plane's error.
int64_t lossy_adc_error_bound(const CimMacroParams& params, int64_t tile_rows, int weight_bits,
                              int input_bits, int32_t input_zero_point, bool sparse_mode);

class CimArrayModel {
 public:
  // Throws std::invalid_argument with validate()'s message for bad parameters.
  explicit CimArrayModel(const CimMacroParams& params);

  // Writes a tile (replacing the previous one). Throws CimJobError for a bad tile.
  CimCounts load_weights(const WeightTileView& tile);
  // Applies input vectors to the loaded tile. Throws CimJobError for a bad batch.
  CimCounts compute(const InputBatchView& batch);

  void set_path(ComputePath path) { path_ = path; }
  const CimMacroParams& params() const { return params_; }
  bool loaded() const { return loaded_; }
  int64_t tile_rows() const { return tile_rows_; }
  int64_t tile_cols() const { return tile_cols_; }
  int tile_weight_bits() const { return weight_bits_; }
  // Physical columns the loaded tile occupies.
  int64_t used_columns() const { return used_columns_; }
  // Cycles of one activation step of the loaded tile: row activation plus the multiplexed
  // conversions of every used column.
  int64_t activation_step_cycles() const;

 private:
  // A weight tile as written, with what the host derives from it once: the product weights of
  // the lossless path. Tiles loaded again (streamed weights, every inference) are found here
  // instead of being decoded again; the array write is still modelled and charged each time.
  // What the bit-serial paths read of a tile in the array: its stored cell bits and compensation
  // tables. Built on the tile's first bit-serial use and kept with the tile, so that a streamed
  // tile written again (every inference) is not rebuilt.
  struct ArrayImage {
    std::vector<uint64_t> cell_bits_by_word;  // [row word][cell bit][physical col]: stored bits
    std::vector<float> cell_conductance;      // [row][physical col]: slice value x conductance
    std::vector<int64_t> column_of;           // physical col -> logical col
    std::vector<int64_t> place_value;         // physical col -> +-2^(slice * cell_bits)
    std::vector<int64_t> weight_reference;    // per col: z_s, the stored value of w = w_zp
    std::vector<int64_t> column_sum;          // per col: sum over rows of stored values
    std::vector<int64_t> block_sum;           // [block][col]: sum over the block's rows
    size_t bytes() const {
      return cell_bits_by_word.size() * 8 + cell_conductance.size() * 4 +
             (column_of.size() + place_value.size() + weight_reference.size() + column_sum.size() +
              block_sum.size()) *
                 8;
    }
  };
  struct TileImage {
    uint64_t hash = 0;
    int64_t rows = 0, cols = 0;
    int weight_bits = 0;
    bool values_signed = true;
    std::vector<uint8_t> codes;
    std::vector<int32_t> zero_points;
    kernel::Int8Weights product_weights;  // made on the tile's first lossless product
    std::vector<int32_t> row_cells;     // signal-dependent ADC energy only (count_row_cells)
    std::vector<int16_t> row_cells16;   // the same when every sum fits (SIMD block sums), or empty
    std::unique_ptr<ArrayImage> array;  // bit-serial paths only (build_array_image)
    uint64_t last_use = 0;
  };
  // Per macro. A macro that streams more tiles than it holds loads them in the same order every
  // inference, which an LRU cache smaller than that cycle never hits (ResNet-18 at 224x224 on
  // four cores: ~480 tiles of 256x32 through one macro), so the bound is set by host memory
  // (about 4 bytes per weight cached) rather than by the entry count.
  static constexpr size_t kTileCacheBytes = size_t{64} << 20;
  static constexpr size_t kTileCacheEntries = 8192;

  TileImage* cached_tile(const WeightTileView& tile);
  TileImage* cache_tile(const WeightTileView& tile);
  void build_array_image();

  struct VectorPlan {
    int64_t zeros = 0;
    bool sparse = false;
    bool compensating = false;  // sparse and input zero point != 0
    int64_t blocks_skipped = 0;
    int64_t rows_disabled = 0;
    int64_t conducting_rows = 0;  // over input planes and mask planes
    int64_t steps = 0;            // activation steps per input plane
    int64_t mask_steps = 0;       // activation steps of the compensation mask plane
  };

  void decode_inputs(const InputBatchView& batch, int64_t vector);
  void plan_vector(int input_bits, int32_t input_zero_point, VectorPlan& plan);
  void plan_vector_counts(const uint8_t* codes, int input_bits, int32_t input_zero_point,
                          bool inputs_signed, VectorPlan& plan);
  // Fills the per-block sums and vector_code_sum_ (cim_vector_kernels.h); returns the zeros.
  int64_t sum_blocks(const uint8_t* codes, int input_bits, int32_t input_zero_point,
                     bool inputs_signed);
  void account_vector(const VectorPlan& plan, int input_bits, CimCounts& counts) const;
  // Conversion energy of the plan's activations from the partial sums they carry (signal-
  // dependent ADCs: cim_energy.h), from what collect_signal() gathered.
  double signal_adc_energy_pj(const VectorPlan& plan, int input_bits) const;
  void collect_signal(const VectorPlan& plan, const uint8_t* codes, int input_bits,
                      int32_t input_zero_point);
  // The same from the block sums plan_vector_counts() gathered (signal_from_blocks_).
  void collect_signal_from_blocks(const VectorPlan& plan, int input_bits, int32_t input_zero_point);
  // image.row_cells: per row, the sum of its stored cell values.
  void count_row_cells(TileImage& image) const;
  static void plane_values(int input_bits, bool inputs_signed, int32_t* plane_value);
  // Fills plane_rows_ (and zero_rows_ when zero_code is given) from a vector's input codes.
  void pack_input_planes(const uint8_t* codes, int input_bits, const uint8_t* zero_code);
  void bit_serial(const VectorPlan& plan, const uint8_t* codes, int input_bits, bool inputs_signed,
                  int32_t input_zero_point, int64_t* result);
  void bit_serial_blocks(const VectorPlan& plan, const uint8_t* codes, int input_bits,
                         bool inputs_signed, int32_t input_zero_point, int64_t* result);
  void combine_readings(const VectorPlan& plan, int64_t input_sum, int32_t input_zero_point,
                        int64_t* result);
  // Adds plane_value x the ADC readings of `partial_sums` (one per used column) to `readings`.
  void read_columns(const int32_t* partial_sums, const AdcRange& range, int32_t plane_value,
                    int32_t* readings);
  void read_columns_analog(const double* partial_sums, const AdcRange& range, int32_t plane_value,
                           int32_t* readings);
  int64_t convert_analog(double partial_sum, const AdcRange& range, int64_t adc);
  // With an ideal ADC: adds the readings of every input plane of the step on words
  // [first, last) (row_mask_ & plane_rows_), or of the mask plane when plane_value is null.
  void read_step_ideal(int64_t first, int64_t last, int input_bits, const int32_t* plane_value,
                       const AdcRange& range, int32_t* readings);
  const AdcRange& step_range(const VectorPlan& plan, int64_t step) const;
  const AdcRange& mask_range(int64_t mask_step) const;

  CimMacroParams params_;
  CimEnergyModel energy_model_{params_};
  ComputePath path_ = ComputePath::Auto;
  bool detection_on_ = false;
  bool analog_errors_ = false;  // ADC offset or noise
  bool pack_rows_ = false;      // params_.packs_rows(), which compares a string, once
  int64_t blocks_per_step_ = 1;
  AdcRange dense_range_;
  std::vector<AdcRange> narrowed_ranges_;  // by full scale 0 .. rows_per_activation x cell_max
  std::vector<double> adc_offset_lsb_;     // static offset of each ADC
  std::vector<float> conductance_;         // rows x cols relative conductances (sigma > 0 only)
  std::mt19937_64 noise_rng_;
  std::normal_distribution<double> unit_normal_{0.0, 1.0};

  // Tiles seen, and the loaded one.
  std::vector<std::unique_ptr<TileImage>> tile_cache_;
  std::unordered_multimap<uint64_t, TileImage*> tile_index_;  // by hash
  size_t cache_bytes_ = 0;
  uint64_t cache_clock_ = 0;
  TileImage* tile_ = nullptr;
  const ArrayImage* array_ = nullptr;       // tile_'s, once built
  std::unique_ptr<kernel::Int8Gemm> gemm_;  // made on the first lossless compute
  bool loaded_ = false;
  int64_t tile_rows_ = 0;
  int64_t tile_cols_ = 0;
  int weight_bits_ = 0;
  int64_t slices_ = 0;        // physical columns per weight and polarity
  int64_t polarities_ = 1;    // 2 for differential encoding
  int64_t used_columns_ = 0;  // tile_cols x polarities x slices
  int64_t row_words_ = 0;     // 64-bit words of a row mask
  int64_t blocks_ = 0;
  // collect_signal(): per step, popcount-weighted cells (SAR, flash) or per-plane cells (others);
  // per mask step, the cells of its rows.
  std::vector<int64_t> step_cells_;
  std::vector<int32_t> step_plane_cells_;
  std::vector<int64_t> mask_cells_;

  // Per-vector scratch.
  std::vector<int32_t> x_;            // decoded input codes
  std::vector<int64_t> block_zeros_;  // zero inputs per block
  std::vector<uint8_t> block_skipped_;
  std::vector<int64_t> block_popcount_;  // ones in the input planes, per block (all rows)
  int64_t vector_code_sum_ = 0;          // sum_blocks(): the vector's sum of decoded inputs
  // plan_vector_counts() with signal_from_blocks_: per block, sum of popcount(x_r) x row_cells[r]
  // over all its rows, and sum of row_cells over its zero-point rows.
  bool signal_from_blocks_ = false;
  std::vector<int64_t> block_signal_;
  std::vector<int64_t> block_zero_cells_;
  // Activation steps as row lists: step s holds rows [offsets[s], offsets[s+1]) of the list.
  std::vector<int64_t> step_rows_, step_offsets_;  // enabled rows, per input-plane step
  std::vector<int64_t> mask_rows_, mask_offsets_;  // disabled rows of non-skipped blocks
  std::vector<uint64_t> plane_rows_;     // [plane][word]: enabled rows whose input bit is 1
  std::vector<uint64_t> row_mask_;       // [word] scratch
  std::vector<uint64_t> zero_rows_;      // [word]: rows whose input is the zero point
  std::vector<uint64_t> active_rows_;    // [word]: rows conducting in one (plane, step)
  std::vector<uint64_t> step_active_;    // [plane][step word]: read_step_ideal's planes
  std::vector<int32_t> partial_sums_;    // per physical col, one activation
  std::vector<double> analog_sums_;      // per physical col, one activation (conductance path)
  std::vector<int32_t> column_reading_;  // per physical col: sum over planes of readings
  std::vector<int32_t> mask_reading_;    // per physical col: mask-plane readings
  std::vector<int64_t> mask_result_;     // per logical col: sum over mask rows of s_r as read
};

}  // namespace cimtlm::cim
