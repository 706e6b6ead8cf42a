// The NoC as a SystemC module for platforms: the engine (network.h) plus one network interface
// (NI) per core.
//
// Interface for the cores (the TLM design): each core binds an initiator socket to
// `noc.interface(core).target` and sends a transfer ("these bytes to core N, address A") as a
// TLM_WRITE_COMMAND generic payload: address = where the data go in the destination core, data
// pointer and length = the bytes (length 0: timing only, or with bytes 0 a 1-flit synchronisation
// token), and a
// NocTransferExtension (plain data: destination core, bytes, the sender's tag). b_transport
// copies the data and returns at once without adding to `delay`: the NI takes the transfer at the
// core's local time (sc_time_stamp() + delay), splits it into packets of at most
// max_packet_payload_bytes and queues them at its source. When the last packet's tail flit is
// ejected at the destination, at SystemC time == arrival (the exact cycle), the destination NI
// writes the transfer as a TLM_WRITE_COMMAND payload (same address, data, and the extension with
// `source_core` filled in) through its `delivery` initiator socket, bound to the destination
// core's target. A missing extension or a bad destination gets TLM_GENERIC_ERROR_RESPONSE.
// `Noc::send` is a C++ API for testbenches and traffic without TLM: it calls a callback instead.
//
// Timing against SystemC: the engine only runs while packets are in flight, in bulk. Its thread
// simulates the network ahead, speculatively, to the next cycle in which a transfer completes,
// sleeps until that time (whole idle and busy stretches are skipped in SystemC), then delivers the
// callbacks and simulates on from there: no copy of the network per look-ahead. A send whose
// packets would enter the network before the cycle the look-ahead reached rolls back: the network
// is restored from its checkpoint, the sends made since are injected again, and the cycles before
// the last delivered one are simulated again (deterministically the same); the checkpoint then
// moves there. Every simulated cycle is simulated again at most once. A commit also moves the
// checkpoint when the router evaluations since it exceed what a copy of the network costs, so a
// rollback repeats at most about one copy's worth of work (nothing on small meshes). Sends are
// never placed in the engine's past (a transfer sent in the very cycle a callback fires is taken
// one cycle later).
//
// With `model: reservation` (reservation_network.h) there is no look-ahead and no rollback: the
// packets of every send are queued in the reservation model and reserved (in a canonical order,
// see ReservationNetwork) when the engine thread next runs, a delta cycle later at the same
// time; each transfer's delivery is queued at its last packet's arrival cycle, and the thread
// sleeps until the earliest pending one and delivers it exactly as above (equal cycles: by send
// order). VCD: the link signals are exact for the reserved slots and written in time order as
// time is committed; the routers' buffered_flits signals are not traced (they stay 0).
// noc_reservation.cpp holds this path.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <queue>
#include <systemc>
#include <tlm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/kernel/payload_pool.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"
#include "models/noc/network.h"
#include "models/noc/noc_params.h"
#include "models/noc/reservation_network.h"

namespace cimtlm::noc {

// A transfer's metadata, carried by value with the generic payload that holds its data (from the
// sender to its NI, and from the destination NI to the destination core). Plain data only: no
// pointers, no code (testbenches/unit/kernel/test_extensions.cpp checks it).
struct NocTransfer {
  int source_core = 0;  // set by the network interface that sends it (ignored from the sender)
  int destination_core = 0;
  uint64_t bytes = 0;  // payload; 0 sends a single 1-flit message (a synchronisation token)
  int64_t tag = 0;     // chosen by the sender, delivered unchanged (which data these are)
};

class NocTransferExtension : public tlm::tlm_extension<NocTransferExtension>, public NocTransfer {
 public:
  tlm::tlm_extension_base* clone() const override { return new NocTransferExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    static_cast<NocTransfer&>(*this) = static_cast<const NocTransferExtension&>(other);
  }
};

class Noc;

// The network interface of one core.
class NetworkInterface : public sc_core::sc_module {
 public:
  // Optional: a core that never sends may leave its interface unbound.
  tlm_utils::simple_target_socket_optional<NetworkInterface> target{"target"};
  // Completed transfers to this core, as write payloads at their arrival time. Optional: a core
  // that never receives may leave it unbound (a transfer to it is then dropped with an error).
  tlm_utils::simple_initiator_socket_optional<NetworkInterface> delivery{"delivery"};

  NetworkInterface(const sc_core::sc_module_name& name, Noc& noc, int core);

  // Writes a completed transfer through `delivery` (called by the Noc at SystemC time >= arrival).
  void deliver(int source_core, int64_t tag, uint64_t address, uint64_t bytes,
               std::vector<uint8_t>& data, const sc_core::sc_time& arrival);

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);

  Noc& noc_;
  int core_;
  kernel::PayloadPool payloads_;  // the delivery payloads
};

class Noc : public sc_core::sc_module {
 public:
  // `params` must pass validate(); `stats` receives noc.* statistics; `vcd` may be null.
  Noc(const sc_core::sc_module_name& name, const NocParams& params, const kernel::Clock& clock,
      kernel::StatGroup& stats, kernel::VcdTrace* vcd = nullptr);
  ~Noc() override;

  int cores() const { return network_.nodes(); }
  NetworkInterface& interface(int core) { return *interfaces_.at(core); }

