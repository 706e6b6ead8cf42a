// Tiling of CIM layers against definitions written from CimLayer::code alone: which rows and
// columns compaction keeps, every tile's codes (off-diagonal entries of packed groups are zero
// weights), which tiles are dropped, the sizes-only mode (no codes, the same tiles) and the weight
// width analyse_cim_layer finds. Random pruned layers: QConv (grouped and depthwise, packed) and
// QGemm, signed and unsigned codes, per-tensor and per-channel zero points, some outside the
// code range (every weight then counts as non-zero).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "compiler/map/cim_tiling.h"

namespace cimtlm::map {
namespace {

struct RandomLayer {
  graph::Graph graph;
  graph::Node node;
  graph::ValueMap values;
};

// A QConv ([groups * cols][rows / 9][3][3]) or QGemm ([rows][cols]) node over random codes in which
// whole rows, whole columns and scattered weights equal their zero point.
RandomLayer random_layer(std::mt19937& rng, bool conv) {
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  RandomLayer made;
  const bool is_signed = pick(0, 1) == 1;
  const int64_t groups = conv ? std::vector<int64_t>{1, 2, 4, 16}[pick(0, 3)] : 1;
  const int64_t channels_in = conv ? groups * pick(1, 3) : 0;
  const int64_t cols = conv ? pick(1, 40) : pick(1, 300);
  const int64_t rows = conv ? channels_in / groups * 9 : pick(1, 600);
  const bool per_channel = pick(0, 1) == 1;
  const int64_t outputs = groups * cols;
  std::vector<int64_t> zero_points(per_channel ? outputs : 1);
  for (auto& zero_point : zero_points) {
    const int choice = pick(0, 9);
    // Mostly in range; now and then outside it, where no code equals it.
    zero_point = choice == 0 ? (is_signed ? 200 : -3) : is_signed ? pick(-128, 127) : pick(0, 255);
  }
  graph::Shape shape =
      conv ? graph::Shape{outputs, channels_in / groups, 3, 3} : graph::Shape{rows, cols};
  graph::Tensor weights(is_signed ? graph::DataType::Int8 : graph::DataType::UInt8, shape);
  auto* codes = static_cast<uint8_t*>(weights.raw());
  const double density = std::vector<double>{1.0, 0.5, 0.05, 0.0}[pick(0, 3)];
  std::bernoulli_distribution keep(density);
  std::vector<char> dead_row(static_cast<size_t>(rows)), dead_col(static_cast<size_t>(outputs));
  for (auto& dead : dead_row) dead = pick(0, 5) == 0;
  for (auto& dead : dead_col) dead = pick(0, 5) == 0;
  for (int64_t channel = 0; channel < outputs; ++channel) {
    const int64_t zero_point = zero_points[per_channel ? channel : 0];
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t index = conv ? channel * rows + k : k * cols + channel;
      const bool zero = dead_row[k] || dead_col[channel] || !keep(rng);
      const int value =
          zero ? static_cast<int>(zero_point) : pick(is_signed ? -128 : 0, is_signed ? 127 : 255);
      codes[index] = static_cast<uint8_t>(value);  // out-of-range zero points wrap: non-zero
    }
  }
  made.graph.initializers["w"] = weights;
  made.node.name = "layer";
  made.node.op_type = conv ? "QConv" : "QGemm";
  made.node.domain = "cimtlm";
  made.node.inputs = {"x", "w"};
  made.node.outputs = {"y"};
  graph::Attribute zps;
  zps.kind = graph::Attribute::Kind::Ints;
  zps.ints = zero_points;
  made.node.attributes["w_zero_points"] = zps;
  if (conv) made.node.attributes["group"] = graph::Attribute::of_int(groups);
  made.values["x"] = conv ? graph::Tensor(graph::DataType::UInt8, {1, channels_in, 4, 4})
                          : graph::Tensor(graph::DataType::UInt8, {1, rows});
  made.values["y"] = conv ? graph::Tensor(graph::DataType::UInt8, {1, outputs, 2, 2})
                          : graph::Tensor(graph::DataType::UInt8, {1, cols});
  return made;
}

int bits_for(int64_t lo, int64_t hi) {
  for (int bits = 1; bits <= 8; ++bits) {
    if (lo >= -(int64_t{1} << (bits - 1)) && hi <= (int64_t{1} << (bits - 1)) - 1) return bits;
  }
  return 8;
}

TEST(CimTiling, TilesEqualTheirDefinitionWithAndWithoutCodes) {
  std::mt19937 rng(20261206);
  int tiles_seen = 0, tiles_dropped = 0, rows_removed = 0;
  for (int trial = 0; trial < 160; ++trial) {
    const bool conv = trial % 2 == 0;
    const RandomLayer made = random_layer(rng, conv);
    const CimLayer layer = analyse_cim_layer(made.node, made.graph, made.values);
    // The weight width from every centred weight.
    int64_t lo = 0, hi = 0;
    for (int64_t g = 0; g < layer.groups; ++g) {
      for (int64_t k = 0; k < layer.rows; ++k) {
        for (int64_t n = 0; n < layer.cols; ++n) {
          lo = std::min<int64_t>(lo, layer.centred(g, k, n));
          hi = std::max<int64_t>(hi, layer.centred(g, k, n));
        }
      }
    }
    ASSERT_EQ(layer.weight_bits, bits_for(lo, hi)) << "trial " << trial;

    const int64_t macro_rows = std::vector<int64_t>{16, 64, 256}[trial % 3];
    const int64_t logical = std::vector<int64_t>{8, 32, 128}[(trial / 3) % 3];
    for (bool compact : {true, false}) {
      const LayerTiling full = tile_layer(layer, macro_rows, logical, compact);
      const LayerTiling sized = tile_layer(layer, macro_rows, logical, compact, false);
      ASSERT_EQ(full.tiles.size(), sized.tiles.size()) << "trial " << trial;
      ASSERT_EQ(full.blocks.size(), sized.blocks.size());
      EXPECT_EQ(full.rows_removed, sized.rows_removed);
      EXPECT_EQ(full.columns_removed, sized.columns_removed);
      rows_removed += static_cast<int>(full.rows_removed);
      int64_t kept_possible = 0, expected_tiles = 0;
      for (size_t b = 0; b < full.blocks.size(); ++b) {
        const Block& block = full.blocks[b];
        EXPECT_EQ(block.elements, sized.blocks[b].elements);
        EXPECT_EQ(block.channels, sized.blocks[b].channels);
        // Compaction keeps exactly the rows and columns with a non-zero weight of the block.
        const int64_t block_rows = block.group_count * layer.rows;
        std::vector<int64_t> rows_expected, channels_expected;
        for (int64_t e = 0; e < block_rows; ++e) {
          const int64_t g = block.first_group + e / layer.rows;
          bool any = !compact;
          for (int64_t n = 0; n < layer.cols && !any; ++n)
            any = !layer.is_zero(g, e % layer.rows, n);
          if (any) rows_expected.push_back(e);
        }
        for (int64_t c = 0; c < block.group_count * layer.cols; ++c) {
          const int64_t g = block.first_group + c / layer.cols;
          bool any = !compact;
          for (int64_t k = 0; k < layer.rows && !any; ++k)
            any = !layer.is_zero(g, k, c % layer.cols);
          if (any) channels_expected.push_back(block.first_group * layer.cols + c);
        }
        EXPECT_EQ(block.elements, rows_expected) << "trial " << trial;
        EXPECT_EQ(block.channels, channels_expected) << "trial " << trial;
        // Every (column chunk, row range) of the kept rows and columns that holds a weight.
        const auto channel_count = static_cast<int64_t>(block.channels.size());
        const auto element_count = static_cast<int64_t>(block.elements.size());
        for (int64_t c0 = 0; c0 < channel_count; c0 += logical) {
          for (int64_t r0 = 0; r0 < element_count; r0 += macro_rows) {
            ++kept_possible;
            bool any = false;
            for (int64_t i = r0; i < std::min(element_count, r0 + macro_rows) && !any; ++i) {
              const int64_t group = block.first_group + block.elements[i] / layer.rows;
              for (int64_t j = c0; j < std::min(channel_count, c0 + logical) && !any; ++j) {
                const int64_t channel = block.channels[j];
                any = channel / layer.cols == group &&
                      !layer.is_zero(group, block.elements[i] % layer.rows, channel % layer.cols);
              }
            }
            expected_tiles += (any || !compact) ? 1 : 0;
          }
        }
      }
      EXPECT_EQ(static_cast<int64_t>(full.tiles.size()), expected_tiles) << "trial " << trial;
      int64_t nonzero_tiles = 0;
      for (size_t t = 0; t < full.tiles.size(); ++t) {
        const Tile& tile = full.tiles[t];
        const Tile& size_only = sized.tiles[t];
        EXPECT_EQ(tile.block, size_only.block);
        EXPECT_EQ(tile.column_chunk, size_only.column_chunk);
        EXPECT_EQ(tile.elements, size_only.elements);
        EXPECT_EQ(tile.channels, size_only.channels);
        EXPECT_EQ(tile.zero_points, size_only.zero_points);
        EXPECT_TRUE(size_only.codes.empty());
        const Block& block = full.blocks[static_cast<size_t>(tile.block)];
        ASSERT_EQ(tile.codes.size(), tile.elements.size() * tile.channels.size());
        bool any = false;
        for (size_t i = 0; i < tile.elements.size(); ++i) {
          const int64_t group = block.first_group + tile.elements[i] / layer.rows;
          const int64_t k = tile.elements[i] % layer.rows;
          for (size_t j = 0; j < tile.channels.size(); ++j) {
            const int64_t channel = tile.channels[j];
            const int64_t column_group = channel / layer.cols;
            const int32_t zero_point = layer.zero_point(column_group, channel % layer.cols);
            ASSERT_EQ(tile.zero_points[j], zero_point);
            const uint8_t expected = column_group == group
                                         ? layer.code(group, k, channel % layer.cols)
                                         : static_cast<uint8_t>(zero_point);
            ASSERT_EQ(tile.codes[i * tile.channels.size() + j], expected)
                << "trial " << trial << " tile " << t << " (" << i << ", " << j << ")";
            any = any || (column_group == group && !layer.is_zero(group, k, channel % layer.cols));
          }
        }
        if (compact) {
          EXPECT_TRUE(any) << "an all-zero tile was kept, trial " << trial;
        }
        nonzero_tiles += any ? 1 : 0;
      }
      if (compact) {
        tiles_dropped += static_cast<int>(kept_possible - static_cast<int64_t>(full.tiles.size()));
      } else {
        EXPECT_EQ(static_cast<int64_t>(full.tiles.size()), full.tiles_dense);
      }
      tiles_seen += static_cast<int>(nonzero_tiles);
    }
  }
  // The random layers reach every case: tiles, compacted rows and dropped all-zero tiles.
  EXPECT_GT(tiles_seen, 100);
  EXPECT_GT(rows_removed, 100);
  EXPECT_GT(tiles_dropped, 0);
}

}  // namespace
}  // namespace cimtlm::map
