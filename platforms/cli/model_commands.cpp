// Sub-commands that exercise one block of a platform on its own: NoC traffic sweeps, the CIM
// macro's sparsity sweep, and retention versus temperature of the memory technologies.
#include <boost/program_options.hpp>

#include <fstream>
#include <sstream>

#include "models/cim/cim_activity.h"
#include "models/cim/cim_area.h"
#include "models/cim/cim_sweep.h"
#include "models/memory/memory_report.h"
#include "models/noc/sweep.h"
#include "platforms/cli/commands.h"
#include "platforms/cli/options.h"
#include "platforms/config/config.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms::cli {

namespace po = boost::program_options;

namespace {



PlatformSpec spec_of(const po::variables_map& values) {
  return build_platform_spec(
      load_config(values["config"].as<std::string>(), platform_schema(), overrides_of(values)));
}

std::vector<double> parse_rates(const std::string& text) {
  std::vector<double> rates;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    double rate = 0;
    try {
      rate = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(rate > 0.0) || rate > 1.0) {
      throw ConfigError("cimtlm noc: --rates " + text + ": '" + item +
                        "' is not an offered load in (0, 1] flits/node/cycle");
    }
    rates.push_back(rate);
  }
  if (rates.empty()) throw ConfigError("cimtlm noc: --rates is empty");
  return rates;
}

}  // namespace

int noc_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm noc CONFIG.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "traffic", po::value<std::string>()->default_value("uniform"),
      "uniform | transpose | bitcomp | hotspot")(
      "rates", po::value<std::string>()->default_value("0.02,0.05,0.1,0.2,0.3,0.4,0.5"),
      "offered loads, flits/node/cycle, comma separated")(
      "packet-flits", po::value<int>()->default_value(1), "flits per packet")(
      "cycles", po::value<uint64_t>()->default_value(20000), "end of the measurement window")(
      "warmup", po::value<uint64_t>()->default_value(5000), "start of the measurement window")(
      "seed", po::value<uint64_t>()->default_value(1), "traffic seed")(
      "hotspot-fraction", po::value<double>()->default_value(0.1), "hotspot: share of packets to the hot spot")(
      "csv", po::value<std::string>(), "write rate,avg_latency_cycles,accepted_flits_per_node_cycle")(
      "set", po::value<std::vector<std::string>>(), "override a configuration key (repeatable)")(
      "config", po::value<std::string>(), "platform file (positional)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm noc", "config", "CONFIG.yaml"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const PlatformSpec spec = spec_of(values);
  noc::NocSweepOptions sweep;
  sweep.traffic = values["traffic"].as<std::string>();
  sweep.rates = parse_rates(values["rates"].as<std::string>());
  sweep.packet_flits = values["packet-flits"].as<int>();
  sweep.cycles = values["cycles"].as<uint64_t>();
  sweep.warmup = values["warmup"].as<uint64_t>();
  sweep.seed = values["seed"].as<uint64_t>();
  sweep.hotspot_fraction = values["hotspot-fraction"].as<double>();
  const std::string csv = values.count("csv") ? values["csv"].as<std::string>() : "";
  return noc::run_noc_command(spec.noc, sweep, out, err, csv);
}

int cim_activity_command(const std::vector<std::string>& args, std::ostream& out,
                         std::ostream& err) {
  po::options_description options("cimtlm cim-activity CONFIG.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "csv", po::value<std::string>(),
      "write the sweep as CSV (plot: scripts/plot_cim_activity.py)")(
      "activities",
      po::value<std::string>()->default_value("0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1"),
      "input-bit activities, comma separated")("vectors", po::value<int64_t>()->default_value(32),
                                               "input vectors per point")(
      "set", po::value<std::vector<std::string>>(), "override a configuration key (repeatable)")(
      "config", po::value<std::string>(), "platform file (positional)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm cim-activity", "config", "CONFIG.yaml"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const PlatformSpec spec = spec_of(values);
  cim::CimActivityOptions sweep;
  {
    std::stringstream stream(values["activities"].as<std::string>());
    std::string item;
    while (std::getline(stream, item, ',')) {
      size_t used = 0;
      double activity = -1;
      try {
        activity = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || !(activity >= 0.0 && activity <= 1.0)) {
        throw ConfigError("cimtlm cim-activity: --activities: '" + item +
                          "' is not an activity in [0, 1]");
      }
      sweep.activities.push_back(activity);
    }
  }
  sweep.vectors_per_point = values["vectors"].as<int64_t>();
  sweep.weight_bits = spec.cim.max_weight_bits;
  sweep.input_bits = spec.cim.max_input_bits;
  sweep.clock_hz = spec.clock_hz;
  sweep.seed = spec.seed;
  std::vector<cim::CimActivityPoint> points;
  try {
    points = cim::run_activity_sweep(spec.cim, sweep,
                                     values.count("csv") ? values["csv"].as<std::string>() : "");
  } catch (const std::invalid_argument& error) {
    err << "cimtlm cim-activity: " << error.what() << '\n';
    return kExitBadInput;
  }
  out << "per input bit-plane over the whole array (" << spec.cim.adc_type << " ADC, "
      << spec.cim.technology_nm << " nm)\n";
  out << "activity  measured  total pJ   ADC pJ  array pJ  digital pJ  leakage pJ  latency\n";
  for (const auto& point : points) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "%8.2f  %8.3f  %8.2f  %7.2f  %8.2f  %10.2f  %10.4f  %.2f ns (%.1f cycles)\n",
                  point.activity, point.measured_activity, point.total_pj, point.adc_pj,
                  point.array_pj, point.digital_pj, point.leakage_pj, point.latency_ns,
                  point.latency_cycles);
    out << line;
  }
  const cim::CimAreaUm2 area = cim::cim_macro_area_um2(spec.cim);
  char line[300];
  std::snprintf(line, sizeof line,
                "area %.1f um2: array %.1f, ADCs %.1f, shift-add %.1f, multiplexers %.1f, "
                "drivers %.1f, buffers %.1f; leakage %.4f uW\n",
                area.total(), area.array, area.adc, area.shift_add, area.mux, area.drivers,
                area.buffers, spec.cim.leakage_mw * 1e3);
  out << line;
  return kExitOk;
}

