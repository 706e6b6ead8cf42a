#include "compiler/map/mapper.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include "compiler/graph/quantized_math.h"
#include "compiler/map/cim_tiling.h"
#include "compiler/map/memory_plan.h"
#include "compiler/map/schedule.h"

namespace cimtlm::map {

namespace {

using graph::DataType;
using graph::ModelError;
using graph::Node;
using graph::Shape;
using graph::Tensor;

constexpr uint64_t kAlignment = 64;  // buffer alignment in bytes (one memory word line)

uint64_t align_up(uint64_t value) { return (value + kAlignment - 1) / kAlignment * kAlignment; }

core::ElemType elem_type(const Node& node, DataType type) {
  switch (type) {
    case DataType::Int8: return core::ElemType::Int8;
    case DataType::UInt8: return core::ElemType::UInt8;
    case DataType::Int32: return core::ElemType::Int32;
    case DataType::Float: return core::ElemType::Float32;
    case DataType::Int64: return core::ElemType::Int64;
    default:
      throw ModelError(node.describe() + ": tensors of type " + std::string(graph::to_string(type)) +
                       " cannot live in the platform's memories");
  }
}

bool is_cim(const Node& node) {
  return node.domain == "cimtlm" && (node.op_type == "QConv" || node.op_type == "QGemm");
}

bool is_alias(const Node& node) {
  return node.domain.empty() &&
         (node.op_type == "Flatten" || node.op_type == "Reshape" || node.op_type == "Identity" ||
          node.op_type == "Squeeze" || node.op_type == "Unsqueeze");
}

int bits_for_magnitude(int64_t magnitude) {
  int bits = 1;  // sign bit
  while (bits < 63 && (int64_t{1} << (bits - 1)) <= magnitude) ++bits;
  return bits;
}

class Mapper {
 public:
  Mapper(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
         const MapOptions& options)
      : graph_(graph), values_(values), arch_(arch), options_(options) {
    if (arch_.cores < 1 || arch_.macros_per_core < 1 || !arch_.logical_columns) {
      throw std::invalid_argument("map_network: incomplete ArchInfo");
    }
    cores_ = options_.cores;
    if (cores_.empty()) {
      cores_.resize(static_cast<size_t>(arch_.cores));
      std::iota(cores_.begin(), cores_.end(), 0);
    }
    mapping_.program.cores.resize(static_cast<size_t>(arch_.cores));
    state_.resize(static_cast<size_t>(arch_.cores));
    mapping_.report.activation_bytes.assign(static_cast<size_t>(arch_.cores), 0);
    mapping_.report.weight_bytes.assign(static_cast<size_t>(arch_.cores), 0);
    next_tag_ = options_.tag_base;
  }

  Mapping run() {
    // The node order first: branches of parallel regions in the order of least peak memory.
    ScheduleOptions schedule_options;
    schedule_options.memory_target_bytes = options_.memory_target_bytes;
    schedule_options.alignment_bytes = kAlignment;
    schedule_ = plan_schedule(graph_, values_, schedule_options);
    mapping_.report.branch_order = schedule_.branch_order;
    mapping_.report.peak_activation_bytes = schedule_.peak_bytes;
    mapping_.report.naive_peak_activation_bytes = schedule_.naive_peak_bytes;
    mapping_.report.memory_target_met = schedule_.target_met;
    analyse();
    place();
    plan_activations();
    for (int index : schedule_.node_order) emit(static_cast<size_t>(index));
    bind_outputs();
    finish();
    return std::move(mapping_);
  }

 private:
  struct CoreState {
    uint64_t activation_used = 0;
    uint64_t weight_used = 0;
    std::vector<uint64_t> overflow_used;
    int streaming_macro = 0;
    int64_t stationary_tiles = 0;
    int64_t planned_tiles = 0;
    bool used = false;
    int accumulator_half = 0;
  };
  // A share of a layer's work: the tiles of one block and column chunk, over a range of the
  // input vectors (output positions), [first_vector, end_vector) with end -1 meaning all.
  struct WorkItem {
    int64_t block = 0;
    int64_t chunk = 0;
    int64_t first_vector = 0;
    int64_t end_vector = -1;
  };
  // A CIM layer and how its tiles are shared among cores.
  struct CimPlan {
    CimLayer layer;
    LayerTiling tiling;
    std::vector<int> cores;  // cores[0] is the home core (assembles the output)
    // Work items per core.
    std::vector<std::vector<WorkItem>> items;
  };

  const Tensor& value(const std::string& name) const {
    auto found = values_.find(name);
    if (found != values_.end()) return found->second;
    if (const Tensor* constant = graph_.initializer(name)) return *constant;
    throw ModelError("mapper: no value for tensor '" + name + "'");
  }

  int64_t logical_columns(int bits) const {
    return std::max<int64_t>(1, arch_.logical_columns(bits));
  }

  // ---- analysis and placement ---------------------------------------------------------------

