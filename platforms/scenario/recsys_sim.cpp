#include "platforms/scenario/recsys_sim.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <variant>

#include "compiler/graph/reference_executor.h"
#include "models/link/link.h"
#include "platforms/builder/chip.h"
#include "platforms/run/allocation.h"
#include "platforms/run/run.h"
#include "platforms/run/workload.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms::recsys {

using sc_core::sc_time;

ReferenceChain::ReferenceChain(const graph::Graph& user_tower, const graph::Graph& scoring)
    : user_tower_(user_tower), scoring_(scoring) {}

namespace {

std::vector<float> run_float(const graph::Graph& graph, const std::vector<float>& input) {
  graph::Tensor tensor(graph::DataType::Float, {1, static_cast<int64_t>(input.size())});
  std::memcpy(tensor.raw(), input.data(), input.size() * sizeof(float));
  const graph::ValueMap outputs =
      graph::ReferenceExecutor(graph).run({{graph.inputs.at(0).name, tensor}});
  const graph::Tensor& output = outputs.at(graph.outputs.at(0).name);
  return output.to_float_vector();
}

}  // namespace

std::vector<int32_t> reference_top_k(const std::vector<float>& scores, int k) {
  std::vector<int32_t> items(scores.size());
  for (size_t item = 0; item < items.size(); ++item) items[item] = static_cast<int32_t>(item);
  std::stable_sort(items.begin(), items.end(), [&scores](int32_t a, int32_t b) {
    return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)];
  });
  items.resize(std::min(items.size(), static_cast<size_t>(std::max(k, 0))));
  return items;
}

std::vector<float> ReferenceChain::behaviour(const std::vector<float>& mlp_input) const {
  return run_float(user_tower_, mlp_input);
}

std::vector<float> ReferenceChain::scores(const std::vector<float>& behaviour) const {
  return run_float(scoring_, behaviour);
}

std::vector<int32_t> ReferenceChain::top_k_of_user(const RecsysSpec& spec,
                                                   const EmbeddingStore& store,
                                                   int64_t user) const {
  const auto tables = static_cast<int64_t>(store.tables.size());
  std::vector<int64_t> ids(store.tables.size());
  for (int64_t f = 0; f < tables; ++f) {
    ids[static_cast<size_t>(f)] = spec.categorical.data<int64_t>()[user * tables + f];
  }
  const int64_t dense_count = spec.dense.dim(1);
  const auto input =
      store.mlp_input(ids, spec.dense.data<float>() + user * dense_count, dense_count);
  return reference_top_k(scores(behaviour(input)), spec.top_k);
}