  // Sends `bytes` from `source_core` to `destination_core`, entering the source interface at
  // `local_time` (>= sc_time_stamp()); the destination interface writes the completed transfer
  // (`data` moved in; empty for a token or a timing-only transfer) through its `delivery`
  // socket. Returns false for an out-of-range core. Network interfaces call it for the transfers
  // their `target` takes; traffic generators may call it directly.
  bool send(int source_core, int destination_core, int64_t tag, uint64_t address,
            std::vector<uint8_t> data, uint64_t bytes, const sc_core::sc_time& local_time);

  // Statistics and leakage up to `end` (the platform's end of work; call once after sc_start).
  void finalize(const sc_core::sc_time& end);

  // Transfers sent and not yet delivered.
  size_t transfers_in_flight() const { return transfers_.size(); }
  const Network& network() const { return network_; }
  const kernel::Clock& clock() const { return clock_; }

 private:
  struct Transfer {
    uint64_t packets_left = 0;
    int source = 0, destination = 0;
    int64_t tag = 0;
    uint64_t address = 0, bytes = 0;
    std::vector<uint8_t> data;  // empty for a token or a timing-only transfer
  };
  bool start(int source_core, int destination_core, uint64_t bytes, Transfer transfer,
             const sc_core::sc_time& local_time);

  class Tracer;

  // A send as injected, kept until the next checkpoint so that a rollback can inject it again.
  struct LoggedSend {
    Packet packet;
    uint64_t count = 0;
    int last_flits = 1;
  };

  void run();

  // The reservation model's path (noc_reservation.cpp).
  void start_reserved(const Packet& first, uint64_t packets, int last_flits);
  void run_reserved();
  // Reserves the queued sends; completed transfers join completions_.
  void resolve_reserved();
  void deliver_reserved(uint64_t cycle);
  // Writes the traced events of cycles before `end_cycle` (the Tracer lives in noc.cpp).
  void commit_trace(uint64_t end_cycle);
  // Simulates network_ from where it is to the first cycle in which a transfer completes;
  // returns that cycle, or the cycle it stopped at.
  uint64_t look_ahead();
  // Restores network_ to the checkpoint, injects the logged sends again and simulates it to
  // committed_ (the deliveries before it were made already); the checkpoint moves there.
  void roll_back();
  void commit_and_deliver(uint64_t cycle);
  // Waits towards `cycle` (woken early by a send), then one delta so that processes running at
  // that instant send first; true once both are done and the caller may deliver at `cycle`.
  bool ready_to_deliver(uint64_t cycle, bool& settled);
  // Statistics as of now, then every completed transfer written to its destination interface.
  void deliver_completed(std::vector<std::pair<Transfer, uint64_t>>& completed);
  // Totals as of `end`; the per-link figures (one per link: costly on big meshes) only when
  // the network drains and at the end of the simulation, not at every delivery.
  void update_statistics(const sc_core::sc_time& end, bool with_links = false);
  void end_of_simulation() override;

  NocParams params_;
  kernel::Clock clock_;
  Network network_;     // simulated to network_.now(); cycles before committed_ are final
  Network checkpoint_;  // network_ as it was at checkpoint_.now() <= committed_
  // Router evaluations since the checkpoint past which a commit moves it (see commit_and_deliver).
  uint64_t checkpoint_steps_;
  std::vector<LoggedSend> since_checkpoint_;
  uint64_t committed_ = 0;        // cycles before it have delivered their callbacks
  bool lookahead_valid_ = false;  // network_ stopped at a cycle still to commit
  bool finalized_ = false;
  bool lookahead_completes_ = false;  // the look-ahead stopped at a cycle that completes a transfer
  std::vector<Delivery> lookahead_deliveries_;
  std::unordered_map<uint64_t, uint64_t> lookahead_delivered_;  // look_ahead() scratch
  std::vector<Delivery> lookahead_batch_;                       // look_ahead() scratch
  std::unordered_map<uint64_t, Transfer> transfers_;
  uint64_t next_transfer_ = 0;
  uint64_t next_packet_ = 0;
  sc_core::sc_event work_event_;
  std::vector<std::unique_ptr<NetworkInterface>> interfaces_;
  std::unique_ptr<Tracer> tracer_;

  // The reservation model (null with model: cycle) and its state.
  std::unique_ptr<ReservationNetwork> reservation_;
  struct ReservedTransfer {
    uint64_t arrival_cycle = 0;  // the latest arrival of its packets so far
    uint64_t packets = 0, flits = 0, latency_sum = 0, max_latency = 0;
  };
  std::unordered_map<uint64_t, ReservedTransfer> reserved_;  // per transfer, packets resolved
  // Transfers whose every packet is reserved, by (arrival cycle, transfer id = send order).
  using Completion = std::pair<uint64_t, uint64_t>;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<Completion>> completions_;
  std::vector<Delivery> reserved_batch_;  // resolve_reserved() scratch
  // Delivered packets so far (the reservation model's counters count packets when reserved).
  uint64_t delivered_packets_ = 0, delivered_flits_ = 0, delivered_latency_sum_ = 0;
  uint64_t delivered_max_latency_ = 0;

  // Statistics (registered once; references stay valid).
  uint64_t& stat_packets_;
  uint64_t& stat_flits_;
  uint64_t& stat_transfers_;
  uint64_t& stat_bytes_;
  double& stat_avg_latency_;
  double& stat_max_latency_;
  double& stat_buffer_energy_;
  double& stat_crossbar_energy_;
  double& stat_link_energy_;
  double& stat_leakage_energy_;
  std::vector<uint64_t*> stat_link_flits_;  // per link slot, null where no link
  std::vector<double*> stat_link_utilization_;
};

}  // namespace cimtlm::noc
