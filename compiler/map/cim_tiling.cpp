#include "compiler/map/cim_tiling.h"

#include <algorithm>

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

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

uint8_t CimLayer::code(int64_t group, int64_t k, int64_t n) const {
  const auto* raw = static_cast<const uint8_t*>(weights->raw());
  if (conv) return raw[(group * cols + n) * rows + k];
  return raw[k * cols + n];
}

int32_t CimLayer::zero_point(int64_t group, int64_t n) const {
  return zero_points.size() == 1 ? zero_points[0] : zero_points[static_cast<size_t>(group * cols + n)];
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
    if (w.size() != 4) throw graph::ModelError(node.describe() + ": only 2-D convolutions map to CIM");
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
  int64_t lo = 0, hi = 0;
  for (int64_t g = 0; g < layer.groups; ++g) {
    for (int64_t k = 0; k < layer.rows; ++k) {
      for (int64_t n = 0; n < layer.cols; ++n) {
        const int64_t value = layer.centred(g, k, n);
        lo = std::min(lo, value);
        hi = std::max(hi, value);
      }
    }
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

}  // namespace

LayerTiling tile_layer(const CimLayer& layer, int64_t macro_rows, int64_t logical_columns,
                       bool compact) {
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
    if (compact) {
      const bool per_channel = layer.zero_points.size() != 1;
      for (int64_t e = 0; e < block_rows; ++e) {
        const int64_t group = e / layer.rows;
        const uint8_t* row = codes.row(first + group, e % layer.rows);
        const int32_t* zero_points =
            layer.zero_points.data() + (per_channel ? (first + group) * layer.cols : 0);
        char* used = column_used.data() + group * layer.cols;
        bool any = false;
        for (int64_t n = 0; n < layer.cols; ++n) {
          if (decode(row[n * codes.n_stride], layer.weights_signed) !=
              zero_points[per_channel ? n : 0]) {
            any = true;
            used[n] = 1;
          }
        }
        if (any) row_used[static_cast<size_t>(e)] = 1;
      }
    }
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
        const auto columns = tile.channels.size();
        bool all_zero = true;
        tile.codes.resize(tile.elements.size() * columns);
        uint8_t* out = tile.codes.data();
        for (int64_t element : tile.elements) {
          const int64_t group = element / layer.rows;
          const uint8_t* row = codes.row(first + group, element % layer.rows);
          if (block.group_count == 1) {
            // One group (every unpacked layer): every column is on the diagonal.
            bool nonzero = false;
            for (size_t j = 0; j < columns; ++j) {
              const uint8_t code = row[column_offset[j]];
              nonzero |= decode(code, layer.weights_signed) != tile.zero_points[j];
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
