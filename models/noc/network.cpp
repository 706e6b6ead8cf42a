#include "models/noc/network.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace cimtlm::noc {

namespace {

// Round-robin order: the request right after the last grant (`pointer`) comes first.
inline int round_robin_key(int candidate, int pointer, int size) {
  int key = candidate - pointer - 1;
  if (key < 0) key += size;
  return key;
}

// The entries at the front of a stage queue not evaluated yet. With a single-cycle stage that is
// every entry: its update takes all the entries evaluated in the cycle, and entries queued
// behind them are all new.
template <typename Entry>
inline size_t pending_entries(const RingQueue<Entry>& queue, int stage_cycles) {
  if (stage_cycles == 1) return queue.size();
  size_t pending = 0;
  while (pending < queue.size() && queue[pending].time < 0) ++pending;
  return pending;
}

// How many entries at the front of a stage queue complete in this cycle's update. A single-cycle
// stage completes every entry its evaluation took, and those are the first `evaluated` of its
// queue (entries queued since are behind them), so it takes that count instead of reading their
// completion times; the update then runs a counted loop (no per-entry test of the queue).
template <typename Entry>
inline size_t completed_entries(const RingQueue<Entry>& queue, uint64_t cycle, bool single_cycle,
                                uint32_t& evaluated) {
  if (single_cycle) {
    const size_t completed = evaluated;
    evaluated = 0;
    return completed;
  }
  // Entries pushed back during the update are not evaluated (time -1), so the completing entries
  // are exactly this prefix.
  size_t completed = 0;
  while (completed < queue.size() && queue[completed].time >= 0 &&
         static_cast<uint64_t>(queue[completed].time) <= cycle) {
    ++completed;
  }
  return completed;
}

// The candidate of `mask` (non-empty, bits below 63) with the smallest round_robin_key: the
// first set bit after `pointer` (-1 .. 62), else the lowest one.
inline int round_robin_first(uint64_t mask, int pointer) {
  const uint64_t after = mask & (~uint64_t{0} << (pointer + 1));
  return __builtin_ctzll(after != 0 ? after : mask);
}

size_t next_power_of_two(size_t value) {
  size_t size = 1;
  while (size < value) size <<= 1;
  return size;
}

}  // namespace

uint64_t Network::zero_load_latency(const NocParams& params, int hops, int flits) {
  const uint64_t router_cycles = static_cast<uint64_t>(params.routing_cycles) +
                                 params.vc_allocation_cycles + params.switch_allocation_cycles +
                                 params.switch_traversal_cycles;
  // Source: the creation cycle + the injection channel + the router's input read;
  // destination: the ejection channel.
  const uint64_t interfaces = 1 + 2 * kInterfaceChannelCycles;
  return interfaces + static_cast<uint64_t>(hops + 1) * router_cycles +
         static_cast<uint64_t>(hops) * params.link_cycles + static_cast<uint64_t>(flits - 1);
}

