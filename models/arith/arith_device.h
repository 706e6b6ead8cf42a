// The arithmetic unit as a memory-mapped TLM-2.0 target (arith_map.h has the map): parameter
// memory, operand, accumulation and result windows in front of the datapath (ArithUnit). A
// core's controller drives it through its `arith` socket; any other initiator can, with the
// same payloads.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/arith/arith_map.h"
#include "models/arith/arith_unit.h"
#include "models/kernel/time.h"

namespace cimtlm::arith {

class ArithDevice : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<ArithDevice> target{"target"};

  // Statistics go to `stats` (the unit's figures); the busy signal to `trace` under the module's
  // name.
  ArithDevice(const sc_core::sc_module_name& name, const ArithParams& params,
              const kernel::Clock& clock, kernel::StatGroup& stats, kernel::VcdTrace* trace);

  ArithUnit& unit() { return *unit_; }
  // The kernels the unit's kernel ops may run, in slot order (kernel_table(program)): the
  // unit's microcode, installed by the platform before the program runs.
  void install_kernels(const core::Program& program);
  // Leakage over the simulated time; called once at the end.
  void finalize(const sc_core::sc_time& end) { unit_->finalize(kernel::to_ns(end)); }

 private:
  void b_transport(tlm::tlm_generic_payload& payload, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& payload);
  // Decodes and keeps a command's parameters written at `offset`.
  void write_parameters(uint64_t offset, const uint8_t* data, uint64_t bytes);
  // Runs the command at `parameters` on the operands; returns the unit's cycles.
  uint64_t run(uint64_t parameters, const uint8_t* data, uint64_t bytes);
  uint64_t accumulate(const ArithCommand& command, const uint8_t* data, uint64_t bytes);

  struct Parameters {
    core::Command command;
    uint32_t kernel_slot = 0;
  };

  const kernel::Clock clock_;
  std::unique_ptr<ArithUnit> unit_;
  std::map<uint64_t, Parameters> parameters_;  // by offset in parameter memory
  std::vector<std::shared_ptr<const core::ArithKernel>> kernels_;
  std::vector<uint8_t> result_;
  std::vector<std::vector<uint8_t>> outputs_;  // a kernel op's outputs before concatenation
  std::vector<const uint8_t*> inputs_;
};

}  // namespace cimtlm::arith
