// The NoC engine: a plain C++ (no SystemC) cycle-level model of an input-queued VC router network.
//
// Faithful to BookSim2's IQRouter so that it reproduces a cycle-accurate simulator's latency and
// saturation, but event-driven: only routers with work (pipeline entries, or a flit arriving
// this cycle) are evaluated, and whole idle stretches are jumped. Per router and cycle
// it runs BookSim's phases in BookSim's order:
//   input queuing (flits arriving this cycle enter their VC buffers; credits due this cycle were
//   returned before any router's step)
//   route / VC-allocation / switch-allocation / crossbar "evaluate" of entries new this cycle
//   route / VC-allocation / switch-allocation / crossbar "update" of entries due this cycle
// (with one-cycle VC allocation, switch allocation and crossbar, the default, the crossbar's
// flits leave before the other updates: nothing observable depends on that order, see
// send_crossed_flits)
// A stage of d cycles completes d - 1 cycles after it is evaluated; the next stage picks the entry
// up in the following cycle. With the default 1-cycle stages a head flit received in cycle R is
// routed in R, wins a VC in R+1, the switch in R+2, crosses it in R+3 and, over a 1-cycle link,
// is received by the next router in R+5 (link_cycles + 1 after leaving, because a receiver reads
// its input channels at the start of a cycle, as in BookSim's ReadInputs/WriteOutputs split).
//
// Network interfaces (one per node) model BookSim's traffic manager: an unbounded source queue,
// per-VC credit tracking of the router's injection buffer, VC choice round-robin after the last
// VC used, one flit per cycle, 1-cycle injection/ejection channels and credit channels. Packet
// latency is measured from creation (entering the source queue) to ejection of the tail flit.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <vector>

#include "models/noc/noc_params.h"
#include "models/noc/routing.h"
#include "models/noc/topology.h"

namespace cimtlm::noc {

// A packet handed to a network interface.
struct Packet {
  uint64_t id = 0;            // caller's identifier, reported back on delivery
  int source = 0;             // node (core)
  int destination = 0;        // node (core); may equal source (goes through the router)
  int flits = 1;              // >= 1
  uint64_t create_cycle = 0;  // cycle it enters the source queue; must be >= Network::now()
  uint64_t tag = 0;           // opaque to the network (e.g. the transfer it belongs to)
};

// Throws std::out_of_range for a source or destination outside [0, nodes), std::invalid_argument
// for a packet (or a train's last packet) of no flit. Both NoC models take packets through it.
void check_packet(const Packet& packet, int last_flits, int nodes);

// A packet whose tail flit left the network at its destination.
struct Delivery {
  uint64_t id = 0;
  uint64_t tag = 0;
  int source = 0;
  int destination = 0;
  int flits = 0;
  int hops = 0;  // router-to-router links the head took
  uint64_t create_cycle = 0;
  uint64_t inject_cycle = 0;   // head flit left the source interface
  uint64_t arrival_cycle = 0;  // tail flit ejected at the destination
  uint64_t latency_cycles() const { return arrival_cycle - create_cycle; }
};

struct NetworkCounters {
  uint64_t packets_created = 0;
  uint64_t packets_delivered = 0;
  uint64_t flits_injected = 0;       // flits that left source interfaces
  uint64_t flits_delivered = 0;      // flits ejected at destinations
  uint64_t buffer_writes = 0;        // flits written into router input buffers
  uint64_t crossbar_traversals = 0;  // flits through a router crossbar
  uint64_t link_traversals = 0;      // flits over router-to-router links
  uint64_t latency_sum_cycles = 0;   // sum over delivered packets
  uint64_t max_latency_cycles = 0;
  std::vector<uint64_t> link_flits;  // per link slot (router * 4 + direction)
};

// Optional hooks for tracing (VCD). Called only when set; the engine never depends on them.
class NetworkObserver {
 public:
  virtual ~NetworkObserver() = default;
  virtual void link_flit(int link_slot, uint64_t cycle) = 0;  // a flit enters a link
  virtual void router_occupancy(int router, int buffered_flits, uint64_t cycle) = 0;
};

// A FIFO on a ring buffer that grows when full. A copy copies the queued elements only, not the
// whole ring (a source queue that once held thousands of trains keeps its ring, and the engine is
// copied at every checkpoint).
template <typename T>
class RingQueue {
 public:
  explicit RingQueue(size_t capacity = 4) {
    size_t size = 1;
    while (size < capacity) size <<= 1;
    slots_.resize(size);
    mask_ = size - 1;
  }
  RingQueue(const RingQueue& other)
      : slots_(other.slots_.size()), mask_(other.mask_), count_(other.count_) {
    for (size_t i = 0; i < count_; ++i) slots_[i] = other[i];
  }
  RingQueue& operator=(const RingQueue& other) {
    if (this == &other) return *this;
    // Same ring size, so the queue grows exactly when the original would.
    if (slots_.size() != other.slots_.size()) slots_.resize(other.slots_.size());
    mask_ = other.mask_;
    for (size_t i = 0; i < other.count_; ++i) slots_[i] = other[i];
    head_ = 0;
    count_ = other.count_;
    return *this;
  }
  RingQueue(RingQueue&&) noexcept = default;
  RingQueue& operator=(RingQueue&&) noexcept = default;
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  T& front() { return slots_[head_]; }
  const T& front() const { return slots_[head_]; }
  T& operator[](size_t i) { return slots_[(head_ + i) & mask_]; }
  const T& operator[](size_t i) const { return slots_[(head_ + i) & mask_]; }
  void pop_front() {
    head_ = (head_ + 1) & mask_;
    --count_;
  }
  // Removes the first `n` (<= size()) elements at once.
  void drop_front(size_t n) {
    head_ = (head_ + n) & mask_;
    count_ -= n;
  }
  void push_back(const T& value) {
    if (__builtin_expect(count_ > mask_, 0)) grow();
    slots_[(head_ + count_) & mask_] = value;
    ++count_;
  }
  void clear() { head_ = count_ = 0; }

