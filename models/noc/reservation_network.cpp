#include "models/noc/reservation_network.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cimtlm::noc {

namespace {

// Released intervals are dropped from a channel's list once they are this many and at least
// half of it (amortised: an erase moves each interval at most once more).
constexpr size_t kCompactAfter = 32;

}  // namespace

ReservationNetwork::ReservationNetwork(const NocParams& params)
    : params_(params), topology_(params), routing_(make_routing_policy(params)) {
  const std::string problem = params.validate();
  if (!problem.empty()) throw std::invalid_argument(problem);
  router_cycles_ = static_cast<uint64_t>(params.routing_cycles) + params.vc_allocation_cycles +
                   params.switch_allocation_cycles + params.switch_traversal_cycles;
  links_.resize(topology_.link_slots());
  injection_.resize(topology_.nodes());
  ejection_.resize(topology_.nodes());
  counters_.link_flits.assign(topology_.link_slots(), 0);
}

void ReservationNetwork::submit_train(const Packet& packet, uint64_t count, int last_flits) {
  check_packet(packet, last_flits, nodes());
  if (count == 0) return;
  SubmittedTrain train{packet, count, last_flits, next_sequence_++};
  train.next.create_cycle = std::max(packet.create_cycle, released_before_);
  counters_.packets_created += count;
  submitted_.push_back(train);
}

void ReservationNetwork::resolve(std::vector<Delivery>& out) {
  if (submitted_.empty()) return;
  // Canonical order: the order sends were made in at equal times does not matter, but a source's
  // own sends keep theirs (they serialise on its injection channel).
  std::sort(submitted_.begin(), submitted_.end(),
            [](const SubmittedTrain& a, const SubmittedTrain& b) {
              if (a.next.create_cycle != b.next.create_cycle)
                return a.next.create_cycle < b.next.create_cycle;
              if (a.next.source != b.next.source) return a.next.source < b.next.source;
              return a.sequence < b.sequence;
            });
  for (const SubmittedTrain& train : submitted_) {
    Packet packet = train.next;
    for (uint64_t k = 0; k < train.count; ++k) {
      if (k + 1 == train.count) packet.flits = train.last_flits;
      out.push_back(route_packet(packet));
      ++packet.id;
    }
  }
  submitted_.clear();
}

void ReservationNetwork::release_before(uint64_t cycle) {
  released_before_ = std::max(released_before_, cycle);
}

uint64_t ReservationNetwork::earliest_free(Channel& channel, uint64_t earliest, int flits) {
  std::vector<Interval>& intervals = channel.intervals;
  // Drop what was released (no reservation can start before released_before_).
  while (channel.first < intervals.size() && intervals[channel.first].end <= released_before_) {
    ++channel.first;
  }
  if (channel.first >= kCompactAfter && 2 * channel.first >= intervals.size()) {
    intervals.erase(intervals.begin(),
                    intervals.begin() + static_cast<std::ptrdiff_t>(channel.first));
    channel.first = 0;
  }
  // The first interval that ends after `earliest` (ends are sorted like begins).
  auto it = std::partition_point(
      intervals.begin() + static_cast<std::ptrdiff_t>(channel.first), intervals.end(),
      [earliest](const Interval& interval) { return interval.end <= earliest; });
  uint64_t begin = earliest;
  const uint64_t length = static_cast<uint64_t>(flits);
  for (; it != intervals.end() && it->begin < begin + length; ++it) {
    begin = std::max(begin, it->end);
  }
  return begin;
}

void ReservationNetwork::reserve(Channel& channel, uint64_t begin, int flits) {
  std::vector<Interval>& intervals = channel.intervals;
  const uint64_t end = begin + static_cast<uint64_t>(flits);
  // The first interval that starts at or after `end` (the new one fits right before it).
  auto next = std::partition_point(
      intervals.begin() + static_cast<std::ptrdiff_t>(channel.first), intervals.end(),
      [begin](const Interval& interval) { return interval.begin < begin; });
  const bool joins_previous =
      next != intervals.begin() + static_cast<std::ptrdiff_t>(channel.first) &&
      (next - 1)->end == begin;
  const bool joins_next = next != intervals.end() && next->begin == end;
  if (joins_previous && joins_next) {
    (next - 1)->end = next->end;
    intervals.erase(next);
  } else if (joins_previous) {
    (next - 1)->end = end;
  } else if (joins_next) {
    next->begin = begin;
  } else {
    intervals.insert(next, Interval{begin, end});
  }
}

namespace {

// Records the cycles in which flits enter links.
class LinkCycles : public NetworkObserver {
 public:
  void link_flit(int, uint64_t cycle) override { cycles.push_back(cycle); }
  void router_occupancy(int, int, uint64_t) override {}
  std::vector<uint64_t> cycles;
};

}  // namespace

