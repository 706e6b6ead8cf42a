// Values that cross cores: sends, receives and the credit tokens that keep a receiver's buffer
// from being overwritten before it has been read.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "compiler/map/mapper_internal.h"

namespace cimtlm::map {
namespace detail {

namespace {
// Ranges of a value closer than this are sent as one: each Send is a memory read and a transfer
// of its own, with their fixed latencies, which cost more than a short gap's bytes. Measured: the
// residual CNN partitioned over a 2x2 mesh (rows of 16 B, gaps of 160 B) takes 1-2 % more
// cycles than whole-value sends with a 64-byte merge gap and 0.1 % fewer with 256; ResNet-18 on
// 16x16 cores 23.46 M cycles (2.98 M flit-hops) at 64, 22.80 M (3.18 M) at 256, 22.67 M (4.04 M)
// at 1024.
constexpr uint64_t kMergeGapBytes = 256;
}  // namespace

// The buffer of `name` on `core`: produced there, received there (its receives are emitted
// here, before the first use), a constant placed there, or a graph input written by the host.
core::TensorRef Mapper::on_core(const std::string& name, int core, const Node& user) {
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

void Mapper::emit_pending_receives(const std::string& name, int core) {
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
void Mapper::transfer(const std::string& name, int from, core::Addr source, int to,
                      core::Addr destination, uint64_t bytes) {
  transfer_ranges(name, from, source, to, destination, {{0, bytes}});
}

// Moves byte ranges of `name` (offsets from `source` on `from` and `destination` on `to`) every
// inference, with flow control: `to` reuses its buffer each inference, so `from` sends inference
// i + 1 only after `to` returned a token for inference i (the first token is granted in `to`'s
// prologue; the others after the last use of `name` on `to`, see return_credits). One token
// covers all the ranges. The receives are emitted on `to` before the first use.
void Mapper::transfer_ranges(const std::string& name, int from, core::Addr source, int to,
                             core::Addr destination, const ByteRanges& ranges) {
  // The first range takes the tag before the token's (the numbering of a single transfer).
  const int first_tag = next_tag_++;
  const int credit_tag = next_tag_++;
  core::Receive credit;
  credit.from_core = to;
  credit.tag = credit_tag;
  credit.layer = name + " (credit)";
  program(from).body.push_back(credit);
  for (const auto& [offset, bytes] : ranges) {
    const int tag = &offset == &ranges.front().first ? first_tag : next_tag_++;
    core::Send send;
    send.to_core = to;
    send.source = source + offset;
    send.destination = destination + offset;
    send.bytes = bytes;
    send.tag = tag;
    send.layer = name;
    program(from).body.push_back(send);
    core::Receive receive;
    receive.from_core = from;
    receive.tag = tag;
    receive.layer = name;
    pending_receives_[{name, to}].push_back(receive);
  }
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

// The bytes of `name` that `core` reads. A CIM convolution or matrix product sharing its output
// positions among cores reads only the input rows under its positions (plus the kernel's halo)
// in the channels of its blocks; any other consumer on `core` reads the whole value. The ranges
// are sorted; ranges closer than kMergeGapBytes are merged.
Mapper::ByteRanges Mapper::needed_ranges(const std::string& name, int core,
                                         const core::TensorRef& ref) const {
  const Tensor& tensor = value(name);
  const auto esize = static_cast<uint64_t>(core::elem_size(ref.type));
  const uint64_t whole = ref.bytes();
  ByteRanges ranges;
  for (int consumer : graph_.consumers(name)) {
    const Node& node = graph_.nodes[static_cast<size_t>(consumer)];
    const auto plan_found = plans_.find(&node);
    const bool uses_only_input0 = !node.inputs.empty() && node.inputs[0] == name &&
                                  std::count(node.inputs.begin(), node.inputs.end(), name) == 1;
    if (plan_found == plans_.end() || runs_as_kernel(node) || !uses_only_input0) {
      const auto cores = cores_of(&node);
      if (std::find(cores.begin(), cores.end(), core) != cores.end()) return {{0, whole}};
      continue;
    }
    const CimPlan& plan = plan_found->second;
    const auto worker = static_cast<size_t>(std::find(plan.cores.begin(), plan.cores.end(), core) -
                                            plan.cores.begin());
    if (worker >= plan.cores.size()) continue;
    if (worker >= plan.items.size() || plan.tiling.blocks.empty()) return {{0, whole}};
    const CimLayer& layer = plan.layer;
    const int64_t vectors = vectors_per_image(node, layer);
    for (const WorkItem& item : plan.items[worker]) {
      const int64_t first = item.first_vector;
      const int64_t end = item.end_vector < 0 ? vectors : item.end_vector;
      if (end <= first) continue;
      if (!layer.conv) {
        // [M, K] rows, vector-major: vectors [first, end) are one contiguous range.
        const auto row_bytes = static_cast<uint64_t>(layer.rows) * esize;
        ranges.emplace_back(static_cast<uint64_t>(first) * row_bytes,
                            static_cast<uint64_t>(end - first) * row_bytes);
        continue;
      }
      const Block& block = plan.tiling.blocks[static_cast<size_t>(item.block)];
      const Tensor& output = value(node.outputs[0]);
      const int64_t images = tensor.dim(0), channels = tensor.dim(1), height = tensor.dim(2),
                    width = tensor.dim(3), out_width = output.dim(3);
      const int64_t group_channels = channels / layer.groups;
      const int64_t channel_first = block.first_group * group_channels;
      const int64_t channel_end = channel_first + block.group_count * group_channels;
      const auto strides = node.get_ints("strides", {1, 1});
      const auto pads = node.get_ints("pads", {0, 0, 0, 0});
      const auto dilations = node.get_ints("dilations", {1, 1});
      const int64_t row_first =
          std::max<int64_t>(0, (first / out_width) * strides.at(0) - pads.at(0));
      const int64_t row_end =
          std::min<int64_t>(height, ((end - 1) / out_width) * strides.at(0) - pads.at(0) +
                                        (layer.kernel_h - 1) * dilations.at(0) + 1);
      if (row_end <= row_first) continue;
      const auto run = static_cast<uint64_t>((row_end - row_first) * width) * esize;
      for (int64_t image = 0; image < images; ++image) {
        for (int64_t c = channel_first; c < channel_end; ++c) {
          const int64_t element = ((image * channels + c) * height + row_first) * width;
          ranges.emplace_back(static_cast<uint64_t>(element) * esize, run);
        }
      }
    }
  }
  std::sort(ranges.begin(), ranges.end());
  ByteRanges merged;
  for (const auto& [offset, bytes] : ranges) {
    if (!merged.empty() && offset <= merged.back().first + merged.back().second + kMergeGapBytes) {
      merged.back().second = std::max(merged.back().second, offset + bytes - merged.back().first);
    } else {
      merged.emplace_back(offset, bytes);
    }
  }
  return merged;
}

int Mapper::local_consumers(const std::string& name, int core) const {
  int count = 0;
  for (int consumer : graph_.consumers(name)) {
    const auto cores = cores_of(&graph_.nodes[static_cast<size_t>(consumer)]);
    if (std::find(cores.begin(), cores.end(), core) != cores.end()) ++count;
  }
  return count;
}

void Mapper::release_tokens(const std::string& name, int core) {
  auto credit = credits_.find({name, core});
  if (credit == credits_.end()) return;
  for (const auto& token : credit->second.tokens) program(core).body.push_back(token);
  credits_.erase(credit);
}

// After a node produced `name` on `core`: send it to every other core that consumes it. Three or
// more destinations that need the same bytes (a layer whose work items are column chunks needs
// its whole input on each of its cores) receive them along a forwarding tree: the producer sends
// to at most two, and each forwarder receives at this point of its program (where it stands when
// the value is produced, in schedule order) and sends on to at most two, each edge under its own
// flow-control token as a direct transfer would be. So the same bytes do not cross the same links
// once per destination, and the producer does not inject them 16 times in a row.
//
// No deadlock: every wait this adds points to a command emitted before it (the forwarder's
// receive to its parent's send, a child's receive to its forwarder's send) or to a token of the
// previous inference (a forwarder's credit receive), as the producer's own sends do. The
// forwarder's buffer stays valid until its forwards have read it: it returns its token upstream
// after its last local consumer (return_credits), which comes after its forwards in its program,
// and a token leaves only when all work issued before it has (CoreController::send).
void Mapper::distribute(const std::string& name, int core, const core::TensorRef& ref) {
  located_[{name, core}] = ref;
  std::set<int> destinations;
  for (int consumer : graph_.consumers(name)) {
    for (int other : cores_of(&graph_.nodes[static_cast<size_t>(consumer)])) {
      if (other != core) destinations.insert(other);
    }
  }
  std::map<int, core::TensorRef> remote;
  std::map<int, ByteRanges> needed;
  std::map<ByteRanges, std::vector<int>> sharing;  // destinations by the bytes they need
  for (int destination : destinations) {
    remote[destination] = allocate_activation(destination, ref.type, ref.shape, name);
    located_[{name, destination}] = remote[destination];
    needed[destination] = needed_ranges(name, destination, ref);
    if (!needed[destination].empty()) sharing[needed[destination]].push_back(destination);
  }
  for (int destination : destinations) {
    const ByteRanges& ranges = needed[destination];
    if (ranges.empty()) continue;
    const std::vector<int>& group = sharing[ranges];
    if (!options_.forwarding_trees || group.size() < 3) {
      transfer_ranges(name, core, ref.addr, destination, remote[destination].addr, ranges);
      continue;
    }
    if (group.front() != destination) continue;  // sent with the group's first member
    for (const auto& [parent, child] : forwarding_tree(core, group)) {
      // A forwarder receives before it sends on (its parent's edge came first).
      if (parent != core) emit_pending_receives(name, parent);
      const core::Addr source = parent == core ? ref.addr : remote[parent].addr;
      transfer_ranges(name, parent, source, child, remote[child].addr, ranges);
    }
  }
  // Slices received here from other cores are free again once this core no longer reads the
  // value: after its local consumers, or now when it has none (the sends above read it).
  if (local_consumers(name, core) == 0) release_tokens(name, core);
}

// Mesh hops between two cores (XY routing); the id distance when the mesh does not describe them.
int Mapper::mesh_hops(int a, int b) const {
  if (static_cast<int64_t>(arch_.mesh_rows) * arch_.mesh_cols != arch_.cores ||
      arch_.mesh_cols < 1) {
    return std::abs(a - b);
  }
  return std::abs(a / arch_.mesh_cols - b / arch_.mesh_cols) +
         std::abs(a % arch_.mesh_cols - b % arch_.mesh_cols);
}

// The members in mesh-curve order are halved; the parent sends to the member of each half
// nearest to it, which forwards over the rest of its half the same way: depth about log2 of the
// members, at most two sends per core, and each subtree a run of the curve (a compact region).
// Pairs stay direct: ResNet-18 (224x224) per inference, chaining a pair through its nearer member
// when that is shorter cut flit-hops further (16x16 cores: 3.14 M direct, 2.66 M with trees for
// three or more, 2.41 M also chaining pairs; 2x2: 499 k, 444 k, 413 k) but raised the NoC
// engine's host instructions (2x2: 0.745 G direct, 0.744 G, 0.788 G; 16x16: 3.24 G, 2.89 G,
// 2.97 G): a store-and-forward hop lengthens the time packets spend queued in the routers.
std::vector<std::pair<int, int>> Mapper::forwarding_tree(int root,
                                                         const std::vector<int>& members) const {
  std::vector<std::pair<int, int>> edges;
  // Depth first, the first half before the second: a parent's edge precedes its children's.
  auto grow = [&](auto& self, int parent, std::vector<int> rest) -> void {
    if (rest.empty()) return;
    const auto half = static_cast<std::ptrdiff_t>((rest.size() + 1) / 2);
    std::vector<int> parts[2] = {{rest.begin(), rest.begin() + half},
                                 {rest.begin() + half, rest.end()}};
    for (auto& part : parts) {
      if (part.empty()) continue;
      const auto nearest = std::min_element(part.begin(), part.end(), [&](int a, int b) {
        return mesh_hops(parent, a) < mesh_hops(parent, b);
      });
      const int child = *nearest;
      part.erase(nearest);
      edges.emplace_back(parent, child);
      self(self, child, part);
    }
  };
  grow(grow, root, along_mesh_curve(members));
  return edges;
}

// After a node ran on `core`: return the flow-control tokens of every received input whose
// last consumer there it was.
void Mapper::return_credits(const Node& node, int core) {
  std::set<std::string> seen;
  for (const auto& input : node.inputs) {
    if (input.empty() || !seen.insert(input).second) continue;
    auto credit = credits_.find({input, core});
    if (credit == credits_.end()) continue;
    if (--credit->second.consumers_left <= 0) release_tokens(input, core);
  }
}

}  // namespace detail

}  // namespace cimtlm::map
