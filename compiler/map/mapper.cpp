#include "compiler/map/mapper.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <set>

#include "compiler/graph/quantized_math.h"

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

// Smallest signed width that holds every value of `values` (offset-free view).
int bits_needed(int64_t lowest_value, int64_t highest_value) {
  for (int bits = 1; bits <= 8; ++bits) {
    const int64_t lo = bits == 1 ? -1 : -(int64_t{1} << (bits - 1));
    const int64_t hi = bits == 1 ? 1 : (int64_t{1} << (bits - 1)) - 1;
    if (lowest_value >= lo && highest_value <= hi) return bits;
  }
  return 8;
}

// A CIM layer seen as per-group weight matrices W_g [rows = K, cols = out channels].
struct CimLayer {
  const Node* node = nullptr;
  bool conv = false;
  int64_t groups = 1;
  int64_t rows = 0;  // K per group
  int64_t cols = 0;  // output channels per group (N for gemm)
  bool weights_signed = true;
  std::vector<int32_t> zero_points;  // per output channel (all groups)
  // Weight code of (group, k, n).
  const Tensor* weights = nullptr;
  int64_t kernel_h = 1, kernel_w = 1, in_channels = 0;
  int weight_bits = 8;
  int64_t macs_per_inference = 0;

  uint8_t code(int64_t group, int64_t k, int64_t n) const {
    const auto* raw = static_cast<const uint8_t*>(weights->raw());
    if (conv) return raw[(group * cols + n) * rows + k];
    return raw[k * cols + n];
  }
  int32_t zero_point(int64_t group, int64_t n) const {
    return zero_points.size() == 1 ? zero_points[0]
                                   : zero_points[static_cast<size_t>(group * cols + n)];
  }
  int32_t value(int64_t group, int64_t k, int64_t n) const {
    const uint8_t c = code(group, k, n);
    return weights_signed ? static_cast<int8_t>(c) : static_cast<int32_t>(c);
  }
};

