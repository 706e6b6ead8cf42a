// Branch ordering on the test networks of configs/networks (scripts/make_test_networks.py),
// lowered as `cimtlm run` lowers them.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "compiler/graph/lowering.h"
#include "compiler/map/memory_plan.h"
#include "compiler/map/schedule.h"
#include "compiler/onnx/onnx_io.h"

namespace cimtlm::map {
namespace {

struct LoweredNetwork {
  graph::Graph graph;
  graph::ValueMap values;
};

LoweredNetwork load(const std::string& name) {
  LoweredNetwork network;
  const std::string folder = std::string(CIMTLM_NETWORKS_DIR) + "/";
  network.graph = graph::lower_quantized(onnx::load_onnx(folder + name + ".onnx"));
  const graph::Tensor input = onnx::load_npy(folder + name + "_input.npy");
  network.values = graph::ReferenceExecutor(network.graph).run({{"input", input}}, true);
  return network;
}

std::vector<std::string> names_of(const graph::Graph& graph, const std::vector<int>& order) {
  std::vector<std::string> names;
  for (int node : order) names.push_back(graph.nodes[static_cast<size_t>(node)].name);
  return names;
}

// The inception block's branches on 8x8 maps: 1x1 (8 ch), 3x3 (24 -> 8), double 3x3
// (16 -> 32 -> 8), pool (16 -> 8): the README's worked example, plus the float input (3 KiB) and
// its quantized copy (768 bytes), which are dead by then.
TEST(ScheduleNetworks, InceptionRunsTheDoubleThreeByThreeBranchFirst) {
  const LoweredNetwork network = load("inception_cnn");
  const ScheduleResult result = plan_schedule(network.graph, network.values);
  EXPECT_EQ(result.naive_peak_bytes, 5120u);
  EXPECT_EQ(result.peak_bytes, 4096u);
  ASSERT_EQ(result.decisions.size(), 1u);
  EXPECT_EQ(result.decisions[0].fork, "stem");
  EXPECT_EQ(result.decisions[0].join, "mixed");
  EXPECT_EQ(result.decisions[0].order, (std::vector<int>{2, 0, 1, 3}));
  EXPECT_EQ(result.branch_order,
            "stem -> mixed: [branch5x5_reduce, branch1x1, branch3x3_reduce, branch_pool]");
  const auto names = names_of(network.graph, result.node_order);
  EXPECT_LT(std::find(names.begin(), names.end(), "branch5x5_b") - names.begin(),
            std::find(names.begin(), names.end(), "branch1x1") - names.begin());
  EXPECT_EQ(peak_activation_bytes(network.graph, value_bytes(network.values), result.node_order),
            4096u);
}

// Residual blocks: the downsampling block's projection shortcut is a branch beside the two 3x3
// convolutions. Either order needs 8 KiB there (block input 4 KiB + two 2 KiB maps), so the graph's
// order is kept; the network's peak is the identity block's Add (its two 4 KiB inputs and output).
TEST(ScheduleNetworks, ResidualKeepsTheGraphsOrderWhenNoOrderIsBetter) {
  const LoweredNetwork network = load("residual_cnn");
  const ScheduleResult result = plan_schedule(network.graph, network.values);
  ASSERT_EQ(result.decisions.size(), 1u);
  const BranchDecision& decision = result.decisions[0];
  EXPECT_EQ(decision.fork, "block1_add");
  EXPECT_EQ(decision.join, "block2_add");
  EXPECT_EQ(decision.branches, (std::vector<std::string>{"block2_conv_a", "block2_shortcut"}));
  EXPECT_EQ(decision.order, (std::vector<int>{0, 1}));
  EXPECT_EQ(decision.peak_bytes, 8192u);
  EXPECT_EQ(decision.naive_peak_bytes, 8192u);
  EXPECT_EQ(result.peak_bytes, 12288u);
  EXPECT_EQ(result.naive_peak_bytes, 12288u);
  std::vector<int> graph_order(network.graph.nodes.size());
  std::iota(graph_order.begin(), graph_order.end(), 0);
  EXPECT_EQ(result.node_order, graph_order);
}

// One core running the whole inception network: the liveness-based arena against the bump
// allocator's sum of every buffer (64-byte lines).
TEST(ScheduleNetworks, InceptionArenaOnOneCore) {
  const LoweredNetwork network = load("inception_cnn");
  const ScheduleResult result = plan_schedule(network.graph, network.values);
  const std::vector<int> cores(network.graph.nodes.size(), 0);
  const auto plans = plan_core_activations(network.graph, value_bytes(network.values),
                                           result.node_order, cores, 1);
  uint64_t sum = 0;
  for (const auto& request : plans[0].requests) {
    if (request.alias_of < 0) sum += (request.bytes + 63) / 64 * 64;
  }
  // The float input (3 KiB, written once by the host) stays; the rest peaks at 4 KiB.
  EXPECT_EQ(plans[0].plan.peak_live_bytes, 4096u + 3072u);
  EXPECT_GE(plans[0].plan.arena_bytes, plans[0].plan.peak_live_bytes);
  EXPECT_LE(plans[0].plan.arena_bytes, plans[0].plan.peak_live_bytes + 512u);
  EXPECT_EQ(sum, 14784u);
  std::cout << "[          ] inception_cnn on one core: arena " << plans[0].plan.arena_bytes
            << " bytes, peak live " << plans[0].plan.peak_live_bytes << ", sum of buffers " << sum
            << "\n";
}

}  // namespace
}  // namespace cimtlm::map
