#include "platforms/config/units.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace cimtlm::platforms {

namespace {

struct UnitEntry {
  const char* spelling;
  Dimension dimension;
  double scale;          // SI = value * scale + offset
  double offset = 0.0;
};

// Case matters for SI prefixes (mW vs MW); "u" stands for micro.
const UnitEntry kUnits[] = {
    {"Hz", Dimension::Frequency, 1.0},      {"kHz", Dimension::Frequency, 1e3},
    {"MHz", Dimension::Frequency, 1e6},     {"GHz", Dimension::Frequency, 1e9},
    {"s", Dimension::Time, 1.0},            {"ms", Dimension::Time, 1e-3},
    {"us", Dimension::Time, 1e-6},          {"ns", Dimension::Time, 1e-9},
    {"ps", Dimension::Time, 1e-12},         {"min", Dimension::Time, 60.0},
    {"h", Dimension::Time, 3600.0},         {"day", Dimension::Time, 86400.0},
    {"days", Dimension::Time, 86400.0},     {"K", Dimension::Temperature, 1.0},
    {"C", Dimension::Temperature, 1.0, 273.15},
    {"degC", Dimension::Temperature, 1.0, 273.15},
    {"B", Dimension::Size, 1.0},            {"KiB", Dimension::Size, 1024.0},
    {"MiB", Dimension::Size, 1024.0 * 1024.0},
    {"GiB", Dimension::Size, 1024.0 * 1024.0 * 1024.0},
    {"kB", Dimension::Size, 1e3},           {"MB", Dimension::Size, 1e6},
    {"GB", Dimension::Size, 1e9},           {"bit", Dimension::Size, 0.125},
    {"Kibit", Dimension::Size, 128.0},      {"Mibit", Dimension::Size, 131072.0},
    {"J", Dimension::Energy, 1.0},          {"mJ", Dimension::Energy, 1e-3},
    {"uJ", Dimension::Energy, 1e-6},        {"nJ", Dimension::Energy, 1e-9},
    {"pJ", Dimension::Energy, 1e-12},       {"fJ", Dimension::Energy, 1e-15},
    {"aJ", Dimension::Energy, 1e-18},       {"W", Dimension::Power, 1.0},
    {"mW", Dimension::Power, 1e-3},         {"uW", Dimension::Power, 1e-6},
    {"nW", Dimension::Power, 1e-9},         {"pW", Dimension::Power, 1e-12},
    {"fW", Dimension::Power, 1e-15},        {"aW", Dimension::Power, 1e-18},
    {"zW", Dimension::Power, 1e-21},        {"m2", Dimension::Area, 1.0},
    {"mm2", Dimension::Area, 1e-6},         {"um2", Dimension::Area, 1e-12},
    {"nm2", Dimension::Area, 1e-18},        {"eV", Dimension::ActivationEnergy, 1.0},
    {"meV", Dimension::ActivationEnergy, 1e-3},
    {"cycles", Dimension::Cycles, 1.0},     {"cycle", Dimension::Cycles, 1.0},
    {"%", Dimension::Dimensionless, 0.01},
};

std::string trim(const std::string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

std::string unit_list(Dimension dimension) {
  std::string list;
  for (const auto& unit : accepted_units(dimension)) list += (list.empty() ? "" : ", ") + unit;
  return list;
}

}  // namespace

const char* dimension_name(Dimension dimension) {
  switch (dimension) {
    case Dimension::Dimensionless: return "number";
    case Dimension::Frequency: return "frequency";
    case Dimension::Time: return "time";
    case Dimension::Temperature: return "temperature";
    case Dimension::Size: return "size";
    case Dimension::Energy: return "energy";
    case Dimension::Power: return "power";
    case Dimension::Area: return "area";
    case Dimension::ActivationEnergy: return "activation energy";
    case Dimension::Cycles: return "cycles";
  }
  return "?";
}

const char* display_unit(Dimension dimension) {
  switch (dimension) {
    case Dimension::Dimensionless: return "";
    case Dimension::Frequency: return "Hz";
    case Dimension::Time: return "s";
    case Dimension::Temperature: return "K";
    case Dimension::Size: return "B";
    case Dimension::Energy: return "J";
    case Dimension::Power: return "W";
    case Dimension::Area: return "m2";
    case Dimension::ActivationEnergy: return "eV";
    case Dimension::Cycles: return "cycles";
  }
  return "";
}

std::vector<std::string> accepted_units(Dimension dimension) {
  std::vector<std::string> units;
  for (const auto& unit : kUnits) {
    if (unit.dimension == dimension) units.emplace_back(unit.spelling);
  }
  return units;
}

std::optional<Quantity> parse_quantity(const std::string& raw, Dimension dimension,
                                       std::string& error) {
  const std::string text = trim(raw);
  if (text.empty()) {
    error = "empty value, expected a " + std::string(dimension_name(dimension));
    return std::nullopt;
  }
  const char* begin = text.c_str();
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number)) {
    error = "'" + text + "' is not a number";
    if (dimension != Dimension::Dimensionless && dimension != Dimension::Cycles) {
      error += " with a unit (e.g. '1 " + accepted_units(dimension).front() + "')";
    }
    return std::nullopt;
  }
  const std::string unit = trim(std::string(end));
  if (unit.empty()) {
    // A bare number: only for counts; physical quantities need their unit spelled out so that
    // "1" never silently means 1 Hz or 1 s.
    if (dimension == Dimension::Dimensionless || dimension == Dimension::Cycles) {
      return Quantity{number};
    }
    error = "'" + text + "' has no unit; a " + std::string(dimension_name(dimension)) +
            " needs one of: " + unit_list(dimension);
    return std::nullopt;
  }
  for (const auto& entry : kUnits) {
    if (unit != entry.spelling) continue;
    if (entry.dimension != dimension) {
      error = "unit '" + unit + "' is a " + dimension_name(entry.dimension) + ", expected a " +
              dimension_name(dimension) +
              (dimension == Dimension::Dimensionless ? std::string(" (no unit)")
                                                     : " (" + unit_list(dimension) + ")");
      return std::nullopt;
    }
    return Quantity{number * entry.scale + entry.offset};
  }
  error = "unknown unit '" + unit + "'";
  if (dimension != Dimension::Dimensionless) {
    error += " for a " + std::string(dimension_name(dimension)) + " (use " +
             unit_list(dimension) + ")";
  } else {
    error += " (this key takes a plain number)";
  }
  return std::nullopt;
}