Network::Network(const NocParams& params)
    : params_(params),
      topology_(params),
      routing_(make_routing_policy(params)),
      ports_(topology_.ports()),
      vcs_(params.vcs),
      buffer_depth_(params.vc_buffer_flits),
      unit_stages_(params.vc_allocation_cycles == 1 && params.switch_allocation_cycles == 1 &&
                   params.switch_traversal_cycles == 1),
      flit_link_delay_(static_cast<uint64_t>(params.link_cycles) + 1),
      credit_link_delay_(static_cast<uint64_t>(params.link_cycles) + 1 +
                         static_cast<uint64_t>(params.credit_delay_cycles)) {
  const std::string problem = params.validate();
  if (!problem.empty()) throw std::invalid_argument(problem);

  const int routers = topology_.routers();
  const size_t input_vcs = static_cast<size_t>(routers) * ports_ * vcs_;
  const size_t router_ports = static_cast<size_t>(routers) * ports_;
  buffer_slots_.assign(input_vcs * buffer_depth_, -1);
  input_vcs_.assign(input_vcs, InputVc{});
  output_vcs_.assign(input_vcs, OutputVc{});
  vc_route_.assign(input_vcs, RouteSet{});
  sa_input_pointer_.assign(router_ports, -1);
  sa_output_pointer_.assign(router_ports, -1);
  sa_vc_offset_.assign(router_ports, 0);
  peer_router_.assign(router_ports, -1);
  link_target_.assign(router_ports, -1);
  credit_target_.assign(router_ports, -1);
  for (int r = 0; r < routers; ++r) {
    for (int d = 0; d < kNetworkPorts; ++d) {
      const int peer = topology_.neighbor(r, d);
      peer_router_[port_index(r, d)] = peer;
      if (peer < 0) continue;
      link_target_[port_index(r, d)] = peer * kMaxPorts + Topology::opposite(d);
      credit_target_[port_index(r, d)] = vc_index(peer, Topology::opposite(d), 0);
    }
  }

  const uint64_t link = static_cast<uint64_t>(params.link_cycles);
  const uint64_t credit_delay = static_cast<uint64_t>(params.credit_delay_cycles);
  arriving_flit_.assign(router_ports, -1);
  output_queue_.assign(router_ports, RingQueue<int32_t>(2));
  const size_t pipeline_capacity = static_cast<size_t>(ports_) * vcs_;
  RouterPipeline pipeline;
  pipeline.route = RingQueue<StageEntry>(pipeline_capacity);
  pipeline.vc_alloc = RingQueue<StageEntry>(pipeline_capacity);
  pipeline.switch_alloc = RingQueue<StageEntry>(pipeline_capacity);
  pipeline.crossbar = RingQueue<CrossbarEntry>(static_cast<size_t>(ports_) * 2);
  pipelines_.assign(routers, pipeline);
  for (int r = 0; r < routers; ++r) {
    pipelines_[r].port_base = port_index(r, 0);
    pipelines_[r].vc_base = vc_index(r, 0, 0);
  }

  const int nodes = topology_.nodes();
  source_queue_.assign(nodes, RingQueue<Train>(2));
  source_packet_.assign(nodes, -1);
  injecting_flit_.assign(nodes, 0);
  injecting_vc_.assign(nodes, -1);
  last_vc_.assign(nodes, -1);
  injection_occupancy_.assign(static_cast<size_t>(nodes) * vcs_, 0);
  injection_in_use_.assign(static_cast<size_t>(nodes) * vcs_, 0);
  injection_credits_.assign(nodes,
                            RingQueue<TimedCredit>(static_cast<size_t>(vcs_) * buffer_depth_ + 2));
  node_is_injecting_.assign(nodes, 0);
  injection_blocked_until_.assign(nodes, 0);

  // Longest scheduling distance: a credit over a link plus the credit delay.
  const size_t wheel = next_power_of_two(link + credit_delay + kInterfaceChannelCycles + 4);
  router_wheel_.assign(wheel, {});
  credit_wheel_.assign(wheel, {});
  node_wheel_.assign(wheel, {});
  wheel_mask_ = wheel - 1;
  router_mark_.assign(routers, 0);

  const size_t router_vcs = static_cast<size_t>(ports_) * vcs_;
  scratch_choice_.assign(router_vcs, -1);
  scratch_best_input_.assign(router_vcs, -1);
  scratch_best_key_.assign(router_vcs, 0);
  scratch_requests_.assign(static_cast<size_t>(ports_) * ports_, -1);

  counters_.link_flits.assign(topology_.link_slots(), 0);
}

// ---------------------------------------------------------------------------------------------
// Pools and scheduling
// ---------------------------------------------------------------------------------------------

void Network::apply_due_credits(uint64_t cycle) {
  auto& due = credit_wheel_[cycle & wheel_mask_];
  if (due.empty()) return;
  for (int32_t output_vc : due) --output_vcs_[output_vc].occupancy;
  pending_credits_ -= due.size();
  due.clear();
}

void Network::wake_node(int node, int flit, uint64_t cycle) {
  node_wheel_[cycle & wheel_mask_].push_back({node, flit});
  ++scheduled_events_;
}

void Network::mark_injecting(int node) {
  if (node_is_injecting_[node]) return;
  node_is_injecting_[node] = 1;
  injecting_nodes_.push_back(node);
}

// ---------------------------------------------------------------------------------------------
// Public interface
// ---------------------------------------------------------------------------------------------

bool Network::idle() const {
  return busy_routers_.empty() && scheduled_events_ == 0 && injecting_nodes_.empty() &&
         future_.empty();
}

uint64_t Network::next_activity_cycle() const {
  if (!busy_routers_.empty() || scheduled_events_ > 0 || !injecting_nodes_.empty()) return now_;
  if (!future_.empty()) return std::max(future_.top().cycle, now_);
  return std::numeric_limits<uint64_t>::max();
}