namespace {

// A platform of the scenario: its spec without the embedding level (which the scenario's
// controller owns), that level's parameters, and its networks mapped.
struct NodePlatform {
  PlatformSpec spec;
  memory::MemoryLevelParams embedding;
  std::vector<PreparedNetwork> networks;
  Allocation allocation;
};

void prepare_node(NodePlatform& node, const std::string& platform_path,
                  const std::string& level_name, const std::vector<std::string>& networks,
                  uint64_t seed) {
  const Config config =
      load_config(platform_path, platform_schema(), {{"platform.seed", std::to_string(seed)}});
  node.spec = build_platform_spec(config);
  auto& levels = node.spec.memory_levels;
  int index = -1;
  std::string names;
  for (size_t k = 0; k < levels.size(); ++k) {
    if (levels[k].name == level_name) index = static_cast<int>(k);
    names += (names.empty() ? "" : ", ") + levels[k].name;
  }
  if (index < 0) {
    throw ConfigError(platform_path + ": core.memory.levels: no level '" + level_name +
                      "' to hold the embedding tables (levels: " + names + ")");
  }
  if (index == node.spec.weights_level || index == node.spec.activations_level) {
    throw ConfigError(platform_path + ": core.memory.levels." + level_name +
                      ": the embedding level must not hold the weights or activations");
  }
  node.embedding = levels[static_cast<size_t>(index)];
  levels.erase(levels.begin() + index);
  auto shift = [index](int& level) {
    if (level > index) --level;
  };
  shift(node.spec.weights_level);
  shift(node.spec.activations_level);
  std::vector<int> gated;
  for (int level : node.spec.gated_levels) {
    if (level == index) continue;
    shift(level);
    gated.push_back(level);
  }
  node.spec.gated_levels = gated;
  if (networks.empty()) return;
  node.networks = prepare_networks(networks, {}, seed);
  node.allocation = allocate_cores(node.networks, node.spec, arch_info(node.spec));
}

// The port of network `index`, and a Receive from the host at the start of its input core's
// body so that every inference waits for its request.
NetworkPort make_port(NodePlatform& node, size_t index, RecsysChip* chip, int tag) {
  NetworkPort port;
  port.chip = chip;
  port.tag = tag;
  const std::string& network = node.networks[index].path;
  int inputs = 0, outputs = 0;
  for (const auto& binding : node.allocation.program.inputs) {
    if (node.allocation.network_of_binding.at(binding.name) != static_cast<int>(index)) continue;
    ++inputs;
    if (binding.tensor.type != core::ElemType::Float32) {
      throw ConfigError(network +
                        ": the input must be float32 (a quantized ONNX model with a "
                        "QuantizeLinear at its input)");
    }
    port.input_core = binding.core;
    port.input_addr = binding.tensor.addr;
    port.input_bytes = binding.tensor.bytes();
  }
  for (const auto& binding : node.allocation.program.outputs) {
    if (node.allocation.network_of_binding.at(binding.name) != static_cast<int>(index)) continue;
    ++outputs;
    if (binding.tensor.type != core::ElemType::Float32) {
      throw ConfigError(network + ": the output must be float32 (a DequantizeLinear at the end)");
    }
    port.output_core = binding.core;
    port.output_addr = binding.tensor.addr;
    port.output_bytes = binding.tensor.bytes();
  }
  if (inputs != 1 || outputs != 1) {
    throw ConfigError(network + ": the recsys scenario needs one input and one output (found " +
                      std::to_string(inputs) + " and " + std::to_string(outputs) + ")");
  }
  core::Receive receive;
  receive.from_core = kHostCore;
  receive.tag = tag;
  receive.layer = "request_input";
  auto& body = node.allocation.program.cores.at(static_cast<size_t>(port.input_core)).body;
  body.insert(body.begin(), receive);
  return port;
}

// The top-k selection as an arithmetic-unit kernel (core::KernelOp) of the scoring network's
// output core: it reads the scores from the core's memory, selects the k largest with the
// streaming selection (recsys_nodes.h top_k) and writes the k item ids (int32) back.
class TopKKernel : public core::ArithKernel {
 public:
  TopKKernel(size_t items, int k) : items_(items), k_(k) {}
  void compute(const std::vector<const uint8_t*>& inputs,
               std::vector<std::vector<uint8_t>>& outputs) const override {
    std::vector<float> scores(items_);
    std::memcpy(scores.data(), inputs.at(0), items_ * sizeof(float));
    const std::vector<int32_t> ids = top_k(scores, k_);
    const auto* raw = reinterpret_cast<const uint8_t*>(ids.data());
    outputs.at(0).assign(raw, raw + ids.size() * sizeof(int32_t));
  }