int cim_sweep_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm cim-sweep CONFIG.yaml [options]");
  options.add_options()("help,h", "show this help")(
      "csv", po::value<std::string>(), "write the sweep as CSV (plot: scripts/plot_cim_sweep.py)")(
      "vectors", po::value<int64_t>()->default_value(64), "input vectors per sweep point")(
      "weight-bits", po::value<int>()->default_value(8), "weight precision")(
      "input-bits", po::value<int>()->default_value(8), "input precision")(
      "input-zero-point", po::value<int>()->default_value(128),
      "input zero point (128: asymmetric, exercises the compensation; 0: ReLU outputs)")(
      "set", po::value<std::vector<std::string>>(), "override a configuration key (repeatable)")(
      "config", po::value<std::string>(), "platform file (positional)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm cim-sweep", "config", "CONFIG.yaml"};
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  const PlatformSpec spec = spec_of(values);
  cim::CimSweepOptions sweep;
  sweep.vectors_per_point = values["vectors"].as<int64_t>();
  sweep.weight_bits = values["weight-bits"].as<int>();
  sweep.input_bits = values["input-bits"].as<int>();
  sweep.input_zero_point = values["input-zero-point"].as<int>();
  sweep.clock_hz = spec.clock_hz;
  sweep.seed = spec.seed;
  std::vector<cim::CimSweepPoint> points;
  try {
    points = cim::run_sparsity_sweep(spec.cim, sweep, values.count("csv") ? values["csv"].as<std::string>() : "");
  } catch (const std::invalid_argument& error) {
    err << "cimtlm cim-sweep: " << error.what() << '\n';
    return kExitBadInput;
  }
  out << "target  pattern    mode     sparsity  disabled  energy/vector  latency/vector  pJ/MAC\n";
  for (const auto& point : points) {
    char line[160];
    std::snprintf(line, sizeof line, "%6.2f  %-9s  %-7s  %8.3f  %8.3f  %10.1f pJ  %9.0f cyc  %7.4f\n",
                  point.target_sparsity, point.pattern.c_str(), point.mode.c_str(),
                  point.measured_sparsity, point.rows_disabled_fraction, point.energy_pj_per_vector,
                  point.latency_cycles_per_vector, point.pj_per_mac);
    out << line;
  }
  return kExitOk;
}

int retention_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  po::options_description options("cimtlm retention [CONFIG.yaml] [options]");
  options.add_options()("help,h", "show this help")(
      "csv", po::value<std::string>(), "write the table as CSV (plot: scripts/plot_retention.py)")(
      "from", po::value<double>()->default_value(25.0), "lowest temperature, C")(
      "to", po::value<double>()->default_value(125.0), "highest temperature, C")(
      "step", po::value<double>()->default_value(5.0), "temperature step, C")(
      "config", po::value<std::string>(),
      "platform file: its memory levels (default: every technology preset)");
  int status = kExitOk;
  CommandLine command_line{"cimtlm retention", "config", "CONFIG"};
  command_line.positional_required = false;
  const auto parsed = parse_command(command_line, options, args, out, err, status);
  if (!parsed) return status;
  const po::variables_map& values = *parsed;
  std::vector<memory::MemoryLevelParams> levels;
  if (values.count("config")) {
    levels = spec_of(values).memory_levels;
  } else {
    for (const char* technology : {"nosram", "dosram", "igzo2t0c", "dram", "sram"}) {
      levels.push_back(technology_preset(technology));
    }
  }
  const double from = values["from"].as<double>(), to = values["to"].as<double>();
  const double step = values["step"].as<double>();
  if (!(step > 0) || to < from) {
    err << "cimtlm retention: need --from <= --to and --step > 0\n";
    return kExitBadInput;
  }
  const memory::RetentionTable table = memory::retention_table(levels, from, to, step);
  memory::print_retention_table(out, table);
  if (values.count("csv")) {
    const std::string path = values["csv"].as<std::string>();
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "cimtlm retention: cannot write " << path << '\n';
      return kExitBadInput;
    }
    memory::write_retention_csv(file, table);
  }
  return kExitOk;
}

}  // namespace cimtlm::platforms::cli