void Network::take_deliveries(std::vector<Delivery>& out) {
  out.clear();
  out.swap(deliveries_);
}

void Network::run_until(uint64_t cycle) {
  while (now_ < cycle) {
    const uint64_t next = next_activity_cycle();
    if (next > now_) {  // nothing to do until `next`: jump
      const uint64_t target = std::min(next, cycle);
      // Credits still in flight land in the skipped cycles (all within one wheel turn).
      for (uint64_t skipped = now_; pending_credits_ > 0 && skipped < target; ++skipped) {
        apply_due_credits(skipped);
      }
      now_ = target;
      continue;
    }
    step();
  }
}

// flatten: the stages and helpers of a cycle become one body (no calls, pointers and indices
// loaded once per router step); -14 % instructions in bench_noc.
__attribute__((flatten)) void Network::step() {
  const uint64_t cycle = now_;
  apply_due_credits(cycle);
  // 1. Network interfaces read their ejection channels (BookSim: before the routers).
  interface_ejections(cycle);
  // 2. Packets created this cycle enter their source queues; 3. interfaces inject one flit each.
  admit_created_packets(cycle);
  if (!injecting_nodes_.empty()) interface_injections(cycle);

  // 4. Routers with work or with a flit/credit arriving this cycle.
  // Busy routers are distinct (each router's step queues it at most once).
  routers_to_step_.swap(busy_routers_);
  busy_routers_.clear();
  const uint64_t mark = cycle + 1;
  for (int router : routers_to_step_) router_mark_[router] = mark;
  auto& woken = router_wheel_[cycle & wheel_mask_];
  scheduled_events_ -= woken.size();
  for (const Arrival& arrival : woken) {
    const int router = static_cast<int>(static_cast<uint32_t>(arrival.target) / kMaxPorts);
    const int port = static_cast<int>(static_cast<uint32_t>(arrival.target) % kMaxPorts);
    RouterPipeline& pipeline = pipelines_[router];
    pipeline.due_flit_ports |= uint64_t{1} << port;
    arriving_flit_[pipeline.port_base + port] = arrival.flit;
    if (router_mark_[router] != mark) {
      router_mark_[router] = mark;
      routers_to_step_.push_back(router);
    }
  }
  woken.clear();
  if (unit_stages_) {
    for (int router : routers_to_step_) step_router<true>(router, cycle);
  } else {
    for (int router : routers_to_step_) step_router<false>(router, cycle);
  }
  router_steps_ += routers_to_step_.size();
  now_ = cycle + 1;
}

// ---------------------------------------------------------------------------------------------
// Routers
// ---------------------------------------------------------------------------------------------

template <bool kUnitStages>
void Network::step_router(int router, uint64_t cycle) {
  input_queuing(router, cycle);
  RouterPipeline& pipeline = pipelines_[router];
  if (!pipeline.route.empty()) route_evaluate(router, cycle);
  if (!pipeline.vc_alloc.empty()) vc_alloc_evaluate<kUnitStages>(router, cycle);
  if (!pipeline.switch_alloc.empty()) switch_alloc_evaluate<kUnitStages>(router, cycle);
  if (kUnitStages) {
    if (!pipeline.crossbar.empty()) send_crossed_flits(router, cycle);
  } else if (!pipeline.crossbar.empty()) {
    crossbar_evaluate<kUnitStages>(router, cycle);
  }
  if (!pipeline.route.empty()) route_update(router, cycle);
  if (!pipeline.vc_alloc.empty()) vc_alloc_update<kUnitStages>(router, cycle);
  if (!pipeline.switch_alloc.empty()) switch_alloc_update<kUnitStages>(router, cycle);
  if (!kUnitStages) {
    if (!pipeline.crossbar.empty()) crossbar_update<kUnitStages>(router, cycle);
    if (pipeline.queued_outputs > 0) write_outputs(router, cycle);
  }
  if (pipeline.has_work()) busy_routers_.push_back(router);
  if (observer_ && pipeline.buffered_flits != pipeline.reported_occupancy) {
    pipeline.reported_occupancy = pipeline.buffered_flits;
    observer_->router_occupancy(router, pipeline.buffered_flits, cycle);
  }
}

