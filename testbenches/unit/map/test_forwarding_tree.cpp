// A value that several cores need whole (or in the same bytes) travels along a forwarding tree:
// every destination receives it exactly once, from the producer or from a core that received it
// before forwarding, under one flow-control token per edge, and the producer sends it at most
// twice however many cores need it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "testbenches/unit/map/mesh_mapping.h"

namespace cimtlm::map {
namespace {

using test_support::hops;
using test_support::Mapped;
using test_support::MeshArrays;

// One 16x16 array per core: a layer's output channels make many column chunks (2 per array at 8
// bits), so its cores compute all output positions and each needs the whole input.
Mapped map_on_mesh(const std::string& name, int side, bool trees) {
  return test_support::map_on_mesh(name, side, MeshArrays{1, 16, trees});
}

struct Transfer {
  std::string value;
  int from = 0, to = 0;
  size_t at = 0;  // position in the sender's (receiver's) body
  uint64_t bytes = 0;
};

// Data sends and receives of every body, and the first tokens granted in the prologues.
struct Traffic {
  std::vector<Transfer> sends, receives;
  std::map<std::tuple<std::string, int, int>, int> first_tokens;  // (value, from, to)
};

Traffic traffic_of(const Mapping& mapping) {
  Traffic traffic;
  const std::string credit = " (credit)";
  const auto& cores = mapping.program.cores;
  for (size_t core = 0; core < cores.size(); ++core) {
    const int here = static_cast<int>(core);
    for (const core::Command& command : cores[core].prologue) {
      const auto* send = std::get_if<core::Send>(&command);
      if (send == nullptr || send->bytes != 0) continue;
      ++traffic.first_tokens[{send->layer.substr(0, send->layer.size() - credit.size()),
                              send->to_core, here}];
    }
    const auto& body = cores[core].body;
    for (size_t at = 0; at < body.size(); ++at) {
      if (const auto* send = std::get_if<core::Send>(&body[at]); send && send->bytes != 0) {
        traffic.sends.push_back({send->layer, here, send->to_core, at, send->bytes});
      }
      if (const auto* receive = std::get_if<core::Receive>(&body[at]);
          receive && receive->layer.find(credit) == std::string::npos) {
        traffic.receives.push_back({receive->layer, receive->from_core, here, at, 0});
      }
    }
  }
  return traffic;
}

// The home core of the node that produced `value` (where it is assembled and sent from).
int home_of(const Mapping& mapping, const std::string& value) {
  const std::string& layer = mapping.report.layer_of_value.at(value);
  for (const NodeLayer& node : mapping.report.nodes) {
    if (node.layer == layer) return node.cores.front();
  }
  ADD_FAILURE() << "no node " << layer;
  return -1;
}

// 64-byte flits times XY hops of every data send.
int64_t flit_hops(const Traffic& traffic, int side) {
  int64_t total = 0;
  for (const Transfer& send : traffic.sends) {
    total += static_cast<int64_t>((send.bytes + 63) / 64) * hops(send.from, send.to, side);
  }
  return total;
}

TEST(ForwardingTree, EveryDestinationReceivesOnceAndTheProducerSendsAtMostTwice) {
  const int side = 16;
  const Mapped mapped = map_on_mesh("inception_cnn", side, true);
  const Traffic traffic = traffic_of(mapped.mapping);
  // Per value: the home core; each destination's senders; each core's first receive and first
  // send of it (slices a worker sends to the home core are the gather, not the distribution).
  std::map<std::string, int> home;
  std::map<std::pair<std::string, int>, std::set<int>> senders;
  std::map<std::pair<std::string, int>, size_t> first_receive, first_send;
  std::map<std::string, int> sent_by_home;
  for (const Transfer& send : traffic.sends) {
    if (!home.count(send.value)) home[send.value] = home_of(mapped.mapping, send.value);
    if (send.to == home[send.value]) continue;
    senders[{send.value, send.to}].insert(send.from);
    first_send.emplace(std::make_pair(send.value, send.from), send.at);
  }
  for (const Transfer& receive : traffic.receives) {
    if (receive.to == home[receive.value]) continue;
    first_receive.emplace(std::make_pair(receive.value, receive.to), receive.at);
  }
  std::map<std::string, std::set<int>> destinations, home_sends_to;
  for (const auto& [key, from] : senders) {
    const auto& [value, to] = key;
    destinations[value].insert(to);
    // Exactly one sender per destination, which granted one first token.
    ASSERT_EQ(from.size(), 1u) << value << " -> " << to;
    const int sender = *from.begin();
    EXPECT_EQ((traffic.first_tokens.count({value, sender, to})), 1u) << value << " -> " << to;
    if (sender == home[value]) {
      home_sends_to[value].insert(to);
      continue;
    }
    // A forwarder: a destination itself, which receives the value before it sends it on.
    const auto received = first_receive.find({value, sender});
    ASSERT_NE(received, first_receive.end()) << value << " forwarded by " << sender;
    EXPECT_LT(received->second, first_send.at({value, sender})) << value;
  }
  // Every data receive of a destination is from its one sender.
  for (const Transfer& receive : traffic.receives) {
    if (receive.to == home[receive.value]) continue;
    EXPECT_EQ((senders[{receive.value, receive.to}].count(receive.from)), 1u) << receive.value;
  }
  // Destinations that receive a value whole, and how many of them the home core sends to.
  std::map<std::string, std::set<int>> whole, whole_from_home;
  for (const Transfer& send : traffic.sends) {
    if (send.to == home[send.value] || send.bytes != mapped.values.at(send.value).bytes()) continue;
    whole[send.value].insert(send.to);
    if (send.from == home[send.value]) whole_from_home[send.value].insert(send.to);
  }
  size_t widest = 0;
  for (const auto& [value, cores] : whole) {
    widest = std::max(widest, cores.size());
    if (cores.size() >= 16) {
      EXPECT_LE(whole_from_home[value].size(), 2u) << value;
    }
  }
  // The stem's output is needed whole by 22 cores (the first inception block's 1x1 layers).
  EXPECT_GE(widest, 16u);
  // Fewer flit-hops than with every destination served by the producer.
  const Traffic direct = traffic_of(map_on_mesh("inception_cnn", side, false).mapping);
  EXPECT_LT(flit_hops(traffic, side), flit_hops(direct, side));
}

}  // namespace
}  // namespace cimtlm::map