 private:
  __attribute__((noinline)) void grow() {
    std::vector<T> bigger(slots_.size() * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = (*this)[i];
    slots_.swap(bigger);
    mask_ = slots_.size() - 1;
    head_ = 0;
  }
  std::vector<T> slots_;
  size_t mask_ = 0;  // slots_.size() - 1 (a power of two minus one)
  size_t head_ = 0;
  size_t count_ = 0;
};

class Network {
 public:
  // `params` must pass validate().
  explicit Network(const NocParams& params);

  const NocParams& params() const { return params_; }
  const Topology& topology() const { return topology_; }
  int nodes() const { return topology_.nodes(); }

  // The next cycle to simulate (all cycles before it are done).
  uint64_t now() const { return now_; }

  // Queues a packet at its source interface at packet.create_cycle (>= now(); earlier cycles
  // are clamped to now()). Source/destination/flits must be in range (checked, throws).
  void inject(const Packet& packet);
  // Queues `count` packets of one transfer at once: ids packet.id .. packet.id + count - 1, each
  // of packet.flits flits but the last, which has last_flits. The same as `count` inject() calls,
  // but the network holds the train as one entry and makes each packet only when the source
  // interface reaches it, so its state (and a copy of it) grows with what is in flight, not with
  // the size of the transfers queued.
  void inject_train(const Packet& packet, uint64_t count, int last_flits);

  // Simulates cycle now() and advances to the next.
  void step();
  // Simulates every cycle before `cycle`, jumping stretches in which nothing can happen.
  void run_until(uint64_t cycle);

  // Nothing queued, in flight or scheduled: stepping would change nothing but the time.
  bool idle() const;
  // Packets accepted by inject() and not yet delivered.
  uint64_t packets_outstanding() const {
    return counters_.packets_created - counters_.packets_delivered;
  }
  // The earliest cycle >= now() at which something can happen (== now() while busy),
  // or UINT64_MAX when idle().
  uint64_t next_activity_cycle() const;

  // Deliveries since the last call (in delivery order), moved into `out` (which is cleared).
  void take_deliveries(std::vector<Delivery>& out);
  bool has_deliveries() const { return !deliveries_.empty(); }

  const NetworkCounters& counters() const { return counters_; }
  // Router evaluations so far (a measure of the host work done, copied with the network).
  uint64_t router_steps() const { return router_steps_; }
  void set_observer(NetworkObserver* observer) { observer_ = observer; }