void Network::start_head(int router, int port, int vc) {
  const int iv = vc_index(router, port, vc);
  RouterPipeline& pipeline = pipelines_[router];
  const StageEntry entry{-1, static_cast<int16_t>(port), static_cast<int16_t>(vc),
                         static_cast<int16_t>(port * vcs_ + vc), -1};
  if (params_.routing_cycles > 0) {
    input_vcs_[iv].state = VcState::Routing;
    pipeline.route.push_back(entry);
  } else {  // lookahead routing: the route is known on arrival
    compute_route(router, port, vc);
    input_vcs_[iv].state = VcState::VcAlloc;
    pipeline.vc_alloc.push_back(entry);
  }
}

void Network::compute_route(int router, int port, int vc) {
  const int iv = vc_index(router, port, vc);
  const int flit = buffer_slots_[static_cast<size_t>(iv) * buffer_depth_ + input_vcs_[iv].head];
  const Packet& packet = packets_[flits_[flit].packet].spec;
  vc_route_[iv] = routing_->route(router, packet.source, packet.destination);
}

void Network::input_queuing(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  const int port_base = pipeline.port_base;
  const int router_base = pipeline.vc_base;
  for (uint64_t ports = pipeline.due_flit_ports; ports != 0; ports &= ports - 1) {
    const int port = __builtin_ctzll(ports);
    // One flit per channel and cycle.
    const int flit = arriving_flit_[port_base + port];
    const int vc = flits_[flit].vc;
    const int iv = router_base + port * vcs_ + vc;
    const size_t base = static_cast<size_t>(iv) * buffer_depth_;
    int slot = input_vcs_[iv].head + input_vcs_[iv].count;
    if (slot >= buffer_depth_) slot -= buffer_depth_;
    buffer_slots_[base + slot] = flit;
    ++input_vcs_[iv].count;
    ++pipeline.buffered_flits;
    ++counters_.buffer_writes;
    if (input_vcs_[iv].state == VcState::Idle) {
      start_head(router, port, vc);
    } else if (input_vcs_[iv].state == VcState::Active && input_vcs_[iv].count == 1) {
      pipeline.switch_alloc.push_back({-1, static_cast<int16_t>(port), static_cast<int16_t>(vc),
                                       static_cast<int16_t>(iv - router_base), -1});
    }
  }
  pipeline.due_flit_ports = 0;
}

void Network::route_evaluate(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.route;
  if (params_.routing_cycles == 1) {
    pipeline.route_evaluated = static_cast<uint32_t>(queue.size());
    return;
  }
  for (size_t i = 0; i < queue.size() && queue[i].time < 0; ++i) {
    queue[i].time = static_cast<int64_t>(cycle) + params_.routing_cycles - 1;
  }
}

void Network::route_update(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.route;
  const bool single_cycle = params_.routing_cycles == 1;
  const size_t completed = completed_entries(queue, cycle, single_cycle, pipeline.route_evaluated);
  // Entries pushed back during the loop go behind the completed ones, which are dropped at once
  // at the end (no per-entry pop).
  for (size_t i = 0; i < completed; ++i) {
    StageEntry entry = queue[i];
    compute_route(router, entry.input, entry.vc);
    input_vcs_[pipeline.vc_base + entry.local_vc].state = VcState::VcAlloc;
    entry.time = -1;
    entry.result = -1;
    pipeline.vc_alloc.push_back(entry);
  }
  queue.drop_front(completed);
}

