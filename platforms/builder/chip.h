// The chip: every core of the platform and the NoC between them, built from a PlatformSpec.
// Each core's `network` socket is bound to its network interface and the interface's `delivery`
// socket to the core's `network_in`: a Send is a NoC transfer whose delivery writes the data into
// the destination core's memory.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/core/core.h"
#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/vcd.h"
#include "models/noc/noc.h"
#include "platforms/builder/layer_account.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {

class Chip : public sc_core::sc_module, public core::CoreServices {
 public:
  Chip(const sc_core::sc_module_name& name, const PlatformSpec& spec, kernel::StatGroup& stats,
       kernel::VcdTrace* trace);
  ~Chip() override;

  int core_count() const { return static_cast<int>(cores_.size()); }
  core::Core& core(int index) { return *cores_.at(static_cast<size_t>(index)); }
  noc::Noc& network() { return *noc_; }
  const kernel::Clock& clock() const { return clock_; }

  // Loads every core's program (images preloaded untimed) for `inferences` inferences.
  void load(const core::ChipProgram& program, int inferences);
  bool write(int core, core::Addr addr, const void* data, size_t bytes);
  bool read(int core, core::Addr addr, void* data, size_t bytes);

  // After sc_start: when the last core finished, and the first failure (empty when none).
  sc_core::sc_time finish_time() const;
  std::string failure() const;
  // Accounts leakage and closes traces (call once after sc_start).
  void finalize();

  // Progress, readable from another thread while the simulation runs.
  struct Progress {
    std::atomic<uint64_t> simulated_ps{0};
    std::atomic<uint64_t> inferences{0};
  };
  const Progress& progress() const { return progress_; }

  // Data from a host outside the NoC into a core's memory (recorded as an arrival of `tag`).
  void deliver(int to_core, int from_core, int tag, core::Addr destination,
               const std::vector<uint8_t>& data, const sc_core::sc_time& arrival);

  // CoreServices (what the chip observes of its cores; gating goes through each core's sockets)
  void inference_done(int core, int inference, const sc_core::sc_time& at) override;
  void command_issued(int core, const std::string& layer) override;
  void command_done(int core, const std::string& layer, const sc_core::sc_time& begin,
                    const sc_core::sc_time& end) override;

  // Per-layer accounts (complete after finalize()).
  const LayerAccountMap& layer_accounts() const { return layers_->accounts(); }

 private:
  const PlatformSpec& spec_;
  kernel::Clock clock_;
  kernel::FixedTemperature temperature_;
  std::vector<std::unique_ptr<core::Core>> cores_;
  std::unique_ptr<noc::Noc> noc_;
  Progress progress_;
  std::vector<uint64_t> completed_;  // inferences completed per core
  std::unique_ptr<LayerAccounts> layers_;
  bool finalized_ = false;
};

}  // namespace cimtlm::platforms
