// Physical quantities in configuration files: "1 GHz", "2 ns", "85 C", "64 KiB", "0.35 pJ".
//
// A value is parsed into SI base units (Hz, s, K, bytes, J, W, m^2, eV) and checked against the
// dimension its key expects; a bare number is accepted where the key's unit is a count.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cimtlm::platforms {

enum class Dimension {
  Dimensionless,  // plain number, optionally "%"
  Frequency,      // Hz
  Time,           // s
  Temperature,    // K (accepts C and K)
  Size,           // bytes (B, KiB, MiB, GiB, kB, MB, GB, bit, Kibit...)
  Energy,         // J (fJ, pJ, nJ, uJ, mJ, J)
  Power,          // W (pW, nW, uW, mW, W)
  Area,           // m^2 (nm2, um2, mm2)
  ActivationEnergy,  // eV
  Cycles,         // clock cycles (bare number or "N cycles")
};

const char* dimension_name(Dimension dimension);
// The unit a value of this dimension is shown in by default (docs, effective config).
const char* display_unit(Dimension dimension);
// All unit spellings accepted for a dimension (for error messages and docs).
std::vector<std::string> accepted_units(Dimension dimension);

struct Quantity {
  double si = 0.0;  // value in SI base units
};

// Parses `text` as a quantity of `dimension`. On failure returns nullopt and sets `error` to a
// message such as "unit 'GHz' is a frequency, expected a time (s, ms, us, ns, ps)".
std::optional<Quantity> parse_quantity(const std::string& text, Dimension dimension,
                                       std::string& error);

// Formats an SI value with the dimension's display unit, e.g. 1e9 Hz -> "1 GHz".
std::string format_quantity(double si, Dimension dimension);

}  // namespace cimtlm::platforms
