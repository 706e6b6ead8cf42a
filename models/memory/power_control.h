// The register map of the memory hierarchy's power-control target (MemoryHierarchy::power;
// models/memory/README.md "Power-control registers"): one 64-bit register per level, so that an
// initiator gates memory levels through a socket, as a core's controller or another platform's
// power manager would. A header of constants only: initiators include it without the model.
#pragma once

#include <cstdint>

namespace cimtlm::memory::power_regs {

// Level i's register is at kStride * i; accesses of 4 or 8 bytes at a register's offset.
constexpr uint64_t kStride = 8;
// Written values: gate the level (the data are kept as its cells allow) or wake it. A read
// returns the level's state (1 gated or entering the gated state, 0 powered).
constexpr uint64_t kWake = 0;
constexpr uint64_t kGate = 1;

constexpr uint64_t offset(int level) {
  return kStride * static_cast<uint64_t>(level);
}

}  // namespace cimtlm::memory::power_regs
