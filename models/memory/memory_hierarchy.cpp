#include "models/memory/memory_hierarchy.h"

#include <cstring>
#include <set>
#include <stdexcept>

namespace cimtlm::memory {

MemoryHierarchy::MemoryHierarchy(const sc_core::sc_module_name& name,
                                 const std::vector<MemoryLevelParams>& levels,
                                 const kernel::Clock& clock, kernel::StatGroup& stats,
                                 kernel::TemperatureSource& temperature, kernel::VcdTrace* vcd,
                                 uint64_t seed)
    : sc_core::sc_module(name),
      address_errors_(stats.count("address_errors", "accesses to unmapped addresses")) {
  if (levels.empty()) throw std::invalid_argument("memory hierarchy: no levels");
  std::set<std::string> names;
  for (const auto& params : levels) {
    if (!names.insert(params.name).second) {
      throw std::invalid_argument("memory hierarchy: level name '" + params.name + "' used twice");
    }
  }
  for (size_t index = 0; index < levels.size(); ++index) {
    const auto& params = levels[index];
    kernel::StatGroup& level_stats = stats.child(params.name, "memory");
    levels_.push_back(std::make_unique<MemoryLevel>(params.name.c_str(), params, clock, level_stats,
                                                    temperature, vcd, seed,
                                                    base(static_cast<int>(index))));
    level_sockets_.push_back(std::make_unique<LevelSocket>(("to_" + params.name).c_str()));
    level_sockets_.back()->register_invalidate_direct_mem_ptr(
        this, &MemoryHierarchy::invalidate_direct_mem_ptr, static_cast<int>(index));
    level_sockets_.back()->bind(levels_.back()->target);
  }
  target.register_b_transport(this, &MemoryHierarchy::b_transport);
  target.register_transport_dbg(this, &MemoryHierarchy::transport_dbg);
  target.register_get_direct_mem_ptr(this, &MemoryHierarchy::get_direct_mem_ptr);
  power.register_b_transport(this, &MemoryHierarchy::power_transport);
}

MemoryHierarchy::~MemoryHierarchy() = default;

uint64_t MemoryHierarchy::capacity(int level) const {
  return levels_.at(static_cast<size_t>(level))->params().capacity_bytes;
}

int MemoryHierarchy::level_of(uint64_t addr) const {
  const uint64_t index = addr / kLevelAddressStride;
  if (index >= levels_.size()) return -1;
  if (addr % kLevelAddressStride >= levels_[index]->params().capacity_bytes) return -1;
  return static_cast<int>(index);
}

int MemoryHierarchy::level_index(const std::string& name) const {
  for (size_t index = 0; index < levels_.size(); ++index) {
    if (levels_[index]->params().name == name) return static_cast<int>(index);
  }
  return -1;
}

int MemoryHierarchy::weights_level() const {
  int best = -1;
  for (int index = 0; index < level_count(); ++index) {
    const auto& params = level(index).params();
    if (params.off_chip || params.static_cell) continue;
    // Compared at 85 C: levels give their retention at different temperatures.
    constexpr double kCompareAtK = 358.15;
    if (best < 0 ||
        params.retention_s(kCompareAtK) > level(best).params().retention_s(kCompareAtK)) {
      best = index;
    }
  }
  return best < 0 ? 0 : best;
}

int MemoryHierarchy::activations_level() const {
  // The fastest on-chip level other than the weights' one when there is another.
  int on_chip = 0;
  for (int index = 0; index < level_count(); ++index)
    on_chip += level(index).params().off_chip ? 0 : 1;
  const int weights = on_chip > 1 ? weights_level() : -1;
  int best = -1;
  for (int index = 0; index < level_count(); ++index) {
    const auto& params = level(index).params();
    if (params.off_chip || index == weights) continue;
    if (best < 0 || params.read_cycles < level(best).params().read_cycles) best = index;
  }
  return best < 0 ? 0 : best;
}

void MemoryHierarchy::set_gated(int level_number, bool gated, const sc_core::sc_time& at) {
  level(level_number).set_gated(gated, at);
}

void MemoryHierarchy::temperature_changed(const sc_core::sc_time& at) {
  for (auto& memory_level : levels_) memory_level->sample_temperature(at);
}

bool MemoryHierarchy::write_image(uint64_t addr, const uint8_t* data, size_t size) {
  const int index = level_of(addr);
  if (index < 0) return false;
  return level(index).write_image(addr - base(index), data, size);
}

bool MemoryHierarchy::read_image(uint64_t addr, uint8_t* data, size_t size) const {
  const int index = level_of(addr);
  if (index < 0) return false;
  return level(index).read_image(addr - base(index), data, size);
}

std::vector<RetentionEvent> MemoryHierarchy::violations() const {
  std::vector<RetentionEvent> all;
  for (const auto& memory_level : levels_) {
    const auto& events = memory_level->violations();
    all.insert(all.end(), events.begin(), events.end());
  }
  return all;
}

bool MemoryHierarchy::failed() const {
  for (const auto& memory_level : levels_) {
    for (const auto& event : memory_level->violations()) {
      if (event.policy == RetentionPolicy::Error) return true;
    }
  }
  return false;
}

void MemoryHierarchy::finalize(const sc_core::sc_time& end) {
  for (auto& memory_level : levels_) memory_level->finalize(end);
}

std::vector<LevelActivity> MemoryHierarchy::activity() const {
  std::vector<LevelActivity> all;
  for (const auto& memory_level : levels_) all.push_back(memory_level->activity());
  return all;
}

std::vector<MemoryLevelParams> MemoryHierarchy::params() const {
  std::vector<MemoryLevelParams> all;
  for (const auto& memory_level : levels_) all.push_back(memory_level->params());
  return all;
}

void MemoryHierarchy::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t addr = trans.get_address();
  const int index = level_of(addr);
  if (index < 0) {
    ++address_errors_;
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  trans.set_address(addr - base(index));
  (*level_sockets_[static_cast<size_t>(index)])->b_transport(trans, delay);
  trans.set_address(addr);
}

unsigned int MemoryHierarchy::transport_dbg(tlm::tlm_generic_payload& trans) {
  const uint64_t addr = trans.get_address();
  const int index = level_of(addr);
  if (index < 0) return 0;
  trans.set_address(addr - base(index));
  const unsigned int count = (*level_sockets_[static_cast<size_t>(index)])->transport_dbg(trans);
  trans.set_address(addr);
  return count;
}

bool MemoryHierarchy::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  const uint64_t addr = trans.get_address();
  const int index = level_of(addr);
  if (index < 0) {
    // Deny for the unmapped rest of the level window.
    const uint64_t window = addr / kLevelAddressStride;
    const uint64_t start = window < levels_.size()
                               ? base(static_cast<int>(window)) + capacity(static_cast<int>(window))
                               : window * kLevelAddressStride;
    dmi.allow_none();
    dmi.set_start_address(start);
    dmi.set_end_address(window * kLevelAddressStride + (kLevelAddressStride - 1));
    return false;
  }
  trans.set_address(addr - base(index));
  const bool granted =
      (*level_sockets_[static_cast<size_t>(index)])->get_direct_mem_ptr(trans, dmi);
  trans.set_address(addr);
  dmi.set_start_address(dmi.get_start_address() + base(index));
  dmi.set_end_address(dmi.get_end_address() + base(index));
  return granted;
}

