#include "models/memory/memory_report.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace cimtlm::memory {

StackFootprint stack_footprint(const std::vector<MemoryLevelParams>& levels,
                               double silicon_logic_area_mm2) {
  StackFootprint footprint;
  int top = 0;
  for (const auto& level : levels) {
    if (!level.off_chip) top = std::max(top, level.stack_layer);
  }
  footprint.layers.resize(static_cast<size_t>(top) + 1);
  for (int layer = 0; layer <= top; ++layer)
    footprint.layers[static_cast<size_t>(layer)].layer = layer;
  footprint.layers[0].area_mm2 = silicon_logic_area_mm2;
  for (const auto& level : levels) {
    StackFootprint::Hops hops;
    hops.level = level.name;
    hops.layers_crossed = level.off_chip ? 0 : level.stack_layer;
    footprint.vertical_hops.push_back(hops);
    if (level.off_chip) continue;
    LayerArea& layer = footprint.layers[static_cast<size_t>(level.stack_layer)];
    layer.area_mm2 += level.area_um2_per_bit * level.bits() * 1e-6;  // um2 -> mm2
    layer.levels.push_back(level.name);
    if (level.silicon_area_um2_per_bit > 0) {
      LayerArea& base = footprint.layers[0];
      base.area_mm2 += level.silicon_area_um2_per_bit * level.bits() * 1e-6;
      if (level.stack_layer != 0) base.levels.push_back(level.name + " (periphery)");
    }
  }
  for (const auto& layer : footprint.layers) {
    footprint.stacked_mm2 = std::max(footprint.stacked_mm2, layer.area_mm2);
    footprint.planar_mm2 += layer.area_mm2;
  }
  return footprint;
}

void print_footprint(std::ostream& out, const StackFootprint& footprint) {
  out << "memory footprint by layer\n";
  out << "  " << std::left << std::setw(16) << "layer" << std::right << std::setw(12) << "mm2"
      << "  levels\n";
  for (const auto& layer : footprint.layers) {
    const std::string name =
        layer.layer == 0 ? "0 silicon base"
                         : std::to_string(layer.layer) + " OS layer " + std::to_string(layer.layer);
    out << "  " << std::left << std::setw(16) << name << std::right << std::setw(12) << std::fixed
        << std::setprecision(4) << layer.area_mm2 << "  ";
    for (size_t index = 0; index < layer.levels.size(); ++index) {
      out << (index ? ", " : "") << layer.levels[index];
    }
    out << '\n';
  }
  out << "  stacked footprint (largest layer): " << footprint.stacked_mm2 << " mm2\n";
  out << "  planar footprint (sum of layers):  " << footprint.planar_mm2 << " mm2\n";
  out << "  vertical hops:";
  for (const auto& hops : footprint.vertical_hops) {
    out << ' ' << hops.level << '=' << hops.layers_crossed;
  }
  out << '\n';
  out.unsetf(std::ios::floatfield);
}

SramComparison sram_equivalent(const MemoryLevelParams& level, const LevelActivity& activity,
                               const MemoryLevelParams& sram, double temperature_k) {
  SramComparison comparison;
  comparison.level = level.name;
  comparison.technology = level.technology;
  comparison.actual = activity;
  comparison.sram_access_pj =
      static_cast<double>(activity.bytes_read) * 8.0 * sram.read_energy_pj_per_bit +
      static_cast<double>(activity.bytes_written) * 8.0 * sram.write_energy_pj_per_bit;
  // pW/bit x bits x ns x 1e-9 = pJ.
  comparison.sram_leakage_pj =
      sram.leakage_pw_per_bit_at(temperature_k) * level.bits() * activity.simulated_ns * 1e-9;
  return comparison;
}

