// One core: the controller executing its Program, wired to the core's CIM macros, its memory
// hierarchy (stacked OS-FET levels over the silicon base; data through `memory`, power gating
// through the hierarchy's power-control registers) and its arithmetic unit. The network
// interface is the platform's: the controller's `network` socket sends, its `network_in` target
// takes the transfers other cores sent here.
#pragma once

#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "models/arith/arith_device.h"
#include "models/cim/cim_macro.h"
#include "models/core/core_controller.h"
#include "models/kernel/environment.h"
#include "models/memory/memory_hierarchy.h"

namespace cimtlm::core {

struct CoreConfig {
  CoreParams core;
  cim::CimMacroParams cim;
  arith::ArithParams arith;
  std::vector<memory::MemoryLevelParams> memory;
};

class Core : public sc_core::sc_module {
 public:
  // Statistics go to `stats` (children: controller, arith, cim<i>, memory levels). `services`
  // observes the controller (progress, per-layer accounts).
  Core(const sc_core::sc_module_name& name, int id, const CoreConfig& config,
       const kernel::Clock& clock, CoreServices& services, kernel::TemperatureSource& temperature,
       kernel::StatGroup& stats, kernel::VcdTrace* trace, uint64_t seed);
  // A core nothing observes (CoreServices' defaults): used through its sockets only.
  Core(const sc_core::sc_module_name& name, int id, const CoreConfig& config,
       const kernel::Clock& clock, kernel::TemperatureSource& temperature, kernel::StatGroup& stats,
       kernel::VcdTrace* trace, uint64_t seed)
      : Core(name, id, config, clock, no_services(), temperature, stats, trace, seed) {}

  int id() const { return id_; }
  CoreController& controller() { return *controller_; }
  memory::MemoryHierarchy& memory() { return *memory_; }
  arith::ArithUnit& arith() { return arith_->unit(); }
  arith::ArithDevice& arith_device() { return *arith_; }
  cim::CimMacro& macro(int index) { return *macros_.at(static_cast<size_t>(index)); }
  int macro_count() const { return static_cast<int>(macros_.size()); }

  // Untimed preload of the program's memory images (weights, constants).
  void load(const Program& program, int inferences);
  // Accounts leakage and closes traces at the end of the simulation.
  void finalize(const sc_core::sc_time& end);

 private:
  const int id_;
  std::unique_ptr<memory::MemoryHierarchy> memory_;
  std::vector<std::unique_ptr<cim::CimMacro>> macros_;
  std::unique_ptr<arith::ArithDevice> arith_;
  std::unique_ptr<CoreController> controller_;
};

}  // namespace cimtlm::core