void MemoryHierarchy::invalidate_direct_mem_ptr(int level_number, sc_dt::uint64 start,
                                                sc_dt::uint64 end) {
  target->invalidate_direct_mem_ptr(base(level_number) + start, base(level_number) + end);
}

void MemoryHierarchy::power_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const uint64_t address = trans.get_address();
  const unsigned length = trans.get_data_length();
  if (trans.get_byte_enable_ptr() != nullptr) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  if ((length != 4 && length != 8) || trans.get_streaming_width() < length ||
      trans.get_data_ptr() == nullptr) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  if (address % power_regs::kStride != 0 ||
      address / power_regs::kStride >= static_cast<uint64_t>(level_count())) {
    trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const int index = static_cast<int>(address / power_regs::kStride);
  uint64_t value = 0;  // little-endian: a 4-byte access is the register's low half
  if (trans.is_write()) {
    std::memcpy(&value, trans.get_data_ptr(), length);
    if (value != power_regs::kGate && value != power_regs::kWake) {
      trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return;
    }
    // The register answers at once; gating and waking take their time inside the level.
    set_gated(index, value == power_regs::kGate, sc_core::sc_time_stamp() + delay);
  } else if (trans.is_read()) {
    value = level(index).gated() ? power_regs::kGate : power_regs::kWake;
    std::memcpy(trans.get_data_ptr(), &value, length);
  } else {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace cimtlm::memory