 private:
  size_t items_;
  int k_;
};

// Appends the top k to the inference of the scoring network's output core (before its closing
// power gates and InferenceDone) and returns where the ids land: the top of that core's
// activation memory, above everything the networks' mapping uses. The unit is charged float32
// operations (the compares, priced as its element-wise op): every score is compared with the
// buffer's last entry, and each insert takes a binary search of the k-entry buffer; the inserts
// are counted as their expected number for scores in random order, k (1 + H_n - H_k)
// (assumption: the count of the actual scores is data dependent and a KernelOp's cost is fixed
// when it is emitted).
core::TensorRef add_top_k(NodePlatform& node, const NetworkPort& scoring, int k) {
  const map::ArchInfo arch = arch_info(node.spec);
  const size_t items = scoring.output_bytes / sizeof(float);
  const auto count = static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(items)));
  core::TensorRef ids;
  ids.type = core::ElemType::Int32;
  ids.shape = {static_cast<int64_t>(count)};
  const uint64_t slot = (ids.bytes() + 63) / 64 * 64;
  uint64_t used = 0;
  for (const auto& mapping : node.allocation.mappings) {
    for (uint64_t bytes : mapping.activation_bytes) used = std::max(used, bytes);
  }
  if (used + slot > arch.activation_capacity) {
    throw ConfigError(node.spec.name + ": the activation memory (" +
                      std::to_string(arch.activation_capacity) + " bytes) has no room for the " +
                      std::to_string(count) + " top-k ids beside the scoring network's " +
                      std::to_string(used) + " bytes");
  }
  ids.addr = arch.activation_base + arch.activation_capacity - slot;
  core::TensorRef scores;
  scores.type = core::ElemType::Float32;
  scores.shape = {static_cast<int64_t>(items)};
  scores.addr = scoring.output_addr;
  core::KernelOp command;
  command.inputs = {scores};
  command.outputs = {ids};
  command.kernel = std::make_shared<TopKKernel>(items, k);
  double harmonic = 0.0;  // H_n - H_k
  for (size_t i = count + 1; i <= items; ++i) harmonic += 1.0 / static_cast<double>(i);
  const double inserts = static_cast<double>(count) * (1.0 + harmonic);
  const double search = std::ceil(std::log2(static_cast<double>(count) + 1.0));
  command.float_ops =
      static_cast<uint64_t>(items) + static_cast<uint64_t>(std::llround(inserts * search));
  command.layer = "top_k";
  auto& body = node.allocation.program.cores.at(static_cast<size_t>(scoring.output_core)).body;
  size_t at = body.empty() ? 0 : body.size() - 1;  // the InferenceDone
  while (at > 0 && std::holds_alternative<core::PowerGate>(body[at - 1]) &&
         std::get<core::PowerGate>(body[at - 1]).gate) {
    --at;
  }
  body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), command);
  return ids;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Energy of a chip for the requests: its dynamic energy plus its leakage while it worked on
// them (the accelerator is off between requests; its OS memories keep the weights).
double chip_request_energy_pj(const kernel::StatGroup& stats, const RecsysChip& chip) {
  const double leakage = stats.energy_pj(kernel::EnergyCategory::Leakage);
  const double finish_s = chip.finish_time().to_seconds();
  const double leakage_w = finish_s > 0.0 ? leakage * 1e-12 / finish_s : 0.0;
  return stats.total_energy_pj() - leakage + leakage_w * chip.active_s * 1e12;
}

}  // namespace

