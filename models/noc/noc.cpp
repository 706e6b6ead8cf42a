#include "models/noc/noc.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace cimtlm::noc {

namespace {

// Longest stretch simulated ahead in one go when no transfer completes (bounds the host time
// spent before SystemC gets control back).
constexpr uint64_t kMaxLookaheadCycles = uint64_t{1} << 20;

// Router evaluations per router since the checkpoint past which a commit moves it (see
// Noc::commit_and_deliver). Chosen by instruction counts (callgrind) of the inception CNN, 4
// inferences: on 2x2 / 8x8 meshes 4 gives 291 M / 851 M, 16: 285 / 799, 64: 283 / 790,
// 256: 285 / 803, 1024: 285 / 900.
constexpr uint64_t kCheckpointStepsPerRouter = 64;

std::string link_name(const Topology& topology, int router, int direction) {
  return "r" + std::to_string(router) + "_to_r" +
         std::to_string(topology.neighbor(router, direction));
}

}  // namespace

// VCD signals: per-link activity (1 while a flit enters the link in a cycle) and per-router
// buffered flits. The tracer observes the speculative network itself (no second copy simulated
// for it: that doubled a traced run's NoC time): it holds the events of cycles not yet committed
// and writes them when their cycles commit, drops them when a rollback simulates those cycles
// again, and ignores the events a rollback repeats for cycles already committed (the same ones,
// deterministically). So the VCD sees every committed cycle once, in simulation order.
class Noc::Tracer : public NetworkObserver {
 public:
  Tracer(kernel::VcdTrace& trace, const std::vector<std::string>& scope, const Topology& topology,
         const kernel::Clock& clock)
      : period_ps_(kernel::to_ps(clock.period())) {
    auto within = [&](const std::string& part) {
      std::vector<std::string> path = scope;
      path.push_back(part);
      return path;
    };
    links_.assign(topology.link_slots(), nullptr);
    for (int r = 0; r < topology.routers(); ++r) {
      for (int d = 0; d < kNetworkPorts; ++d) {
        if (topology.neighbor(r, d) < 0) continue;
        links_[r * kNetworkPorts + d] =
            trace.add_signal(within("links"), link_name(topology, r, d), 1, 0, "noc.links");
      }
    }
    for (int r = 0; r < topology.routers(); ++r) {
      routers_.push_back(trace.add_signal(within("router" + std::to_string(r)), "buffered_flits",
                                          16, 0, "noc.buffers"));
    }
  }
  void link_flit(int slot, uint64_t cycle) override {
    if (cycle < committed_ || !links_[slot]) return;
    pending_.push_back({cycle, links_[slot], kLinkFlit});
  }
  void router_occupancy(int router, int flits, uint64_t cycle) override {
    if (cycle < committed_) return;
    pending_.push_back({cycle, routers_[router], static_cast<uint64_t>(flits)});
  }
  // The reservation model reports link flits when packets are reserved, not in time order: the
  // events are then sorted by cycle (stable: observation order within a cycle) before writing.
  void sort_by_cycle() { reorder_ = true; }
  // Cycles before `end_cycle` are final: writes their events in the order they were observed.
  void commit(uint64_t end_cycle) {
    if (reorder_) {
      std::stable_sort(pending_.begin(), pending_.end(),
                       [](const Event& a, const Event& b) { return a.cycle < b.cycle; });
    }
    size_t written = 0;
    for (; written < pending_.size() && pending_[written].cycle < end_cycle; ++written) {
      const Event& event = pending_[written];
      if (event.value == kLinkFlit) {
        event.signal->set(event.cycle * period_ps_, 1);
        // A flit in the next cycle overrides this (it is recorded later).
        event.signal->set((event.cycle + 1) * period_ps_, 0);
      } else {
        event.signal->set(event.cycle * period_ps_, event.value);
      }
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(written));
    committed_ = std::max(committed_, end_cycle);
  }
  // A rollback: the cycles not committed are simulated again (their events come again).
  void discard_uncommitted() { pending_.clear(); }