struct Tile {
  int64_t group, k0, k1, n0, n1;
  bool zero = false;
  core::Addr image = 0;  // where its weights are stored
  int macro = -1;        // stationary macro, or -1 when streamed
};

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
    analyse();
    place();
    for (size_t index = 0; index < graph_.nodes.size(); ++index) emit(index);
    bind_outputs();
    finish();
    return std::move(mapping_);
  }

 private:
  struct CoreState {
    uint64_t activation_used = 0;
    uint64_t weight_used = 0;
    int streaming_macro = 0;  // next macro used for streamed tiles (round robin)
    int first_streaming_macro = 0;
    int64_t stationary_tiles = 0;
    bool used = false;
  };

  const Tensor& value(const std::string& name) const {
    auto found = values_.find(name);
    if (found != values_.end()) return found->second;
    if (const Tensor* constant = graph_.initializer(name)) return *constant;
    throw ModelError("mapper: no value for tensor '" + name + "'");
  }

  // ---- analysis and placement ---------------------------------------------------------------

  void analyse() {
    for (const Node& node : graph_.nodes) {
      if (!is_cim(node)) continue;
      CimLayer layer;
      layer.node = &node;
      layer.conv = node.op_type == "QConv";
      const Tensor* weights = graph_.initializer(node.inputs.at(1));
      if (!weights) {
        throw ModelError(node.describe() +
                         ": weights are not a constant; a product of two activations cannot be "
                         "stored in a CIM array");
      }
      if (weights->type() != DataType::Int8 && weights->type() != DataType::UInt8) {
        throw ModelError(node.describe() + ": weights must be 8-bit, got " +
                         graph::to_string(weights->type()));
      }
      layer.weights = weights;
      layer.weights_signed = weights->type() == DataType::Int8;
      for (int64_t zp : node.get_ints("w_zero_points", {0})) {
        layer.zero_points.push_back(static_cast<int32_t>(zp));
      }
      const Tensor& output = value(node.outputs[0]);
      if (layer.conv) {
        const Shape& w = weights->shape();
        if (w.size() != 4) throw ModelError(node.describe() + ": only 2-D convolutions map to CIM");
        layer.groups = node.get_int("group", 1);
        layer.cols = w[0] / layer.groups;
        layer.rows = w[1] * w[2] * w[3];
        layer.kernel_h = w[2];
        layer.kernel_w = w[3];
        layer.in_channels = value(node.inputs[0]).dim(1);
        const int64_t positions = output.dim(2) * output.dim(3);
        layer.macs_per_inference = output.dim(0) * positions * w[0] * layer.rows;
      } else {
        const Shape& w = weights->shape();
        if (w.size() != 2) throw ModelError(node.describe() + ": weights must be [K, N]");
        layer.rows = w[0];
        layer.cols = w[1];
        const int64_t vectors = value(node.inputs[0]).elements() / layer.rows;
        layer.macs_per_inference = vectors * layer.rows * layer.cols;
      }
      int64_t lo = 0, hi = 0;
      for (int64_t g = 0; g < layer.groups; ++g) {
        for (int64_t k = 0; k < layer.rows; ++k) {
          for (int64_t n = 0; n < layer.cols; ++n) {
            const int64_t centred = layer.value(g, k, n) - layer.zero_point(g, n);
            lo = std::min(lo, centred);
            hi = std::max(hi, centred);
          }
        }
      }
      layer.weight_bits = bits_needed(lo, hi);
      cim_layers_[node.outputs[0]] = layer;
    }
  }

  // Layer-pipelined placement: CIM layers in order, split into contiguous runs of about equal
  // MACs over the available cores; other nodes follow the producer of their first input.
  void place() {
    std::vector<const Node*> order;
    int64_t total = 0;
    for (const Node& node : graph_.nodes) {
      if (!is_cim(node)) continue;
      order.push_back(&node);
      total += cim_layers_.at(node.outputs[0]).macs_per_inference;
    }
    const auto slots = static_cast<int64_t>(std::min(cores_.size(), std::max<size_t>(order.size(), 1)));
    int64_t running = 0;
    for (const Node* node : order) {
      const int64_t macs = cim_layers_.at(node->outputs[0]).macs_per_inference;
      // Core index by the midpoint of the layer's share of the work.
      const int64_t midpoint = running + macs / 2;
      running += macs;
      int64_t slot = total > 0 ? midpoint * slots / total : 0;
      slot = std::min(slot, slots - 1);
      core_of_node_[node] = cores_[static_cast<size_t>(slot)];
    }
    for (const Node& node : graph_.nodes) {
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

  core::TensorRef allocate_activation(int core, core::ElemType type, const Shape& shape,
                                      const std::string& what) {
    CoreState& state = state_[static_cast<size_t>(core)];
    core::TensorRef tensor;
    tensor.type = type;
    tensor.shape = shape;
    const uint64_t bytes = align_up(std::max<uint64_t>(tensor.bytes(), 1));
    if (state.activation_used + bytes > arch_.activation_capacity) {
      throw ModelError("core " + std::to_string(core) + ": activations do not fit in the " +
                       std::to_string(arch_.activation_capacity) + "-byte activation memory (at '" +
                       what + "', " + std::to_string(state.activation_used + bytes) + " bytes needed)");
    }
    tensor.addr = arch_.activation_base + state.activation_used;
    state.activation_used += bytes;
    mapping_.report.activation_bytes[static_cast<size_t>(core)] = state.activation_used;
    return tensor;
  }

  core::Addr store_weights(int core, std::vector<uint8_t> bytes, const std::string& what) {
    CoreState& state = state_[static_cast<size_t>(core)];
    const uint64_t size = align_up(std::max<size_t>(bytes.size(), 1));
    if (state.weight_used + size > arch_.weight_capacity) {
      throw ModelError("core " + std::to_string(core) + ": weights do not fit in the " +
                       std::to_string(arch_.weight_capacity) + "-byte weight memory (at '" + what +
                       "', " + std::to_string(state.weight_used + size) + " bytes needed)");
    }
    const core::Addr addr = arch_.weight_base + state.weight_used;
    state.weight_used += size;
    mapping_.report.weight_bytes[static_cast<size_t>(core)] = state.weight_used;
    mapping_.program.cores[static_cast<size_t>(core)].images.push_back({addr, std::move(bytes), what});
    return addr;
  }

  core::Program& program(int core) { return mapping_.program.cores[static_cast<size_t>(core)]; }

  // The buffer of `name` on `core`: produced there, received there, a constant placed there, or
  // a graph input written there by the host.
  core::TensorRef on_core(const std::string& name, int core, const Node& user) {
    auto copy = located_.find({name, core});
    if (copy != located_.end()) {
      auto pending = pending_receive_.find({name, core});
      if (pending != pending_receive_.end()) {
        program(core).body.push_back(pending->second);
        pending_receive_.erase(pending);
      }
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

  // After a node produced `name` on `core`: send it to every other core that consumes it.
  void distribute(const std::string& name, int core, const core::TensorRef& ref) {
    located_[{name, core}] = ref;
    std::set<int> destinations;
    for (int consumer : graph_.consumers(name)) {
      const int other = core_of_node_.at(&graph_.nodes[static_cast<size_t>(consumer)]);
      if (other != core) destinations.insert(other);
    }
    for (int destination : destinations) {
      core::TensorRef remote = allocate_activation(destination, ref.type, ref.shape, name);
      const int tag = next_tag_++;
      // Flow control: the destination's buffer is reused every inference, so the producer sends
      // inference i + 1 only after the destination returned a token for inference i. The first
      // token is granted in the destination's prologue.
      const int credit_tag = next_tag_++;
      core::Receive credit;
      credit.from_core = destination;
      credit.tag = credit_tag;
      credit.layer = name + " (credit)";
      program(core).body.push_back(credit);
      core::Send send;
      send.to_core = destination;
      send.source = ref.addr;
      send.destination = remote.addr;
      send.bytes = ref.bytes();
      send.tag = tag;
      send.layer = name;
      program(core).body.push_back(send);
      core::Receive receive;
      receive.from_core = core;
      receive.tag = tag;
      receive.layer = name;
      located_[{name, destination}] = remote;
      pending_receive_[{name, destination}] = receive;
      core::Send token;
      token.to_core = core;
      token.bytes = 0;
      token.tag = credit_tag;
      token.layer = name + " (credit)";
      program(destination).prologue.push_back(token);
      int consumers_there = 0;
      for (int consumer : graph_.consumers(name)) {
        if (core_of_node_.at(&graph_.nodes[static_cast<size_t>(consumer)]) == destination) {
          ++consumers_there;
        }
      }
      credits_[{name, destination}] = {consumers_there, token};
    }
  }

  // After a node ran on `core`: return the flow-control token of every received input whose
  // last consumer there it was.
  void return_credits(const Node& node, int core) {
    std::set<std::string> seen;
    for (const auto& input : node.inputs) {
      if (input.empty() || !seen.insert(input).second) continue;
      auto credit = credits_.find({input, core});
      if (credit == credits_.end()) continue;
      if (--credit->second.first == 0) {
        program(core).body.push_back(credit->second.second);
        credits_.erase(credit);
      }
    }
  }

  // ---- emission ----------------------------------------------------------------------------

  void emit(size_t index) {
    const Node& node = graph_.nodes[index];
    const int core = core_of_node_.at(&node);
    state_[static_cast<size_t>(core)].used = true;
    if (is_cim(node)) {
      emit_cim(node, core);
    } else if (is_alias(node)) {
      const core::TensorRef input = on_core(node.inputs[0], core, node);
      core::TensorRef output = input;
      output.shape = value(node.outputs[0]).shape();
      distribute(node.outputs[0], core, output);
    } else {
      emit_arith(node, core);
    }
    return_credits(node, core);
  }

  core::TensorRef output_buffer(const Node& node, int core, size_t output = 0) {
    const Tensor& tensor = value(node.outputs[output]);
    return allocate_activation(core, elem_type(node, tensor.type()), tensor.shape(),
                               node.outputs[output]);
  }

  void emit_cim(const Node& node, int core) {
    const CimLayer& layer = cim_layers_.at(node.outputs[0]);
    const int64_t logical = std::max<int64_t>(1, arch_.logical_columns(layer.weight_bits));
    const int64_t tile_cols = std::min(logical, layer.cols);
    const int64_t tile_rows = std::min<int64_t>(arch_.macro_rows, layer.rows);

    // Tiles, compacting all-zero ones (a zero weight is its zero point).
    std::vector<Tile> tiles;
    for (int64_t g = 0; g < layer.groups; ++g) {
      for (int64_t n0 = 0; n0 < layer.cols; n0 += tile_cols) {
        for (int64_t k0 = 0; k0 < layer.rows; k0 += tile_rows) {
          Tile tile{g, k0, std::min(k0 + tile_rows, layer.rows), n0,
                    std::min(n0 + tile_cols, layer.cols)};
          tile.zero = true;
          for (int64_t k = tile.k0; k < tile.k1 && tile.zero; ++k) {
            for (int64_t n = tile.n0; n < tile.n1; ++n) {
              if (layer.value(g, k, n) != layer.zero_point(g, n)) {
                tile.zero = false;
                break;
              }
            }
          }
          tiles.push_back(tile);
        }
      }
    }
    LayerMapping report;
    report.layer = node.name.empty() ? node.outputs[0] : node.name;
    report.op = node.op_type;
    report.core = core;
    report.weight_bits = layer.weight_bits;
    report.rows = layer.rows;
    report.cols = layer.cols;
    report.groups = layer.groups;
    report.tiles_dense = static_cast<int64_t>(tiles.size());
    report.macs = layer.macs_per_inference;

    // Weight images; macros are assigned when a tile is first used (macro_for).
    for (Tile& tile : tiles) {
      if (tile.zero) continue;
      ++report.tiles;
      std::vector<uint8_t> image(static_cast<size_t>((tile.k1 - tile.k0) * (tile.n1 - tile.n0)));
      size_t at = 0;
      for (int64_t k = tile.k0; k < tile.k1; ++k) {
        for (int64_t n = tile.n0; n < tile.n1; ++n) image[at++] = layer.code(tile.group, k, n);
      }
      tile.image = store_weights(core, std::move(image), report.layer + ".tile");
    }

    const Tensor& input_value = value(node.inputs[0]);
    const core::TensorRef input = on_core(node.inputs[0], core, node);
    const core::TensorRef output = output_buffer(node, core);
    const Tensor* bias = node.has_input(2) ? graph_.initializer(node.inputs[2]) : nullptr;
    if (node.has_input(2) && !bias) throw ModelError(node.describe() + ": bias must be a constant");

    const auto y_type = static_cast<DataType>(node.get_int("y_type", static_cast<int64_t>(DataType::Int8)));
    std::vector<float> w_scales;
    float x_scale = 1, y_scale = 1;
    int32_t y_zero_point = 0, clamp_min = -128, clamp_max = 127;
    if (y_type != DataType::Int32) {
      w_scales = node.get_floats("w_scales");
      x_scale = node.get_float("x_scale");
      y_scale = node.get_float("y_scale");
      y_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
      clamp_min = static_cast<int32_t>(std::max<int64_t>(node.get_int("clamp_min", graph::lowest(y_type)), graph::lowest(y_type)));
      clamp_max = static_cast<int32_t>(std::min<int64_t>(node.get_int("clamp_max", graph::highest(y_type)), graph::highest(y_type)));
    } else {
      clamp_min = std::numeric_limits<int32_t>::min();
      clamp_max = std::numeric_limits<int32_t>::max();
    }
    const auto x_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
    const int input_bits = static_cast<int>(node.get_int("input_bits", 8));

    // Geometry and vector counts.
    int64_t images = 1, vectors_per_image = 0;
    core::ConvGeometry geometry;
    if (layer.conv) {
      const Tensor& out = value(node.outputs[0]);
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
      geometry.out_height = out.dim(2);
      geometry.out_width = out.dim(3);
      geometry.group_channels = geometry.in_channels / layer.groups;
      vectors_per_image = geometry.out_height * geometry.out_width;
    } else {
      vectors_per_image = input_value.elements() / layer.rows;
    }
    report.vectors = images * vectors_per_image;

    // Accumulator ping-pong halves; a vector batch fills at most one half.
    const uint64_t half = arch_.accumulator_bytes / 2;
    const int64_t batch = std::max<int64_t>(1, static_cast<int64_t>(half / (4 * tile_cols)));
    if (static_cast<uint64_t>(4 * tile_cols) > half) {
      throw ModelError(node.describe() + ": " + std::to_string(tile_cols) +
                       " accumulator columns do not fit in half of the " +
                       std::to_string(arch_.accumulator_bytes) + "-byte accumulator memory");
    }

    for (int64_t image = 0; image < images; ++image) {
      for (int64_t g = 0; g < layer.groups; ++g) {
        for (int64_t v0 = 0; v0 < vectors_per_image; v0 += batch) {
          const int64_t count = std::min(batch, vectors_per_image - v0);
          for (int64_t n0 = 0; n0 < layer.cols; n0 += tile_cols) {
            const int64_t cols = std::min(tile_cols, layer.cols - n0);
            const core::Addr accumulator = (accumulator_toggle_ ^= 1) ? half : 0;
            bool first = true;
            for (Tile& tile : tiles) {
              if (tile.group != g || tile.n0 != n0 || tile.zero) continue;
              const int macro = macro_for(core, tile, layer, report);
              core::CimMatmul matmul;
              matmul.macro = macro;
              matmul.cols = cols;
              matmul.layer = report.layer;
              matmul.input_zero_point = x_zero_point;
              matmul.input_bits = input_bits;
              matmul.accumulator = accumulator;
              matmul.accumulator_stride = cols;
              matmul.accumulate = !first;
              core::VectorSource& source = matmul.source;
              source.first_element = tile.k0;
              source.element_count = tile.k1 - tile.k0;
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
                source.conv.channel_offset = g * geometry.group_channels;
              } else {
                source.kind = core::VectorSource::Kind::Rows;
                source.input = input;
                source.input.shape = {vectors_per_image, layer.rows};
              }
              program(core).body.push_back(matmul);
              first = false;
            }
            core::Requantize requant;
            requant.accumulator = accumulator;
            requant.vectors = count;
            requant.cols = cols;
            requant.accumulator_stride = cols;
            requant.zero_accumulator = first;
            const int64_t channel0 = g * layer.cols + n0;
            if (bias) {
              auto slice = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(cols));
              for (int64_t c = 0; c < cols; ++c) (*slice)[c] = bias->data<int32_t>()[channel0 + c];
              requant.bias = slice;
            }
            if (y_type != DataType::Int32) {
              auto multipliers = std::make_shared<std::vector<float>>(static_cast<size_t>(cols));
              for (int64_t c = 0; c < cols; ++c) {
                const float w_scale = w_scales.size() == 1 ? w_scales[0] : w_scales.at(channel0 + c);
                (*multipliers)[c] = graph::requant_multiplier(x_scale, w_scale, y_scale);
              }
              requant.multipliers = multipliers;
            }
            requant.output_zero_point = y_zero_point;
            requant.clamp_min = clamp_min;
            requant.clamp_max = clamp_max;
            requant.output = output;
            requant.layer = report.layer;
            if (layer.conv) {
              const int64_t out_channels = layer.cols * layer.groups;
              requant.output.addr = output.addr + static_cast<core::Addr>(image * out_channels * vectors_per_image) *
                                                      core::elem_size(output.type);
              requant.out_vector_stride = 1;
              requant.out_column_stride = vectors_per_image;
              requant.out_column_offset = channel0;
              // Vector v of this batch is output position v0 + v.
              requant.output.addr += static_cast<core::Addr>(v0) * core::elem_size(output.type);
            } else {
              requant.out_vector_stride = layer.cols;
              requant.out_column_stride = 1;
              requant.out_column_offset = channel0;
              requant.output.addr += static_cast<core::Addr>(v0 * layer.cols) * core::elem_size(output.type);
            }
            program(core).body.push_back(requant);
          }
        }
      }
    }
    mapping_.report.layers.push_back(report);
    distribute(node.outputs[0], core, output);
  }

  // The macro a tile runs on: stationary (loaded once in the prologue) while the core has free
  // macros, otherwise streamed (reloaded before each use).
  int macro_for(int core, Tile& tile, const CimLayer& layer, LayerMapping& report) {
    CoreState& state = state_[static_cast<size_t>(core)];
    if (tile.macro >= 0) return tile.macro;
    const int macros = arch_.macros_per_core;
    core::LoadWeights load;
    load.source = tile.image;
    load.rows = tile.k1 - tile.k0;
    load.cols = tile.n1 - tile.n0;
    load.weight_bits = layer.weight_bits;
    load.weights_signed = layer.weights_signed;
    load.layer = report.layer;
    for (int64_t n = tile.n0; n < tile.n1; ++n) load.weight_zero_points.push_back(layer.zero_point(tile.group, n));
    // Keep one macro for streaming when the core's tiles do not all fit.
    const bool all_fit = planned_total_tiles(core) <= macros;
    const int stationary_slots = all_fit ? macros : macros - 1;
    if (state.stationary_tiles < stationary_slots) {
      tile.macro = static_cast<int>(state.stationary_tiles++);
      load.macro = tile.macro;
      program(core).prologue.push_back(load);
      ++mapping_.report.weight_loads_once;
      return tile.macro;
    }
    report.stationary = false;
    const int macro = std::max(stationary_slots, 0) +
                      (state.streaming_macro++ % std::max(1, macros - std::max(stationary_slots, 0)));
    load.macro = macro;
    program(core).body.push_back(load);
    ++mapping_.report.weight_loads_per_inference;
    return macro;
  }

  int64_t planned_total_tiles(int core) {
    auto cached = total_tiles_.find(core);
    if (cached != total_tiles_.end()) return cached->second;
    int64_t total = 0;
    for (const auto& entry : cim_layers_) {
      const CimLayer& layer = entry.second;
      if (core_of_node_.at(layer.node) != core) continue;
      const int64_t logical = std::max<int64_t>(1, arch_.logical_columns(layer.weight_bits));
      const int64_t tile_cols = std::min(logical, layer.cols);
      const int64_t tile_rows = std::min<int64_t>(arch_.macro_rows, layer.rows);
      for (int64_t g = 0; g < layer.groups; ++g) {
        for (int64_t n0 = 0; n0 < layer.cols; n0 += tile_cols) {
          for (int64_t k0 = 0; k0 < layer.rows; k0 += tile_rows) {
            bool zero = true;
            for (int64_t k = k0; k < std::min(k0 + tile_rows, layer.rows) && zero; ++k) {
              for (int64_t n = n0; n < std::min(n0 + tile_cols, layer.cols); ++n) {
                if (layer.value(g, k, n) != layer.zero_point(g, n)) {
                  zero = false;
                  break;
                }
              }
            }
            if (!zero) ++total;
          }
        }
      }
    }
    total_tiles_[core] = total;
    return total;
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
      if (axis != x.rank() - 1) throw ModelError(node.describe() + ": softmax maps over the last axis only");
      softmax.input = on_core(node.inputs[0], core, node);
      softmax.output = output_buffer(node, core);
      softmax.input_scale = node.get_float("x_scale", 1.0f);
      softmax.input_zero_point = static_cast<int32_t>(node.get_int("x_zero_point", 0));
      softmax.output_scale = node.get_float("y_scale", 1.0f);
      softmax.output_zero_point = static_cast<int32_t>(node.get_int("y_zero_point", 0));
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
    } else if (op == "Concat") {
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

  void emit_concat(const Node& node, int core) {
    const Tensor& y = value(node.outputs[0]);
    int64_t axis = node.get_int("axis");
    if (axis < 0) axis += y.rank();
    const core::TensorRef output = output_buffer(node, core);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y.dim(d);
    for (int64_t d = axis + 1; d < y.rank(); ++d) inner *= y.dim(d);
    int64_t offset = 0;
    for (const auto& name : node.inputs) {
      const Tensor& x = value(name);
      const core::TensorRef input = on_core(name, core, node);
      core::Copy copy;
      copy.source = input.addr;
      copy.destination = output.addr;
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
      // Receives for values that arrived but were consumed by nothing (cannot happen: a value
      // is sent only to consumers) would leave messages unmatched; flush any for safety.
      for (auto it = pending_receive_.begin(); it != pending_receive_.end();) {
        if (it->first.second == core) {
          program(core).body.push_back(it->second);
          it = pending_receive_.erase(it);
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

  const graph::Graph& graph_;
  const graph::ValueMap& values_;
  const ArchInfo& arch_;
  MapOptions options_;
  std::vector<int> cores_;
  Mapping mapping_;
  std::vector<CoreState> state_;
  std::map<std::string, CimLayer> cim_layers_;
  std::map<const Node*, int> core_of_node_;
  std::map<std::pair<std::string, int>, core::TensorRef> located_;
  std::map<std::pair<std::string, int>, core::Receive> pending_receive_;
  // (value, core) -> (consumers still to run there, the token to return after the last one).
  std::map<std::pair<std::string, int>, std::pair<int, core::Send>> credits_;
  std::map<int, int64_t> total_tiles_;
  int next_tag_ = 0;
  int accumulator_toggle_ = 0;
};

}  // namespace

Mapping map_network(const graph::Graph& graph, const graph::ValueMap& values, const ArchInfo& arch,
                    const MapOptions& options) {
  return Mapper(graph, values, arch, options).run();
}

}  // namespace cimtlm::map