const ReservationNetwork::Pace& ReservationNetwork::pace(int flits) {
  const size_t index = static_cast<size_t>(flits);
  if (index < paces_.size() && !paces_[index].link_offsets.empty()) return paces_[index];
  if (index >= paces_.size()) paces_.resize(index + 1);
  // The same router pipeline on two routers: a lone packet to the source router's own node and
  // one over the link between them. Beyond one link the pace repeats (every later router
  // receives what the previous one sent), so these two cover every route.
  NocParams calibration = params_;
  calibration.model = "cycle";
  calibration.topology = "mesh";
  calibration.routing = "xy";
  calibration.rows = 1;
  calibration.cols = 2;
  calibration.concentration = 1;
  Pace& result = paces_[index];
  for (const int destination : {0, 1}) {
    Network network(calibration);
    LinkCycles links;
    network.set_observer(&links);
    network.inject({0, 0, destination, flits, 0, 0});
    std::vector<Delivery> deliveries;
    uint64_t arrival = 0;
    while (!network.idle()) {
      network.run_until(network.now() + 1);
      network.take_deliveries(deliveries);
      for (const Delivery& delivery : deliveries) arrival = delivery.arrival_cycle;
    }
    // After the head's arrival (the zero-load formula for one flit).
    const uint64_t tail = arrival - Network::zero_load_latency(calibration, destination, 1);
    if (destination == 0) {
      result.tail_local = tail;
    } else {
      result.tail_routed = tail;
      for (const uint64_t cycle : links.cycles)
        result.link_offsets.push_back(cycle - links.cycles[0]);
    }
  }
  return result;
}

Delivery ReservationNetwork::route_packet(const Packet& packet) {
  const int flits = packet.flits;
  const uint64_t flit_count = static_cast<uint64_t>(flits);
  const Pace& stream = pace(flits);
  // Cycles a link is reserved for: from the head's flit to the tail's.
  const int link_span = static_cast<int>(stream.link_offsets.back() + 1);
  Delivery delivery;
  delivery.id = packet.id;
  delivery.tag = packet.tag;
  delivery.source = packet.source;
  delivery.destination = packet.destination;
  delivery.flits = flits;
  delivery.create_cycle = packet.create_cycle;

  // The source interface: one flit per cycle onto the injection channel.
  Channel& injection = injection_[packet.source];
  const uint64_t inject = earliest_free(injection, packet.create_cycle, flits);
  reserve(injection, inject, flits);
  delivery.inject_cycle = inject;
  counters_.flits_injected += flit_count;

  // The head is read by the first router's input kInterfaceChannelCycles + 1 after it left.
  uint64_t head_at_router = inject + kInterfaceChannelCycles + 1;
  int router = topology_.router_of_node(packet.source);
  int hops = 0;
  for (;;) {
    counters_.buffer_writes += flit_count;
    counters_.crossbar_traversals += flit_count;
    const RouteSet route = routing_->route(router, packet.source, packet.destination);
    // The head leaves in the last cycle of its switch traversal at the earliest.
    const uint64_t ready = head_at_router + router_cycles_ - 1;
    int port = -1;
    Channel* channel = nullptr;
    uint64_t depart = 0;
    // The ejection channel carries the tail `tail` cycles after the head.
    const uint64_t tail = hops == 0 ? stream.tail_local : stream.tail_routed;
    int span = 0;
    for (int c = 0; c < route.size; ++c) {
      const int candidate = route.choices[c].port;
      const bool local = Topology::is_local_port(candidate);
      Channel& candidate_channel =
          local ? ejection_[topology_.node_at(router, candidate)]
                : links_[static_cast<size_t>(router) * kNetworkPorts + candidate];
      const int candidate_span = local ? static_cast<int>(tail + 1) : link_span;
      const uint64_t free = earliest_free(candidate_channel, ready, candidate_span);
      if (port < 0 || free < depart) {
        port = candidate;
        channel = &candidate_channel;
        depart = free;
        span = candidate_span;
      }
    }
    reserve(*channel, depart, span);
    if (Topology::is_local_port(port)) {
      // Ejection: the head reaches the destination kInterfaceChannelCycles + 1 after it left.
      delivery.arrival_cycle = depart + kInterfaceChannelCycles + 1 + tail;
      break;
    }
    const int slot = router * kNetworkPorts + port;
    counters_.link_flits[slot] += flit_count;
    counters_.link_traversals += flit_count;
    if (observer_) {
      for (const uint64_t offset : stream.link_offsets) observer_->link_flit(slot, depart + offset);
    }
    ++hops;
    head_at_router = depart + static_cast<uint64_t>(params_.link_cycles) + 1;
    router = topology_.neighbor(router, port);
  }
  delivery.hops = hops;
  counters_.flits_delivered += flit_count;
  ++counters_.packets_delivered;
  const uint64_t latency = delivery.latency_cycles();
  counters_.latency_sum_cycles += latency;
  counters_.max_latency_cycles = std::max(counters_.max_latency_cycles, latency);
  return delivery;
}

}  // namespace cimtlm::noc
