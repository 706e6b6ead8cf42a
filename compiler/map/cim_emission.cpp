// CIM layers as commands: weight loads (stationary in the prologue or streamed), matrix-vector
// passes over the accumulator memory, requantization, and slices sent to the home core.
#include <algorithm>
#include <cmath>
#include <limits>

#include "compiler/graph/quantized_math.h"
#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

Mapper::OutputParams Mapper::output_params(const Node& node) const {
  OutputParams p;
  p.y_type = static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(DataType::Int8)));
  p.x_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
  p.input_bits = static_cast<int>(node.get_int("input_bits", 8));
  if (node.has_input(2)) {
    p.bias = graph_.initializer(node.inputs[2]);
    if (!p.bias) throw ModelError(node.describe() + ": bias must be a constant");
  }
  if (p.y_type == DataType::Int32) {
    p.clamp_min = std::numeric_limits<int32_t>::min();
    p.clamp_max = std::numeric_limits<int32_t>::max();
    return p;
  }
  p.w_scales = node.get_floats("w_scales");
  p.x_scale = node.get_float("x_scale");
  p.y_scale = node.get_float("y_scale");
  p.y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
  p.clamp_min = static_cast<int32_t>(std::max<int64_t>(
      node.get_int("clamp_min", graph::lowest(p.y_type)), graph::lowest(p.y_type)));
  p.clamp_max = static_cast<int32_t>(std::min<int64_t>(
      node.get_int("clamp_max", graph::highest(p.y_type)), graph::highest(p.y_type)));
  return p;
}

core::Requantize Mapper::make_requantize(const OutputParams& p,
                                         const std::vector<int64_t>& channels,
                                         const std::string& layer) const {
  core::Requantize requant;
  const auto cols = static_cast<int64_t>(channels.size());
  requant.cols = cols;
  requant.accumulator_stride = cols;
  requant.column_index = std::make_shared<const std::vector<int64_t>>(channels);
  if (p.bias) {
    auto slice = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) (*slice)[c] = p.bias->data<int32_t>()[channels[c]];
    requant.bias = slice;
  }
  if (p.y_type != DataType::Int32) {
    auto multipliers = std::make_shared<std::vector<float>>(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) {
      const float w_scale = p.w_scales.size() == 1 ? p.w_scales[0] : p.w_scales.at(channels[c]);
      (*multipliers)[c] = graph::requant_multiplier(p.x_scale, w_scale, p.y_scale);
    }
    requant.multipliers = multipliers;
  }
  requant.output_zero_point = p.y_zero_point;
  requant.clamp_min = p.clamp_min;
  requant.clamp_max = p.clamp_max;
  requant.layer = layer;
  return requant;
}

// Largest |partial sum| a column chunk can produce (for rescaling).
int64_t Mapper::partial_sum_bound(const CimPlan& plan, const std::vector<int64_t>& channels,
                                  DataType x_type, int32_t x_zero_point) const {
  const int64_t x_max = std::max(std::abs(graph::lowest(x_type) - x_zero_point),
                                 std::abs(graph::highest(x_type) - x_zero_point));
  const CimLayer& layer = plan.layer;
  int64_t bound = 0;
  for (int64_t channel : channels) {
    const int64_t g = channel / layer.cols, n = channel % layer.cols;
    int64_t sum = 0;
    for (int64_t k = 0; k < layer.rows; ++k) sum += std::abs(layer.centred(g, k, n));
    bound = std::max(bound, sum * x_max);
  }
  return bound;
}