// Separable input-first VC allocation, one iteration, round-robin arbiters: each input VC picks
// one free output VC of its route set (round-robin after its last grant), then each output VC
// grants one of the input VCs that picked it (round-robin after its last grant).
template <bool kUnitStages>
void Network::vc_alloc_evaluate(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.vc_alloc;
  const int size = ports_ * vcs_;
  const int router_base = pipeline.vc_base;
  size_t pending =
      kUnitStages ? queue.size() : pending_entries(queue, params_.vc_allocation_cycles);
  if (kUnitStages || params_.vc_allocation_cycles == 1)
    pipeline.vc_alloc_evaluated = static_cast<uint32_t>(pending);
  if (pending == 1) {
    // One requesting input VC: its pick is granted (same as the general path below).
    StageEntry& entry = queue[0];
    if (!kUnitStages) entry.time = static_cast<int64_t>(cycle) + params_.vc_allocation_cycles - 1;
    const int input = entry.local_vc;
    const RouteSet& route = vc_route_[router_base + input];
    const int pointer = input_vcs_[router_base + input].va_pointer;
    int best = -1;
    int best_key = size;
    for (int c = 0; c < route.size; ++c) {
      const RouteChoice& choice = route.choices[c];
      for (int out_vc = choice.vc_begin; out_vc <= choice.vc_end; ++out_vc) {
        const int output = choice.port * vcs_ + out_vc;
        if (output_vcs_[router_base + output].in_use) continue;
        const int key = round_robin_key(output, pointer, size);
        if (key < best_key) {
          best_key = key;
          best = output;
        }
      }
    }
    if (best < 0) {
      entry.result = kStallBusy;
    } else {
      entry.result = best;
      input_vcs_[router_base + input].va_pointer = best;
      output_vcs_[router_base + best].va_pointer = input;
    }
  } else if (pending > 0) {
    scratch_touched_.clear();
    for (size_t i = 0; i < pending; ++i) {
      StageEntry& entry = queue[i];
      const int input = entry.local_vc;
      const RouteSet& route = vc_route_[router_base + input];
      const int pointer = input_vcs_[router_base + input].va_pointer;
      int best = -1;
      int best_key = size;
      for (int c = 0; c < route.size; ++c) {
        const RouteChoice& choice = route.choices[c];
        for (int out_vc = choice.vc_begin; out_vc <= choice.vc_end; ++out_vc) {
          const int output = choice.port * vcs_ + out_vc;
          if (output_vcs_[router_base + output].in_use) continue;
          const int key = round_robin_key(output, pointer, size);
          if (key < best_key) {
            best_key = key;
            best = output;
          }
        }
      }
      scratch_choice_[i] = best;
      if (best < 0) {
        entry.result = kStallBusy;
        continue;
      }
      const int key = round_robin_key(input, output_vcs_[router_base + best].va_pointer, size);
      if (scratch_best_input_[best] < 0) {
        scratch_touched_.push_back(best);
        scratch_best_input_[best] = input;
        scratch_best_key_[best] = key;
      } else if (key < scratch_best_key_[best]) {
        scratch_best_input_[best] = input;
        scratch_best_key_[best] = key;
      }
    }
    for (size_t i = 0; i < pending; ++i) {
      StageEntry& entry = queue[i];
      if (!kUnitStages) entry.time = static_cast<int64_t>(cycle) + params_.vc_allocation_cycles - 1;
      if (entry.result < -1) continue;
      const int input = entry.local_vc;
      const int output = scratch_choice_[i];
      if (scratch_best_input_[output] == input) {
        entry.result = output;
        input_vcs_[router_base + input].va_pointer = output;
        output_vcs_[router_base + output].va_pointer = input;
      } else {
        entry.result = kStallConflict;
      }
    }
    for (int output : scratch_touched_) scratch_best_input_[output] = -1;
  }
  if (!kUnitStages && params_.vc_allocation_cycles > 1) {
    // A grant made in an earlier cycle is dropped if its VC was taken meanwhile.
    for (size_t i = 0; i < queue.size(); ++i) {
      StageEntry& entry = queue[i];
      if (entry.time < 0) continue;
      if (static_cast<uint64_t>(entry.time) > cycle) break;
      if (entry.result >= 0 && output_vcs_[router_base + entry.result].in_use)
        entry.result = kStallBusy;
    }
  }
}

template <bool kUnitStages>
void Network::vc_alloc_update(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.vc_alloc;
  const int router_base = pipeline.vc_base;
  const bool single_cycle = kUnitStages || params_.vc_allocation_cycles == 1;
  const size_t completed =
      completed_entries(queue, cycle, single_cycle, pipeline.vc_alloc_evaluated);
  // Entries pushed back during the loop go behind the completed ones, which are dropped at once
  // at the end (no per-entry pop).
  for (size_t i = 0; i < completed; ++i) {
    StageEntry entry = queue[i];
    const int input = router_base + entry.local_vc;
    const int granted = entry.result;
    entry.time = -1;
    entry.result = -1;
    if (granted >= 0) {
      output_vcs_[router_base + granted].in_use = 1;
      input_vcs_[input].output = granted;
      input_vcs_[input].output_port = static_cast<int8_t>(granted / vcs_);
      input_vcs_[input].output_port_vc =
          static_cast<int8_t>(granted - input_vcs_[input].output_port * vcs_);
      input_vcs_[input].state = VcState::Active;
      pipeline.switch_alloc.push_back(entry);
    } else {
      queue.push_back(entry);
    }
  }
  queue.drop_front(completed);
}

