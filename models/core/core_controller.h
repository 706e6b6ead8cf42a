// The controller of one core: executes a Program (models/core/program.h).
//
// Loosely timed with temporal decoupling: the controller keeps its own timeline ahead of the
// SystemC kernel and synchronises only when the quantum is used up or when it must wait for data
// from another core. Each command is executed functionally at once (real values move between the
// memory hierarchy, the CIM macros and the arithmetic unit) and its duration is annotated.
//
// Overlap (double buffering): a command's operand fetch may start while the previous command
// still computes, as long as (a) the data it reads are ready (a scoreboard of written address
// ranges), (b) the unit it needs is free, and (c) at most two commands are in flight per unit
// (two buffers). With double_buffering off every command waits for the previous one to finish.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <unordered_map>
#include <vector>

#include "models/arith/arith_map.h"
#include "models/cim/cim_job.h"
#include "models/core/dmi_cache.h"
#include "models/core/program.h"
#include "models/core/scoreboard.h"
#include "models/kernel/busy_tracer.h"
#include "models/kernel/payload_pool.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"

namespace cimtlm::core {

struct CoreParams {
  int macros = 4;
  uint64_t command_cycles = 4;  // decode and issue of one command
  bool double_buffering = true;
  uint64_t max_transfer_bytes = 1 << 20;  // DMA burst size: larger moves are split
  // Time between the starts of consecutive inferences (zero: back to back).
  sc_core::sc_time inference_interval = sc_core::SC_ZERO_TIME;
  // Direct memory interface on the `memory` socket: where the target grants it, a read or write
  // is a memcpy timed by the grant's latency per max_transfer_bytes chunk. Off by default: it
  // bypasses the target's per-access energy, contention and statistics (MemoryLevel counts those
  // only through b_transport); on for a memory that models none of them, or for speed.
  bool dmi = false;
};

// What a platform may observe of a controller besides its sockets (progress, per-layer
// accounts). Optional: every method defaults to nothing, and a controller constructed without
// one uses those defaults; everything a core does to other blocks goes through its sockets.
class CoreServices {
 public:
  virtual ~CoreServices() = default;
  // Called when a core finishes an inference (progress reporting).
  virtual void inference_done(int /*core*/, int /*inference*/, const sc_core::sc_time& /*at*/) {}
  // Per-layer accounts: called before every command with its layer (empty for commands of
  // none), and after it with the interval its unit was busy, fetch to completion (begin == end
  // when it occupied no unit). The defaults ignore them.
  virtual void command_issued(int /*core*/, const std::string& /*layer*/) {}
  virtual void command_done(int /*core*/, const std::string& /*layer*/,
                            const sc_core::sc_time& /*begin*/, const sc_core::sc_time& /*end*/) {}
};

// The observer of a controller or core constructed without one. CoreServices' defaults hold no
// state, so one instance serves every such module; it cannot be a member of the module, because
// a delegating constructor that binds a member before construction begins is undefined
// behaviour (UBSan's vptr check caught it).
CoreServices& no_services();

// The control/status registers of a core (`control` socket; models/core/README.md has the map).
// 64-bit registers at 8-byte offsets; accesses of 4 or 8 bytes at a register's offset.
namespace regs {
constexpr uint64_t kProgramBase = 0x00;     // rw: address of the encoded program (program_codec.h)
constexpr uint64_t kProgramBytes = 0x08;    // rw: its length in bytes
constexpr uint64_t kInferences = 0x10;      // rw: body executions per start (reset value 1)
constexpr uint64_t kControl = 0x18;         // w: 1 = start (ignored while busy); reads 0
constexpr uint64_t kStatus = 0x20;          // r: bit 0 busy, bit 1 done, bit 2 error; w: 1s clear
constexpr uint64_t kError = 0x28;           // r: 0 none, 1 bad program image, 2 a command failed
constexpr uint64_t kCommands = 0x30;        // r: commands executed (all runs)
constexpr uint64_t kInferencesDone = 0x38;  // r: inferences completed (all runs)
constexpr uint64_t kFinishCycle = 0x40;     // r: core cycle at which the last run finished
constexpr uint64_t kSize = 0x48;
constexpr uint64_t kStatusBusy = 1, kStatusDone = 2, kStatusError = 4;
}  // namespace regs

class CoreController : public sc_core::sc_module {
 public:
  // Control/status registers (regs::): an external CPU or platform writes a program's address and
  // length, starts it, and waits for `done_irq` (or polls STATUS). Optional: a platform that
  // loads programs with load() leaves it unbound.
  tlm_utils::simple_target_socket_optional<CoreController> control{"control"};
  // High from the end of a run started through `control` until STATUS is cleared or the next
  // start (level-triggered, like a CPU's interrupt line).
  sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS> done_irq{"done_irq", false};
  tlm_utils::simple_initiator_socket<CoreController> memory{"memory"};
  // To the core's network interface: a Send is a TLM transaction carrying a
  // noc::NocTransferExtension (models/noc/noc.h).
  tlm_utils::simple_initiator_socket<CoreController> network{"network"};
  // From the core's network interface: a transfer from another core, delivered when its last
  // flit arrives as a write payload (address = destination in this core's memory, the data,
  // a noc::NocTransferExtension naming the source core and the sender's tag). Optional: a core
  // that never receives may leave it unbound.
  tlm_utils::simple_target_socket_optional<CoreController> network_in{"network_in"};
  // One socket per CIM macro, bound by the core.
  std::vector<std::unique_ptr<tlm_utils::simple_initiator_socket<CoreController>>> cim;
  // To the arithmetic unit's memory map (models/arith/arith_map.h): the program's arithmetic
  // commands are written into its parameter memory when a program starts; each command then
  // writes its operands with a run descriptor and reads its result back.
  tlm_utils::simple_initiator_socket<CoreController> arith{"arith"};
  // To the memory's power-control registers (models/memory/power_control.h): a PowerGate
  // command writes 1 (gate) or 0 (wake) to its level's register at the command's time. Optional:
  // a program with a PowerGate on a controller without it fails with an error.
  tlm_utils::simple_initiator_socket_optional<CoreController> power{"power"};

