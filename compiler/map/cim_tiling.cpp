#include "compiler/map/cim_tiling.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace cimtlm::map {

namespace {

// Smallest two's-complement width that holds every centred weight (the CIM offset encoding
// stores w + 2^(b-1) in b bits: 1 bit holds {-1, 0}).
int bits_needed(int64_t lowest_value, int64_t highest_value) {
  for (int bits = 1; bits <= 8; ++bits) {
    const int64_t lo = -(int64_t{1} << (bits - 1));
    const int64_t hi = (int64_t{1} << (bits - 1)) - 1;
    if (lowest_value >= lo && highest_value <= hi) return bits;
  }
  return 8;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// The lowest and highest code of every output channel: `channels` runs of `length` codes when a
// channel's codes are contiguous (QConv, [group * cols + n][k]), else the columns of a
// [length][channels] matrix (QGemm). Plain loops the compiler vectorises: the weight range of
// ResNet-18's 11.7 M weights was read one centred weight at a time.
template <typename Code>
void code_ranges(const Code* codes, int64_t channels, int64_t length, bool contiguous,
                 std::vector<int32_t>& lowest, std::vector<int32_t>& highest) {
  lowest.assign(static_cast<size_t>(channels), std::numeric_limits<Code>::max());
  highest.assign(static_cast<size_t>(channels), std::numeric_limits<Code>::min());
  if (contiguous) {
    for (int64_t channel = 0; channel < channels; ++channel) {
      const Code* run = codes + channel * length;
      Code lo = std::numeric_limits<Code>::max(), hi = std::numeric_limits<Code>::min();
      for (int64_t i = 0; i < length; ++i) {
        lo = std::min(lo, run[i]);
        hi = std::max(hi, run[i]);
      }
      if (length > 0) {
        lowest[static_cast<size_t>(channel)] = lo;
        highest[static_cast<size_t>(channel)] = hi;
      }
    }
    return;
  }
  for (int64_t k = 0; k < length; ++k) {
    const Code* row = codes + k * channels;
    for (int64_t channel = 0; channel < channels; ++channel) {
      lowest[static_cast<size_t>(channel)] = std::min<int32_t>(lowest[channel], row[channel]);
      highest[static_cast<size_t>(channel)] = std::max<int32_t>(highest[channel], row[channel]);
    }
  }
}

}  // namespace

uint8_t CimLayer::code(int64_t group, int64_t k, int64_t n) const {
  const auto* raw = static_cast<const uint8_t*>(weights->raw());
  if (conv) return raw[(group * cols + n) * rows + k];
  return raw[k * cols + n];
}

int32_t CimLayer::zero_point(int64_t group, int64_t n) const {
  return zero_points.size() == 1 ? zero_points[0]
                                 : zero_points[static_cast<size_t>(group * cols + n)];
}

int32_t CimLayer::centred(int64_t group, int64_t k, int64_t n) const {
  const uint8_t c = code(group, k, n);
  const int32_t value = weights_signed ? static_cast<int8_t>(c) : static_cast<int32_t>(c);
  return value - zero_point(group, n);
}

CimLayer analyse_cim_layer(const graph::Node& node, const graph::Graph& graph,
                           const graph::ValueMap& values) {
  CimLayer layer;
  layer.node = &node;
  layer.conv = node.op_type == "QConv";
  const graph::Tensor* weights = graph.initializer(node.inputs.at(1));
  if (!weights) {
    throw graph::ModelError(node.describe() +
                            ": weights are not a constant; a product of two activations cannot be "
                            "stored in a CIM array");
  }
  if (weights->type() != graph::DataType::Int8 && weights->type() != graph::DataType::UInt8) {
    throw graph::ModelError(node.describe() + ": weights must be 8-bit, got " +
                            graph::to_string(weights->type()));
  }
  layer.weights = weights;
  layer.weights_signed = weights->type() == graph::DataType::Int8;
  for (int64_t zp : node.get_ints("w_zero_points", {0})) {
    layer.zero_points.push_back(static_cast<int32_t>(zp));
  }
  const graph::Tensor& output = values.at(node.outputs[0]);
  const graph::Shape& w = weights->shape();
  if (layer.conv) {
    if (w.size() != 4)
      throw graph::ModelError(node.describe() + ": only 2-D convolutions map to CIM");
    layer.groups = node.get_int("group", 1);
    layer.cols = w[0] / layer.groups;
    layer.rows = w[1] * w[2] * w[3];
    layer.kernel_h = w[2];
    layer.kernel_w = w[3];
    layer.macs_per_inference = output.dim(0) * output.dim(2) * output.dim(3) * w[0] * layer.rows;
  } else {
    if (w.size() != 2) throw graph::ModelError(node.describe() + ": weights must be [K, N]");
    layer.rows = w[0];
    layer.cols = w[1];
    const int64_t vectors = values.at(node.inputs[0]).elements() / layer.rows;
    layer.macs_per_inference = vectors * layer.rows * layer.cols;
  }
  if (layer.zero_points.size() != 1 &&
      static_cast<int64_t>(layer.zero_points.size()) != layer.groups * layer.cols) {
    throw graph::ModelError(node.describe() + ": " + std::to_string(layer.zero_points.size()) +
                            " weight zero points for " + std::to_string(layer.groups * layer.cols) +
                            " output channels");
  }
  const int64_t channels = layer.groups * layer.cols;
  std::vector<int32_t> lowest, highest;
  if (layer.weights_signed) {
    code_ranges(static_cast<const int8_t*>(weights->raw()), channels, layer.rows, layer.conv,
                lowest, highest);
  } else {
    code_ranges(static_cast<const uint8_t*>(weights->raw()), channels, layer.rows, layer.conv,
                lowest, highest);
  }
  int64_t lo = 0, hi = 0;
  for (int64_t channel = 0; channel < channels; ++channel) {
    const int32_t zero_point = layer.zero_point(channel / layer.cols, channel % layer.cols);
    lo = std::min<int64_t>(lo, lowest[static_cast<size_t>(channel)] - zero_point);
    hi = std::max<int64_t>(hi, highest[static_cast<size_t>(channel)] - zero_point);
  }
  layer.weight_bits = bits_needed(lo, hi);
  return layer;
}

namespace {

// The layer's codes addressed by (group, k, n) with strides, so that the loops below read them
// without CimLayer::code's per-call branches (tile_layer was 18 M instructions of a 3-layer MLP's
// run, issue 10). QConv weights are [group * cols + n][k], QGemm weights [k][n] (one group).
struct CodeStrides {
  const uint8_t* raw;
  int64_t group_stride, k_stride, n_stride;