void Mapper::emit_cim(const Node& node) {
  CimPlan& plan = plans_.at(&node);
  const CimLayer& layer = plan.layer;
  const LayerTiling& tiling = plan.tiling;
  const int home = plan.cores.front();
  const OutputParams params = output_params(node);
  const Tensor& input_value = value(node.inputs[0]);
  const Tensor& output_value = value(node.outputs[0]);
  const std::string layer_name = node.name.empty() ? node.outputs[0] : node.name;

  LayerMapping report;
  report.layer = layer_name;
  report.op = node.op_type;
  report.core = home;
  report.cores = plan.cores;
  report.weight_bits = layer.weight_bits;
  report.rows = layer.rows;
  report.cols = layer.cols;
  report.groups = layer.groups;
  report.tiles_dense = tiling.tiles_dense;
  report.tiles = static_cast<int64_t>(tiling.tiles.size());
  report.macs = layer.macs_per_inference;
  report.blocks = static_cast<int64_t>(tiling.blocks.size());
  report.rows_removed = tiling.rows_removed;
  report.columns_removed = tiling.columns_removed;

  // Geometry.
  int64_t images = 1, vectors_per_image = 0;
  core::ConvGeometry geometry;
  if (layer.conv) {
    images = input_value.dim(0);
    geometry.in_channels = input_value.dim(1);
    geometry.in_height = input_value.dim(2);
    geometry.in_width = input_value.dim(3);
    geometry.kernel_h = layer.kernel_h;
    geometry.kernel_w = layer.kernel_w;
    const auto strides = node.get_ints("strides", {1, 1});
    const auto pads = node.get_ints("pads", {0, 0, 0, 0});
    const auto dilations = node.get_ints("dilations", {1, 1});
    geometry.stride_h = strides.at(0);
    geometry.stride_w = strides.at(1);
    geometry.pad_top = pads.at(0);
    geometry.pad_left = pads.at(1);
    geometry.dilation_h = dilations.at(0);
    geometry.dilation_w = dilations.at(1);
    geometry.out_height = output_value.dim(2);
    geometry.out_width = output_value.dim(3);
    geometry.group_channels = geometry.in_channels / layer.groups;
    vectors_per_image = geometry.out_height * geometry.out_width;
  } else {
    vectors_per_image = input_value.elements() / layer.rows;
  }
  report.vectors = images * vectors_per_image;
  const int64_t out_channels = layer.cols * layer.groups;
  const int64_t image_elements = out_channels * vectors_per_image;  // per image (conv)

  // The output is assembled on the home core; other cores compute their channels into a
  // buffer of their own and send them there.
  const core::TensorRef home_output = output_buffer(node, home);
  const uint64_t half = arch_.accumulator_bytes / 2;
  const size_t esize = core::elem_size(home_output.type);

  for (size_t worker = 0; worker < plan.cores.size(); ++worker) {
    const int core = plan.cores[worker];
    state_[static_cast<size_t>(core)].used = true;
    const core::TensorRef input = on_core(node.inputs[0], core, node);
    const core::TensorRef output =
        worker == 0 ? home_output
                    : allocate_activation(core, home_output.type, home_output.shape,
                                          node.outputs[0] + ".slice");
    struct Written {
      int64_t channel, first_vector, end_vector;
    };
    std::vector<Written> written;
    // Bias-only channels (pruned away entirely) are produced by the home core.
    std::vector<int64_t> zero_channels;
    if (worker == 0) {
      for (const Block& block : tiling.blocks) {
        zero_channels.insert(zero_channels.end(), block.zero_channels.begin(),
                             block.zero_channels.end());
      }
    }
    for (const auto& item : plan.items[worker]) {
      if (tiling.blocks.empty()) break;
      const Block& block = tiling.blocks[static_cast<size_t>(item.block)];
      std::vector<const Tile*> tiles;
      for (const Tile& tile : tiling.tiles) {
        if (tile.block == item.block && tile.column_chunk == item.chunk) tiles.push_back(&tile);
      }
      const int64_t item_first = item.first_vector;
      const int64_t item_end = item.end_vector < 0 ? vectors_per_image : item.end_vector;
      if (tiles.empty()) continue;
      const std::vector<int64_t>& channels = tiles.front()->channels;
      const auto cols = static_cast<int64_t>(channels.size());
      for (int64_t channel : channels) written.push_back({channel, item_first, item_end});

      // Accumulator schedule: exact passes over vector batches, or one pass with partial sums
      // rescaled to the precision that fits.
      int accumulator_bits = 32;
      int shift = 0;
      const int64_t item_vectors = item_end - item_first;
      int64_t batch = item_vectors;
      const uint64_t exact_bytes = static_cast<uint64_t>(item_vectors * cols) * 4;
      report.accumulator_bytes_exact = std::max(report.accumulator_bytes_exact, exact_bytes);
      if (exact_bytes > half) {
        if (options_.accumulation == "rescale") {
          accumulator_bits = 8;
          for (int bits : {24, 16, 12, 8}) {
            if (static_cast<uint64_t>(item_vectors * cols) * static_cast<uint64_t>(bits) / 8 <=
                half) {
              accumulator_bits = bits;
              break;
            }
          }
          const int needed = bits_for_magnitude(
              partial_sum_bound(plan, channels, input_value.type(), params.x_zero_point));
          shift = std::max(0, needed - accumulator_bits);
          const uint64_t per_vector = static_cast<uint64_t>(cols * accumulator_bits) / 8 + 1;
          batch = std::max<int64_t>(
              1, std::min<int64_t>(item_vectors, static_cast<int64_t>(half / per_vector)));
        } else {
          batch =
              std::max<int64_t>(1, static_cast<int64_t>(half / static_cast<uint64_t>(4 * cols)));
        }
      }
      if (static_cast<uint64_t>(cols) * static_cast<uint64_t>(accumulator_bits) / 8 > half) {
        throw ModelError(node.describe() + ": " + std::to_string(cols) +
                         " accumulator columns do not fit in half of the " +
                         std::to_string(arch_.accumulator_bytes) + "-byte accumulator memory");
      }
      report.accumulator_bits = std::min(report.accumulator_bits, accumulator_bits);
      report.rescale_shift = std::max(report.rescale_shift, shift);
      const int64_t batches = (item_vectors + batch - 1) / batch;
      report.vector_batches = std::max(report.vector_batches, batches);
      report.accumulator_bytes = std::max(
          report.accumulator_bytes,
          static_cast<uint64_t>(std::min(batch, item_vectors) * cols * accumulator_bits) / 8);

      // Macros: stationary while the core has macros for all its tiles, else streamed.
      std::vector<int> macros;
      for (const Tile* tile : tiles) macros.push_back(macro_for(core, *tile, layer, report));

      for (int64_t image = 0; image < images; ++image) {
        for (int64_t v0 = item_first; v0 < item_end; v0 += batch) {
          const int64_t count = std::min(batch, item_end - v0);
          CoreState& state = state_[static_cast<size_t>(core)];
          state.accumulator_half ^= 1;
          // Entry index of the second half for entries of this width.
          const core::Addr accumulator =
              state.accumulator_half ? half * 8 / static_cast<uint64_t>(accumulator_bits) : 0;
          bool first = true;
          for (size_t t = 0; t < tiles.size(); ++t) {
            const Tile& tile = *tiles[t];
            int macro = macros[t];
            if (macro < 0) macro = load_streamed(core, tile, layer, report);
            core::CimMatmul matmul;
            matmul.macro = macro;
            matmul.cols = cols;
            matmul.layer = layer_name;
            matmul.input_zero_point = params.x_zero_point;
            matmul.input_bits = params.input_bits;
            matmul.accumulator = accumulator;
            matmul.accumulator_stride = cols;
            matmul.accumulate = !first;
            matmul.rescale_shift = shift;
            matmul.accumulator_bits = accumulator_bits;
            if (shift > 0 || accumulator_bits < 32) ++mapping_.report.rescaled_batches;
            core::VectorSource& source = matmul.source;
            source.element_index = std::make_shared<const std::vector<int64_t>>(tile.elements);
            source.element_count = static_cast<int64_t>(tile.elements.size());
            source.first_vector = v0;
            source.vector_count = count;
            if (layer.conv) {
              source.kind = core::VectorSource::Kind::ConvPatches;
              source.input = input;
              const int64_t plane = geometry.in_channels * geometry.in_height * geometry.in_width;
              source.input.addr =
                  input.addr + static_cast<core::Addr>(image * plane) * core::elem_size(input.type);
              source.input.shape = {geometry.in_channels, geometry.in_height, geometry.in_width};
              source.conv = geometry;
              source.conv.channel_offset = block.first_group * geometry.group_channels;
              source.conv.group_channels = block.group_count * geometry.group_channels;
            } else {
              source.kind = core::VectorSource::Kind::Rows;
              source.input = input;
              source.input.shape = {vectors_per_image, layer.rows};
            }
            program(core).body.push_back(matmul);
            first = false;
          }
          core::Requantize requant = make_requantize(params, channels, layer_name);
          requant.accumulator = accumulator;
          requant.vectors = count;
          requant.rescale_shift = shift;
          requant.accumulator_bits = accumulator_bits;
          place_output(requant, output, layer.conv, image, image_elements, vectors_per_image,
                       out_channels, v0);
          program(core).body.push_back(requant);
        }
      }
    }
    if (!zero_channels.empty()) {
      for (int64_t image = 0; image < images; ++image) {
        core::Requantize requant = make_requantize(params, zero_channels, layer_name);
        requant.vectors = vectors_per_image;
        requant.zero_accumulator = true;
        place_output(requant, output, layer.conv, image, image_elements, vectors_per_image,
                     out_channels, 0);
        program(core).body.push_back(requant);
      }
    }
    // Send a worker's outputs to the home core, one transfer per contiguous range.
    if (worker > 0 && !written.empty()) {
      std::sort(written.begin(), written.end(), [](const Written& a, const Written& b) {
        return a.channel != b.channel ? a.channel < b.channel : a.first_vector < b.first_vector;
      });
      std::vector<std::pair<int64_t, int64_t>> ranges;  // (first element, count)
      auto add_range = [&](int64_t begin, int64_t length) {
        if (!ranges.empty() && ranges.back().first + ranges.back().second == begin) {
          ranges.back().second += length;
        } else {
          ranges.emplace_back(begin, length);
        }
      };
      for (int64_t image = 0; image < images; ++image) {
        if (layer.conv) {
          for (const Written& w : written) {
            add_range(image * image_elements + w.channel * vectors_per_image + w.first_vector,
                      w.end_vector - w.first_vector);
          }
        } else {
          // [M, N]: vector-major; a channel range of one vector is contiguous.
          int64_t first_vector = written.front().first_vector,
                  end_vector = written.front().end_vector;
          for (const Written& w : written) {
            first_vector = std::min(first_vector, w.first_vector);
            end_vector = std::max(end_vector, w.end_vector);
          }
          for (int64_t v = first_vector; v < end_vector; ++v) {
            for (const Written& w : written) {
              if (v >= w.first_vector && v < w.end_vector)
                add_range(v * out_channels + w.channel, 1);
            }
          }
        }
      }
      // One flow-control token covers all of a worker's slices.
      ByteRanges slices;
      for (const auto& range : ranges) {
        slices.emplace_back(static_cast<uint64_t>(range.first) * esize,
                            static_cast<uint64_t>(range.second) * esize);
      }
      transfer_ranges(node.outputs[0], core, output.addr, home, home_output.addr, slices);
    }
  }
  // The home core waits for every slice before anything reads the output.
  emit_pending_receives(node.outputs[0], home);
  mapping_.report.accumulator_peak_bytes =
      std::max(mapping_.report.accumulator_peak_bytes, report.accumulator_bytes);
  mapping_.report.accumulator_exact_bytes =
      std::max(mapping_.report.accumulator_exact_bytes, report.accumulator_bytes_exact);
  for (int core : plan.cores) report.spilled_bytes += spilled_bytes(node.inputs[0], core);
  report.spilled_bytes += spilled_bytes(node.outputs[0], home);
  mapping_.report.layers.push_back(report);
  distribute(node.outputs[0], home, home_output);
}