  CoreController(const sc_core::sc_module_name& name, int core_id, const CoreParams& params,
                 const kernel::Clock& clock, CoreServices& services, kernel::StatGroup& stats,
                 kernel::VcdTrace* trace);
  // A controller nothing observes (CoreServices' defaults): a core reused through its sockets.
  CoreController(const sc_core::sc_module_name& name, int core_id, const CoreParams& params,
                 const kernel::Clock& clock, kernel::StatGroup& stats, kernel::VcdTrace* trace)
      : CoreController(name, core_id, params, clock, no_services(), stats, trace) {}

  // Runs `program` from the start of the simulation (the platform's way, untimed preload); a
  // controller without it waits for a start through `control`.
  void load(Program program, int inferences);

  // Data from outside the chip's NoC (a host): written at `destination` in this core's memory
  // as a NoC delivery would be, the tag's arrival recorded at `arrival` (>= sc_time_stamp()).
  void deliver(int from_core, int tag, Addr destination, const std::vector<uint8_t>& data,
               const sc_core::sc_time& arrival);

  bool finished() const { return finished_; }
  const sc_core::sc_time& finish_time() const { return finish_time_; }
  // The first error a command raised (empty when none); the run fails with it.
  const std::string& error() const { return error_; }
  // Payloads this controller ever created (its pool): the most transactions in flight at once,
  // not one per transaction.
  size_t payloads_created() const { return payloads_.created(); }

 private:
  enum class Unit { Dma, Arith, Macro };

  void run();
  // Executes program_ (prologue, inferences_ bodies) from the current time; sets finished_.
  void run_program();
  void control_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
  void execute(const std::vector<Command>& commands, int inference);
  void execute(const Command& command, int inference);

  // An arithmetic-unit command: fetch one or two operands (into buffer_a_, one after the other),
  // run `command` on the unit, write its result at `output`.
  void arith_command(const Command& command, const TensorRef& first, const TensorRef* second,
                     const TensorRef& output);

  // Command handlers.
  void load_weights(const LoadWeights& command);
  void cim_matmul(const CimMatmul& command);
  void requantize(const Requantize& command);
  void lookup(const Lookup& command);
  void eltwise(const Eltwise& command);
  void pool(const Pool& command);
  void softmax(const Softmax& command);
  void quantize(const Quantize& command);
  void dequantize(const Dequantize& command);
  void copy(const Copy& command);
  void gather(const Gather& command);
  void kernel_op(const KernelOp& command);
  void send(const Send& command);
  void receive(const Receive& command);
  void network_in_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
  void deliver(int from_core, int tag, Addr destination, const uint8_t* data, uint64_t bytes,
               const sc_core::sc_time& arrival);
  void power_gate(const PowerGate& command);

  // Timeline helpers: absolute times of this core's local timeline.
  sc_core::sc_time local_now() const { return issue_time_; }
  // When a command that reads `reads` and runs on `unit` may start fetching.
  sc_core::sc_time start_time(std::initializer_list<std::pair<Addr, uint64_t>> reads, Unit unit,
                              int macro = 0) const;
  sc_core::sc_time ready_time(Addr begin, uint64_t bytes) const;
  void mark_written(Addr begin, uint64_t bytes, const sc_core::sc_time& ready);
  // Finishes a command: records unit occupancy and advances the issue time.
  void retire(Unit unit, int macro, const sc_core::sc_time& fetch_start,
              const sc_core::sc_time& compute_start, const sc_core::sc_time& end);
  sc_core::sc_time& unit_free(Unit unit, int macro);
  // The busy interval of the command being executed (set by retire, for command_done).
  sc_core::sc_time command_begin_, command_end_;