  // Zero-load latency (cycles) of a packet over `hops` router-to-router links: BookSim's
  // pipeline with no contention (see README).
  static uint64_t zero_load_latency(const NocParams& params, int hops, int flits);

 private:
  // Injection and ejection channels (node <-> router) take one cycle, as in BookSim's KNCube.
  static constexpr uint64_t kInterfaceChannelCycles = 1;
  // Bound of the per-router port masks (validate() allows 4 + 32 ports).
  static constexpr int kMaxPorts = 64;
  enum class VcState : uint8_t { Idle, Routing, VcAlloc, Active };
  // Stage results below -1 are stalls (BookSim's STALL_* codes); -1 = not yet evaluated.
  static constexpr int kStallBusy = -2;
  static constexpr int kStallConflict = -3;
  static constexpr int kStallFull = -4;

  struct StageEntry {
    int64_t time;  // cycle the stage completes; -1 until evaluated (unused with unit stages)
    int16_t input;
    int16_t vc;
    int16_t local_vc;  // input * vcs + vc: the input VC within the router, computed once
    int16_t result;    // granted output (VC) index (< 64 * 64), or a stall code
  };
  struct CrossbarEntry {
    int64_t time;
    int32_t flit;
    int16_t input;
    int16_t output;
  };
  struct TimedCredit {
    uint64_t time;
    int32_t vc;
  };
  struct FlitRecord {
    int32_t packet;
    int16_t vc;
    bool head;
    bool tail;
  };
  struct PacketRecord {
    Packet spec;
    uint64_t inject_cycle = 0;
    int hops = 0;
  };
  struct RouterPipeline {
    RingQueue<StageEntry> route;
    RingQueue<StageEntry> vc_alloc;
    RingQueue<StageEntry> switch_alloc;
    RingQueue<CrossbarEntry> crossbar;
    // Entries the evaluation of a single-cycle stage took this cycle (see front_completes).
    uint32_t route_evaluated = 0;
    uint32_t vc_alloc_evaluated = 0;
    uint32_t switch_alloc_evaluated = 0;
    uint32_t crossbar_evaluated = 0;
    int queued_outputs = 0;            // flits waiting in output queues
    uint64_t due_flit_ports = 0;       // input ports whose next flit arrives this cycle
    uint64_t queued_output_ports = 0;  // output ports with flits waiting to be sent
    int buffered_flits = 0;
    int reported_occupancy = 0;
    // The router's first port (port_index) and first VC (vc_index), computed once.
    int32_t port_base = 0;
    int32_t vc_base = 0;
    bool has_work() const {
      return !route.empty() || !vc_alloc.empty() || !switch_alloc.empty() || !crossbar.empty() ||
             queued_outputs > 0;
    }
  };

  // Index helpers. iv: input VC, ov: output VC, rp: router port.
  int port_index(int router, int port) const { return router * ports_ + port; }
  int vc_index(int router, int port, int vc) const { return (router * ports_ + port) * vcs_ + vc; }

  // kUnitStages: VC allocation, switch allocation and crossbar take one cycle each (the
  // default), so the stages never stamp or read completion times and the compiler drops the
  // multi-cycle code from the hot path (unit_stages_ picks the instance once per cycle).
  template <bool kUnitStages>
  void step_router(int router, uint64_t cycle);
  void input_queuing(int router, uint64_t cycle);
  void route_evaluate(int router, uint64_t cycle);
  void route_update(int router, uint64_t cycle);
  template <bool kUnitStages>
  void vc_alloc_evaluate(int router, uint64_t cycle);
  template <bool kUnitStages>
  void vc_alloc_update(int router, uint64_t cycle);
  template <bool kUnitStages>
  void switch_alloc_evaluate(int router, uint64_t cycle);
  template <bool kUnitStages>
  void switch_alloc_update(int router, uint64_t cycle);
  template <bool kUnitStages>
  void crossbar_evaluate(int router, uint64_t cycle);
  template <bool kUnitStages>
  void crossbar_update(int router, uint64_t cycle);
  void send_crossed_flits(int router, uint64_t cycle);  // unit stages: the whole crossbar stage