// Where a Requantize writes: NCHW channel planes for convolutions, [M, N] rows for Gemm.
void Mapper::place_output(core::Requantize& requant, const core::TensorRef& output, bool conv,
                          int64_t image, int64_t image_elements, int64_t vectors_per_image,
                          int64_t out_channels, int64_t first_vector) {
  requant.output = output;
  const size_t esize = core::elem_size(output.type);
  if (conv) {
    requant.output.addr =
        output.addr + static_cast<core::Addr>(image * image_elements + first_vector) * esize;
    requant.out_vector_stride = 1;
    requant.out_column_stride = vectors_per_image;
  } else {
    requant.output.addr =
        output.addr + static_cast<core::Addr>(first_vector * out_channels) * esize;
    requant.out_vector_stride = out_channels;
    requant.out_column_stride = 1;
  }
  requant.out_column_offset = 0;
}

core::LoadWeights Mapper::load_command(const Tile& tile, const CimLayer& layer, core::Addr image,
                                       const std::string& name) const {
  core::LoadWeights load;
  load.source = image;
  load.rows = static_cast<int64_t>(tile.elements.size());
  load.cols = static_cast<int64_t>(tile.channels.size());
  load.weight_bits = layer.weight_bits;
  load.weights_signed = layer.weights_signed;
  load.weight_zero_points = tile.zero_points;
  load.layer = name;
  return load;
}