// Separable input-first switch allocation, one iteration, round-robin arbiters. Per input port
// and output port only one VC requests (the first in round-robin order after the input's last
// granted VC, BookSim's Supersedes rule); a VC requests only if its output VC has a credit.
template <bool kUnitStages>
void Network::switch_alloc_evaluate(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.switch_alloc;
  const int router_base = pipeline.vc_base;
  const int port_base = pipeline.port_base;
  size_t pending =
      kUnitStages ? queue.size() : pending_entries(queue, params_.switch_allocation_cycles);
  if (kUnitStages || params_.switch_allocation_cycles == 1) {
    pipeline.switch_alloc_evaluated = static_cast<uint32_t>(pending);
  }
  if (pending == 1) {
    // One request: both arbiters grant it when its output VC has a credit (same result and
    // pointer updates as the general path below, without the scratch bookkeeping).
    StageEntry& entry = queue[0];
    if (!kUnitStages)
      entry.time = static_cast<int64_t>(cycle) + params_.switch_allocation_cycles - 1;
    const InputVc& input_vc = input_vcs_[router_base + entry.local_vc];
    if (output_vcs_[router_base + input_vc.output].occupancy >= buffer_depth_) {
      entry.result = kStallFull;
    } else {
      const int output = input_vc.output_port;
      sa_input_pointer_[port_base + entry.input] = output;
      sa_output_pointer_[port_base + output] = entry.input;
      sa_vc_offset_[port_base + entry.input] = (entry.vc + 1 == vcs_ ? 0 : entry.vc + 1);
      entry.result = output;
    }
  } else if (pending > 0) {
    // Bit masks over ports (at most 36, see validate): requests per input, inputs per output.
    // An arbiter's pick is the first set bit after its pointer, the same order as
    // round_robin_key; requests and picks are made in queue order but no result depends on it.
    uint64_t requesting_inputs = 0;
    uint64_t requested_outputs[kMaxPorts];  // per input, valid where requesting_inputs is set
    // Whether some input requests twice or some output is requested twice (else every request
    // is granted: see below).
    uint64_t any_requested_outputs = 0;
    bool contended = false;
    for (size_t i = 0; i < pending; ++i) {
      StageEntry& entry = queue[i];
      const int input_vc = router_base + entry.local_vc;
      if (output_vcs_[router_base + input_vcs_[input_vc].output].occupancy >= buffer_depth_) {
        entry.result = kStallFull;
        continue;
      }
      const int output = input_vcs_[input_vc].output_port;
      entry.result = output;  // requested; replaced by the grant or kStallConflict below
      const uint64_t input_bit = uint64_t{1} << entry.input;
      const uint64_t output_bit = uint64_t{1} << output;
      contended |=
          (requesting_inputs & input_bit) != 0 || (any_requested_outputs & output_bit) != 0;
      any_requested_outputs |= output_bit;
      if (!(requesting_inputs & input_bit)) {
        requesting_inputs |= input_bit;
        requested_outputs[entry.input] = 0;
      }
      int& request = scratch_requests_[entry.input * ports_ + output];
      if (!(requested_outputs[entry.input] & (uint64_t{1} << output))) {
        requested_outputs[entry.input] |= uint64_t{1} << output;
        request = entry.vc;
      } else {
        const int offset = sa_vc_offset_[port_base + entry.input];
        if (round_robin_key(entry.vc, offset - 1, vcs_) <
            round_robin_key(request, offset - 1, vcs_)) {
          request = entry.vc;
        }
      }
    }
    const int64_t done = static_cast<int64_t>(cycle) + params_.switch_allocation_cycles - 1;
    if (!contended) {
      // One request per input and per output: each input arbiter picks its only request and
      // each output arbiter its only input, so every request is granted (the general path's
      // result and pointer updates, without its arbiters).
      for (size_t i = 0; i < pending; ++i) {
        StageEntry& entry = queue[i];
        if (!kUnitStages) entry.time = done;
        if (entry.result < 0) continue;
        sa_input_pointer_[port_base + entry.input] = entry.result;
        sa_output_pointer_[port_base + entry.result] = entry.input;
        sa_vc_offset_[port_base + entry.input] = (entry.vc + 1 == vcs_ ? 0 : entry.vc + 1);
      }
    } else {
      // Input arbiters pick an output each; output arbiters pick among the inputs that chose them.
      uint64_t chosen_outputs = 0;
      uint64_t choosing_inputs[kMaxPorts];  // per output, valid where chosen_outputs is set
      for (uint64_t inputs = requesting_inputs; inputs != 0; inputs &= inputs - 1) {
        const int input = __builtin_ctzll(inputs);
        const int output =
            round_robin_first(requested_outputs[input], sa_input_pointer_[port_base + input]);
        const uint64_t output_bit = uint64_t{1} << output;
        if (!(chosen_outputs & output_bit)) {
          chosen_outputs |= output_bit;
          choosing_inputs[output] = 0;
        }
        choosing_inputs[output] |= uint64_t{1} << input;
      }
      uint64_t matched_inputs = 0;
      int8_t match[kMaxPorts];  // per input, valid where matched_inputs is set
      for (uint64_t outputs = chosen_outputs; outputs != 0; outputs &= outputs - 1) {
        const int output = __builtin_ctzll(outputs);
        const int input =
            round_robin_first(choosing_inputs[output], sa_output_pointer_[port_base + output]);
        matched_inputs |= uint64_t{1} << input;
        match[input] = static_cast<int8_t>(output);
        sa_input_pointer_[port_base + input] = output;
        sa_output_pointer_[port_base + output] = input;
      }
      for (size_t i = 0; i < pending; ++i) {
        StageEntry& entry = queue[i];
        if (!kUnitStages) entry.time = done;
        if (entry.result < 0) continue;
        const int output = entry.result;
        if (((matched_inputs >> entry.input) & 1) && match[entry.input] == output &&
            scratch_requests_[entry.input * ports_ + output] == entry.vc) {
          sa_vc_offset_[port_base + entry.input] = (entry.vc + 1 == vcs_ ? 0 : entry.vc + 1);
        } else {
          entry.result = kStallConflict;
        }
      }
    }
  }
  if (!kUnitStages && params_.switch_allocation_cycles > 1) {
    // A grant made in an earlier cycle is dropped if its output VC ran out of credits.
    for (size_t i = 0; i < queue.size(); ++i) {
      StageEntry& entry = queue[i];
      if (entry.time < 0) continue;
      if (static_cast<uint64_t>(entry.time) > cycle) break;
      if (entry.result < 0) continue;
      const int output_vc = input_vcs_[router_base + entry.local_vc].output;
      if (output_vcs_[router_base + output_vc].occupancy >= buffer_depth_)
        entry.result = kStallFull;
    }
  }
}