void print_sram_comparison(std::ostream& out, const std::vector<SramComparison>& rows) {
  out << "memory energy by level (pJ), next to silicon SRAM of the same capacity for the same "
         "run\n";
  out << "  " << std::left << std::setw(12) << "level" << std::setw(8) << "tech" << std::right
      << std::setw(13) << "access" << std::setw(13) << "refresh" << std::setw(13) << "leakage"
      << std::setw(13) << "wake-up" << std::setw(13) << "total" << std::setw(13) << "SRAM access"
      << std::setw(13) << "SRAM leak" << std::setw(13) << "SRAM total" << '\n';
  for (const auto& row : rows) {
    out << "  " << std::left << std::setw(12) << row.level << std::setw(8) << row.technology
        << std::right << std::scientific << std::setprecision(3) << std::setw(13)
        << row.actual.access_energy_pj + row.actual.vertical_hop_energy_pj << std::setw(13)
        << row.actual.refresh_energy_pj << std::setw(13) << row.actual.leakage_energy_pj
        << std::setw(13) << row.actual.wakeup_energy_pj << std::setw(13)
        << row.actual.total_energy_pj() << std::setw(13) << row.sram_access_pj << std::setw(13)
        << row.sram_leakage_pj << std::setw(13) << row.sram_total_pj() << '\n';
  }
  out.unsetf(std::ios::floatfield);
  out << std::setprecision(6);
}

RetentionTable retention_table(const std::vector<MemoryLevelParams>& technologies, double from_c,
                               double to_c, double step_c) {
  RetentionTable table;
  for (const auto& params : technologies) table.technologies.push_back(params.name);
  const int steps = static_cast<int>(std::floor((to_c - from_c) / step_c + 1e-9));
  for (int step = 0; step <= steps; ++step) {
    const double celsius = from_c + step * step_c;
    table.temperatures_c.push_back(celsius);
    std::vector<double> row;
    for (const auto& params : technologies) {
      row.push_back(params.retention_s(celsius + kZeroCelsiusK));
    }
    table.retention_s.push_back(row);
  }
  return table;
}

void write_retention_csv(std::ostream& out, const RetentionTable& table) {
  out << "temperature_c,temperature_k";
  for (const auto& name : table.technologies) out << ',' << name << "_s";
  out << '\n';
  for (size_t row = 0; row < table.temperatures_c.size(); ++row) {
    out << table.temperatures_c[row] << ',' << table.temperatures_c[row] + kZeroCelsiusK;
    for (double seconds : table.retention_s[row]) {
      out << ',';
      if (std::isinf(seconds)) {
        out << "inf";
      } else {
        out << std::setprecision(6) << seconds;
      }
    }
    out << '\n';
  }
}

std::string format_duration_s(double seconds) {
  if (std::isinf(seconds)) return "static";
  std::ostringstream out;
  out << std::setprecision(3);
  if (seconds < 1e-3) {
    out << seconds * 1e6 << " us";
  } else if (seconds < 1.0) {
    out << seconds * 1e3 << " ms";
  } else if (seconds < 120.0) {
    out << seconds << " s";
  } else if (seconds < 7200.0) {
    out << seconds / 60.0 << " min";
  } else if (seconds < 2.0 * 86400.0) {
    out << seconds / 3600.0 << " h";
  } else if (seconds < 2.0 * 365.25 * 86400.0) {
    out << seconds / 86400.0 << " days";
  } else {
    out << seconds / (365.25 * 86400.0) << " years";
  }
  return out.str();
}

void print_retention_table(std::ostream& out, const RetentionTable& table) {
  out << "data retention versus temperature (the technologies' laws)\n";
  out << "  " << std::right << std::setw(6) << "T [C]";
  for (const auto& name : table.technologies) out << std::setw(14) << name;
  out << '\n';
  for (size_t row = 0; row < table.temperatures_c.size(); ++row) {
    out << "  " << std::setw(6) << table.temperatures_c[row];
    for (double seconds : table.retention_s[row])
      out << std::setw(14) << format_duration_s(seconds);
    out << '\n';
  }
}

}  // namespace cimtlm::memory
