#include "platforms/scenario/recsys_nodes.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "models/kernel/payload_pool.h"

namespace cimtlm::platforms::recsys {

using sc_core::sc_time;

const char* tensor_name(link::TensorId id) {
  switch (id) {
    case kCategorical:
      return "user.categorical";
    case kDense:
      return "user.dense";
    case kRawFeatures:
      return "raw_features";
    case kBehaviour:
      return "behaviour_vector";
    case kTopK:
      return "top_k_items";
    default:
      return "unknown";
  }
}

namespace {

std::vector<float> floats_of(const std::vector<uint8_t>& bytes) {
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

std::vector<uint8_t> bytes_of(const void* data, size_t bytes) {
  const auto* begin = static_cast<const uint8_t*>(data);
  return std::vector<uint8_t>(begin, begin + bytes);
}

void wait_until(const sc_time& at) {
  const sc_time now = sc_core::sc_time_stamp();
  if (at > now) sc_core::wait(at - now);
}

bool transport(tlm::tlm_fw_transport_if<>& target, tlm::tlm_generic_payload& payload,
               std::vector<uint8_t>& data, uint64_t address, link::ProvenanceExtension* provenance,
               sc_time& at) {
  kernel::prepare(payload, tlm::TLM_WRITE_COMMAND, address, data.data(), data.size());
  if (provenance) payload.set_extension(provenance);
  const sc_time now = sc_core::sc_time_stamp();
  sc_time delay = at > now ? at - now : sc_core::SC_ZERO_TIME;
  target.b_transport(payload, delay);
  if (provenance) payload.clear_extension(provenance);
  at = now + delay;
  return payload.is_response_ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void RecsysChip::inference_done(int core, int inference, const sc_time& at) {
  Chip::inference_done(core, inference, at);
  done_[core].push_back(at);
  done_event_.notify(sc_core::SC_ZERO_TIME);
}

sc_time RecsysChip::wait_done(int core, size_t index) {
  while (done_[core].size() <= index) sc_core::wait(done_event_);
  const sc_time at = done_[core][index];
  wait_until(at);
  return at;
}

sc_time NetworkPort::run(const std::vector<uint8_t>& input, const sc_time& at,
                         std::vector<uint8_t>& output) {
  if (input.size() != input_bytes) {
    throw std::runtime_error("input of " + std::to_string(input.size()) + " bytes, the network " +
                             "takes " + std::to_string(input_bytes));
  }
  chip->deliver(input_core, kHostCore, tag, input_addr, input, at);
  const sc_time done = chip->wait_done(output_core, runs++);
  chip->active_s += (done - at).to_seconds();
  output.resize(output_bytes);
  chip->read(output_core, output_addr, output.data(), output_bytes);
  return done;
}

// ---------------------------------------------------------------------------------------------

EmbeddingStore::EmbeddingStore(const RecsysSpec& spec) {
  uint64_t offset = 0;
  for (const auto& source : spec.tables) {
    Table table;
    table.rows = source.values.dim(0);
    table.width = source.values.dim(1);
    const float* values = source.values.data<float>();
    float largest = 0.0f;
    for (int64_t i = 0; i < source.values.elements(); ++i) {
      largest = std::max(largest, std::fabs(values[i]));
    }
    table.scale = largest > 0.0f ? largest / 127.0f : 1.0f;
    table.codes.resize(static_cast<size_t>(source.values.elements()));
    for (int64_t i = 0; i < source.values.elements(); ++i) {
      const float code = std::nearbyint(values[i] / table.scale);
      table.codes[static_cast<size_t>(i)] =
          static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, code)));
    }
    table.offset = offset;
    // Tables start on a 64-byte row boundary of the memory.
    offset += (static_cast<uint64_t>(table.codes.size()) + 63) / 64 * 64;
    tables.push_back(std::move(table));
  }
  bytes = offset;
}

void EmbeddingStore::preload(memory::MemoryLevel& level) const {
  if (bytes > level.params().capacity_bytes) {
    throw std::runtime_error("the embedding tables (" + std::to_string(bytes) +
                             " bytes) do not fit the embedding level (" +
                             std::to_string(level.params().capacity_bytes) + " bytes)");
  }
  for (const auto& table : tables) {
    level.write_image(table.offset, reinterpret_cast<const uint8_t*>(table.codes.data()),
                      table.codes.size());
  }
}

std::vector<float> EmbeddingStore::mlp_input(const std::vector<int64_t>& ids, const float* dense,
                                             int64_t dense_count) const {
  std::vector<float> input;
  for (size_t f = 0; f < tables.size(); ++f) {
    const Table& table = tables[f];
    for (int64_t column = 0; column < table.width; ++column) {
      input.push_back(
          dequantize(f, table.codes[static_cast<size_t>(ids[f] * table.width + column)]));
    }
  }
  input.insert(input.end(), dense, dense + dense_count);
  return input;
}

sc_time read_embeddings(tlm::tlm_fw_transport_if<>& memory, const EmbeddingStore& store,
                        const std::vector<int64_t>& ids, const float* dense, int64_t dense_count,
                        const NodeTiming& timing, sc_time at, std::vector<float>& mlp_input) {
  mlp_input.clear();
  uint64_t elements = 0;
  for (size_t f = 0; f < store.tables.size(); ++f) {
    const auto& table = store.tables[f];
    std::vector<uint8_t> row(static_cast<size_t>(table.width));
    tlm::tlm_generic_payload payload;
    kernel::prepare(payload, tlm::TLM_READ_COMMAND,
                    table.offset + static_cast<uint64_t>(ids[f] * table.width), row.data(),
                    row.size());
    const sc_time now = sc_core::sc_time_stamp();
    sc_time delay = at > now ? at - now : sc_core::SC_ZERO_TIME;
    memory.b_transport(payload, delay);
    if (!payload.is_response_ok()) {
      throw std::runtime_error("the embedding level refused the read of table " +
                               std::to_string(f) + " row " + std::to_string(ids[f]) + " (" +
                               payload.get_response_string() + ")");
    }
    at = now + delay;
    // The values the memory returned (a lost retention would show here), dequantized.
    for (uint8_t code : row) mlp_input.push_back(store.dequantize(f, static_cast<int8_t>(code)));
    elements += row.size();
  }
  mlp_input.insert(mlp_input.end(), dense, dense + dense_count);
  return at + timing.clock.cycles(timing.dequantize_cycles * elements);
}

std::vector<int32_t> top_k(const std::vector<float>& scores, int k, uint64_t* inserts) {
  // A k-entry buffer kept sorted (largest first); a score enters when it beats the last entry.
  // Ties keep the earlier (lower) item: strictly greater to enter and to move up.
  std::vector<std::pair<float, int32_t>> buffer;
  uint64_t entered = 0;
  for (size_t item = 0; item < scores.size(); ++item) {
    const float score = scores[item];
    if (static_cast<int>(buffer.size()) == k && !(score > buffer.back().first)) continue;
    ++entered;
    auto position = std::upper_bound(
        buffer.begin(), buffer.end(), score,
        [](float value, const std::pair<float, int32_t>& entry) { return value > entry.first; });
    buffer.insert(position, {score, static_cast<int32_t>(item)});
    if (static_cast<int>(buffer.size()) > k) buffer.pop_back();
  }
  if (inserts) *inserts = entered;
  std::vector<int32_t> items;
  for (const auto& entry : buffer) items.push_back(entry.second);
  return items;
}

// ---------------------------------------------------------------------------------------------

ClientNode::ClientNode(const sc_core::sc_module_name& name, const RecsysSpec& spec,
                       const EmbeddingStore& store, NetworkPort* port, memory::MemoryLevel* memory,
                       const NodeTiming& timing, bool gate)
    : sc_module(name),
      spec_(spec),
      store_(store),
      port_(port),
      memory_(memory),
      timing_(timing),
      gate_(gate) {
  records.resize(static_cast<size_t>(spec.requests));
  downlink.register_b_transport(this, &ClientNode::receive);
  sc_core::sc_spawn([this] { run(); }, "controller");
}

bool ClientNode::send(const std::vector<uint8_t>& data, link::TensorId tensor,
                      std::initializer_list<link::TensorId> sources, int request,
                      const sc_time& at) {
  link::ProvenanceExtension provenance;
  provenance.tensor = tensor;
  for (link::TensorId source : sources) provenance.add_source(source);
  std::vector<uint8_t> buffer = data;
  tlm::tlm_generic_payload payload;
  sc_time when = at;
  return transport(*uplink.operator->(), payload, buffer, static_cast<uint64_t>(request),
                   &provenance, when);
}

void ClientNode::run() {
  const size_t tables = store_.tables.size();
  const int64_t dense_count = spec_.dense.dim(1);
  try {
    for (int request = 0; request < spec_.requests; ++request) {
      RequestRecord& record = records[static_cast<size_t>(request)];
      record.start = sc_time(spec_.request_interval_s * request * 1e12, sc_core::SC_PS);
      wait_until(record.start);
      const int64_t user = request;
      std::vector<int64_t> ids(tables);
      for (size_t f = 0; f < tables; ++f) {
        ids[f] =
            spec_.categorical
                .data<int64_t>()[user * static_cast<int64_t>(tables) + static_cast<int64_t>(f)];
      }
      const float* dense = spec_.dense.data<float>() + user * dense_count;
      sc_time at = record.start;
      bool sent = false;
      if (port_) {
        // On-device prediction: the lookup and the user tower stay on the client.
        at = read_embeddings(*embeddings.operator->(), store_, ids, dense, dense_count, timing_, at,
                             record.mlp_input);
        if (gate_ && memory_) memory_->set_gated(true, at);
        std::vector<uint8_t> output;
        at = port_->run(bytes_of(record.mlp_input.data(), record.mlp_input.size() * 4), at, output);
        record.behaviour = floats_of(output);
        if (spec_.wire_behaviour) {
          sent |= send(output, kBehaviour, {kCategorical, kDense}, request, at);
        }
      }
      record.behaviour_ready = at;
      if (spec_.wire_raw_features) {
        // The raw features as a device would ship them: the categorical ids (int64) and the
        // dense features (float32).
        std::vector<uint8_t> raw = bytes_of(ids.data(), ids.size() * sizeof(int64_t));
        const auto dense_bytes = bytes_of(dense, static_cast<size_t>(dense_count) * 4);
        raw.insert(raw.end(), dense_bytes.begin(), dense_bytes.end());
        sent |= send(raw, kRawFeatures, {kCategorical, kDense}, request, at);
      }
      if (!sent) continue;  // refused: no answer will come
      while (!record.answered) sc_core::wait(response_event_);
    }
  } catch (const std::exception& error) {
    errors.push_back(std::string("client: ") + error.what());
  }
}

void ClientNode::receive(tlm::tlm_generic_payload& trans, sc_time& delay) {
  const auto request = static_cast<size_t>(trans.get_address());
  if (request >= records.size() || trans.get_data_length() % 4 != 0) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  RequestRecord& record = records[request];
  record.top_k.resize(trans.get_data_length() / 4);
  std::memcpy(record.top_k.data(), trans.get_data_ptr(), trans.get_data_length());
  record.response = sc_core::sc_time_stamp() + delay;
  record.answered = true;
  response_event_.notify(delay);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

// ---------------------------------------------------------------------------------------------

ServerNode::ServerNode(const sc_core::sc_module_name& name, const RecsysSpec& spec,
                       const EmbeddingStore* store, memory::MemoryLevel* memory, bool gate,
                       NetworkPort* tower, NetworkPort& scoring, const core::TensorRef& top_k_ids,
                       const NodeTiming& timing, kernel::StatGroup& stats)
    : sc_module(name),
      spec_(spec),
      store_(store),
      memory_(memory),
      gate_(gate),
      tower_(tower),
      scoring_(scoring),
      top_k_ids_(top_k_ids),
      timing_(timing),
      ignored_(stats.count("ignored_payloads", "payloads the server had no use for")),
      busy_ns_(stats.time_ns("busy_ns", "arrival of a request to its answer leaving")) {
  uplink.register_b_transport(this, &ServerNode::receive);
  sc_core::sc_spawn([this] { run(); }, "controller");
}

void ServerNode::receive(tlm::tlm_generic_payload& trans, sc_time& delay) {
  Message message;
  message.request = static_cast<int>(trans.get_address());
  const auto* provenance = trans.get_extension<link::ProvenanceExtension>();
  message.tensor = provenance ? provenance->tensor : 0;
  message.data = bytes_of(trans.get_data_ptr(), trans.get_data_length());
  message.arrival = sc_core::sc_time_stamp() + delay;
  inbox_.push_back(std::move(message));
  inbox_event_.notify(delay);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void ServerNode::run() {
  const size_t tables = store_ ? store_->tables.size() : 0;
  try {
    for (;;) {
      while (inbox_.empty()) sc_core::wait(inbox_event_);
      Message message = std::move(inbox_.front());
      inbox_.pop_front();
      wait_until(message.arrival);
      sc_time at = message.arrival;
      std::vector<uint8_t> behaviour;
      if (!tower_) {
        if (message.tensor != kBehaviour) {
          ++ignored_;
          continue;
        }
        behaviour = message.data;
      } else {
        if (message.tensor != kRawFeatures) {
          ++ignored_;
          continue;
        }
        // The baseline: the server looks up the embeddings and runs the user tower itself.
        std::vector<int64_t> ids(tables);
        std::memcpy(ids.data(), message.data.data(), tables * sizeof(int64_t));
        const auto* dense =
            reinterpret_cast<const float*>(message.data.data() + tables * sizeof(int64_t));
        const auto dense_count =
            static_cast<int64_t>((message.data.size() - tables * sizeof(int64_t)) / 4);
        std::vector<float> input;
        at = read_embeddings(*embeddings.operator->(), *store_, ids, dense, dense_count, timing_,
                             at, input);
        if (gate_ && memory_) memory_->set_gated(true, at);
        at = tower_->run(bytes_of(input.data(), input.size() * 4), at, behaviour);
        mlp_inputs.push_back(std::move(input));
      }
      behaviours.push_back(floats_of(behaviour));
      std::vector<uint8_t> output;
      // The scoring and its top k (on the output core's arithmetic unit) are one inference.
      at = scoring_.run(behaviour, at, output);
      scores.push_back(floats_of(output));
      std::vector<int32_t> items(static_cast<size_t>(top_k_ids_.elements()));
      if (!scoring_.chip->read(scoring_.output_core, top_k_ids_.addr, items.data(),
                               items.size() * sizeof(int32_t))) {
        throw std::runtime_error("the top-k ids could not be read from the server chip");
      }
      busy_ns_ += (at - message.arrival).to_seconds() * 1e9;
      link::ProvenanceExtension provenance;
      provenance.tensor = kTopK;
      provenance.add_source(kBehaviour);
      std::vector<uint8_t> answer = bytes_of(items.data(), items.size() * sizeof(int32_t));
      tlm::tlm_generic_payload payload;
      if (!transport(*downlink.operator->(), payload, answer,
                     static_cast<uint64_t>(message.request), &provenance, at)) {
        errors.push_back("server: the downlink refused the answer to request " +
                         std::to_string(message.request));
      }
    }
  } catch (const std::exception& error) {
    errors.push_back(std::string("server: ") + error.what());
  }
}

}  // namespace cimtlm::platforms::recsys
