// What a memory level did during a run: counts and energies for reports (no SystemC).
#pragma once

#include <cstdint>

namespace cimtlm::memory {

// What a level did during a run (for reports and the SRAM comparison).
struct LevelActivity {
  uint64_t reads = 0, writes = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
  uint64_t refreshes = 0, wakeups = 0, retention_violations = 0;
  double simulated_ns = 0;  // up to finalize()
  double powered_ns = 0;    // not gated
  double gated_ns = 0;
  double access_energy_pj = 0, vertical_hop_energy_pj = 0, refresh_energy_pj = 0,
         wakeup_energy_pj = 0, gate_entry_energy_pj = 0, leakage_energy_pj = 0;
  double total_energy_pj() const {
    return access_energy_pj + vertical_hop_energy_pj + refresh_energy_pj + wakeup_energy_pj +
           gate_entry_energy_pj + leakage_energy_pj;
  }
};

}  // namespace cimtlm::memory
