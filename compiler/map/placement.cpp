// Placement: CIM layers analysed and tiled, then placed on cores (pipelined, partitioned or
// shared in proportion to their MACs), their work items dealt out; other nodes follow their input.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "compiler/map/mapper_internal.h"
#include "compiler/map/mesh_curve.h"

namespace cimtlm::map {
namespace detail {

void Mapper::analyse() {
  for (const Node& node : graph_.nodes) {
    if (!is_cim(node) || runs_as_kernel(node)) continue;
    CimPlan plan;
    plan.layer = analyse_cim_layer(node, graph_, values_);
    plan.tiling = tile_layer(plan.layer, arch_.macro_rows, logical_columns(plan.layer.weight_bits),
                             options_.compact);
    plans_.emplace(&node, std::move(plan));
  }
}

// Work items of a layer: one per (block, column chunk); when that gives fewer items than the
// layer has cores, each is split further over ranges of output positions (the weights are
// then replicated on the cores that share a chunk).
std::vector<Mapper::WorkItem> Mapper::work_items(const CimPlan& plan, size_t cores) const {
  std::vector<WorkItem> items;
  for (size_t b = 0; b < plan.tiling.blocks.size(); ++b) {
    for (int64_t chunk = 0; chunk < plan.tiling.blocks[b].column_chunks; ++chunk) {
      items.push_back({static_cast<int64_t>(b), chunk, 0, -1});
    }
  }
  if (items.empty() || items.size() >= cores) return items;
  const int64_t vectors = vectors_per_image(*plan.layer.node, plan.layer);
  const int64_t split =
      std::min<int64_t>(vectors, static_cast<int64_t>((cores + items.size() - 1) / items.size()));
  if (split <= 1) return items;
  std::vector<WorkItem> ranges;
  for (const WorkItem& item : items) {
    for (int64_t part = 0; part < split; ++part) {
      ranges.push_back(
          {item.block, item.chunk, vectors * part / split, vectors * (part + 1) / split});
    }
  }
  return ranges;
}

int64_t Mapper::vectors_per_image(const Node& node, const CimLayer& layer) const {
  if (layer.conv) {
    const Tensor& output = value(node.outputs[0]);
    return output.dim(2) * output.dim(3);
  }
  return value(node.inputs[0]).elements() / layer.rows;
}

// Estimated time of a layer on `cores` cores, in vector steps: a core's tiles run side by side
// on its macros (rounds of `macros_per_core`), over its share of the vectors.
int64_t Mapper::layer_steps(const Node* node, size_t cores) const {
  const CimPlan& plan = plans_.at(node);
  const int64_t vectors = vectors_per_image(*node, plan.layer) * value(node->inputs[0]).dim(0);
  const auto tiles = std::max<int64_t>(1, static_cast<int64_t>(plan.tiling.tiles.size()));
  const auto chunks = std::max<int64_t>(1, static_cast<int64_t>(work_items(plan, 1).size()));
  const auto count = static_cast<int64_t>(cores);
  const int64_t macros = arch_.macros_per_core;
  if (count <= chunks) {
    const int64_t tiles_per_core = (tiles + count - 1) / count;
    return vectors * ((tiles_per_core + macros - 1) / macros);
  }
  const int64_t split = std::min(vectors, (count + chunks - 1) / chunks);
  const int64_t tiles_per_chunk = (tiles + chunks - 1) / chunks;
  return ((vectors + split - 1) / split) * ((tiles_per_chunk + macros - 1) / macros);
}

// Pipelined or partitioned, by an estimate of the time of `inferences` inferences: pipelining
// overlaps inferences (its makespan is one pass plus the slowest core per further inference);
// partitioning shortens every layer.
bool Mapper::partition_pays(const std::vector<const Node*>& order, int64_t total,
                            int64_t core_count) const {
  std::vector<int64_t> load(static_cast<size_t>(core_count), 0);
  int64_t running = 0, pass = 0, partitioned = 0;
  for (const Node* node : order) {
    const int64_t macs = std::max<int64_t>(1, plans_.at(node).layer.macs_per_inference);
    const int64_t midpoint = running + macs / 2;
    running += macs;
    const int64_t slot = std::min(total > 0 ? midpoint * core_count / total : 0, core_count - 1);
    const int64_t steps = layer_steps(node, 1);
    load[static_cast<size_t>(slot)] += steps;
    pass += steps;
    partitioned += layer_steps(node, static_cast<size_t>(core_count));
  }
  const int64_t inferences = std::max(1, options_.inferences);
  const int64_t pipelined = pass + (inferences - 1) * *std::max_element(load.begin(), load.end());
  return partitioned * inferences < pipelined;
}

void Mapper::place() {
  std::vector<const Node*> order;
  int64_t total = 0;
  for (int index : schedule_.node_order) {
    const Node& node = graph_.nodes[static_cast<size_t>(index)];
    if (!is_cim(node) || runs_as_kernel(node)) continue;
    order.push_back(&node);
    total += std::max<int64_t>(1, plans_.at(&node).layer.macs_per_inference);
  }
  const auto core_count = static_cast<int64_t>(cores_.size());
  std::string placement = options_.placement;
  if (placement == "auto") {
    placement = static_cast<int64_t>(order.size()) >= core_count ? "pipelined" : "shared";
    if (placement == "pipelined" && core_count > 1 && partition_pays(order, total, core_count)) {
      placement = "partitioned";
    }
  }
  mapping_.report.placement = placement;
  if (placement == "pipelined") {
    // Consecutive layers grouped on a core by their share of the MACs.
    int64_t running = 0;
    for (const Node* node : order) {
      const int64_t macs = std::max<int64_t>(1, plans_.at(node).layer.macs_per_inference);
      const int64_t midpoint = running + macs / 2;
      running += macs;
      const int64_t slot = std::min(total > 0 ? midpoint * core_count / total : 0, core_count - 1);
      plans_.at(node).cores = {cores_[static_cast<size_t>(slot)]};
    }
  } else if (placement == "partitioned") {
    for (const Node* node : order) plans_.at(node).cores = cores_;
  } else if (placement == "shared") {
    // Cores in proportion to each layer's MACs (largest remainder), at least one each, then
    // contiguous ranges in layer order (neighbouring layers on neighbouring cores).
    std::vector<int64_t> share(order.size(), 1);
    int64_t left = core_count - static_cast<int64_t>(order.size());
    std::vector<std::pair<double, size_t>> remainders;
    for (size_t i = 0; i < order.size(); ++i) {
      const double exact = static_cast<double>(left) *
                           static_cast<double>(plans_.at(order[i]).layer.macs_per_inference) /
                           static_cast<double>(std::max<int64_t>(total, 1));
      share[i] += static_cast<int64_t>(exact);
      remainders.emplace_back(exact - std::floor(exact), i);
    }
    int64_t given = std::accumulate(share.begin(), share.end(), int64_t{0});
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; given < core_count && k < remainders.size(); ++k, ++given) {
      ++share[remainders[k].second];
    }
    // The ranges follow a space-filling curve over the mesh, so a layer's cores form a compact
    // region next to the previous layer's (in row-major order a range is a row segment, and its
    // input crosses up to a whole row). The home core (first) is the range's last core on the
    // curve: it gathers the slices and sends the output on to the next range, which starts
    // beside it (ResNet-18 on 16x16: 4.65 M flit-hops per inference with the first core as home,
    // 2.98 M with the last).
    const std::vector<int> along = along_mesh_curve(cores_);
    size_t next = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      std::vector<int> mine;
      for (int64_t k = 0; k < share[i] && next < along.size(); ++k) mine.push_back(along[next++]);
      if (mine.empty()) mine.push_back(along.back());
      std::reverse(mine.begin(), mine.end());
      plans_.at(order[i]).cores = mine;
    }
  } else {
    throw ModelError("unknown placement '" + options_.placement + "'");
  }
  // Work items: round robin by tile count over the layer's cores (no more cores than items).
  for (const Node* node : order) {
    CimPlan& plan = plans_.at(node);
    auto items = work_items(plan, plan.cores.size());
    if (items.empty()) items.push_back({});  // a layer without weights: bias only
    if (plan.cores.size() > items.size()) plan.cores.resize(items.size());
    plan.items.assign(plan.cores.size(), {});
    std::vector<int64_t> load(plan.cores.size(), 0);
    for (const auto& item : items) {
      int64_t tiles = 0;
      for (const Tile& tile : plan.tiling.tiles) {
        if (tile.block == item.block && tile.column_chunk == item.chunk) ++tiles;
      }
      const size_t lightest =
          static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      plan.items[lightest].push_back(item);
      load[lightest] += std::max<int64_t>(tiles, 1);
    }
    for (size_t w = 0; w < plan.cores.size(); ++w) {
      state_[static_cast<size_t>(plan.cores[w])].planned_tiles += load[w];
    }
    core_of_node_[node] = plan.cores.front();
  }
  for (int index : schedule_.node_order) {
    const Node& node = graph_.nodes[static_cast<size_t>(index)];
    if (core_of_node_.count(&node)) continue;
    int core = cores_.front();
    for (const auto& input : node.inputs) {
      if (input.empty() || graph_.is_initializer(input)) continue;
      const int producer = graph_.producer(input);
      if (producer >= 0) core = core_of_node_.at(&graph_.nodes[static_cast<size_t>(producer)]);
      break;
    }
    core_of_node_[&node] = core;
  }
}

