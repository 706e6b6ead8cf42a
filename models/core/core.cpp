#include "models/core/core.h"

#include <stdexcept>

namespace cimtlm::core {

Core::Core(const sc_core::sc_module_name& name, int id, const CoreConfig& config,
           const kernel::Clock& clock, CoreServices& services,
           kernel::TemperatureSource& temperature, kernel::StatGroup& stats,
           kernel::VcdTrace* trace, uint64_t seed)
    : sc_module(name), id_(id) {
  memory_ = std::make_unique<memory::MemoryHierarchy>("memory", config.memory, clock,
                                                      stats.child("memory", "memory"), temperature,
                                                      trace, seed * 1000003 + static_cast<uint64_t>(id));
  for (int index = 0; index < config.core.macros; ++index) {
    cim::CimMacroParams params = config.cim;
    // Every macro draws its own non-idealities.
    params.seed = config.cim.seed * 7919 + static_cast<uint64_t>(id) * 131 + static_cast<uint64_t>(index);
    const std::string macro_name = "cim" + std::to_string(index);
    macros_.push_back(std::make_unique<cim::CimMacro>(
        macro_name.c_str(), params, clock, stats.child(macro_name, "cim"), trace));
  }
  arith_ = std::make_unique<arith::ArithDevice>("arith", config.arith, clock,
                                                stats.child("arith", "arith"), trace);
  controller_ = std::make_unique<CoreController>("controller", id, config.core, clock, services,
                                                 stats.child("controller", "core"), trace);
  controller_->memory.bind(memory_->target);
  controller_->power.bind(memory_->power);
  controller_->arith.bind(arith_->target);
  for (int index = 0; index < config.core.macros; ++index) {
    controller_->cim[static_cast<size_t>(index)]->bind(macros_[static_cast<size_t>(index)]->target);
  }
}

void Core::load(const Program& program, int inferences) {
  for (const auto& image : program.images) {
    if (!memory_->write_image(image.addr, image.bytes.data(), image.bytes.size())) {
      throw std::out_of_range("core " + std::to_string(id_) + ": memory image '" + image.what +
                              "' of " + std::to_string(image.bytes.size()) +
                              " bytes does not fit at its address");
    }
  }
  arith_->install_kernels(program);
  controller_->load(program, inferences);
}

void Core::finalize(const sc_core::sc_time& end) {
  memory_->finalize(end);
  for (auto& macro : macros_) macro->finalize(end);
  arith_->finalize(end);
}

}  // namespace cimtlm::core