// Where a tile's weights come from: the seam for weight residency. Every tile's codes are stored
// in a memory image (weight memory, else an overflow region); stationary tiles get a macro of
// their own, loaded once in the prologue; returns -1 for a tile that must be streamed (the core
// has more tiles than macros; load_streamed then emits its LoadWeights before each use). A policy
// that keeps weights resident in the arrays across inferences (or networks) decides here which
// tiles are loaded where, and emit_cim needs no change.
int Mapper::macro_for(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report) {
  CoreState& state = state_[static_cast<size_t>(core)];
  const int macros = arch_.macros_per_core;
  const bool all_fit = state.planned_tiles <= macros;
  const int stationary_slots = all_fit ? macros : macros - 1;
  const core::Addr image = store_weights(core, tile.codes, report.layer + ".tile");
  tile_images_[&tile][core] = image;
  if (state.stationary_tiles < stationary_slots) {
    const int macro = static_cast<int>(state.stationary_tiles++);
    core::LoadWeights load = load_command(tile, layer, image, report.layer);
    load.macro = macro;
    program(core).prologue.push_back(load);
    ++mapping_.report.weight_loads_once;
    return macro;
  }
  return -1;
}

int Mapper::load_streamed(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report) {
  CoreState& state = state_[static_cast<size_t>(core)];
  const int macros = arch_.macros_per_core;
  const int stationary_slots = std::max(0, macros - 1);
  const int macro =
      stationary_slots + (state.streaming_macro++ % std::max(1, macros - stationary_slots));
  core::LoadWeights load = load_command(tile, layer, tile_images_.at(&tile).at(core), report.layer);
  load.macro = macro;
  program(core).body.push_back(load);
  ++mapping_.report.weight_loads_per_inference;
  report.stationary = false;
  return macro;
}

}  // namespace detail

}  // namespace cimtlm::map