nlohmann::json simulate_mode(const RecsysSpec& spec, bool baseline) {
  // 1. Platforms and programs (bad input: ConfigError / ModelError).
  NodePlatform client, server;
  prepare_node(
      client, spec.client_platform, spec.client_embedding_level,
      baseline ? std::vector<std::string>{} : std::vector<std::string>{spec.client_network},
      spec.seed);
  prepare_node(server, spec.server_platform, spec.server_embedding_level,
               baseline ? std::vector<std::string>{spec.client_network, spec.server_network}
                        : std::vector<std::string>{spec.server_network},
               spec.seed);
  const EmbeddingStore store(spec);

  // 2. Elaboration: one SystemC run holds both platforms and the link.
  kernel::StatGroup root("recsys", "recsys");
  kernel::StatGroup& client_stats = root.child("client", "chip");
  kernel::StatGroup& server_stats = root.child("server", "chip");
  tlm::tlm_global_quantum::instance().set(sc_time(client.spec.quantum_s * 1e12, sc_core::SC_PS));
  std::unique_ptr<RecsysChip> client_chip, server_chip;
  NetworkPort client_port, tower_port, scoring_port;
  if (!baseline) {
    client_chip = std::make_unique<RecsysChip>("client", client.spec, client_stats, nullptr);
    client_port = make_port(client, 0, client_chip.get(), 1);
    client_chip->load(client.allocation.program, spec.requests);
  }
  server_chip = std::make_unique<RecsysChip>("server", server.spec, server_stats, nullptr);
  if (baseline) {
    tower_port = make_port(server, 0, server_chip.get(), 1);
    scoring_port = make_port(server, 1, server_chip.get(), 2);
    if (tower_port.output_core == scoring_port.output_core) {
      throw ConfigError(spec.server_platform + ": the user tower and the scoring share core " +
                        std::to_string(tower_port.output_core) +
                        "; the baseline needs them on different cores");
    }
  } else {
    scoring_port = make_port(server, 0, server_chip.get(), 1);
  }
  const core::TensorRef top_k_ids = add_top_k(server, scoring_port, spec.top_k);
  server_chip->load(server.allocation.program, spec.requests);
  // The data and the networks must fit together (bad input, before anything runs).
  const NetworkPort& tower = baseline ? tower_port : client_port;
  const auto mlp_bytes = static_cast<uint64_t>(spec.mlp_width()) * sizeof(float);
  if (tower.input_bytes != mlp_bytes) {
    throw ConfigError(spec.client_network_where + ": " + spec.client_network + " takes " +
                      std::to_string(tower.input_bytes / 4) + " inputs, the tables and dense " +
                      "features give " + std::to_string(spec.mlp_width()));
  }
  if (scoring_port.input_bytes != tower.output_bytes) {
    throw ConfigError(spec.server_network_where + ": " + spec.server_network + " takes " +
                      std::to_string(scoring_port.input_bytes / 4) + " inputs, the user tower " +
                      "gives " + std::to_string(tower.output_bytes / 4));
  }

  kernel::FixedTemperature client_temperature(client.spec.temperature_k);
  kernel::FixedTemperature server_temperature(server.spec.temperature_k);
  const kernel::Clock client_clock(client.spec.clock_hz), server_clock(server.spec.clock_hz);
  client.embedding.name = "embeddings";
  server.embedding.name = "embeddings";
  // Only the side that looks the embeddings up holds them.
  std::unique_ptr<memory::MemoryLevel> client_memory, server_memory;
  if (baseline) {
    server_memory = std::make_unique<memory::MemoryLevel>(
        "server_embeddings", server.embedding, server_clock,
        root.child("server_embeddings", "memory"), server_temperature, nullptr, spec.seed);
    store.preload(*server_memory);
  } else {
    client_memory = std::make_unique<memory::MemoryLevel>(
        "client_embeddings", client.embedding, client_clock,
        root.child("client_embeddings", "memory"), client_temperature, nullptr, spec.seed);
    store.preload(*client_memory);
  }

  link::LinkParams up = spec.uplink, down = spec.downlink;
  up.private_sources = {kCategorical, kDense, kRawFeatures};
  up.released = {kBehaviour};
  up.privacy =
      baseline || !spec.enforce_privacy ? link::PrivacyPolicy::Audit : link::PrivacyPolicy::Enforce;
  down.privacy = link::PrivacyPolicy::Audit;  // towards the data's owner: nothing to protect
  kernel::StatGroup& link_stats = root.child("link", "link");
  link::Link uplink("uplink", up, link_stats.child("uplink"));
  link::Link downlink("downlink", down, link_stats.child("downlink"));

  RecsysSpec node_spec = spec;
  if (baseline) {
    node_spec.wire_behaviour = false;
    node_spec.wire_raw_features = true;
  }
  NodeTiming client_timing{client_clock, spec.dequantize_cycles};
  NodeTiming server_timing{server_clock, spec.dequantize_cycles};
  ClientNode client_node("client_controller", node_spec, store, baseline ? nullptr : &client_port,
                         client_memory.get(), client_timing, spec.gate_embeddings);
  ServerNode server_node("server_controller", node_spec, baseline ? &store : nullptr,
                         server_memory.get(), spec.gate_embeddings,
                         baseline ? &tower_port : nullptr, scoring_port, top_k_ids, server_timing,
                         root.child("server_controller"));
  client_node.uplink.bind(uplink.target);
  uplink.initiator.bind(server_node.uplink);
  server_node.downlink.bind(downlink.target);
  downlink.initiator.bind(client_node.downlink);
  if (baseline) {
    server_node.embeddings.bind(server_memory->target);
  } else {
    client_node.embeddings.bind(client_memory->target);
  }

  // 3. Simulation.
  sc_core::sc_start();
  sc_time end = server_chip->finish_time();
  if (client_chip) end = std::max(end, client_chip->finish_time());
  for (const auto& record : client_node.records) {
    if (record.answered) end = std::max(end, record.response);
  }
  if (client_chip) client_chip->finalize();
  server_chip->finalize();
  if (client_memory) client_memory->finalize(end);
  if (server_memory) server_memory->finalize(end);

  // 4. Checks against the reference chain (the quantized graphs the platforms ran).
  const graph::Graph& tower_graph = baseline ? server.networks[0].graph : client.networks[0].graph;
  const graph::Graph& scoring_graph =
      baseline ? server.networks[1].graph : server.networks[0].graph;
  const ReferenceChain reference(tower_graph, scoring_graph);
  nlohmann::json json;
  std::vector<std::string> errors = client_node.errors;
  errors.insert(errors.end(), server_node.errors.begin(), server_node.errors.end());
  int answered = 0, topk_mismatches = 0, output_mismatches = 0;
  double latency_sum_ns = 0.0, latency_max_ns = 0.0, client_latency_sum_ns = 0.0;
  nlohmann::json top_lists = nlohmann::json::array();
  for (int request = 0; request < spec.requests; ++request) {
    const RequestRecord& record = client_node.records[static_cast<size_t>(request)];
    if (!record.answered) {
      errors.push_back("request " + std::to_string(request) + " got no answer");
      top_lists.push_back(nullptr);
      continue;
    }
    ++answered;
    const double latency_ns = (record.response - record.start).to_seconds() * 1e9;
    latency_sum_ns += latency_ns;
    latency_max_ns = std::max(latency_max_ns, latency_ns);
    client_latency_sum_ns += (record.behaviour_ready - record.start).to_seconds() * 1e9;
    top_lists.push_back(record.top_k);
    if (record.top_k != reference.top_k_of_user(spec, store, request)) ++topk_mismatches;
  }
  // Bit-exactness of every network output the platforms produced.
  const auto& behaviours = baseline ? server_node.behaviours : std::vector<std::vector<float>>{};
  for (size_t k = 0; k < server_node.scores.size(); ++k) {
    std::vector<float> behaviour;
    if (baseline) {
      behaviour = behaviours.at(k);
      if (!same_bits(reference.behaviour(server_node.mlp_inputs.at(k)), behaviour)) {
        ++output_mismatches;
      }
    } else {
      behaviour = server_node.behaviours.at(k);
    }
    if (!same_bits(reference.scores(behaviour), server_node.scores[k])) ++output_mismatches;
  }
  if (!baseline) {
    for (const auto& record : client_node.records) {
      if (record.behaviour.empty()) continue;
      if (!same_bits(reference.behaviour(record.mlp_input), record.behaviour)) {
        ++output_mismatches;
      }
    }
  }
  if (topk_mismatches > 0) {
    errors.push_back(std::to_string(topk_mismatches) +
                     " requests: the simulated top k differs from the reference top k");
  }
  if (output_mismatches > 0) {
    errors.push_back(std::to_string(output_mismatches) +
                     " network outputs differ from the reference executor");
  }
  if (errors.empty()) {
    const std::string failure = client_chip ? client_chip->failure() : std::string();
    if (!failure.empty()) errors.push_back("client: " + failure);
  }

  // 5. Figures.
  const double requests = spec.requests;
  const auto link_count = [&](const char* name) { return link_stats.sum(name); };
  const double radio_pj = link_stats.sum("energy_pj");
  const double client_chip_pj =
      client_chip ? chip_request_energy_pj(client_stats, *client_chip) : 0.0;
  const double client_memory_pj =
      baseline ? 0.0 : root.child("client_embeddings").total_energy_pj();
  const double server_chip_pj = chip_request_energy_pj(server_stats, *server_chip);
  const double server_memory_pj =
      baseline ? root.child("server_embeddings").total_energy_pj() : 0.0;
  const double client_pj = client_chip_pj + client_memory_pj + radio_pj;
  const double server_pj = server_chip_pj + server_memory_pj;
  json["mode"] = baseline ? "raw_features" : "on_device";
  json["requests"] = spec.requests;
  json["link.bytes"] = link_count("bytes");
  json["link.payloads"] = link_count("payloads");
  json["link.private_payload_violations"] = link_count("private_payload_violations");
  json["link.refused_payloads"] = link_count("refused_payloads");
  json["link.leaked_bytes"] = link_count("leaked_bytes");
  json["link.uplink.bytes"] = link_stats.child("uplink").sum("bytes");
  json["link.downlink.bytes"] = link_stats.child("downlink").sum("bytes");
  json["link.energy_pj"] = radio_pj;
  json["client.energy_pj"] = client_pj;
  json["client.chip_energy_pj"] = client_chip_pj;
  json["client.embedding_memory_energy_pj"] = client_memory_pj;
  json["client.radio_energy_pj"] = radio_pj;
  json["client.energy_pj_per_request"] = client_pj / requests;
  json["client.latency_ns"] = answered ? client_latency_sum_ns / answered : 0.0;
  json["client.embedding_reads"] = root.child("client_embeddings").sum("reads");
  json["client.embedding_power_gated_ns"] = root.child("client_embeddings").sum("power_gated_ns");
  // Gated between requests, the tables must survive: a lost row would show here (and in the
  // top k, which the reference chain computes from the tables as loaded).
  json["embeddings.retention_violations"] =
      root.child("client_embeddings").sum("retention_violations") +
      root.child("server_embeddings").sum("retention_violations");
  json["server.energy_pj"] = server_pj;
  json["server.chip_energy_pj"] = server_chip_pj;
  json["server.embedding_memory_energy_pj"] = server_memory_pj;
  json["server.energy_pj_per_request"] = server_pj / requests;
  json["server.macs_per_request"] = server_stats.sum("macs") / requests;
  json["server.busy_ns_per_request"] = root.child("server_controller").sum("busy_ns") / requests;
  json["server.active_ns_per_request"] = server_chip->active_s * 1e9 / requests;
  json["client.macs_per_request"] = client_stats.sum("macs") / requests;
  json["recsys.latency_ns"] = answered ? latency_sum_ns / answered : 0.0;
  json["recsys.latency_ns_max"] = latency_max_ns;
  json["recsys.answered"] = answered;
  json["recsys.topk_mismatches"] = topk_mismatches;
  json["recsys.topk_match_reference"] = answered == spec.requests && topk_mismatches == 0;
  json["outputs.mismatches"] = output_mismatches;
  json["outputs.match_reference"] = output_mismatches == 0;
  json["sim.simulated_ns"] = end.to_seconds() * 1e9;
  json["top_k"] = top_lists;
  nlohmann::json violations = nlohmann::json::array();
  for (const link::Link* channel : {&uplink, &downlink}) {
    for (const auto& violation : channel->violations()) {
      violations.push_back(
          {{"link", channel->basename()},
           {"time_ns", violation.time.to_seconds() * 1e9},
           {"tensor", violation.has_provenance ? tensor_name(violation.tensor) : "(no provenance)"},
           {"private_source", tensor_name(violation.private_source)},
           {"refused", violation.refused}});
    }
  }
  json["violations"] = violations;
  json["errors"] = errors;
  json["tree"] = root.to_json();
  return json;
}

}  // namespace cimtlm::platforms::recsys
