// The SystemC side of the recsys scenario (docs/recsys.md): a chip that reports finished
// inferences, the embedding store in an OS memory level, and the client and server controllers
// that move one request through embedding lookup, the user tower, the link, the item scoring and
// the top-k. Payloads travel through named TLM sockets and carry their provenance
// (models/link/provenance.h) by value.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/time.h"
#include "models/link/provenance.h"
#include "models/memory/memory_level.h"
#include "platforms/builder/chip.h"
#include "platforms/scenario/recsys_spec.h"

namespace cimtlm::platforms::recsys {

// Ids of the tensors that provenance names (fixed, small integers).
enum Tensor : link::TensorId {
  kCategorical = 1,  // the user's categorical features (private)
  kDense = 2,        // the user's dense features (private)
  kRawFeatures = 3,  // both, as shipped by the raw-feature baseline
  kBehaviour = 4,    // the behaviour prediction vector (released)
  kTopK = 5,         // the recommended items
};
const char* tensor_name(link::TensorId id);

// The host side of a chip: the controller of a network's input core receives the input from
// this pseudo-core, tagged per network.
constexpr int kHostCore = -1;

// A chip whose finished inferences wake the controllers waiting for them.
class RecsysChip : public Chip {
 public:
  using Chip::Chip;
  void inference_done(int core, int inference, const sc_core::sc_time& at) override;
  // Waits (in a thread process) until `core` has finished inference `index`; returns when it did.
  sc_core::sc_time wait_done(int core, size_t index);
  // Sum of the intervals the chip was working for a request (input delivered to output ready).
  double active_s = 0.0;

 private:
  std::map<int, std::vector<sc_core::sc_time>> done_;
  sc_core::sc_event done_event_;
};

// Where a network's input goes and its output comes from on a chip.
struct NetworkPort {
  RecsysChip* chip = nullptr;
  int input_core = 0;
  core::Addr input_addr = 0;
  uint64_t input_bytes = 0;
  int output_core = 0;
  core::Addr output_addr = 0;
  uint64_t output_bytes = 0;
  int tag = 0;
  size_t runs = 0;  // inferences requested so far

  // Delivers `input` at `at`, waits for the inference and reads its output.
  sc_core::sc_time run(const std::vector<uint8_t>& input, const sc_core::sc_time& at,
                       std::vector<uint8_t>& output);
};

// The embedding tables in an OS memory level, int8 with one scale per table (the tables' values
// are on that grid, so nothing is lost).
struct EmbeddingStore {
  struct Table {
    uint64_t offset = 0;
    int64_t rows = 0, width = 0;
    float scale = 1.0f;
    std::vector<int8_t> codes;
  };
  std::vector<Table> tables;
  uint64_t bytes = 0;

  explicit EmbeddingStore(const RecsysSpec& spec);
  void preload(memory::MemoryLevel& level) const;
  // The user tower's input: every table's row (dequantized) then the dense features.
  std::vector<float> mlp_input(const std::vector<int64_t>& ids, const float* dense,
                               int64_t dense_count) const;
  float dequantize(size_t table, int8_t code) const {
    return static_cast<float>(code) * tables[table].scale;
  }
};

struct RequestRecord {
  sc_core::sc_time start, behaviour_ready, response;
  bool answered = false;
  std::vector<int32_t> top_k;
  std::vector<float> behaviour;  // what the client computed (on-device) or the server (baseline)
  std::vector<float> mlp_input;
};

struct NodeTiming {
  kernel::Clock clock{1e9};
  uint64_t dequantize_cycles = 1;
};

class ClientNode : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<ClientNode> uplink{"uplink"};
  tlm_utils::simple_target_socket<ClientNode> downlink{"downlink"};
  // To the embedding level (unbound in the raw-feature baseline: the client looks nothing up).
  tlm_utils::simple_initiator_socket_optional<ClientNode> embeddings{"embeddings"};

  // `port` is null in the raw-feature baseline (the client computes nothing); `memory` is the
  // embedding level (gated between requests when `gate`).
  ClientNode(const sc_core::sc_module_name& name, const RecsysSpec& spec,
             const EmbeddingStore& store, NetworkPort* port, memory::MemoryLevel* memory,
             const NodeTiming& timing, bool gate);

  std::vector<RequestRecord> records;
  std::vector<std::string> errors;

 private:
  void run();
  void receive(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool send(const std::vector<uint8_t>& data, link::TensorId tensor,
            std::initializer_list<link::TensorId> sources, int request, const sc_core::sc_time& at);

  const RecsysSpec& spec_;
  const EmbeddingStore& store_;
  NetworkPort* port_;
  memory::MemoryLevel* memory_;
  NodeTiming timing_;
  bool gate_;
  sc_core::sc_event response_event_;
};

class ServerNode : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<ServerNode> uplink{"uplink"};
  tlm_utils::simple_initiator_socket<ServerNode> downlink{"downlink"};
  // To the server's embedding level (bound in the raw-feature baseline only).
  tlm_utils::simple_initiator_socket_optional<ServerNode> embeddings{"embeddings"};

  // `tower` runs the user tower on the server (baseline; null on-device), `scoring` the item
  // scores and, on the arithmetic unit of its output core, their top k into `top_k_ids` (a
  // KernelOp the scenario appends to the scoring program). `memory` (baseline) holds the
  // tables, gated between requests like the client's when `gate`.
  ServerNode(const sc_core::sc_module_name& name, const RecsysSpec& spec,
             const EmbeddingStore* store, memory::MemoryLevel* memory, bool gate,
             NetworkPort* tower, NetworkPort& scoring, const core::TensorRef& top_k_ids,
             const NodeTiming& timing, kernel::StatGroup& stats);

  std::vector<std::vector<float>> scores;  // per request served
  std::vector<std::vector<float>> behaviours;
  std::vector<std::vector<float>> mlp_inputs;
  std::vector<std::string> errors;

 private:
  struct Message {
    int request = 0;
    link::TensorId tensor = 0;
    std::vector<uint8_t> data;
    sc_core::sc_time arrival;
  };
  void run();
  void receive(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

  const RecsysSpec& spec_;
  const EmbeddingStore* store_;
  memory::MemoryLevel* memory_;
  bool gate_;
  NetworkPort* tower_;
  NetworkPort& scoring_;
  core::TensorRef top_k_ids_;
  NodeTiming timing_;
  std::deque<Message> inbox_;
  sc_core::sc_event inbox_event_;

  uint64_t& ignored_;
  double& busy_ns_;
};

// The top k of `scores` (largest first; equal scores: lower item first) and the selection's
// work: `inserts` is how often a score entered the k-entry buffer.
std::vector<int32_t> top_k(const std::vector<float>& scores, int k, uint64_t* inserts = nullptr);

// Timed reads of a user's embedding rows from `memory` (the level's socket), from `at`, and
// their conversion on the controller; fills the MLP input and returns when it is ready.
sc_core::sc_time read_embeddings(tlm::tlm_fw_transport_if<>& memory, const EmbeddingStore& store,
                                 const std::vector<int64_t>& ids, const float* dense,
                                 int64_t dense_count, const NodeTiming& timing, sc_core::sc_time at,
                                 std::vector<float>& mlp_input);

}  // namespace cimtlm::platforms::recsys
