// The memory hierarchy of one core: its levels behind one TLM-2.0 target socket with a flat
// address map. Level i occupies [i << 32, (i << 32) + capacity_i): a level's index is the upper
// 32 bits of an address, its offset the lower 32 bits.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/time.h"
#include "models/kernel/vcd.h"
#include "models/memory/memory_level.h"
#include "models/memory/memory_params.h"
#include "models/memory/power_control.h"

namespace cimtlm::memory {

class MemoryHierarchy : public sc_core::sc_module {
 public:
  static constexpr uint64_t kLevelAddressStride = 1ULL << 32;

  tlm_utils::simple_target_socket<MemoryHierarchy> target{"target"};
  // Power control (power_control.h; README.md "Power-control registers"): a write of 1 to level
  // i's register gates it, 0 wakes it, at the transaction's time (sc_time_stamp() + delay, the
  // delay returned unchanged); a read returns 1 while gated. Optional: a platform that never
  // gates leaves it unbound.
  tlm_utils::simple_target_socket_optional<MemoryHierarchy> power{"power"};

  // One child stat group per level (named after the level, component "memory") under `stats`.
  // Throws std::invalid_argument when a level's parameters are invalid or names repeat.
  MemoryHierarchy(const sc_core::sc_module_name& name, const std::vector<MemoryLevelParams>& levels,
                  const kernel::Clock& clock, kernel::StatGroup& stats,
                  kernel::TemperatureSource& temperature, kernel::VcdTrace* vcd, uint64_t seed);
  ~MemoryHierarchy() override;

  int level_count() const { return static_cast<int>(levels_.size()); }
  uint64_t base(int level) const { return static_cast<uint64_t>(level) * kLevelAddressStride; }
  uint64_t capacity(int level) const;
  // The level holding `addr`, or -1 for an unmapped address.
  int level_of(uint64_t addr) const;
  // The level named `name`, or -1.
  int level_index(const std::string& name) const;
  MemoryLevel& level(int index) { return *levels_.at(static_cast<size_t>(index)); }
  const MemoryLevel& level(int index) const { return *levels_.at(static_cast<size_t>(index)); }

  // Default placement: weights in the on-chip level with the longest retention (dynamic cells
  // that keep data through power gating), activations in the fastest other on-chip level (the
  // weights level only when it is the only one on chip).
  int weights_level() const;
  int activations_level() const;

  void set_gated(int level, bool gated, const sc_core::sc_time& at);
  // The temperature source changed at `at` (levels otherwise read it at their accesses).
  void temperature_changed(const sc_core::sc_time& at);

  // Backdoor (untimed): preload weights and inputs, read outputs. False when [addr, addr+size)
  // is not inside one level.
  bool write_image(uint64_t addr, const uint8_t* data, size_t size);
  bool read_image(uint64_t addr, uint8_t* data, size_t size) const;

  // Retention violations of every level, in level order (each level keeps at most
  // max_recorded_violations events; the stats count all).
  std::vector<RetentionEvent> violations() const;
  // True when a violation under policy "error" happened: the run must exit 1 with
  // violations()'s first error message.
  bool failed() const;

  // Accounts leakage, refresh and gated time up to `end` (call once after sc_start).
  void finalize(const sc_core::sc_time& end);
  std::vector<LevelActivity> activity() const;
  std::vector<MemoryLevelParams> params() const;

 private:
  using LevelSocket = tlm_utils::simple_initiator_socket_tagged<MemoryHierarchy>;

  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  void invalidate_direct_mem_ptr(int level, sc_dt::uint64 start, sc_dt::uint64 end);
  void power_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

  std::vector<std::unique_ptr<MemoryLevel>> levels_;
  std::vector<std::unique_ptr<LevelSocket>> level_sockets_;
  uint64_t& address_errors_;
};

}  // namespace cimtlm::memory