  // Memory transactions at absolute time `at`; return the completion time.
  sc_core::sc_time read(Addr addr, uint8_t* data, uint64_t bytes, const sc_core::sc_time& at);
  sc_core::sc_time write(Addr addr, const uint8_t* data, uint64_t bytes,
                         const sc_core::sc_time& at);
  sc_core::sc_time transact(tlm::tlm_command command, Addr addr, uint8_t* data, uint64_t bytes,
                            const sc_core::sc_time& at);
  sc_core::sc_time read_tensor(const TensorRef& tensor, std::vector<uint8_t>& data,
                               const sc_core::sc_time& at);
  // One transaction on a macro's memory map (models/cim/cim_job.h) at absolute time `at`, with
  // a command descriptor when it starts a job; returns the completion time.
  sc_core::sc_time cim_transport(int macro, tlm::tlm_command command, uint64_t address,
                                 uint8_t* data, uint64_t bytes, const cim::CimCommand* descriptor,
                                 const std::string& layer, const sc_core::sc_time& at);
  // Writes the encodings of program_'s arithmetic commands into the unit's parameter memory
  // (untimed, with the program: debug transport) and remembers each one's offset.
  void install_arith_parameters();
  // One transaction on the arithmetic unit's memory map at absolute time `at`, with a
  // descriptor when it runs a command; returns the completion time.
  sc_core::sc_time arith_transport(tlm::tlm_command command, uint64_t address, uint8_t* data,
                                   uint64_t bytes, const arith::ArithCommand* descriptor,
                                   const std::string& layer, const sc_core::sc_time& at);
  // Runs `command` (its parameters installed) on `operands` at `at`; returns when it is done.
  sc_core::sc_time arith_run(const Command& command, const uint8_t* operands, uint64_t bytes,
                             const std::string& layer, const sc_core::sc_time& at);
  // Reads the unit's result (`bytes`) into buffer_out_.
  void arith_result(uint64_t bytes, const std::string& layer);
  void sync_to(const sc_core::sc_time& at);
  // DMI (CoreParams::dmi): the granted region holding [addr, addr + bytes) with the access, asked
  // for once per region (denials remembered), or nullptr (b_transport).
  const tlm::tlm_dmi* dmi_region(tlm::tlm_command command, Addr addr, uint64_t bytes);
  // Backward path of `memory`: the target withdrew its grants over [start, end].
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  const int core_id_;
  const CoreParams params_;
  const kernel::Clock clock_;
  CoreServices& services_;
  Program program_;
  int inferences_ = 0;
  // Offset of each arithmetic command of program_ in the unit's parameter memory.
  std::unordered_map<const Command*, uint64_t> arith_parameters_;
  const Command* current_command_ = nullptr;  // the command being executed

  tlm_utils::tlm_quantumkeeper quantum_keeper_;
  kernel::PayloadPool payloads_;  // every transaction this controller initiates
  sc_core::sc_time issue_time_;   // when the controller can issue the next command
  sc_core::sc_time dma_read_free_, dma_write_free_, arith_free_;
  std::vector<sc_core::sc_time> macro_free_;
  // End times of the last commands per unit, for the two-buffer limit.
  std::map<int, std::deque<sc_core::sc_time>> in_flight_;
  Scoreboard scoreboard_;     // written address ranges and when they hold their data
  sc_core::sc_time horizon_;  // latest completion of anything issued so far

  // NoC arrivals not yet received: (from_core, tag) -> arrival times in order (the same tag
  // arrives once per inference; flow-control tokens may queue up).
  std::map<std::pair<int, int>, std::deque<sc_core::sc_time>> arrivals_;
  sc_core::sc_event arrival_event_;

  bool loaded_ = false;
  uint64_t program_base_ = 0, program_bytes_ = 0, start_inferences_ = 1;
  uint64_t status_ = 0, error_code_ = 0;
  sc_core::sc_event start_event_;

  bool finished_ = false;
  sc_core::sc_time finish_time_;
  std::string error_;

  std::vector<uint8_t> buffer_a_, buffer_b_, buffer_out_, vectors_;
  std::vector<uint8_t> send_buffer_;  // send()'s data, reused
  std::vector<int32_t> partials_;
  // cim_matmul's im2col: per tile row, its tap's offset in the fetched planes and its offsets in
  // input rows and columns from the output position's top-left input.
  std::vector<int64_t> tap_offset_, tap_row_, tap_col_;
  std::vector<uint8_t> padded_;  // cim_matmul's input window with its padding, when it has any

  // Statistics.
  uint64_t& commands_;
  uint64_t& inferences_done_;
  uint64_t& bytes_read_;
  uint64_t& bytes_written_;
  uint64_t& bytes_sent_;
  double& receive_wait_ns_;
  double& busy_ns_;
  kernel::BusyTracer busy_trace_;
  kernel::VcdSignal* inference_signal_ = nullptr;

  DmiCache dmi_;         // regions the memory granted or denied (CoreParams::dmi)
  uint64_t& dmi_reads_;  // read transactions served by DMI (one per chunk)
  uint64_t& dmi_writes_;
};

}  // namespace cimtlm::core