template <bool kUnitStages>
void Network::switch_alloc_update(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.switch_alloc;
  const int router_base = pipeline.vc_base;
  const bool single_cycle = kUnitStages || params_.switch_allocation_cycles == 1;
  const size_t completed =
      completed_entries(queue, cycle, single_cycle, pipeline.switch_alloc_evaluated);
  // Entries pushed back during the loop go behind the completed ones, which are dropped at once
  // at the end (no per-entry pop).
  for (size_t i = 0; i < completed; ++i) {
    StageEntry entry = queue[i];
    const int granted = entry.result;
    entry.time = -1;
    entry.result = -1;
    if (granted < 0) {
      queue.push_back(entry);
      continue;
    }
    const int iv = router_base + entry.local_vc;
    const size_t base = static_cast<size_t>(iv) * buffer_depth_;
    const int flit = buffer_slots_[base + input_vcs_[iv].head];
    if (++input_vcs_[iv].head == buffer_depth_) input_vcs_[iv].head = 0;
    --input_vcs_[iv].count;
    --pipeline.buffered_flits;
    const int output_vc = input_vcs_[iv].output;
    FlitRecord& record = flits_[flit];
    record.vc = input_vcs_[iv].output_port_vc;
    ++output_vcs_[router_base + output_vc].occupancy;
    if (record.tail)
      output_vcs_[router_base + output_vc].in_use = 0;  // no wait for the tail credit
    pipeline.crossbar.push_back({-1, flit, entry.input, static_cast<int16_t>(granted)});
    send_credit(router, pipeline.port_base, entry.input, entry.vc, cycle);
    if (input_vcs_[iv].count == 0) {
      if (record.tail) {
        input_vcs_[iv].state = VcState::Idle;
        input_vcs_[iv].output = -1;
      }
    } else if (record.tail) {  // the next packet's head is at the front
      input_vcs_[iv].output = -1;
      start_head(router, entry.input, entry.vc);
    } else {
      pipeline.switch_alloc.push_back(entry);
    }
  }
  queue.drop_front(completed);
}