  explicit CodeStrides(const CimLayer& layer)
      : raw(static_cast<const uint8_t*>(layer.weights->raw())),
        group_stride(layer.conv ? layer.cols * layer.rows : 0),
        k_stride(layer.conv ? 1 : layer.cols),
        n_stride(layer.conv ? layer.rows : 1) {}
  // The codes of row k of a group; column n is at [n * n_stride].
  const uint8_t* row(int64_t group, int64_t k) const {
    return raw + group * group_stride + k * k_stride;
  }
};

int32_t decode(uint8_t code, bool is_signed) {
  return is_signed ? static_cast<int32_t>(static_cast<int8_t>(code)) : static_cast<int32_t>(code);
}

// A weight is zero where its code equals its column's zero point. As bytes: the zero point's
// code, or "never" (every weight non-zero) for a zero point outside the code range.
struct ZeroCode {
  uint8_t code = 0;
  uint8_t never = 0;
};
ZeroCode zero_code(int32_t zero_point, bool is_signed) {
  const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
  if (zero_point < lo || zero_point > hi) return {0, 1};
  return {static_cast<uint8_t>(zero_point), 0};
}

// The rows (elements) and columns of groups [first, first + count) that hold a non-zero weight,
// read in memory order: a QConv output channel's codes are contiguous over k, a QGemm row's over n.
void mark_used(const CimLayer& layer, const CodeStrides& codes, int64_t first, int64_t count,
               std::vector<char>& row_used, std::vector<char>& column_used) {
  const bool per_channel = layer.zero_points.size() != 1;
  std::vector<ZeroCode> zeros(static_cast<size_t>(layer.cols));
  for (int64_t group = 0; group < count; ++group) {
    const int32_t* zero_points =
        layer.zero_points.data() + (per_channel ? (first + group) * layer.cols : 0);
    for (int64_t n = 0; n < layer.cols; ++n) {
      zeros[static_cast<size_t>(n)] =
          zero_code(zero_points[per_channel ? n : 0], layer.weights_signed);
    }
    char* __restrict rows = row_used.data() + group * layer.rows;
    char* __restrict columns = column_used.data() + group * layer.cols;
    if (codes.k_stride == 1) {
      const int64_t length = layer.rows;
      for (int64_t n = 0; n < layer.cols; ++n) {
        const uint8_t* __restrict run = codes.row(first + group, 0) + n * codes.n_stride;
        const ZeroCode zero = zeros[static_cast<size_t>(n)];
        if (zero.never) {
          std::fill(rows, rows + length, 1);
          columns[n] = 1;
          continue;
        }
        const uint8_t zero_byte = zero.code;
        uint8_t any = 0;
        for (int64_t k = 0; k < length; ++k) {
          const uint8_t used = run[k] != zero_byte ? 1 : 0;
          rows[k] = static_cast<char>(rows[k] | used);
          any |= used;
        }
        columns[n] = static_cast<char>(any);
      }
      continue;
    }
    for (int64_t k = 0; k < layer.rows; ++k) {
      const uint8_t* row = codes.row(first + group, k);
      char any = 0;
      for (int64_t n = 0; n < layer.cols; ++n) {
        const ZeroCode zero = zeros[static_cast<size_t>(n)];
        const char used = static_cast<char>((row[n * codes.n_stride] != zero.code) | zero.never);
        columns[n] = static_cast<char>(columns[n] | used);
        any = static_cast<char>(any | used);
      }
      rows[k] = static_cast<char>(rows[k] | any);
    }
  }
}

// Whether a tile of groups starting at `first` holds a non-zero weight (off-diagonal entries of a
// packed block are zero weights), stopping at the first one.
bool has_weight(const CimLayer& layer, const CodeStrides& codes, int64_t first, const Tile& tile,
                const std::vector<int64_t>& column_group,
                const std::vector<int64_t>& column_offset) {
  for (int64_t element : tile.elements) {
    const int64_t group = element / layer.rows;
    const uint8_t* row = codes.row(first + group, element % layer.rows);
    for (size_t j = 0; j < tile.channels.size(); ++j) {
      if (column_group[j] != group) continue;
      if (decode(row[column_offset[j]], layer.weights_signed) != tile.zero_points[j]) return true;
    }
  }
  return false;
}

}  // namespace

LayerTiling tile_layer(const CimLayer& layer, int64_t macro_rows, int64_t logical_columns,
                       bool compact, bool with_codes) {
  LayerTiling tiling;
  const int64_t logical = std::max<int64_t>(1, logical_columns);
  const CodeStrides codes(layer);
  // Groups per block: as many small group matrices as fit side by side on the diagonal.
  int64_t packing = 1;
  if (layer.groups > 1 && layer.rows <= macro_rows && layer.cols <= logical) {
    packing = std::max<int64_t>(1, std::min(macro_rows / layer.rows, logical / layer.cols));
    packing = std::min(packing, layer.groups);
  }
  for (int64_t first = 0; first < layer.groups; first += packing) {
    Block block;
    block.first_group = first;
    block.group_count = std::min(packing, layer.groups - first);
    const int64_t block_rows = block.group_count * layer.rows;
    const int64_t block_cols = block.group_count * layer.cols;
    // The block matrix is block-diagonal over its groups: off-diagonal weights are zero.
    std::vector<char> row_used(static_cast<size_t>(block_rows), !compact);
    std::vector<char> column_used(static_cast<size_t>(block_cols), !compact);
    if (compact) mark_used(layer, codes, first, block.group_count, row_used, column_used);
    for (int64_t e = 0; e < block_rows; ++e) {
      if (row_used[static_cast<size_t>(e)]) block.elements.push_back(e);
    }
    for (int64_t n = 0; n < block_cols; ++n) {
      const int64_t channel = first * layer.cols + n;
      if (column_used[static_cast<size_t>(n)]) {
        block.channels.push_back(channel);
      } else {
        block.zero_channels.push_back(channel);
      }
    }
    tiling.rows_removed += block_rows - static_cast<int64_t>(block.elements.size());
    tiling.columns_removed += block_cols - static_cast<int64_t>(block.channels.size());
    tiling.tiles_dense += ceil_div(block_rows, macro_rows) * ceil_div(block_cols, logical);

    const auto block_index = static_cast<int64_t>(tiling.blocks.size());
    const auto channel_count = static_cast<int64_t>(block.channels.size());
    const auto element_count = static_cast<int64_t>(block.elements.size());
    block.column_chunks = ceil_div(channel_count, logical);
    // Per tile column: its group within the block, its column within the group's matrix (as an
    // offset into a row of codes) and its zero point.
    std::vector<int64_t> column_group, column_offset;
    std::vector<ZeroCode> column_zero;
    for (int64_t chunk = 0; chunk < block.column_chunks; ++chunk) {
      const int64_t c0 = chunk * logical, c1 = std::min(channel_count, c0 + logical);
      for (int64_t r0 = 0; r0 < element_count; r0 += macro_rows) {
        const int64_t r1 = std::min(element_count, r0 + macro_rows);
        Tile tile;
        tile.block = block_index;
        tile.column_chunk = chunk;
        tile.elements.assign(block.elements.begin() + r0, block.elements.begin() + r1);
        tile.channels.assign(block.channels.begin() + c0, block.channels.begin() + c1);
        column_group.clear();
        column_offset.clear();
        for (int64_t channel : tile.channels) {
          const int64_t column = channel - first * layer.cols;
          column_group.push_back(column / layer.cols);
          column_offset.push_back(column % layer.cols * codes.n_stride);
          tile.zero_points.push_back(layer.zero_point(channel / layer.cols, channel % layer.cols));
        }
        if (!with_codes) {
          // Sizes only: a compacted tile is kept when any of its weights is non-zero, which the
          // first rows nearly always show.
          if (!compact || has_weight(layer, codes, first, tile, column_group, column_offset)) {
            tiling.tiles.push_back(std::move(tile));
          }
          continue;
        }
        const auto columns = tile.channels.size();
        column_zero.clear();
        for (int32_t zero_point : tile.zero_points)
          column_zero.push_back(zero_code(zero_point, layer.weights_signed));
        bool all_zero = true;
        tile.codes.resize(tile.elements.size() * columns);
        uint8_t* out = tile.codes.data();
        if (block.group_count == 1 && codes.k_stride == 1) {
          // One QConv group: column by column, as a channel's codes are contiguous over k.
          const uint8_t* base = codes.row(first, 0);
          const auto elements = tile.elements.size();
          int nonzero = 0;
          for (size_t j = 0; j < columns; ++j) {
            const uint8_t* __restrict column = base + column_offset[j];
            const ZeroCode zero = column_zero[j];
            for (size_t i = 0; i < elements; ++i) {
              const uint8_t code = column[tile.elements[i]];
              nonzero |= (code != zero.code) | zero.never;
              out[i * columns + j] = code;
            }
          }
          if (compact && nonzero == 0) continue;
          tiling.tiles.push_back(std::move(tile));
          continue;
        }
        for (int64_t element : tile.elements) {
          const int64_t group = element / layer.rows;
          const uint8_t* row = codes.row(first + group, element % layer.rows);
          if (block.group_count == 1) {
            // One group (every unpacked layer): every column is on the diagonal.
            bool nonzero = false;
            for (size_t j = 0; j < columns; ++j) {
              const uint8_t code = row[column_offset[j]];
              nonzero |= (code != column_zero[j].code) | column_zero[j].never;
              out[j] = code;
            }
            if (nonzero) all_zero = false;
            out += columns;
            continue;
          }
          for (size_t j = 0; j < columns; ++j) {
            const int32_t zero_point = tile.zero_points[j];
            if (column_group[j] == group) {
              const uint8_t code = row[column_offset[j]];
              if (decode(code, layer.weights_signed) != zero_point) all_zero = false;
              *out++ = code;
            } else {
              *out++ = static_cast<uint8_t>(zero_point);  // off-diagonal: a zero weight
            }
          }
        }
        if (compact && all_zero) continue;
        tiling.tiles.push_back(std::move(tile));
      }
    }
    tiling.blocks.push_back(std::move(block));
  }
  return tiling;
}

}  // namespace cimtlm::map