// `cores` sorted by their position on the mesh's space-filling curve (unchanged when the mesh
// geometry does not describe the cores).
std::vector<int> Mapper::along_mesh_curve(const std::vector<int>& cores) const {
  if (static_cast<int64_t>(arch_.mesh_rows) * arch_.mesh_cols != arch_.cores) return cores;
  const std::vector<int> curve = mesh_curve_order(arch_.mesh_rows, arch_.mesh_cols);
  for (int core : cores) {
    if (core < 0 || static_cast<size_t>(core) >= curve.size()) return cores;
  }
  std::vector<int> rank(curve.size());
  for (size_t position = 0; position < curve.size(); ++position) {
    rank[static_cast<size_t>(curve[position])] = static_cast<int>(position);
  }
  std::vector<int> sorted = cores;
  std::stable_sort(sorted.begin(), sorted.end(), [&](int a, int b) {
    return rank[static_cast<size_t>(a)] < rank[static_cast<size_t>(b)];
  });
  return sorted;
}

// Every core a node runs on (a partitioned CIM layer runs on several).
std::vector<int> Mapper::cores_of(const Node* node) const {
  auto plan = plans_.find(node);
  if (plan != plans_.end()) return plan->second.cores;
  return {core_of_node_.at(node)};
}

}  // namespace detail

}  // namespace cimtlm::map