  void start_head(int router, int port, int vc);  // a head reaches the front of an idle VC
  void compute_route(int router, int port, int vc);
  // port_base: port_index(router, 0).
  void send_credit(int router, int port_base, int input_port, int vc, uint64_t cycle);
  void send_flit(int router, int port_base, int output_port, int flit, uint64_t cycle);
  void write_outputs(int router, uint64_t cycle);

  void interface_ejections(uint64_t cycle);
  void admit_created_packets(uint64_t cycle);
  void interface_injections(uint64_t cycle);
  void retire_flit(int node, int flit, uint64_t cycle);
  void mark_injecting(int node);
  int take_source_packet(int node);  // the packet at the head of the node's source queue

  // `flit` arrives at `cycle` at the router's input port / the node's ejection channel.
  void wake_router(int router, int input_port, int flit, uint64_t cycle);
  void apply_due_credits(uint64_t cycle);
  void wake_node(int node, int flit, uint64_t cycle);

  int new_flit();
  void free_flit(int flit);
  int new_packet();
  void free_packet(int packet);

  NocParams params_;
  Topology topology_;
  std::shared_ptr<const RoutingPolicy> routing_;
  int ports_;
  int vcs_;
  int buffer_depth_;
  bool unit_stages_;  // see step_router
  // Cycles from leaving a router to being read by the next one (flits), and from a flit leaving
  // an input buffer to its credit being usable upstream.
  uint64_t flit_link_delay_;
  uint64_t credit_link_delay_;
  uint64_t now_ = 0;

  // Per input VC (vc_index).
  std::vector<int32_t> buffer_slots_;  // buffer_depth_ slots per input VC
  std::vector<RouteSet> vc_route_;
  // Per input VC (vc_index): the state a flit's pass through the router reads, together.
  struct InputVc {
    int32_t output = -1;      // granted output port * vcs + output vc, or -1
    int32_t va_pointer = -1;  // round-robin pointer over output VCs of the router
    uint16_t head = 0;        // buffer ring
    uint16_t count = 0;
    VcState state = VcState::Idle;
    int8_t output_port = 0;     // granted output port (valid while output >= 0)
    int8_t output_port_vc = 0;  // granted VC of that port (output - output_port * vcs)
  };
  std::vector<InputVc> input_vcs_;
  // Per output VC (vc_index): the downstream buffer as seen through credits.
  struct OutputVc {
    int32_t va_pointer = -1;  // round-robin pointer over input VCs of the router
    uint16_t occupancy = 0;
    uint8_t in_use = 0;
  };
  std::vector<OutputVc> output_vcs_;
  // Per router port (port_index).
  std::vector<int32_t> sa_input_pointer_;   // round-robin over output ports
  std::vector<int32_t> sa_output_pointer_;  // round-robin over input ports
  std::vector<int32_t> sa_vc_offset_;       // round-robin among the VCs of an input port
  std::vector<int32_t> peer_router_;        // router at the other end of a network port, or -1
  // Per network port, computed once: the wake-up target of a flit sent on it (peer router *
  // kMaxPorts + its input port), and the peer's output VC 0 (vc_index) a credit for a flit
  // leaving this input port returns to.
  std::vector<int32_t> link_target_;
  std::vector<int32_t> credit_target_;
  // Per input port: the flit arriving in this cycle (valid where the router's due_flit_ports is
  // set). The flits on a link travel in the event wheel, at most one per channel and cycle.
  std::vector<int32_t> arriving_flit_;
  std::vector<RingQueue<int32_t>> output_queue_;  // per output port: crossed, not yet sent
  std::vector<RouterPipeline> pipelines_;

