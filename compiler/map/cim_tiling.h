// Tiling of CIM layers (QConv, QGemm) onto macros.
//
// A layer is seen per group as a weight matrix W_g[K][M] (K = input elements of a patch or row,
// M = output channels of the group). Three things keep the array use small:
//  * group packing: consecutive groups whose matrices are small (depthwise convolutions) share a
//    tile as a block-diagonal matrix, so 32 depthwise channels of 3x3 take one tile, not 32;
//  * compaction of pruned weights: rows (input elements) and columns (output channels) whose
//    weights are all zero take no array space; a column with no weight at all still produces
//    its bias;
//  * tiles whose weights are all zero after that are dropped.
// Unstructured zeros inside tiles stay (the sparsity-aware macro handles sparsity of inputs).
// A weight is zero when it equals its column's zero point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/graph/graph.h"
#include "compiler/graph/reference_executor.h"

namespace cimtlm::map {

struct CimLayer {
  const graph::Node* node = nullptr;
  bool conv = false;
  int64_t groups = 1;
  int64_t rows = 0;  // K: input elements per group (C/g * kh * kw, or the Gemm inner size)
  int64_t cols = 0;  // M: output channels per group
  int64_t kernel_h = 1, kernel_w = 1;
  bool weights_signed = true;
  std::vector<int32_t> zero_points;  // per output channel, or one
  const graph::Tensor* weights = nullptr;
  int weight_bits = 8;  // bits the centred weights need (the value range decides, not the type)
  int64_t macs_per_inference = 0;

  uint8_t code(int64_t group, int64_t k, int64_t n) const;
  int32_t zero_point(int64_t group, int64_t n) const;
  int32_t centred(int64_t group, int64_t k, int64_t n) const;  // w - w_zp
  bool is_zero(int64_t group, int64_t k, int64_t n) const { return centred(group, k, n) == 0; }
};

// Reads a QConv/QGemm node; throws graph::ModelError when it cannot live in a CIM array.
CimLayer analyse_cim_layer(const graph::Node& node, const graph::Graph& graph,
                           const graph::ValueMap& values);

// One tile: rows x cols weights of a block of packed groups.
struct Tile {
  int64_t block = 0;
  std::vector<int64_t> elements;  // element index of each tile row within the block's patch
  std::vector<int64_t> channels;  // absolute output channel of each tile column
  std::vector<uint8_t> codes;     // weight codes, rows x cols, row major
  std::vector<int32_t> zero_points;  // per tile column
  int64_t column_chunk = 0;       // tiles of the same block and chunk accumulate together
};

// Groups [first_group, first_group + group_count) packed into one block-diagonal matrix.
struct Block {
  int64_t first_group = 0;
  int64_t group_count = 1;
  std::vector<int64_t> elements;  // non-zero rows (element index within the block's patch)
  std::vector<int64_t> channels;  // non-zero output channels (absolute)
  std::vector<int64_t> zero_channels;  // output channels without any weight (bias only)
  int64_t column_chunks = 0;
};

struct LayerTiling {
  std::vector<Block> blocks;
  std::vector<Tile> tiles;     // ordered by block, column chunk, then rows
  int64_t tiles_dense = 0;     // an unpruned mapping of the same layer (no compaction)
  int64_t rows_removed = 0;    // array rows saved by compaction, summed over blocks
  int64_t columns_removed = 0;
};

// `logical_columns`: weights of the layer's bit width that fit side by side in one macro.
// `compact`: remove all-zero rows, columns and tiles. `with_codes` false leaves every Tile::codes
// empty, for callers that only count or size the tiles (much faster on large layers).
LayerTiling tile_layer(const CimLayer& layer, int64_t macro_rows, int64_t logical_columns,
                       bool compact, bool with_codes = true);

}  // namespace cimtlm::map
