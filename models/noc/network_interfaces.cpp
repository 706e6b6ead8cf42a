// The network interfaces of the engine (network.h): BookSim's traffic manager at every node —
// packets (and packet trains) queued at their source, one flit per cycle into the router's
// injection buffer under credit flow control, ejection and delivery at the destination.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "models/noc/network.h"

namespace cimtlm::noc {

void check_packet(const Packet& packet, int last_flits, int nodes) {
  if (packet.source < 0 || packet.source >= nodes || packet.destination < 0 ||
      packet.destination >= nodes) {
    throw std::out_of_range("noc: packet " + std::to_string(packet.id) + " has node out of range");
  }
  if (packet.flits < 1 || last_flits < 1) {
    throw std::invalid_argument("noc: a packet needs at least one flit");
  }
}

void Network::inject(const Packet& packet) {
  inject_train(packet, 1, packet.flits);
}

void Network::inject_train(const Packet& packet, uint64_t count, int last_flits) {
  check_packet(packet, last_flits, nodes());
  if (count == 0) return;
  Train train;
  train.next = packet;
  train.next.create_cycle = std::max(packet.create_cycle, now_);
  train.count = count;
  train.last_flits = last_flits;
  counters_.packets_created += count;
  // Through the creation heap even when created now: admitted at the start of its cycle in
  // injection order, whenever it was injected (a rollback injects again, later).
  future_.push({train.next.create_cycle, future_sequence_++, train});
}

int Network::take_source_packet(int node) {
  if (source_packet_[node] >= 0) return source_packet_[node];
  Train& train = source_queue_[node].front();
  const int index = new_packet();
  PacketRecord& record = packets_[index];
  record.spec = train.next;
  if (train.count == 1) record.spec.flits = train.last_flits;
  record.inject_cycle = 0;
  record.hops = 0;
  if (--train.count == 0) {
    source_queue_[node].pop_front();
  } else {
    ++train.next.id;
  }
  source_packet_[node] = index;
  return index;
}

// ---------------------------------------------------------------------------------------------
// Network interfaces
// ---------------------------------------------------------------------------------------------

void Network::interface_ejections(uint64_t cycle) {
  auto& woken = node_wheel_[cycle & wheel_mask_];
  if (woken.empty()) return;
  scheduled_events_ -= woken.size();
  // One flit per ejection channel and cycle, each with its own wake-up.
  for (const Arrival& arrival : woken) retire_flit(arrival.target, arrival.flit, cycle);
  woken.clear();
}

void Network::retire_flit(int node, int flit, uint64_t cycle) {
  const FlitRecord record = flits_[flit];
  ++counters_.flits_delivered;
  // The credit for the ejection buffer goes back over a 1-cycle credit channel and is processed
  // after the router's credit delay, exactly like a credit between routers (credit_wheel_).
  const int router = topology_.router_of_node(node);
  const int port = topology_.local_port_of_node(node);
  const uint64_t credit_cycle = cycle + kInterfaceChannelCycles + 1 + params_.credit_delay_cycles;
  credit_wheel_[credit_cycle & wheel_mask_].push_back(vc_index(router, port, record.vc));
  ++pending_credits_;
  if (record.tail) {
    PacketRecord& packet = packets_[record.packet];
    Delivery delivery;
    delivery.id = packet.spec.id;
    delivery.tag = packet.spec.tag;
    delivery.source = packet.spec.source;
    delivery.destination = packet.spec.destination;
    delivery.flits = packet.spec.flits;
    delivery.hops = packet.hops;
    delivery.create_cycle = packet.spec.create_cycle;
    delivery.inject_cycle = packet.inject_cycle;
    delivery.arrival_cycle = cycle;
    ++counters_.packets_delivered;
    const uint64_t latency = delivery.latency_cycles();
    counters_.latency_sum_cycles += latency;
    counters_.max_latency_cycles = std::max(counters_.max_latency_cycles, latency);
    deliveries_.push_back(delivery);
    free_packet(record.packet);
  }
  free_flit(flit);
}

void Network::admit_created_packets(uint64_t cycle) {
  while (!future_.empty() && future_.top().cycle <= cycle) {
    const Train train = future_.top().train;
    future_.pop();
    source_queue_[train.next.source].push_back(train);
    mark_injecting(train.next.source);
  }
}

// flatten: runs for every injecting node every cycle (at saturation, all of them); -1 %
// instructions in bench_noc.
__attribute__((flatten)) void Network::interface_injections(uint64_t cycle) {
  size_t keep = 0;
  for (size_t i = 0; i < injecting_nodes_.size(); ++i) {
    const int node = injecting_nodes_[i];
    if (injection_blocked_until_[node] > cycle) {  // nothing can change before a credit lands
      injecting_nodes_[keep++] = node;
      continue;
    }
    const size_t vc_base = static_cast<size_t>(node) * vcs_;
    // Credits from the router's injection buffer (read at the start of the cycle, no delay).
    auto& credits = injection_credits_[node];
    while (!credits.empty() && credits.front().time <= cycle) {
      --injection_occupancy_[vc_base + credits.front().vc];
      credits.pop_front();
    }
    const int packet = take_source_packet(node);
    PacketRecord& record = packets_[packet];
    const bool head = injecting_flit_[node] == 0;
    if (head && injecting_vc_[node] < 0) {
      // The VC after the last one used, as BookSim's traffic manager does.
      const int last = last_vc_[node];
      for (int i_vc = 1; i_vc <= vcs_; ++i_vc) {
        const int vc = (last < 0 || last >= vcs_) ? 0 : (last + i_vc) % vcs_;
        if (!injection_in_use_[vc_base + vc] &&
            injection_occupancy_[vc_base + vc] < buffer_depth_) {
          injecting_vc_[node] = vc;
          break;
        }
      }
    }
    const int vc = injecting_vc_[node];
    if (vc >= 0 && injection_occupancy_[vc_base + vc] < buffer_depth_) {
      const bool tail = injecting_flit_[node] == record.spec.flits - 1;
      if (head) {
        injection_in_use_[vc_base + vc] = 1;
        last_vc_[node] = vc;
        record.inject_cycle = cycle;
      }
      ++injection_occupancy_[vc_base + vc];
      if (tail) injection_in_use_[vc_base + vc] = 0;  // no wait for the tail credit
      const int flit = new_flit();
      flits_[flit] = {packet, static_cast<int16_t>(vc), head, tail};
      ++counters_.flits_injected;
      const int router = topology_.router_of_node(node);
      const uint64_t arrival = cycle + kInterfaceChannelCycles + 1;
      const int local_port = topology_.local_port_of_node(node);
      wake_router(router, local_port, flit, arrival);
      if (tail) {
        source_packet_[node] = -1;
        injecting_flit_[node] = 0;
        injecting_vc_[node] = -1;
      } else {
        ++injecting_flit_[node];
      }
    } else {
      // Blocked: only a credit (occupancy falls) can unblock it, and the node alone reads them.
      // Sleep until the next one is due; when none is on its way yet, send_credit sets it.
      injection_blocked_until_[node] =
          credits.empty() ? std::numeric_limits<uint64_t>::max() : credits.front().time;
    }
    if (source_packet_[node] < 0 && source_queue_[node].empty()) {
      node_is_injecting_[node] = 0;
    } else {
      injecting_nodes_[keep++] = node;
    }
  }
  injecting_nodes_.resize(keep);
}

}  // namespace cimtlm::noc
