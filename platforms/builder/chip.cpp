#include "platforms/builder/chip.h"

#include <algorithm>

namespace cimtlm::platforms {

Chip::Chip(const sc_core::sc_module_name& name, const PlatformSpec& spec, kernel::StatGroup& stats,
           kernel::VcdTrace* trace)
    : sc_module(name),
      spec_(spec),
      clock_(spec.clock_hz),
      temperature_(spec.temperature_k),
      completed_(static_cast<size_t>(spec.cores()), 0) {
  core::CoreConfig config;
  config.core = spec.core;
  config.cim = spec.cim;
  config.arith = spec.arith;
  config.memory = spec.memory_levels;
  for (int index = 0; index < spec.cores(); ++index) {
    const std::string core_name = "core" + std::to_string(index);
    cores_.push_back(std::make_unique<core::Core>(core_name.c_str(), index, config, clock_, *this,
                                                  temperature_, stats.child(core_name, "core"),
                                                  trace, spec.seed));
  }
  // After the cores, so that the trace lists every core's blocks first.
  noc_ = std::make_unique<noc::Noc>("noc", spec.noc, clock_, stats.child("noc", "noc"), trace);
  for (auto& core : cores_) {
    core->controller().network.bind(noc_->interface(core->id()).target);
    noc_->interface(core->id()).delivery.bind(core->controller().network_in);
  }
  std::vector<const kernel::StatGroup*> core_stats;
  for (int index = 0; index < spec.cores(); ++index) {
    core_stats.push_back(stats.find_child("core" + std::to_string(index)));
  }
  layers_ = std::make_unique<LayerAccounts>(core_stats);
}

Chip::~Chip() = default;

void Chip::load(const core::ChipProgram& program, int inferences) {
  for (size_t index = 0; index < cores_.size(); ++index) {
    cores_[index]->load(index < program.cores.size() ? program.cores[index] : core::Program{},
                        inferences);
  }
}

bool Chip::write(int core, core::Addr addr, const void* data, size_t bytes) {
  return cores_.at(static_cast<size_t>(core))
      ->memory()
      .write_image(addr, static_cast<const uint8_t*>(data), bytes);
}

bool Chip::read(int core, core::Addr addr, void* data, size_t bytes) {
  return cores_.at(static_cast<size_t>(core))->memory().read_image(addr, static_cast<uint8_t*>(data), bytes);
}

sc_core::sc_time Chip::finish_time() const {
  sc_core::sc_time end = sc_core::SC_ZERO_TIME;
  for (const auto& core : cores_) end = std::max(end, core->controller().finish_time());
  return end;
}

std::string Chip::failure() const {
  // A retention violation under policy "error" explains the read error that follows it.
  for (const auto& core : cores_) {
    if (core->memory().failed()) {
      for (const auto& violation : core->memory().violations()) {
        if (violation.policy == memory::RetentionPolicy::Error) {
          return "core " + std::to_string(core->id()) + ": " + violation.message();
        }
      }
    }
  }
  for (const auto& core : cores_) {
    if (!core->controller().error().empty()) return core->controller().error();
  }
  for (const auto& core : cores_) {
    if (!core->controller().finished()) {
      return "core " + std::to_string(core->id()) +
             " did not finish its program (waiting for data that never came)";
    }
  }
  return "";
}

void Chip::finalize() {
  if (finalized_) return;
  finalized_ = true;
  const sc_core::sc_time end = finish_time();
  layers_->finish();  // before leakage and refresh are accounted: they belong to no layer
  for (auto& core : cores_) core->finalize(end);
  noc_->finalize(end);
}

void Chip::deliver(int to_core, int from_core, int tag, core::Addr destination,
                   const std::vector<uint8_t>& data, const sc_core::sc_time& arrival) {
  cores_.at(static_cast<size_t>(to_core))->controller().deliver(from_core, tag, destination, data, arrival);
}

void Chip::command_issued(int core, const std::string& layer) {
  layers_->command_issued(core, layer);
}

void Chip::command_done(int core, const std::string& layer, const sc_core::sc_time& begin,
                        const sc_core::sc_time& end) {
  layers_->command_done(core, layer, static_cast<double>(kernel::to_ps(begin)),
                         static_cast<double>(kernel::to_ps(end)));
}

void Chip::inference_done(int core, int inference, const sc_core::sc_time& at) {
  (void)inference;
  ++completed_[static_cast<size_t>(core)];
  progress_.inferences.store(*std::min_element(completed_.begin(), completed_.end()));
  const uint64_t ps = kernel::to_ps(at);
  if (ps > progress_.simulated_ps.load()) progress_.simulated_ps.store(ps);
}

}  // namespace cimtlm::platforms
