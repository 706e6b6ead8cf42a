// An approximate, fast NoC timing model (platform key `noc.model: reservation`): plain C++, no
// SystemC, the same interface data (Packet in, Delivery out, NetworkCounters) as the cycle-level
// engine (network.h).
//
// Instead of simulating routers cycle by cycle it reserves flit slots. Every channel a packet
// uses (the source node's injection channel, each router-to-router link, the destination node's
// ejection channel) keeps the cycles in which its flits leave onto it, as a sorted list of
// reserved intervals. A packet's head goes router by router along its route: it is injected in the
// first cycle >= its creation in which the injection channel is free for `flits` consecutive
// cycles; at each router it leaves after the zero-load pipeline delay (routing + VC allocation +
// switch allocation + switch traversal cycles) or when the output channel is next free for the
// packet's flits, whichever is later; that channel is then reserved for its flits, the body
// following the head at the pace the router pipeline gives a lone packet: one flit per cycle with
// the default 1-cycle stages (Network::zero_load_latency), slower with multi-cycle switch
// allocation or traversal, or packets longer than a VC buffer. That pace is not a formula of the
// stage cycles (BookSim's crossbar and credit loops make it irregular), so it is calibrated once
// per packet size from the cycle engine itself: one lone packet over zero and one link. A packet
// alone in the network therefore arrives in exactly the cycle the cycle engine delivers it, for
// every pipeline setting and packet size, and the counters (packets,
// flits, buffer writes, crossbar traversals, link traversals, per-link flits) are the cycle
// engine's wherever the route does not depend on contention (deterministic routing).
//
// What it ignores (the documented approximation): virtual cut-through with infinite buffers, so no
// credit back-pressure, no VC or buffer limits, no switch-allocation conflicts between inputs, no
// head-of-line blocking. Under contention packets serialise on shared channels (the first packet
// reserved keeps its slots: no later packet delays it), so latencies stay close to the cycle
// engine's at the loads of CIM inference traffic but saturation behaviour differs. Adaptive
// policies (west_first, odd_even) take at each router the allowed port whose channel frees
// earliest (the first in the route set on ties).
//
// Gap filling and order: submit_train() only queues; resolve() reserves the queued packets ordered
// by (creation cycle, source node, submission order), so sends made at the same time give the same
// result in whatever order they were made. A packet created later in simulated time than one
// reserved earlier may still use a gap before that one's reservations. release_before(cycle)
// forgets reservations that end before `cycle` (no packet created from then on can use them).
// Cost per packet: per channel on the route a binary search over its reserved intervals, plus,
// when a reservation neither extends nor joins a neighbour (a gap filled in the middle), a shift
// of the intervals after it. The lists stay short: adjacent reservations merge into one interval
// and released ones are dropped. No heap allocation per packet once the lists have grown.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/noc/network.h"
#include "models/noc/noc_params.h"
#include "models/noc/routing.h"
#include "models/noc/topology.h"

namespace cimtlm::noc {

class ReservationNetwork {
 public:
  // `params` must pass validate().
  explicit ReservationNetwork(const NocParams& params);

  const NocParams& params() const { return params_; }
  const Topology& topology() const { return topology_; }
  int nodes() const { return topology_.nodes(); }

  // Queues `count` packets of one transfer (as Network::inject_train: ids packet.id ..
  // packet.id + count - 1, each of packet.flits flits but the last, which has last_flits), created
  // at packet.create_cycle (clamped to the released horizon). Reserved by the next resolve().
  void submit_train(const Packet& packet, uint64_t count, int last_flits);
  void submit(const Packet& packet) { submit_train(packet, 1, packet.flits); }
  bool has_submitted() const { return !submitted_.empty(); }

  // Reserves every queued packet (see the file comment for the order) and appends one Delivery
  // per packet to `out` (not cleared), in reservation order.
  void resolve(std::vector<Delivery>& out);

  // No packet will be created before `cycle`: reservations ending before it are forgotten.
  void release_before(uint64_t cycle);

  // Counters of every packet resolved so far (delivered or still in flight in simulated time).
  const NetworkCounters& counters() const { return counters_; }
  // Receives link_flit(slot, cycle) for every flit reserved on a router-to-router link, when
  // its packet is resolved (so not in time order), and router_occupancy() never.
  void set_observer(NetworkObserver* observer) { observer_ = observer; }

 private:
  // Injection and ejection channels take one cycle, as in the cycle engine.
  static constexpr uint64_t kInterfaceChannelCycles = 1;

  struct Interval {
    uint64_t begin;  // first reserved cycle
    uint64_t end;    // one past the last
  };
  // One channel's reservations: sorted, disjoint, non-adjacent intervals from `first` on (those
  // before it were released).
  struct Channel {
    std::vector<Interval> intervals;
    size_t first = 0;
  };
  struct SubmittedTrain {
    Packet next;
    uint64_t count;
    int last_flits;
    uint64_t sequence;
  };

  // The first cycle >= `earliest` from which `channel` is free for `flits` cycles.
  uint64_t earliest_free(Channel& channel, uint64_t earliest, int flits);
  void reserve(Channel& channel, uint64_t begin, int flits);
  Delivery route_packet(const Packet& packet);

  // How a lone packet of some size streams through the pipeline (from the cycle engine).
  struct Pace {
    std::vector<uint64_t> link_offsets;  // each flit's link cycle after the head's
    uint64_t tail_local = 0;   // tail's arrival after the head's, destination on the source router
    uint64_t tail_routed = 0;  // the same over one or more links
  };
  const Pace& pace(int flits);

  NocParams params_;
  Topology topology_;
  std::shared_ptr<const RoutingPolicy> routing_;
  uint64_t router_cycles_;      // routing + VC allocation + switch allocation + switch traversal
  std::vector<Channel> links_;  // per link slot (router * 4 + direction)
  std::vector<Channel> injection_;  // per node
  std::vector<Channel> ejection_;   // per node
  uint64_t released_before_ = 0;
  std::vector<Pace> paces_;  // per packet size (flits), calibrated on first use
  std::vector<SubmittedTrain> submitted_;
  uint64_t next_sequence_ = 0;
  NetworkCounters counters_;
  NetworkObserver* observer_ = nullptr;
};

}  // namespace cimtlm::noc