std::string format_quantity(double si, Dimension dimension) {
  struct Choice {
    const char* unit;
    double scale;
  };
  auto pick = [&](std::initializer_list<Choice> choices) {
    // Largest unit in which the magnitude is >= 1 (or the smallest one).
    const double magnitude = std::fabs(si);
    Choice best = *(choices.end() - 1);
    for (const auto& choice : choices) {
      if (magnitude >= choice.scale * (1 - 1e-12)) {
        best = choice;
        break;
      }
    }
    std::ostringstream out;
    out.precision(6);
    out << si / best.scale << ' ' << best.unit;
    return out.str();
  };
  switch (dimension) {
    case Dimension::Frequency: return pick({{"GHz", 1e9}, {"MHz", 1e6}, {"kHz", 1e3}, {"Hz", 1}});
    case Dimension::Time:
      return pick({{"day", 86400}, {"h", 3600}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6},
                   {"ns", 1e-9}, {"ps", 1e-12}});
    case Dimension::Temperature: {
      std::ostringstream out;
      out.precision(6);
      out << si - 273.15 << " C";
      return out.str();
    }
    case Dimension::Size: {
      const double magnitude = std::fabs(si);
      for (const Choice& choice : {Choice{"GiB", 1073741824.0}, Choice{"MiB", 1048576.0},
                                   Choice{"KiB", 1024.0}}) {
        if (magnitude >= choice.scale && std::fmod(magnitude, choice.scale / 1024.0) == 0.0) {
          std::ostringstream out;
          out.precision(10);
          out << si / choice.scale << ' ' << choice.unit;
          return out.str();
        }
      }
      std::ostringstream out;
      out.precision(10);
      out << si << " B";
      return out.str();
    }
    case Dimension::Energy:
      return pick({{"J", 1}, {"mJ", 1e-3}, {"uJ", 1e-6}, {"nJ", 1e-9}, {"pJ", 1e-12},
                   {"fJ", 1e-15}, {"aJ", 1e-18}});
    case Dimension::Power:
      return pick({{"W", 1}, {"mW", 1e-3}, {"uW", 1e-6}, {"nW", 1e-9}, {"pW", 1e-12},
                   {"fW", 1e-15}, {"aW", 1e-18}, {"zW", 1e-21}});
    case Dimension::Area: return pick({{"mm2", 1e-6}, {"um2", 1e-12}, {"nm2", 1e-18}});
    case Dimension::ActivationEnergy: return pick({{"eV", 1}, {"meV", 1e-3}});
    case Dimension::Cycles:
    case Dimension::Dimensionless: {
      std::ostringstream out;
      out.precision(10);
      out << si;
      return out.str();
    }
  }
  return std::to_string(si);
}

}  // namespace cimtlm::platforms