  // Per node: the network interface.
  // Packets of one transfer not yet made into packet records (see inject_train).
  struct Train {
    Packet next;         // the next packet to make (its id, flits and create cycle)
    uint64_t count = 0;  // packets left, `next` included
    int last_flits = 1;
  };
  std::vector<RingQueue<Train>> source_queue_;  // trains ready to inject, in order
  std::vector<int32_t> source_packet_;          // packet being injected, or -1
  std::vector<int32_t> injecting_flit_;         // next flit of the front packet (0 = head)
  std::vector<int32_t> injecting_vc_;           // VC of the packet being injected, or -1
  std::vector<int32_t> last_vc_;
  std::vector<uint16_t> injection_occupancy_;  // per node * vcs
  std::vector<uint8_t> injection_in_use_;      // per node * vcs
  std::vector<RingQueue<TimedCredit>> injection_credits_;
  // Per node: the cycle before which its interface cannot inject (waiting for a credit), or
  // UINT64_MAX when no credit is on its way yet (send_credit sets the due cycle of the first).
  std::vector<uint64_t> injection_blocked_until_;
  std::vector<int32_t> injecting_nodes_;
  std::vector<uint8_t> node_is_injecting_;

  // Packets created for the future: min-heap on (create cycle, sequence).
  struct FutureEntry {
    uint64_t cycle;
    uint64_t sequence;
    Train train;
    bool operator>(const FutureEntry& other) const {
      return cycle != other.cycle ? cycle > other.cycle : sequence > other.sequence;
    }
  };
  std::priority_queue<FutureEntry, std::vector<FutureEntry>, std::greater<FutureEntry>> future_;
  uint64_t future_sequence_ = 0;

  // Event wheel: routers/nodes to visit at a future cycle (all delays are < wheel size), each
  // with the flit that arrives. Flit arrivals at routers, target router * kMaxPorts + input port:
  // the router is stepped that cycle and reads exactly those ports (at most one flit per channel
  // and cycle); ejections, target node.
  struct Arrival {
    int32_t target;
    int32_t flit;
  };
  std::vector<std::vector<Arrival>> router_wheel_;
  // Credits by the cycle they become usable (output VC index): applied at the start of that
  // cycle, before any router's step, which is the only reader of output occupancies (so this equals
  // applying them at the router's next step). Not counted in scheduled_events_: a jump over idle
  // cycles applies them (run_until).
  std::vector<std::vector<int32_t>> credit_wheel_;
  uint64_t pending_credits_ = 0;
  std::vector<std::vector<Arrival>> node_wheel_;
  uint64_t wheel_mask_ = 0;
  uint64_t scheduled_events_ = 0;
  std::vector<int32_t> busy_routers_;  // routers with pipeline work for the next cycle
  std::vector<int32_t> routers_to_step_;
  std::vector<uint64_t> router_mark_;  // cycle + 1 when queued for stepping
  uint64_t router_steps_ = 0;

  // Flit and packet pools.
  std::vector<FlitRecord> flits_;
  std::vector<int32_t> free_flits_;
  std::vector<PacketRecord> packets_;
  std::vector<int32_t> free_packets_;

  // Allocation scratch (sized for one router).
  std::vector<int32_t> scratch_choice_;
  std::vector<int32_t> scratch_best_input_;
  std::vector<int32_t> scratch_best_key_;
  std::vector<int32_t> scratch_touched_;
  std::vector<int32_t> scratch_requests_;  // switch allocation: VC per (input, output)

  std::vector<Delivery> deliveries_;
  NetworkCounters counters_;
  NetworkObserver* observer_ = nullptr;
};

// An index into `items`: a freed one when there is one, else a new default element.
template <typename T>
inline int take_index(std::vector<T>& items, std::vector<int32_t>& free_indices) {
  if (!free_indices.empty()) {
    const int index = free_indices.back();
    free_indices.pop_back();
    return index;
  }
  items.push_back({});
  return static_cast<int>(items.size()) - 1;
}

// Used per flit by both engine files (network.cpp, network_interfaces.cpp): inline.
inline int Network::new_flit() {
  return take_index(flits_, free_flits_);
}

inline void Network::free_flit(int flit) {
  free_flits_.push_back(flit);
}

inline int Network::new_packet() {
  return take_index(packets_, free_packets_);
}

inline void Network::free_packet(int packet) {
  free_packets_.push_back(packet);
}

inline void Network::wake_router(int router, int input_port, int flit, uint64_t cycle) {
  router_wheel_[cycle & wheel_mask_].push_back({router * kMaxPorts + input_port, flit});
  ++scheduled_events_;
}

}  // namespace cimtlm::noc
