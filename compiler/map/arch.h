// What the mapper needs to know about the platform, as plain numbers (the compiler knows no
// SystemC and no YAML: platforms/ fills this from the platform specification).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "models/core/program.h"

namespace cimtlm::map {

struct ArchInfo {
  int cores = 1;
  int mesh_rows = 1;  // NoC rows x cols; core c sits at (c / mesh_cols, c % mesh_cols)
  int mesh_cols = 1;
  int macros_per_core = 1;
  int64_t macro_rows = 256;
  int64_t macro_cols = 256;
  // Weights of a given bit width that fit side by side in one macro (bit slicing and the signed
  // encoding decide it; the CIM model provides the function).
  std::function<int64_t(int weight_bits)> logical_columns;
  uint64_t accumulator_bytes = 65536;
  // Where weights and activations live in every core's address space.
  core::Addr weight_base = 0;
  uint64_t weight_capacity = 0;
  core::Addr activation_base = 0;
  uint64_t activation_capacity = 0;
  // Where weights go when the weight memory is full (in order; e.g. an off-chip DRAM level,
  // then the rest of the activation memory): networks larger than the chip still run, their
  // tiles streamed into the arrays from wherever they are stored.
  struct Region {
    core::Addr base = 0;
    uint64_t capacity = 0;
    bool off_chip = false;
  };
  std::vector<Region> weight_overflow;
  // Where activations that do not fit the activation memory spill: an off-chip level (capacity 0:
  // none). When it is also a weight_overflow region, spilled activations take its lowest bytes
  // and overflowing weights go above them.
  Region activation_spill;
};

}  // namespace cimtlm::map
