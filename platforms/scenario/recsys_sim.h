// One SystemC run of the recsys scenario (docs/recsys.md) and the reference chain it is checked
// against. Internal to platforms/scenario (recsys_run.cpp forks a process per mode).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "compiler/graph/graph.h"
#include "platforms/scenario/recsys_nodes.h"
#include "platforms/scenario/recsys_spec.h"

namespace cimtlm::platforms::recsys {

// The reference top k: every item sorted by score, largest first, equal scores in item order
// (a full stable sort, independent of the server's streaming selection `top_k` that it checks).
// Scores are finite (the outputs of a quantized network).
std::vector<int32_t> reference_top_k(const std::vector<float>& scores, int k);

// The quantized networks through the reference executor (the golden model the platforms are
// bit-exact to): the user tower's behaviour vector and the top k items of a user.
class ReferenceChain {
 public:
  ReferenceChain(const graph::Graph& user_tower, const graph::Graph& scoring);
  std::vector<float> behaviour(const std::vector<float>& mlp_input) const;
  std::vector<float> scores(const std::vector<float>& behaviour) const;
  std::vector<int32_t> top_k_of_user(const RecsysSpec& spec, const EmbeddingStore& store,
                                     int64_t user) const;

 private:
  const graph::Graph& user_tower_;
  const graph::Graph& scoring_;
};

// Runs one mode (on-device, or the raw-feature baseline) in this process: elaborates the client
// and server platforms and the link, simulates spec.requests requests and checks them against
// the reference chain. Throws ConfigError on bad input (platform, network, level names). The
// JSON holds the figures (the stats keys of docs/recsys.md), the violations and the errors.
nlohmann::json simulate_mode(const RecsysSpec& spec, bool baseline);

}  // namespace cimtlm::platforms::recsys
