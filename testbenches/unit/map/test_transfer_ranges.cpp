// Values sent between cores: a core sharing a CIM convolution's output positions receives only
// the input rows under them (plus the kernel's halo), under one flow-control token per value and
// destination; shared placement gives each layer a connected region of the mesh.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "testbenches/unit/map/mesh_mapping.h"

namespace cimtlm::map {
namespace {

using test_support::hops;
using test_support::map_on_mesh;
using test_support::Mapped;

TEST(TransferRanges, ACoreReceivesOnlyTheRowsItsOutputPositionsRead) {
  const Mapped mapped = map_on_mesh("residual_cnn", 8);
  // Bytes of each value each core receives, and the tokens each core returns.
  std::map<std::pair<std::string, int>, uint64_t> received;
  std::map<std::tuple<std::string, int, int>, int> tokens;  // (value, from, to)
  std::map<std::tuple<std::string, int, int>, int> sends;
  const auto& cores = mapped.mapping.program.cores;
  const std::string credit = " (credit)";
  for (size_t core = 0; core < cores.size(); ++core) {
    for (const auto* commands : {&cores[core].prologue, &cores[core].body}) {
      for (const core::Command& command : *commands) {
        const auto* send = std::get_if<core::Send>(&command);
        if (send == nullptr) continue;
        if (send->bytes == 0) {
          // The first token is granted in the receiver's prologue.
          if (commands == &cores[core].prologue) {
            ++tokens[{send->layer.substr(0, send->layer.size() - credit.size()), send->to_core,
                      static_cast<int>(core)}];
          }
        } else {
          received[{send->layer, send->to_core}] += send->bytes;
          ++sends[{send->layer, static_cast<int>(core), send->to_core}];
        }
      }
    }
  }
  // The first convolution (3x3, stride 1, pad 1, on the 3x16x16 input) is shared by 4 cores,
  // each over 4 output rows: a core reads its rows plus a halo row either side, 5 or 6 input rows
  // per channel. The 160-byte gaps between a core's rows of consecutive channels are below the
  // merge gap (256 B), so each receives one span: 2 whole channels plus its rows of the third.
  const LayerMapping* first = nullptr;
  for (const auto& layer : mapped.mapping.report.layers) {
    if (layer.op.find("Conv") != std::string::npos) {
      first = &layer;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->cores.size(), 4u);
  const graph::Node* conv = nullptr;
  for (const auto& node : mapped.graph.nodes) {
    if ((node.name.empty() ? node.outputs[0] : node.name) == first->layer) conv = &node;
  }
  ASSERT_NE(conv, nullptr);
  const std::string& input = conv->inputs[0];
  const graph::Tensor& value = mapped.values.at(input);
  ASSERT_EQ(value.shape(), (std::vector<int64_t>{1, 3, 16, 16}));
  const uint64_t plane = 16 * 16;
  int checked = 0;
  for (size_t worker = 0; worker < first->cores.size(); ++worker) {
    const auto found = received.find({input, first->cores[worker]});
    if (found == received.end()) continue;  // the core that holds the input already
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  std::multiset<uint64_t> spans;
  for (int core : first->cores) {
    const auto found = received.find({input, core});
    if (found != received.end()) spans.insert(found->second);
  }
  // Output rows 0-3 read input rows 0-4, 4-7 read 3-8, 8-11 read 7-12, 12-15 read 11-15.
  std::multiset<uint64_t> expected;
  for (const uint64_t rows : {5, 6, 6, 5}) expected.insert(2 * plane + rows * 16);
  for (uint64_t span : spans) {
    ASSERT_TRUE(expected.count(span)) << span;
    expected.erase(expected.find(span));
  }
  // One token per value and destination, however many ranges it was sent in.
  for (const auto& [key, count_of_sends] : sends) {
    EXPECT_EQ((tokens[{std::get<0>(key), std::get<1>(key), std::get<2>(key)}]), 1)
        << std::get<0>(key) << " " << std::get<1>(key) << " -> " << std::get<2>(key) << " in "
        << count_of_sends << " sends";
  }
}

TEST(TransferRanges, SharedPlacementGivesEveryLayerAConnectedRegion) {
  const int side = 8;
  const Mapped mapped = map_on_mesh("inception_cnn", side);
  int shared_layers = 0;
  for (const auto& layer : mapped.mapping.report.layers) {
    if (layer.cores.size() < 2) continue;
    ++shared_layers;
    // Flood fill from the home core over mesh neighbours inside the layer's cores.
    std::set<int> members(layer.cores.begin(), layer.cores.end()), reached{layer.cores.front()};
    std::vector<int> frontier{layer.cores.front()};
    while (!frontier.empty()) {
      const int core = frontier.back();
      frontier.pop_back();
      for (int other : members) {
        if (!reached.count(other) && hops(core, other, side) == 1) {
          reached.insert(other);
          frontier.push_back(other);
        }
      }
    }
    EXPECT_EQ(reached.size(), members.size()) << layer.layer;
  }
  EXPECT_GE(shared_layers, 2);
}

}  // namespace
}  // namespace cimtlm::map