 private:
  // A link event marks its value with kLinkFlit (occupancies are at most 16 bits).
  static constexpr uint64_t kLinkFlit = ~uint64_t{0};
  struct Event {
    uint64_t cycle;
    kernel::VcdSignal* signal;
    uint64_t value;
  };
  uint64_t period_ps_;
  bool reorder_ = false;
  uint64_t committed_ = 0;  // events of cycles before it were written (or are repeats)
  std::vector<Event> pending_;
  std::vector<kernel::VcdSignal*> links_;
  std::vector<kernel::VcdSignal*> routers_;
};

NetworkInterface::NetworkInterface(const sc_core::sc_module_name& name, Noc& noc, int core)
    : sc_core::sc_module(name), noc_(noc), core_(core) {
  target.register_b_transport(this, &NetworkInterface::b_transport);
}

void NetworkInterface::b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay) {
  NocTransferExtension* transfer = nullptr;
  payload.get_extension(transfer);
  const uint64_t length = payload.get_data_length();
  if (transfer == nullptr || (length != 0 && length != transfer->bytes) ||
      (length != 0 && payload.get_command() != tlm::TLM_WRITE_COMMAND)) {
    payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  // The payload's data belong to the sender: the transfer keeps a copy until it is delivered.
  const uint8_t* bytes = payload.get_data_ptr();
  std::vector<uint8_t> data(bytes, bytes + length);
  if (!noc_.send(core_, transfer->destination_core, transfer->tag, payload.get_address(),
                 std::move(data), transfer->bytes, sc_core::sc_time_stamp() + delay)) {
    payload.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  payload.set_response_status(tlm::TLM_OK_RESPONSE);
}

void NetworkInterface::deliver(int source_core, int64_t tag, uint64_t address, uint64_t bytes,
                               std::vector<uint8_t>& data, const sc_core::sc_time& arrival) {
  if (delivery.size() == 0) {
    SC_REPORT_ERROR(name(), "a transfer arrived but the delivery socket is unbound");
    return;
  }
  NocTransferExtension transfer;
  transfer.source_core = source_core;
  transfer.destination_core = core_;
  transfer.bytes = bytes;
  transfer.tag = tag;
  kernel::PayloadPool::Payload pooled(payloads_);
  tlm::tlm_generic_payload& payload = *pooled;
  kernel::prepare(payload, tlm::TLM_WRITE_COMMAND, address, data.data(), data.size());
  payload.set_extension(&transfer);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  sc_core::sc_time delay = arrival > now ? arrival - now : sc_core::SC_ZERO_TIME;
  delivery->b_transport(payload, delay);
  payload.clear_extension(&transfer);
  // A refused delivery is the destination's failure to report (the core records it).
}

Noc::Noc(const sc_core::sc_module_name& name, const NocParams& params, const kernel::Clock& clock,
         kernel::StatGroup& stats, kernel::VcdTrace* vcd)
    : sc_core::sc_module(name),
      params_(params),
      clock_(clock),
      network_(params),
      checkpoint_(params),
      checkpoint_steps_(kCheckpointStepsPerRouter *
                        static_cast<uint64_t>(network_.topology().routers())),
      stat_packets_(stats.count("packets", "packets delivered")),
      stat_flits_(stats.count("flits", "flits delivered")),
      stat_transfers_(stats.count("transfers", "transfers sent by cores")),
      stat_bytes_(stats.count("bytes", "payload bytes sent by cores")),
      stat_avg_latency_(stats.value("avg_latency_cycles",
                                    "mean packet latency, creation to tail ejection (cycles)")),
      stat_max_latency_(stats.value("max_latency_cycles", "largest packet latency (cycles)")),
      stat_buffer_energy_(stats.energy_pj("buffer_energy_pj", kernel::EnergyCategory::Noc,
                                          "router input buffer write + read")),
      stat_crossbar_energy_(stats.energy_pj("crossbar_energy_pj", kernel::EnergyCategory::Noc,
                                            "router crossbar traversals")),
      stat_link_energy_(stats.energy_pj("link_energy_pj", kernel::EnergyCategory::Noc,
                                        "router-to-router link traversals")),
      stat_leakage_energy_(stats.energy_pj("leakage_energy_pj", kernel::EnergyCategory::Leakage,
                                           "router leakage over the simulated time")) {
  const Topology& topology = network_.topology();
  for (int core = 0; core < topology.nodes(); ++core) {
    interfaces_.push_back(
        std::make_unique<NetworkInterface>(("ni" + std::to_string(core)).c_str(), *this, core));
  }
  kernel::StatGroup& links = stats.child("links");
  stat_link_flits_.assign(topology.link_slots(), nullptr);
  stat_link_utilization_.assign(topology.link_slots(), nullptr);
  for (int r = 0; r < topology.routers(); ++r) {
    for (int d = 0; d < kNetworkPorts; ++d) {
      if (topology.neighbor(r, d) < 0) continue;
      const std::string name = link_name(topology, r, d);
      stat_link_flits_[r * kNetworkPorts + d] =
          &links.count(name + "_flits", "flits over the link");
      stat_link_utilization_[r * kNetworkPorts + d] =
          &links.value(name + "_utilization", "flits per cycle over the simulated time");
    }
  }
  if (params_.model == "reservation") reservation_ = std::make_unique<ReservationNetwork>(params_);
  if (vcd != nullptr) {
    tracer_ = std::make_unique<Tracer>(*vcd, kernel::scope_of(this->name()), topology, clock_);
    if (reservation_) {
      tracer_->sort_by_cycle();
      reservation_->set_observer(tracer_.get());
    } else {
      // Copies of the network (checkpoint, rollback) keep the observer.
      network_.set_observer(tracer_.get());
      checkpoint_.set_observer(tracer_.get());
    }
  }
  if (reservation_) {
    sc_core::sc_spawn([this] { run_reserved(); }, "engine");
  } else {
    sc_core::sc_spawn([this] { run(); }, "engine");
  }
}

Noc::~Noc() = default;

bool Noc::send(int source_core, int destination_core, int64_t tag, uint64_t address,
               std::vector<uint8_t> data, uint64_t bytes, const sc_core::sc_time& local_time) {
  Transfer transfer;
  transfer.source = source_core;
  transfer.destination = destination_core;
  transfer.tag = tag;
  transfer.address = address;
  transfer.bytes = bytes;
  transfer.data = std::move(data);
  return start(source_core, destination_core, bytes, std::move(transfer), local_time);
}

bool Noc::start(int source_core, int destination_core, uint64_t bytes, Transfer transfer,
                const sc_core::sc_time& local_time) {
  if (source_core < 0 || source_core >= cores() || destination_core < 0 ||
      destination_core >= cores()) {
    return false;
  }
  // Never in the engine's past: cycles before committed_ have delivered their callbacks.
  const uint64_t create_cycle =
      std::max(committed_, clock_.cycles_to_cover(std::max(local_time, sc_core::sc_time_stamp())));
  const uint64_t payload = static_cast<uint64_t>(params_.max_packet_payload_bytes);
  const uint64_t packets = bytes == 0 ? 1 : (bytes + payload - 1) / payload;
  const uint64_t transfer_id = next_transfer_++;
  transfer.packets_left = packets;
  transfers_[transfer_id] = std::move(transfer);
  ++stat_transfers_;
  stat_bytes_ += bytes;
  // One train of `packets` packets: full payloads, the last one with the remainder.
  Packet packet;
  packet.id = next_packet_;
  packet.source = source_core;
  packet.destination = destination_core;
  packet.flits = params_.flits_for_payload(static_cast<long long>(std::min(payload, bytes)));
  packet.create_cycle = create_cycle;
  packet.tag = transfer_id;
  const uint64_t last_chunk = bytes == 0 ? 0 : bytes - (packets - 1) * payload;
  const int last_flits = params_.flits_for_payload(static_cast<long long>(last_chunk));
  next_packet_ += packets;
  if (reservation_) {
    start_reserved(packet, packets, last_flits);
    return true;
  }
  since_checkpoint_.push_back({packet, packets, last_flits});
  if (create_cycle < network_.now()) {
    // The look-ahead simulated cycles these packets take part in: simulate them again.
    roll_back();
  } else {
    network_.inject_train(packet, packets, last_flits);
  }
  work_event_.notify(sc_core::SC_ZERO_TIME);
  return true;
}

uint64_t Noc::look_ahead() {
  lookahead_deliveries_.clear();
  lookahead_completes_ = false;
  std::unordered_map<uint64_t, uint64_t>& delivered = lookahead_delivered_;  // per transfer
  delivered.clear();
  std::vector<Delivery>& batch = lookahead_batch_;
  Network& network = network_;  // simulated ahead in place
  const uint64_t limit = network.now() + kMaxLookaheadCycles;
  while (network.now() < limit) {
    const uint64_t next = network.next_activity_cycle();
    if (next == std::numeric_limits<uint64_t>::max()) break;
    if (next > network.now()) {
      network.run_until(std::min(next, limit));
      continue;
    }
    network.step();
    if (!network.has_deliveries()) continue;
    network.take_deliveries(batch);
    for (const Delivery& delivery : batch) {
      lookahead_deliveries_.push_back(delivery);
      const auto transfer = transfers_.find(delivery.tag);
      if (transfer != transfers_.end() &&
          ++delivered[delivery.tag] == transfer->second.packets_left) {
        lookahead_completes_ = true;
      }
    }
    if (lookahead_completes_) break;
  }
  return network.now() == 0 ? 0 : network.now() - 1;
}

void Noc::roll_back() {
  if (tracer_) tracer_->discard_uncommitted();
  network_ = checkpoint_;
  for (const LoggedSend& send : since_checkpoint_)
    network_.inject_train(send.packet, send.count, send.last_flits);
  network_.run_until(committed_);
  network_.take_deliveries(lookahead_batch_);  // made before committed_: already delivered
  checkpoint_ = network_;
  since_checkpoint_.clear();
  lookahead_deliveries_.clear();
  lookahead_valid_ = false;
}

void Noc::commit_and_deliver(uint64_t cycle) {
  std::vector<Delivery> deliveries;
  deliveries.swap(lookahead_deliveries_);
  committed_ = cycle + 1;
  if (tracer_) tracer_->commit(committed_);
  lookahead_valid_ = false;
  // The look-ahead stops right after the cycle it commits, so network_ is exactly the committed
  // state: move the checkpoint here when a rollback would otherwise simulate again more than a
  // copy of the network costs. This bounds the work a rollback repeats by the size of the network
  // (on small meshes the checkpoint moves at nearly every commit and a rollback repeats nothing).
  if (network_.now() == committed_ && !network_.has_deliveries() &&
      network_.router_steps() - checkpoint_.router_steps() >= checkpoint_steps_) {
    checkpoint_ = network_;
    since_checkpoint_.clear();
  }
  std::vector<std::pair<Transfer, uint64_t>> completed;
  for (const Delivery& delivery : deliveries) {
    const auto transfer = transfers_.find(delivery.tag);
    if (transfer == transfers_.end()) continue;
    if (--transfer->second.packets_left == 0) {
      completed.emplace_back(std::move(transfer->second), delivery.arrival_cycle);
      transfers_.erase(transfer);
    }
  }
  deliver_completed(completed);
}

void Noc::commit_trace(uint64_t end_cycle) {
  if (tracer_) tracer_->commit(end_cycle);
}

bool Noc::ready_to_deliver(uint64_t cycle, bool& settled) {
  const sc_core::sc_time target = clock_.cycles(cycle);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  if (now < target) {
    sc_core::wait(target - now, work_event_);
    return false;
  }
  if (!settled) {
    // Let processes that run at this instant send first: their sends are created in this cycle,
    // not one later.
    settled = true;
    sc_core::wait(sc_core::SC_ZERO_TIME);
    return false;
  }
  return true;
}

void Noc::deliver_completed(std::vector<std::pair<Transfer, uint64_t>>& completed) {
  update_statistics(sc_core::sc_time_stamp());
  for (auto& [transfer, arrival_cycle] : completed) {
    const sc_core::sc_time arrival = clock_.cycles(arrival_cycle);
    interfaces_[static_cast<size_t>(transfer.destination)]->deliver(
        transfer.source, transfer.tag, transfer.address, transfer.bytes, transfer.data, arrival);
  }
}

void Noc::run() {
  uint64_t commit_cycle = 0;
  bool settled = false;
  for (;;) {
    if (!lookahead_valid_) {
      if (network_.idle()) {
        // Nothing in flight: a good moment to move the checkpoint when the send log is long
        // (bounds what a rollback simulates again).
        if (since_checkpoint_.size() > 1024 && network_.now() <= committed_) {
          checkpoint_ = network_;
          since_checkpoint_.clear();
        }
        update_statistics(sc_core::sc_time_stamp(), true);
        sc_core::wait(work_event_);
        continue;
      }
      lookahead_valid_ = true;
      commit_cycle = look_ahead();
      settled = false;
    }
    // A send while waiting may invalidate the look-ahead.
    if (!ready_to_deliver(commit_cycle, settled)) continue;
    commit_and_deliver(commit_cycle);
  }
}

void Noc::update_statistics(const sc_core::sc_time& end, bool with_links) {
  const NetworkCounters& counters = reservation_ ? reservation_->counters() : network_.counters();
  // The reservation model counts packets when they are reserved: the delivered ones are tallied
  // at their deliveries.
  const uint64_t packets = reservation_ ? delivered_packets_ : counters.packets_delivered;
  const uint64_t latency_sum = reservation_ ? delivered_latency_sum_ : counters.latency_sum_cycles;
  stat_packets_ = packets;
  stat_flits_ = reservation_ ? delivered_flits_ : counters.flits_delivered;
  stat_avg_latency_ =
      packets == 0 ? 0.0 : static_cast<double>(latency_sum) / static_cast<double>(packets);
  stat_max_latency_ =
      static_cast<double>(reservation_ ? delivered_max_latency_ : counters.max_latency_cycles);
  stat_buffer_energy_ =
      static_cast<double>(counters.buffer_writes) * params_.buffer_energy_pj_per_flit;
  stat_crossbar_energy_ =
      static_cast<double>(counters.crossbar_traversals) * params_.crossbar_energy_pj_per_flit;
  stat_link_energy_ =
      static_cast<double>(counters.link_traversals) * params_.link_energy_pj_per_flit;
  // mW x ns = pJ.
  stat_leakage_energy_ =
      params_.router_leakage_mw * network_.topology().routers() * kernel::to_ns(end);
  if (!with_links) return;
  const uint64_t elapsed = std::max<uint64_t>(1, clock_.to_cycles(end));
  for (size_t slot = 0; slot < stat_link_flits_.size(); ++slot) {
    if (!stat_link_flits_[slot]) continue;
    *stat_link_flits_[slot] = counters.link_flits[slot];
    *stat_link_utilization_[slot] =
        static_cast<double>(counters.link_flits[slot]) / static_cast<double>(elapsed);
  }
}

void Noc::finalize(const sc_core::sc_time& end) {
  finalized_ = true;
  update_statistics(end, true);
}

void Noc::end_of_simulation() {
  if (!finalized_) update_statistics(sc_core::sc_time_stamp(), true);
}

}  // namespace cimtlm::noc