  void analyse() {
    for (const Node& node : graph_.nodes) {
      if (!is_cim(node)) continue;
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
  std::vector<WorkItem> work_items(const CimPlan& plan, size_t cores) const {
    std::vector<WorkItem> items;
    for (size_t b = 0; b < plan.tiling.blocks.size(); ++b) {
      for (int64_t chunk = 0; chunk < plan.tiling.blocks[b].column_chunks; ++chunk) {
        items.push_back({static_cast<int64_t>(b), chunk, 0, -1});
      }
    }
    if (items.empty() || items.size() >= cores) return items;
    const int64_t vectors = vectors_per_image(*plan.layer.node, plan.layer);
    const int64_t split = std::min<int64_t>(vectors, static_cast<int64_t>((cores + items.size() - 1) / items.size()));
    if (split <= 1) return items;
    std::vector<WorkItem> ranges;
    for (const WorkItem& item : items) {
      for (int64_t part = 0; part < split; ++part) {
        ranges.push_back({item.block, item.chunk, vectors * part / split, vectors * (part + 1) / split});
      }
    }
    return ranges;
  }

  int64_t vectors_per_image(const Node& node, const CimLayer& layer) const {
    if (layer.conv) {
      const Tensor& output = value(node.outputs[0]);
      return output.dim(2) * output.dim(3);
    }
    return value(node.inputs[0]).elements() / layer.rows;
  }

  // Estimated time of a layer on `cores` cores, in vector steps: a core's tiles run side by side
  // on its macros (rounds of `macros_per_core`), over its share of the vectors.
  int64_t layer_steps(const Node* node, size_t cores) const {
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
  bool partition_pays(const std::vector<const Node*>& order, int64_t total, int64_t core_count) const {
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

  void place() {
    std::vector<const Node*> order;
    int64_t total = 0;
    for (int index : schedule_.node_order) {
      const Node& node = graph_.nodes[static_cast<size_t>(index)];
      if (!is_cim(node)) continue;
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
      size_t next = 0;
      for (size_t i = 0; i < order.size(); ++i) {
        std::vector<int> mine;
        for (int64_t k = 0; k < share[i] && next < cores_.size(); ++k) mine.push_back(cores_[next++]);
        if (mine.empty()) mine.push_back(cores_.back());
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
        const size_t lightest = static_cast<size_t>(
            std::min_element(load.begin(), load.end()) - load.begin());
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

  // ---- memory ------------------------------------------------------------------------------

  // Liveness-based placement of every core's activation buffers (compiler/map/memory_plan.h):
  // buffers that are never live together share bytes, so a core needs its peak, not the sum.
  void plan_activations() {
    std::vector<std::vector<int>> cores_of_node(graph_.nodes.size());
    std::vector<ScratchBuffer> scratch;
    for (size_t index = 0; index < graph_.nodes.size(); ++index) {
      const Node& node = graph_.nodes[index];
      cores_of_node[index] = cores_of(&node);
      if (node.domain == "cimtlm" && node.op_type == "QConcat") {
        // Inputs whose scale or zero point differ from the output's are requantized first.
        const auto x_scales = node.get_floats("x_scales", {});
        const auto x_zero_points = node.get_ints("x_zero_points", {});
        const float y_scale = node.get_float("y_scale", 1.0f);
        const int64_t y_zero_point = node.get_int("y_zero_point", 0);
        for (size_t input = 0; input < node.inputs.size() && input < x_scales.size(); ++input) {
          if (x_scales[input] != y_scale || x_zero_points.at(input) != y_zero_point) {
            scratch.push_back({static_cast<int>(index), core_of_node_.at(&node),
                               node.inputs[input] + ".requantized", value(node.inputs[input]).bytes()});
          }
        }
      }
    }
    CoreActivationOptions options;
    options.alignment_bytes = kAlignment;
    options.received = ReceivedLifetime::WholeProgram;  // flow-control tokens: see transfer()
    activation_plans_ = plan_core_activations(graph_, value_bytes(values_), schedule_.node_order,
                                              cores_of_node, arch_.cores, options, scratch);
    for (const auto& plan : activation_plans_) {
      CoreState& state = state_[static_cast<size_t>(plan.core)];
      state.activation_used = plan.plan.arena_bytes;  // buffers outside the plan go above it
      if (plan.plan.arena_bytes > arch_.activation_capacity) {
        throw ModelError("core " + std::to_string(plan.core) + ": activations need " +
                         std::to_string(plan.plan.arena_bytes) + " bytes at their peak; the " +
                         "activation memory holds " + std::to_string(arch_.activation_capacity));
      }
      mapping_.report.activation_bytes[static_cast<size_t>(plan.core)] = plan.plan.arena_bytes;
    }
  }

  core::TensorRef allocate_activation(int core, core::ElemType type, const Shape& shape,
                                      const std::string& what) {
    CoreState& state = state_[static_cast<size_t>(core)];
    core::TensorRef tensor;
    tensor.type = type;
    tensor.shape = shape;
    if (static_cast<size_t>(core) < activation_plans_.size()) {
      const auto& offsets = activation_plans_[static_cast<size_t>(core)].offset_of_value;
      auto planned = offsets.find(what);
      if (planned != offsets.end()) {
        tensor.addr = arch_.activation_base + planned->second;
        return tensor;
      }
    }
    // Not in the plan (should not happen): a buffer of its own above the planned arena.
    const uint64_t bytes = align_up(std::max<uint64_t>(tensor.bytes(), 1));
    if (state.activation_used + bytes > arch_.activation_capacity) {
      throw ModelError("core " + std::to_string(core) + ": activations do not fit in the " +
                       std::to_string(arch_.activation_capacity) + "-byte activation memory (at '" +
                       what + "', " + std::to_string(state.activation_used + bytes) + " bytes needed)");
    }
    tensor.addr = arch_.activation_base + state.activation_used;
    state.activation_used += bytes;
    mapping_.report.activation_bytes[static_cast<size_t>(core)] = state.activation_used;
    ++mapping_.report.unplanned_buffers;
    return tensor;
  }

  // Weights go to the weight memory, then to the overflow regions in order.
  core::Addr store_weights(int core, std::vector<uint8_t> bytes, const std::string& what) {
    CoreState& state = state_[static_cast<size_t>(core)];
    const uint64_t size = align_up(std::max<size_t>(bytes.size(), 1));
    core::Addr addr = 0;
    if (state.weight_used + size <= arch_.weight_capacity) {
      addr = arch_.weight_base + state.weight_used;
      state.weight_used += size;
    } else {
      state.overflow_used.resize(arch_.weight_overflow.size(), 0);
      bool placed = false;
      for (size_t region = 0; region < arch_.weight_overflow.size() && !placed; ++region) {
        const auto& area = arch_.weight_overflow[region];
        if (state.overflow_used[region] + size <= area.capacity) {
          addr = area.base + state.overflow_used[region];
          state.overflow_used[region] += size;
          mapping_.report.weight_bytes_overflow += size;
          placed = true;
        }
      }
      if (!placed) {
        throw ModelError("core " + std::to_string(core) + ": the weights of '" + what +
                         "' fit in no memory of the core (weight memory " +
                         std::to_string(arch_.weight_capacity) +
                         " bytes full; add an off-chip DRAM level or more capacity)");
      }
    }
    mapping_.report.weight_bytes[static_cast<size_t>(core)] += size;
    mapping_.program.cores[static_cast<size_t>(core)].images.push_back({addr, std::move(bytes), what});
    return addr;
  }

  core::Program& program(int core) { return mapping_.program.cores[static_cast<size_t>(core)]; }

  // The buffer of `name` on `core`: produced there, received there (its receives are emitted
  // here, before the first use), a constant placed there, or a graph input written by the host.
  core::TensorRef on_core(const std::string& name, int core, const Node& user) {
    auto copy = located_.find({name, core});
    if (copy != located_.end()) {
      emit_pending_receives(name, core);
      return copy->second;
    }
    const Tensor& tensor = value(name);
    const core::ElemType type = elem_type(user, tensor.type());
    if (const Tensor* constant = graph_.initializer(name)) {
      core::TensorRef ref;
      ref.type = type;
      ref.shape = constant->shape();
      const auto* raw = static_cast<const uint8_t*>(constant->raw());
      ref.addr = store_weights(core, std::vector<uint8_t>(raw, raw + constant->bytes()), name);
      located_[{name, core}] = ref;
      return ref;
    }
    if (graph_.producer(name) < 0) {
      core::TensorRef ref = allocate_activation(core, type, tensor.shape(), name);
      mapping_.program.inputs.push_back({options_.name_prefix + name, core, ref});
      located_[{name, core}] = ref;
      return ref;
    }
    throw ModelError(user.describe() + ": input '" + name + "' is not available on core " +
                     std::to_string(core) + " (mapper defect)");
  }

  void emit_pending_receives(const std::string& name, int core) {
    auto pending = pending_receives_.find({name, core});
    if (pending == pending_receives_.end()) return;
    for (const auto& receive : pending->second) program(core).body.push_back(receive);
    pending_receives_.erase(pending);
  }

  // Moves `bytes` of `name` from core `from` to core `to` every inference, with flow control:
  // `to` reuses its buffer each inference, so `from` sends inference i + 1 only after `to`
  // returned a token for inference i (the first token is granted in `to`'s prologue; the others
  // after the last use of `name` on `to`, see return_credits). The receive is emitted on `to`
  // before the first use.
  void transfer(const std::string& name, int from, core::Addr source, int to,
                core::Addr destination, uint64_t bytes) {
    const int tag = next_tag_++;
    const int credit_tag = next_tag_++;
    core::Receive credit;
    credit.from_core = to;
    credit.tag = credit_tag;
    credit.layer = name + " (credit)";
    program(from).body.push_back(credit);
    core::Send send;
    send.to_core = to;
    send.source = source;
    send.destination = destination;
    send.bytes = bytes;
    send.tag = tag;
    send.layer = name;
    program(from).body.push_back(send);
    core::Receive receive;
    receive.from_core = from;
    receive.tag = tag;
    receive.layer = name;
    pending_receives_[{name, to}].push_back(receive);
    core::Send token;
    token.to_core = from;
    token.bytes = 0;
    token.tag = credit_tag;
    token.layer = name + " (credit)";
    program(to).prologue.push_back(token);
    auto& credit_entry = credits_[{name, to}];
    if (credit_entry.tokens.empty()) credit_entry.consumers_left = local_consumers(name, to);
    credit_entry.tokens.push_back(token);
  }

  // Every core a node runs on (a partitioned CIM layer runs on several).
  std::vector<int> cores_of(const Node* node) const {
    auto plan = plans_.find(node);
    if (plan != plans_.end()) return plan->second.cores;
    return {core_of_node_.at(node)};
  }

  int local_consumers(const std::string& name, int core) const {
    int count = 0;
    for (int consumer : graph_.consumers(name)) {
      const auto cores = cores_of(&graph_.nodes[static_cast<size_t>(consumer)]);
      if (std::find(cores.begin(), cores.end(), core) != cores.end()) ++count;
    }
    return count;
  }

  void release_tokens(const std::string& name, int core) {
    auto credit = credits_.find({name, core});
    if (credit == credits_.end()) return;
    for (const auto& token : credit->second.tokens) program(core).body.push_back(token);
    credits_.erase(credit);
  }

  // After a node produced `name` on `core`: send it to every other core that consumes it.
  void distribute(const std::string& name, int core, const core::TensorRef& ref) {
    located_[{name, core}] = ref;
    std::set<int> destinations;
    for (int consumer : graph_.consumers(name)) {
      for (int other : cores_of(&graph_.nodes[static_cast<size_t>(consumer)])) {
        if (other != core) destinations.insert(other);
      }
    }
    for (int destination : destinations) {
      core::TensorRef remote = allocate_activation(destination, ref.type, ref.shape, name);
      transfer(name, core, ref.addr, destination, remote.addr, ref.bytes());
      located_[{name, destination}] = remote;
    }
    // Slices received here from other cores are free again once this core no longer reads the
    // value: after its local consumers, or now when it has none (the sends above read it).
    if (local_consumers(name, core) == 0) release_tokens(name, core);
  }

  // After a node ran on `core`: return the flow-control tokens of every received input whose
  // last consumer there it was.
  void return_credits(const Node& node, int core) {
    std::set<std::string> seen;
    for (const auto& input : node.inputs) {
      if (input.empty() || !seen.insert(input).second) continue;
      auto credit = credits_.find({input, core});
      if (credit == credits_.end()) continue;
      if (--credit->second.consumers_left <= 0) release_tokens(input, core);
    }
  }

  // ---- emission ----------------------------------------------------------------------------

  void emit(size_t index) {
    const Node& node = graph_.nodes[index];
    const int core = core_of_node_.at(&node);
    state_[static_cast<size_t>(core)].used = true;
    if (is_cim(node)) {
      emit_cim(node);
    } else if (is_alias(node)) {
      const core::TensorRef input = on_core(node.inputs[0], core, node);
      core::TensorRef output = input;
      output.shape = value(node.outputs[0]).shape();
      distribute(node.outputs[0], core, output);
    } else {
      emit_arith(node, core);
    }
    for (int worker : cores_of(&node)) return_credits(node, worker);
  }

  core::TensorRef output_buffer(const Node& node, int core, size_t output = 0) {
    const Tensor& tensor = value(node.outputs[output]);
    return allocate_activation(core, elem_type(node, tensor.type()), tensor.shape(),
                               node.outputs[output]);
  }

  // Requantization parameters of a CIM node.
  struct OutputParams {
    DataType y_type = DataType::Int8;
    std::vector<float> w_scales;
    float x_scale = 1, y_scale = 1;
    int32_t y_zero_point = 0, clamp_min = -128, clamp_max = 127;
    int32_t x_zero_point = 0;
    int input_bits = 8;
    const Tensor* bias = nullptr;
  };

  OutputParams output_params(const Node& node) const {
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
    p.clamp_min = static_cast<int32_t>(
        std::max<int64_t>(node.get_int("clamp_min", graph::lowest(p.y_type)), graph::lowest(p.y_type)));
    p.clamp_max = static_cast<int32_t>(
        std::min<int64_t>(node.get_int("clamp_max", graph::highest(p.y_type)), graph::highest(p.y_type)));
    return p;
  }

  core::Requantize make_requantize(const OutputParams& p, const std::vector<int64_t>& channels,
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
  int64_t partial_sum_bound(const CimPlan& plan, const std::vector<int64_t>& channels, DataType x_type,
                            int32_t x_zero_point) const {
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

  void emit_cim(const Node& node) {
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
          zero_channels.insert(zero_channels.end(), block.zero_channels.begin(), block.zero_channels.end());
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
              if (static_cast<uint64_t>(item_vectors * cols) * static_cast<uint64_t>(bits) / 8 <= half) {
                accumulator_bits = bits;
                break;
              }
            }
            const int needed = bits_for_magnitude(
                partial_sum_bound(plan, channels, input_value.type(), params.x_zero_point));
            shift = std::max(0, needed - accumulator_bits);
            const uint64_t per_vector = static_cast<uint64_t>(cols * accumulator_bits) / 8 + 1;
            batch = std::max<int64_t>(1, std::min<int64_t>(item_vectors, static_cast<int64_t>(half / per_vector)));
          } else {
            batch = std::max<int64_t>(1, static_cast<int64_t>(half / static_cast<uint64_t>(4 * cols)));
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
                source.input.addr = input.addr + static_cast<core::Addr>(image * plane) *
                                                     core::elem_size(input.type);
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
            int64_t first_vector = written.front().first_vector, end_vector = written.front().end_vector;
            for (const Written& w : written) {
              first_vector = std::min(first_vector, w.first_vector);
              end_vector = std::max(end_vector, w.end_vector);
            }
            for (int64_t v = first_vector; v < end_vector; ++v) {
              for (const Written& w : written) {
                if (v >= w.first_vector && v < w.end_vector) add_range(v * out_channels + w.channel, 1);
              }
            }
          }
        }
        for (const auto& range : ranges) {
          const core::Addr offset = static_cast<core::Addr>(range.first) * esize;
          transfer(node.outputs[0], core, output.addr + offset, home, home_output.addr + offset,
                   static_cast<uint64_t>(range.second) * esize);
        }
      }
    }
    // The home core waits for every slice before anything reads the output.
    emit_pending_receives(node.outputs[0], home);
    mapping_.report.accumulator_peak_bytes =
        std::max(mapping_.report.accumulator_peak_bytes, report.accumulator_bytes);
    mapping_.report.accumulator_exact_bytes =
        std::max(mapping_.report.accumulator_exact_bytes, report.accumulator_bytes_exact);
    mapping_.report.layers.push_back(report);
    distribute(node.outputs[0], home, home_output);
  }

  // Where a Requantize writes: NCHW channel planes for convolutions, [M, N] rows for Gemm.
  static void place_output(core::Requantize& requant, const core::TensorRef& output, bool conv,
                           int64_t image, int64_t image_elements, int64_t vectors_per_image,
                           int64_t out_channels, int64_t first_vector) {
    requant.output = output;
    const size_t esize = core::elem_size(output.type);
    if (conv) {
      requant.output.addr = output.addr + static_cast<core::Addr>(image * image_elements + first_vector) * esize;
      requant.out_vector_stride = 1;
      requant.out_column_stride = vectors_per_image;
    } else {
      requant.output.addr = output.addr + static_cast<core::Addr>(first_vector * out_channels) * esize;
      requant.out_vector_stride = out_channels;
      requant.out_column_stride = 1;
    }
    requant.out_column_offset = 0;
  }

  core::LoadWeights load_command(const Tile& tile, const CimLayer& layer, core::Addr image,
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

  // Stationary tiles get a macro of their own, loaded once in the prologue; returns -1 for a
  // tile that must be streamed (the core has more tiles than macros).
  int macro_for(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report) {
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

  int load_streamed(int core, const Tile& tile, const CimLayer& layer, LayerMapping& report) {
    CoreState& state = state_[static_cast<size_t>(core)];
    const int macros = arch_.macros_per_core;
    const int stationary_slots = std::max(0, macros - 1);
    const int macro = stationary_slots + (state.streaming_macro++ % std::max(1, macros - stationary_slots));
    core::LoadWeights load = load_command(tile, layer, tile_images_.at(&tile).at(core), report.layer);
    load.macro = macro;
    program(core).body.push_back(load);
    ++mapping_.report.weight_loads_per_inference;
    report.stationary = false;
    return macro;
  }

  void emit_arith(const Node& node, int core) {
    const std::string op = (node.domain.empty() ? "" : node.domain + ".") + node.op_type;
    auto& body = program(core).body;
    const std::string layer = node.name.empty() ? node.outputs[0] : node.name;
    if (op == "cimtlm.QLookup") {
      core::Lookup lookup;
      lookup.input = on_core(node.inputs[0], core, node);
      lookup.output = output_buffer(node, core);
      auto table = std::make_shared<std::array<int32_t, 256>>();
      const auto values = node.get_ints("table");
      if (values.size() != 256) throw ModelError(node.describe() + ": table must have 256 entries");
      for (size_t i = 0; i < 256; ++i) (*table)[i] = static_cast<int32_t>(values[i]);
      lookup.table = table;
      lookup.layer = layer;
      body.push_back(lookup);
      distribute(node.outputs[0], core, lookup.output);
    } else if (op == "cimtlm.QAdd" || op == "cimtlm.QMul") {
      core::Eltwise eltwise;
      eltwise.op = op == "cimtlm.QAdd" ? core::Eltwise::Op::Add : core::Eltwise::Op::Mul;
      const Tensor& a = value(node.inputs[0]);
      const Tensor& b = value(node.inputs[1]);
      const Tensor& y = value(node.outputs[0]);
      if (a.shape() != y.shape()) {
        throw ModelError(node.describe() + ": the first operand must have the output's shape (" +
                         graph::to_string(y.shape()) + ")");
      }
      eltwise.b_inner = broadcast_inner(node, b.shape(), y.shape());
      eltwise.a = on_core(node.inputs[0], core, node);
      eltwise.b = on_core(node.inputs[1], core, node);
      eltwise.output = output_buffer(node, core);
      eltwise.a_scale = node.get_float("a_scale");
      eltwise.b_scale = node.get_float("b_scale");
      eltwise.y_scale = node.get_float("y_scale");
      eltwise.a_zero_point = static_cast<int32_t>(node.get_int("a_zero_point", 0));
      eltwise.b_zero_point = static_cast<int32_t>(node.get_int("b_zero_point", 0));
      eltwise.y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
      eltwise.clamp_min = static_cast<int32_t>(node.get_int("clamp_min", -2147483647));
      eltwise.clamp_max = static_cast<int32_t>(node.get_int("clamp_max", 2147483647));
      eltwise.integer_product = node.get_string("arithmetic", "integer") == "integer";
      eltwise.layer = layer;
      body.push_back(eltwise);
      distribute(node.outputs[0], core, eltwise.output);
    } else if (op == "MaxPool" || op == "cimtlm.QAveragePool" || op == "cimtlm.QGlobalAveragePool") {
      core::Pool pool;
      pool.kind = op == "MaxPool" ? core::Pool::Kind::Max
                  : op == "cimtlm.QAveragePool" ? core::Pool::Kind::Average
                                                : core::Pool::Kind::GlobalAverage;
      const Tensor& x = value(node.inputs[0]);
      if (x.rank() != 4) throw ModelError(node.describe() + ": pooling maps for 4-D inputs only");
      if (node.outputs.size() > 1 && !node.outputs[1].empty()) {
        throw ModelError(node.describe() + ": MaxPool indices cannot be produced by the platform");
      }
      pool.input = on_core(node.inputs[0], core, node);
      pool.output = output_buffer(node, core);
      if (pool.kind == core::Pool::Kind::Average) {
        // A window over the whole unpadded input is a global average (as onnxruntime runs it).
        const auto kernel = node.get_ints("kernel_shape");
        const auto pads = node.get_ints("pads", {0, 0, 0, 0});
        const bool no_pads = std::all_of(pads.begin(), pads.end(), [](int64_t pad) { return pad == 0; });
        if (kernel.size() == 2 && kernel[0] == x.dim(2) && kernel[1] == x.dim(3) && no_pads &&
            node.get_string("auto_pad", "NOTSET") == "NOTSET") {
          pool.kind = core::Pool::Kind::GlobalAverage;
        }
      }
      if (pool.kind != core::Pool::Kind::GlobalAverage) {
        const auto kernel = node.get_ints("kernel_shape");
        const auto strides = node.get_ints("strides", {1, 1});
        const auto dilations = node.get_ints("dilations", {1, 1});
        const Tensor& y = value(node.outputs[0]);
        pool.kernel_h = kernel.at(0);
        pool.kernel_w = kernel.at(1);
        pool.stride_h = strides.at(0);
        pool.stride_w = strides.at(1);
        pool.dilation_h = dilations.at(0);
        pool.dilation_w = dilations.at(1);
        auto pads = resolved_pads(node, x, y, kernel, strides, dilations);
        pool.pad_top = pads[0];
        pool.pad_left = pads[1];
        pool.pad_bottom = pads[2];
        pool.pad_right = pads[3];
        pool.count_include_pad = node.get_int("count_include_pad", 0) != 0;
      }
      if (pool.kind != core::Pool::Kind::Max) {
        pool.input_scale = node.get_float("x_scale");
        pool.output_scale = node.get_float("y_scale");
        pool.input_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
        pool.output_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
      }
      pool.layer = layer;
      body.push_back(pool);
      distribute(node.outputs[0], core, pool.output);
    } else if (op == "cimtlm.QSoftmax") {
      core::Softmax softmax;
      const Tensor& x = value(node.inputs[0]);
      int64_t axis = node.get_int("axis", -1);
      if (axis < 0) axis += x.rank();
      softmax.extent = x.dim(axis);
      softmax.inner = 1;
      for (int64_t d = axis + 1; d < x.rank(); ++d) softmax.inner *= x.dim(d);
      softmax.input = on_core(node.inputs[0], core, node);
      softmax.output = output_buffer(node, core);
      softmax.input_scale = node.get_float("x_scale", 1.0f);
      softmax.input_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
      softmax.output_scale = node.get_float("y_scale", 1.0f);
      softmax.output_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
      if (softmax.output.type != core::ElemType::Float32) {
        softmax.exp_table = std::make_shared<const std::vector<float>>(graph::softmax_exp_table(
            softmax.input_scale, x.dim(axis), x.type() == DataType::Int8));
        softmax.output_reciprocal = std::floor(1.0f / softmax.output_scale);
      }
      softmax.layer = layer;
      body.push_back(softmax);
      distribute(node.outputs[0], core, softmax.output);
    } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
      const Tensor* scale = graph_.initializer(node.inputs.at(1));
      const Tensor* zero = node.has_input(2) ? graph_.initializer(node.inputs[2]) : nullptr;
      if (!scale || scale->elements() != 1 || (node.has_input(2) && (!zero || zero->elements() != 1))) {
        throw ModelError(node.describe() + ": only constant per-tensor (de)quantization maps to the platform");
      }
      const core::TensorRef input = on_core(node.inputs[0], core, node);
      const core::TensorRef output = output_buffer(node, core);
      if (op == "QuantizeLinear") {
        core::Quantize quantize{input, output, static_cast<float>(scale->as_double(0)),
                                zero ? static_cast<int32_t>(zero->as_int(0)) : 0, layer};
        body.push_back(quantize);
      } else {
        core::Dequantize dequantize{input, output, static_cast<float>(scale->as_double(0)),
                                    zero ? static_cast<int32_t>(zero->as_int(0)) : 0, layer};
        body.push_back(dequantize);
      }
      distribute(node.outputs[0], core, output);
    } else if (op == "Gather") {
      core::Gather gather;
      const Tensor& table = value(node.inputs[0]);
      if (node.get_int("axis", 0) != 0 || table.rank() < 1) {
        throw ModelError(node.describe() + ": only row gathers (axis 0) map to the platform");
      }
      gather.table = on_core(node.inputs[0], core, node);
      gather.table.shape = {table.dim(0), table.elements() / std::max<int64_t>(table.dim(0), 1)};
      gather.indices = on_core(node.inputs[1], core, node);
      gather.output = output_buffer(node, core);
      gather.layer = layer;
      body.push_back(gather);
      distribute(node.outputs[0], core, gather.output);
    } else if (op == "Transpose") {
      emit_transpose(node, core);
    } else if (op == "Concat" || op == "cimtlm.QConcat") {
      emit_concat(node, core);
    } else {
      throw ModelError(node.describe() + ": op '" + op + "' cannot run on the CIM platform");
    }
  }

  static int64_t broadcast_inner(const Node& node, const Shape& b, const Shape& y) {
    // Supported broadcasts of b over y: same shape, scalar, or per-channel [C,1,1]-like.
    const int64_t b_count = graph::element_count(b);
    const int64_t y_count = graph::element_count(y);
    if (b_count == y_count) return 1;
    if (b_count == 1) return y_count;
    // Align b's shape to the right of y's and find the single non-1 axis.
    Shape aligned(y.size(), 1);
    for (size_t i = 0; i < b.size(); ++i) aligned[y.size() - b.size() + i] = b[i];
    int64_t inner = 1;
    int axis = -1;
    for (int64_t d = static_cast<int64_t>(y.size()) - 1; d >= 0; --d) {
      if (aligned[d] != 1) {
        if (axis >= 0 || aligned[d] != y[d]) {
          throw ModelError(node.describe() + ": broadcast of " + graph::to_string(b) + " over " +
                           graph::to_string(y) + " does not map to the platform");
        }
        axis = static_cast<int>(d);
      } else if (axis < 0) {
        inner *= y[d];
      }
    }
    return inner;
  }

  static std::array<int64_t, 4> resolved_pads(const Node& node, const Tensor& x, const Tensor& y,
                                              const std::vector<int64_t>& kernel,
                                              const std::vector<int64_t>& strides,
                                              const std::vector<int64_t>& dilations) {
    const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
      const auto pads = node.get_ints("pads", {0, 0, 0, 0});
      std::array<int64_t, 4> result{pads.at(0), pads.at(1), pads.at(2), pads.at(3)};
      // ceil_mode windows may run past the bottom/right padding: extend it so the arithmetic
      // unit's window bounds match the reference (extra positions never count).
      return result;
    }
    std::array<int64_t, 4> result{0, 0, 0, 0};
    if (auto_pad == "VALID") return result;
    for (int axis = 0; axis < 2; ++axis) {
      const int64_t in = x.dim(2 + axis), out = y.dim(2 + axis);
      const int64_t total = std::max<int64_t>(
          0, (out - 1) * strides[axis] + (kernel[axis] - 1) * dilations[axis] + 1 - in);
      const int64_t before = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      result[axis] = before;
      result[axis + 2] = total - before;
    }
    return result;
  }

  void emit_transpose(const Node& node, int core) {
    const Tensor& x = value(node.inputs[0]);
    if (x.rank() > 4) throw ModelError(node.describe() + ": transposes of rank > 4 do not map");
    std::vector<int64_t> perm = node.get_ints("perm", {});
    if (perm.empty()) {
      for (int64_t d = x.rank() - 1; d >= 0; --d) perm.push_back(d);
    }
    const core::TensorRef input = on_core(node.inputs[0], core, node);
    const core::TensorRef output = output_buffer(node, core);
    // Input strides (elements), then walk the output in order.
    std::vector<int64_t> in_stride(static_cast<size_t>(x.rank()), 1);
    for (int64_t d = x.rank() - 2; d >= 0; --d) in_stride[d] = in_stride[d + 1] * x.dim(d + 1);
    const Tensor& y = value(node.outputs[0]);
    std::vector<int64_t> out_stride(static_cast<size_t>(y.rank()), 1);
    for (int64_t d = y.rank() - 2; d >= 0; --d) out_stride[d] = out_stride[d + 1] * y.dim(d + 1);
    core::Copy copy;
    copy.source = input.addr;
    copy.destination = output.addr;
    copy.type = input.type;
    const int64_t pad = 4 - y.rank();
    for (int64_t d = 0; d < y.rank(); ++d) {
      copy.extent[pad + d] = y.dim(d);
      copy.source_stride[pad + d] = in_stride[perm[d]];
      copy.destination_stride[pad + d] = out_stride[d];
    }
    copy.layer = node.name;
    program(core).body.push_back(copy);
    distribute(node.outputs[0], core, output);
  }

  // Concat: each input copied into its slice of the output; cimtlm.QConcat first requantizes
  // an input whose scale or zero point differ from the output's through a lookup table.
  void emit_concat(const Node& node, int core) {
    const Tensor& y = value(node.outputs[0]);
    int64_t axis = node.get_int("axis");
    if (axis < 0) axis += y.rank();
    const bool requantizing = node.domain == "cimtlm";
    std::vector<float> x_scales;
    std::vector<int64_t> x_zero_points;
    float y_scale = 1;
    int32_t y_zero_point = 0;
    if (requantizing) {
      x_scales = node.get_floats("x_scales");
      x_zero_points = node.get_ints("x_zero_points");
      y_scale = node.get_float("y_scale");
      y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
    }
    const core::TensorRef output = output_buffer(node, core);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
    for (int64_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
    int64_t offset = 0;
    for (size_t index = 0; index < node.inputs.size(); ++index) {
      const std::string& name = node.inputs[index];
      const Tensor& x = value(name);
      core::TensorRef input = on_core(name, core, node);
      if (requantizing && (x_scales.at(index) != y_scale ||
                           static_cast<int32_t>(x_zero_points.at(index)) != y_zero_point)) {
        core::Lookup lookup;
        lookup.input = input;
        lookup.output = allocate_activation(core, input.type, x.shape(), name + ".requantized");
        auto table = std::make_shared<std::array<int32_t, 256>>();
        const auto lo = static_cast<int32_t>(graph::lowest(x.type()));
        const auto hi = static_cast<int32_t>(graph::highest(x.type()));
        for (int32_t code = lo; code <= hi; ++code) {
          (*table)[static_cast<size_t>(code - lo)] = graph::quantize(
              graph::dequantize(code, x_scales[index], static_cast<int32_t>(x_zero_points[index])),
              y_scale, y_zero_point, lo, hi);
        }
        lookup.table = table;
        lookup.layer = node.name;
        program(core).body.push_back(lookup);
        input = lookup.output;
      }
      core::Copy copy;
      copy.source = input.addr;
      copy.type = input.type;
      const int64_t run = x.dim(axis) * inner;
      copy.extent = {1, 1, outer, run};
      copy.source_stride = {0, 0, run, 1};
      copy.destination_stride = {0, 0, y.dim(axis) * inner, 1};
      copy.destination = output.addr + static_cast<core::Addr>(offset * inner) * core::elem_size(input.type);
      copy.layer = node.name;
      program(core).body.push_back(copy);
      offset += x.dim(axis);
    }
    distribute(node.outputs[0], core, output);
  }

  void bind_outputs() {
    for (const auto& output : graph_.outputs) {
      const int producer = graph_.producer(output.name);
      int core = producer >= 0 ? core_of_node_.at(&graph_.nodes[static_cast<size_t>(producer)]) : cores_.front();
      auto found = located_.find({output.name, core});
      if (found == located_.end()) {
        throw ModelError("graph output '" + output.name + "' has no buffer (mapper defect)");
      }
      mapping_.program.outputs.push_back({options_.name_prefix + output.name, core, found->second});
    }
  }

  void finish() {
    for (int core : cores_) {
      CoreState& state = state_[static_cast<size_t>(core)];
      for (auto it = pending_receives_.begin(); it != pending_receives_.end();) {
        if (it->first.second == core) {
          for (const auto& receive : it->second) program(core).body.push_back(receive);
          it = pending_receives_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = credits_.begin(); it != credits_.end();) {
        if (it->first.second == core) {
          for (const auto& token : it->second.tokens) program(core).body.push_back(token);
          it = credits_.erase(it);
        } else {
          ++it;
        }
      }
      program(core).body.push_back(core::InferenceDone{});
      if (state.used) ++mapping_.report.cores_used;
    }
    for (const auto& layer : mapping_.report.layers) {
      mapping_.report.tiles += layer.tiles;
      mapping_.report.tiles_dense += layer.tiles_dense;
    }
  }

  struct Credit {
    int consumers_left = 0;
    std::vector<core::Send> tokens;
  };

  const graph::Graph& graph_;
  const graph::ValueMap& values_;
  const ArchInfo& arch_;
  MapOptions options_;
  std::vector<int> cores_;
  Mapping mapping_;
  std::vector<CoreState> state_;
  std::map<const Node*, CimPlan> plans_;
  std::map<const Node*, int> core_of_node_;
  std::map<std::pair<std::string, int>, core::TensorRef> located_;
  std::map<std::pair<std::string, int>, std::vector<core::Receive>> pending_receives_;
  std::map<std::pair<std::string, int>, Credit> credits_;
  std::map<const Tile*, std::map<int, core::Addr>> tile_images_;
  ScheduleResult schedule_;
  std::vector<CoreActivationPlan> activation_plans_;
  int next_tag_ = 0;
};

}  // namespace

Mapping map_network(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
                    const MapOptions& options) {
  return Mapper(graph, values, arch, options).run();
}

}  // namespace cimtlm::map