template <bool kUnitStages>
void Network::crossbar_evaluate(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.crossbar;
  if (kUnitStages || params_.switch_traversal_cycles == 1) {
    pipeline.crossbar_evaluated = static_cast<uint32_t>(queue.size());
    return;
  }
  for (size_t i = 0; i < queue.size() && queue[i].time < 0; ++i) {
    queue[i].time = static_cast<int64_t>(cycle) + params_.switch_traversal_cycles - 1;
  }
}

template <bool kUnitStages>
void Network::crossbar_update(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.crossbar;
  const bool single_cycle = kUnitStages || params_.switch_traversal_cycles == 1;
  const size_t completed =
      completed_entries(queue, cycle, single_cycle, pipeline.crossbar_evaluated);
  // Entries pushed back during the loop go behind the completed ones, which are dropped at once
  // at the end (no per-entry pop).
  for (size_t i = 0; i < completed; ++i) {
    const CrossbarEntry entry = queue[i];
    ++counters_.crossbar_traversals;
    if (single_cycle) {
      // One-cycle crossbar: at most one flit per output per cycle leaves the switch and the
      // output queue is always empty, so the flit goes straight onto its link.
      send_flit(router, pipeline.port_base, entry.output, entry.flit, cycle);
      continue;
    }
    output_queue_[pipeline.port_base + entry.output].push_back(entry.flit);
    pipeline.queued_output_ports |= uint64_t{1} << entry.output;
    ++pipeline.queued_outputs;
  }
  queue.drop_front(completed);
}

// With unit stages the crossbar queue holds exactly the flits granted in the cycle before, and
// they all cross now. Sending them before this cycle's route, VC and switch updates instead of
// after them changes nothing anyone sees: those updates neither read nor write what a send does
// (wake-ups, link counters, the observer, hop counts) and the crossbar queue is then empty, so
// it is drained in one pass.
void Network::send_crossed_flits(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  auto& queue = pipeline.crossbar;
  for (size_t i = 0; i < queue.size(); ++i) {
    ++counters_.crossbar_traversals;
    send_flit(router, pipeline.port_base, queue[i].output, queue[i].flit, cycle);
  }
  queue.clear();
}

// Each output port sends at most one flit per cycle (BookSim's output buffer).
void Network::write_outputs(int router, uint64_t cycle) {
  RouterPipeline& pipeline = pipelines_[router];
  for (uint64_t ports = pipeline.queued_output_ports; ports != 0; ports &= ports - 1) {
    const int port = __builtin_ctzll(ports);
    auto& queue = output_queue_[pipeline.port_base + port];
    const int flit = queue.front();
    queue.pop_front();
    if (queue.empty()) pipeline.queued_output_ports &= ~(uint64_t{1} << port);
    --pipeline.queued_outputs;
    send_flit(router, pipeline.port_base, port, flit, cycle);
  }
}

void Network::send_flit(int router, int port_base, int port, int flit, uint64_t cycle) {
  if (Topology::is_local_port(port)) {
    const int node = topology_.node_at(router, port);
    const uint64_t arrival = cycle + kInterfaceChannelCycles + 1;
    wake_node(node, flit, arrival);
    return;
  }
  router_wheel_[(cycle + flit_link_delay_) & wheel_mask_].push_back(
      {link_target_[port_base + port], flit});
  ++scheduled_events_;
  const int slot = router * kNetworkPorts + port;
  ++counters_.link_flits[slot];
  ++counters_.link_traversals;
  if (flits_[flit].head) ++packets_[flits_[flit].packet].hops;
  if (observer_) observer_->link_flit(slot, cycle);
}

void Network::send_credit(int router, int port_base, int input_port, int vc, uint64_t cycle) {
  if (Topology::is_local_port(input_port)) {
    const int node = topology_.node_at(router, input_port);
    const uint64_t due = cycle + kInterfaceChannelCycles + 1;
    injection_credits_[node].push_back({due, vc});
    // The first credit on its way to a blocked interface wakes it (interface_injections).
    if (injection_blocked_until_[node] == std::numeric_limits<uint64_t>::max()) {
      injection_blocked_until_[node] = due;
    }
    return;  // read lazily by the interface when it next injects
  }
  credit_wheel_[(cycle + credit_link_delay_) & wheel_mask_].push_back(
      credit_target_[port_base + input_port] + vc);
  ++pending_credits_;
}

}  // namespace cimtlm::noc
