#include "platforms/spec/platform_spec.h"

#include <cmath>
#include <limits>
#include <regex>

#include "models/cim/cim_area.h"
#include "models/cim/cim_energy.h"
#include "compiler/graph/input_limits.h"

namespace cimtlm::platforms {

namespace {

constexpr double kPico = 1e12;   // J -> pJ
constexpr double kMilli = 1e3;   // W -> mW
constexpr double kFemto = 1e15;  // J -> fJ

// Turns a model's validate() message into a ConfigError at the key it names: the first key of
// `section` that appears as a word in the message (or the section itself).
[[noreturn]] void invalid(const Config& config, const std::string& section,
                          const std::vector<std::string>& keys, const std::string& message) {
  std::string best_path;
  size_t best_at = std::string::npos;
  for (const auto& key : keys) {
    const std::regex word("(^|[^a-z_])" + key + "([^a-z_]|$)");
    std::smatch match;
    if (std::regex_search(message, match, word)) {
      const auto at = static_cast<size_t>(match.position(0));
      if (at < best_at) {
        best_at = at;
        best_path = section + "." + key;
      }
    }
  }
  if (!best_path.empty() && config.has(best_path)) {
    throw ConfigError(config.where(best_path) + ": " + message);
  }
  throw ConfigError(config.file() + ": " + section + ": " + message);
}

std::vector<std::string> keys_of(const std::string& section) {
  const SchemaNode* node = platform_schema().find(section);
  return node ? node->child_names() : std::vector<std::string>{};
}

noc::NocParams noc_params(const Config& config) {
  noc::NocParams p;
  p.topology = config.string("noc.topology");
  p.rows = static_cast<int>(config.integer("noc.rows"));
  p.cols = static_cast<int>(config.integer("noc.cols"));
  p.concentration = static_cast<int>(config.integer("noc.concentration"));
  p.routing = config.string("noc.routing");
  p.vcs = static_cast<int>(config.integer("noc.vcs"));
  p.vc_buffer_flits = static_cast<int>(config.integer("noc.vc_buffer_flits"));
  p.flit_bits = static_cast<int>(config.integer("noc.flit_bits"));
  p.routing_cycles = static_cast<int>(config.integer("noc.routing_cycles"));
  p.vc_allocation_cycles = static_cast<int>(config.integer("noc.vc_allocation_cycles"));
  p.switch_allocation_cycles = static_cast<int>(config.integer("noc.switch_allocation_cycles"));
  p.switch_traversal_cycles = static_cast<int>(config.integer("noc.switch_traversal_cycles"));
  p.link_cycles = static_cast<int>(config.integer("noc.link_cycles"));
  p.credit_delay_cycles = static_cast<int>(config.integer("noc.credit_delay_cycles"));
  p.max_packet_payload_bytes = static_cast<int>(config.integer("noc.max_packet_payload"));
  p.buffer_energy_pj_per_flit = config.number("noc.buffer_energy_per_flit") * kPico;
  p.crossbar_energy_pj_per_flit = config.number("noc.crossbar_energy_per_flit") * kPico;
  p.link_energy_pj_per_flit = config.number("noc.link_energy_per_flit") * kPico;
  p.router_leakage_mw = config.number("noc.router_leakage") * kMilli;
  const std::string problem = p.validate();
  if (!problem.empty()) invalid(config, "noc", keys_of("noc"), problem);
  return p;
}

cim::CimMacroParams cim_params(const Config& config, uint64_t seed, double clock_hz) {
  cim::CimMacroParams p;
  const std::string s = "core.cim.";
  p.rows = config.integer(s + "rows");
  p.cols = config.integer(s + "cols");
  p.cell_bits = static_cast<int>(config.integer(s + "cell_bits"));
  p.encoding = config.string(s + "encoding");
  p.max_weight_bits = static_cast<int>(config.integer(s + "max_weight_bits"));
  p.max_input_bits = static_cast<int>(config.integer(s + "max_input_bits"));
  p.rows_per_activation = config.integer(s + "rows_per_activation");
  p.row_block = config.integer(s + "row_block");
  p.activation_packing = config.string(s + "activation_packing");
  p.sparsity_threshold = config.number(s + "sparsity_threshold");
  p.adc_bits = static_cast<int>(config.integer(s + "adc_bits"));
  p.cols_per_adc = config.integer(s + "cols_per_adc");
  p.adc_range_narrowing = config.boolean(s + "adc_range_narrowing");
  p.adc_walden_fom_fj_per_step = config.number(s + "adc_walden_fom") * kFemto;
  p.adc_schreier_fom_db = config.number(s + "adc_schreier_fom_db");
  p.row_activation_cycles = config.integer(s + "row_activation_cycles");
  p.adc_conversion_cycles = config.integer(s + "adc_conversion_cycles");
  p.shift_add_cycles = config.integer(s + "shift_add_cycles");
  p.detection_cycles = config.integer(s + "detection_cycles");
  p.compensation_cycles = config.integer(s + "compensation_cycles");
  p.weight_write_cycles_per_row = config.integer(s + "weight_write_cycles_per_row");
  p.technology_nm = config.number(s + "technology_nm");
  p.supply_v = config.number(s + "supply_v");
  p.bitline_cap_ff_per_cell = config.number(s + "bitline_cap_ff_per_cell");
  p.bitline_swing_v = config.number(s + "bitline_swing_v");
  p.wordline_cap_ff_per_cell = config.number(s + "wordline_cap_ff_per_cell");
  p.adc_type = config.string(s + "adc_type");
  p.comparator_energy_fj = config.number(s + "comparator_energy") * kFemto;
  p.read_voltage_v = config.number(s + "read_voltage_v");
  p.cell_read_current_ua = config.number(s + "cell_read_current_ua");
  p.sense_time_ns = config.number(s + "sense_time") * 1e9;
  p.bitline_series_resistance_kohm = config.number(s + "bitline_series_resistance_kohm");
  p.adc_signal_fraction = config.number(s + "adc_signal_fraction");
  p.cell_leakage_pw = config.number(s + "cell_leakage") * 1e12;
  p.adc_leakage_nw = config.number(s + "adc_leakage") * 1e9;
  p.periphery_leakage_uw = config.number(s + "periphery_leakage") * 1e6;
  p.cell_area_f2 = config.number(s + "cell_area_f2");
  p.comparator_area_f2 = config.number(s + "comparator_area_f2");
  p.sar_area_f2_per_bit = config.number(s + "sar_area_f2_per_bit");
  p.sar_area_f2_per_unit_cap = config.number(s + "sar_area_f2_per_unit_cap");
  p.adder_area_f2_per_bit = config.number(s + "adder_area_f2_per_bit");
  p.driver_area_f2_per_row = config.number(s + "driver_area_f2_per_row");
  p.mux_area_f2_per_column = config.number(s + "mux_area_f2_per_column");
  p.buffer_area_f2_per_bit = config.number(s + "buffer_area_f2_per_bit");
  // Digital energies are given at 45 nm, 0.9 V and scaled to the node (C V^2, C ~ F).
  const double digital_scale = cim::scaled_adder_energy_pj(1e3, p.technology_nm, p.supply_v, 1);
  p.shift_add_energy_pj =
      cim::scaled_adder_energy_pj(config.number(s + "adder_energy_per_bit_45nm") * kFemto,
                                  p.technology_nm, p.supply_v, cim::shift_add_bits(p));
  p.detection_energy_pj_per_row =
      config.number(s + "detection_energy_per_row") * kPico * digital_scale;
  p.compensation_energy_pj = config.number(s + "compensation_energy") * kPico * digital_scale;
  p.write_energy_pj_per_cell = config.number(s + "write_energy_per_cell") * kPico;
  p.leakage_mw = cim::cim_leakage_mw(p);
  if (config.boolean(s + "sense_limits_clock")) {
    // The conversion cannot be shorter than its sensing: one sensing for flash and MLSA, a
    // sampling plus one per bit trial for SAR.
    const double sensings = p.adc_type == "sar" ? p.adc_bits + 1 : 1;
    const double needed = std::ceil(sensings * p.sense_time_ns * 1e-9 * clock_hz - 1e-9);
    p.adc_conversion_cycles =
        std::max<int64_t>(p.adc_conversion_cycles, static_cast<int64_t>(std::max(1.0, needed)));
  }
  p.conductance_sigma = config.number(s + "conductance_sigma");
  p.adc_offset_lsb = config.number(s + "adc_offset_lsb");
  p.adc_noise_lsb = config.number(s + "adc_noise_lsb");
  p.seed = seed;
  const std::string problem = p.validate();
  if (!problem.empty()) invalid(config, "core.cim", keys_of("core.cim"), problem);
  return p;
}

arith::ArithParams arith_params(const Config& config) {
  arith::ArithParams p;
  const std::string s = "core.arith.";
  p.simd_lanes = static_cast<int>(config.integer(s + "simd_lanes"));
  p.accumulator_bytes = static_cast<uint64_t>(config.integer(s + "accumulator_bytes"));
  p.pipeline_cycles = static_cast<uint64_t>(config.integer(s + "pipeline_cycles"));
  p.accumulate_energy_pj = config.number(s + "accumulate_energy") * kPico;
  p.requantize_energy_pj = config.number(s + "requantize_energy") * kPico;
  p.lookup_energy_pj = config.number(s + "lookup_energy") * kPico;
  p.eltwise_energy_pj = config.number(s + "eltwise_energy") * kPico;
  p.pool_energy_pj = config.number(s + "pool_energy") * kPico;
  p.softmax_energy_pj = config.number(s + "softmax_energy") * kPico;
  p.leakage_mw = config.number(s + "leakage") * kMilli;
  const std::string problem = p.validate();
  if (!problem.empty()) invalid(config, "core.arith", keys_of("core.arith"), problem);
  return p;
}

// The cycles of `level` + "{read,write}_latency" at the core clock (rounded up: the data is not
// there before), or `cycles` when the latency is 0 s or the file sets the cycles key instead.
int physical_latency_cycles(const Config& config, const std::string& level, const std::string& access,
                            bool array_timing, int cycles) {
  const std::string latency_key = level + access + "_latency";
  const std::string cycles_key = level + (array_timing ? "array_" : "") + access + "_cycles";
  const double latency_s = config.number(latency_key);
  const bool latency_set = config.at(latency_key).source != "default";
  const bool cycles_set = config.at(cycles_key).source != "default";
  if (latency_set && cycles_set && latency_s > 0) {
    throw ConfigError(config.where(latency_key) + ": set either " + access + "_latency or " +
                      (array_timing ? "array_" : "") + access + "_cycles, not both");
  }
  if (latency_s <= 0 || (cycles_set && !latency_set)) return cycles;
  const double frequency_hz = config.number("clock.frequency");
  // 1e-6 absorbs the rounding of the product (40 ns at 1 GHz is 40 cycles, not 41).
  const double exact = latency_s * frequency_hz;
  const double rounded = std::ceil(exact - 1e-6);
  if (rounded > 100000) {
    throw ConfigError(config.where(latency_key) + ": " + access + "_latency is " +
                      std::to_string(static_cast<int64_t>(rounded)) +
                      " core cycles at this clock (at most 100000)");
  }
  return static_cast<int>(rounded);
}

std::vector<memory::MemoryLevelParams> memory_levels(const Config& config, uint64_t seed) {
  std::vector<memory::MemoryLevelParams> levels;
  memory::RetentionPolicy policy = memory::RetentionPolicy::Error;
  memory::parse_retention_policy(config.string("core.memory.on_retention_violation"), policy);
  for (const auto& name : config.items("core.memory.levels")) {
    const std::string s = "core.memory.levels." + name + ".";
    memory::MemoryLevelParams p;
    p.name = name;
    p.technology = config.string(s + "technology");
    p.stack_layer = static_cast<int>(config.integer(s + "stack_layer"));
    p.off_chip = config.boolean(s + "off_chip");
    p.capacity_bytes = static_cast<uint64_t>(config.integer(s + "capacity"));
    p.banks = static_cast<int>(config.integer(s + "banks"));
    p.word_bytes = static_cast<int>(config.integer(s + "word_bytes"));
    p.row_bytes = static_cast<int>(config.integer(s + "row_bytes"));
    p.alignment_bytes = static_cast<int>(config.integer(s + "alignment"));
    // Macro timing (array plus periphery) unless the level asks for the bare array's.
    const bool array_timing = config.string(s + "timing") == "array";
    p.read_cycles =
        static_cast<int>(config.integer(s + (array_timing ? "array_read_cycles" : "read_cycles")));
    p.write_cycles = static_cast<int>(
        config.integer(s + (array_timing ? "array_write_cycles" : "write_cycles")));
    // A level with a physical latency (off-chip DRAM: its own clock) is converted at the core
    // clock, unless the file gives the level's cycles instead.
    p.read_cycles = physical_latency_cycles(config, s, "read", array_timing, p.read_cycles);
    p.write_cycles = physical_latency_cycles(config, s, "write", array_timing, p.write_cycles);
    p.bytes_per_cycle = static_cast<int>(config.integer(s + "bytes_per_cycle"));
    p.read_energy_pj_per_bit = config.number(s + "read_energy_per_bit") * kPico;
    p.write_energy_pj_per_bit = config.number(s + "write_energy_per_bit") * kPico;
    p.leakage_pw_per_bit = config.number(s + "leakage_per_bit") * kPico;
    p.leakage_temperature_k = config.number(s + "leakage_temperature");
    p.leakage_activation_energy_ev = config.number(s + "leakage_activation_energy");
    p.static_cell = config.boolean(s + "static_cell");
    p.retention_s_at_ref = config.number(s + "retention");
    p.reference_temperature_k = config.number(s + "retention_temperature");
    p.activation_energy_ev = config.number(s + "activation_energy");
    memory::parse_retention_law(config.string(s + "retention_law"), p.retention_law);
    p.retention_floor_s_at_ref = config.number(s + "retention_floor");
    p.floor_activation_energy_ev = config.number(s + "floor_activation_energy");
    p.derating_temperature_k = config.number(s + "derating_temperature");
    p.refresh_enabled = config.boolean(s + "refresh");
    p.refresh_margin = config.number(s + "refresh_margin");
    p.refresh_cycles_per_row = static_cast<int>(config.integer(s + "refresh_cycles_per_row"));
    p.refresh_energy_pj_per_row = config.number(s + "refresh_energy_per_row") * kPico;
    p.wakeup_cycles = static_cast<int>(config.integer(s + "wakeup_cycles"));
    p.wakeup_energy_pj = config.number(s + "wakeup_energy") * kPico;
    p.gate_entry_cycles = static_cast<int>(config.integer(s + "gate_entry_cycles"));
    p.gate_entry_energy_pj = config.number(s + "gate_entry_energy") * kPico;
    p.gated_leakage_pw_per_bit = config.number(s + "gated_leakage_per_bit") * kPico;
    p.gated_retention_s_at_ref = config.number(s + "gated_retention");
    p.vertical_hop_cycles = static_cast<int>(config.integer(s + "vertical_hop_cycles"));
    p.vertical_hop_energy_pj_per_bit = config.number(s + "vertical_hop_energy_per_bit") * kPico;
    p.area_um2_per_bit = config.number(s + "area_per_bit") * 1e12;
    p.silicon_area_um2_per_bit = config.number(s + "silicon_area_per_bit") * 1e12;
    p.decay_spread = config.number(s + "decay_spread");
    p.on_retention_violation = policy;
    if (!p.static_cell && p.retention_floor_s_at_ref > 0 &&
        !(p.retention_floor_s_at_ref > p.retention_s_at_ref)) {
      // Valid alone, not together: name the one the file set (the floor if both or neither).
      const bool retention_set = config.at(s + "retention").source != "default";
      const bool floor_set = config.at(s + "retention_floor").source != "default";
      const std::string key = retention_set && !floor_set ? "retention" : "retention_floor";
      throw ConfigError(config.where(s + key) +
                        ": retention_floor must exceed retention (the measured retention "
                        "includes the floor path); set retention_floor: 0 s for no floor");
    }
    const std::string problem = p.validate();
    if (!problem.empty()) {
      invalid(config, "core.memory.levels." + name, keys_of("core.memory.levels.*"), problem);
    }
    levels.push_back(p);
  }
  (void)seed;
  return levels;
}

int level_by_name(const Config& config, const std::vector<memory::MemoryLevelParams>& levels,
                  const std::string& key, bool weights) {
  const std::string& wanted = config.string(key);
  if (wanted != "auto") {
    for (size_t index = 0; index < levels.size(); ++index) {
      if (levels[index].name == wanted) return static_cast<int>(index);
    }
    std::string names;
    for (const auto& level : levels) names += (names.empty() ? "" : ", ") + level.name;
    throw ConfigError(config.where(key) + ": no memory level named '" + wanted +
                      "' (levels: " + names + ")");
  }
  // auto: weights in the on-chip level with the longest retention, activations in the fastest
  // on-chip level other than the weights' one when there is another (the hierarchy's default
  // placement: the seed keeps weights and activations in different OS layers).
  int weights_level = -1;
  if (!weights) {
    int on_chip = 0;
    for (const auto& level : levels) on_chip += level.off_chip ? 0 : 1;
    if (on_chip > 1) {
      weights_level = level_by_name(config, levels, "core.memory.weights_level", true);
    }
  }
  int best = -1;
  for (size_t index = 0; index < levels.size(); ++index) {
    const auto& level = levels[index];
    if (level.off_chip || static_cast<int>(index) == weights_level) continue;
    if (best < 0) {
      best = static_cast<int>(index);
      continue;
    }
    const auto& current = levels[static_cast<size_t>(best)];
    if (weights) {
      // Compared at 85 C: the presets give retention at different temperatures.
      constexpr double kCompareAtK = 358.15;
      const double a = level.static_cell ? 0.0 : level.retention_s(kCompareAtK);
      const double b = current.static_cell ? 0.0 : current.retention_s(kCompareAtK);
      if (a > b) best = static_cast<int>(index);
    } else if (level.read_cycles < current.read_cycles ||
               (level.read_cycles == current.read_cycles &&
                level.bytes_per_cycle > current.bytes_per_cycle)) {
      best = static_cast<int>(index);
    }
  }
  return best < 0 ? 0 : best;
}

}  // namespace

PlatformSpec build_platform_spec(const Config& config) {
  PlatformSpec spec;
  spec.file = config.file();
  spec.name = config.string("platform.name");
  spec.seed = static_cast<uint64_t>(config.integer("platform.seed"));
  spec.clock_hz = config.number("clock.frequency");
  spec.temperature_k = config.number("environment.temperature");
  spec.noc = noc_params(config);
  spec.core.macros = static_cast<int>(config.integer("core.macros"));
  spec.core.command_cycles = static_cast<uint64_t>(config.integer("core.controller.command_cycles"));
  spec.core.double_buffering = config.boolean("core.controller.double_buffering");
  spec.core.inference_interval =
      sc_core::sc_time(config.number("workload.inference_interval") * 1e12, sc_core::SC_PS);
  spec.cim = cim_params(config, spec.seed, spec.clock_hz);
  spec.arith = arith_params(config);
  spec.memory_levels = memory_levels(config, spec.seed);
  spec.weights_level = level_by_name(config, spec.memory_levels, "core.memory.weights_level", true);
  spec.activations_level =
      level_by_name(config, spec.memory_levels, "core.memory.activations_level", false);
  spec.sram_reference = technology_preset("sram");
  {
    const auto levels = config.items("core.memory.levels");
    for (size_t index = 0; index < levels.size(); ++index) {
      if (config.boolean("core.memory.levels." + levels[index] + ".gate_when_idle")) {
        spec.gated_levels.push_back(static_cast<int>(index));
      }
    }
  }
  spec.networks = config.list("workload.networks");
  spec.inferences = static_cast<int>(config.integer("workload.inferences"));
  spec.precision_allocation = config.string("workload.precision_allocation");
  spec.quantum_s = config.number("simulation.quantum");
  spec.check_reference = config.boolean("simulation.check_reference");
  spec.tolerance = config.integer("simulation.tolerance");
  spec.placement = config.string("mapping.placement");
  spec.accumulation = config.string("mapping.accumulation");
  spec.compact = config.boolean("mapping.compact");
  if (config.has("mapping.memory_target")) {
    spec.memory_target_bytes = static_cast<uint64_t>(config.integer("mapping.memory_target"));
  }
  check_host_memory(config, spec);
  return spec;
}

uint64_t host_memory_estimate(const PlatformSpec& spec) {
  // An upper estimate from measurements (issue 16: peak RSS of 8x8 and 16x16 meshes of the
  // default core differ by 0.54 MB per core): a core's SystemC processes, statistics and NoC
  // port state take under kPerCoreBytes; each CIM cell holds weight views of about
  // kBytesPerCell once its macro is loaded; the accumulators are int32 per byte of accumulator
  // memory; every memory row has retention state. Level storage itself is calloc'ed and paged
  // in lazily, so it is not counted. The default core comes to about 1.3 MiB.
  constexpr uint64_t kPerCoreBytes = 512 << 10;
  constexpr uint64_t kBytesPerCell = 2;
  constexpr uint64_t kBytesPerMemoryRow = 16;
  uint64_t per_core = kPerCoreBytes, term = 0;
  const uint64_t saturated = std::numeric_limits<uint64_t>::max();
  auto add = [&](uint64_t a, uint64_t b, uint64_t c) {
    uint64_t product = 0;
    if (!graph::multiply_checked(a, b, product) || !graph::multiply_checked(product, c, term) ||
        __builtin_add_overflow(per_core, term, &per_core)) {
      per_core = saturated;
    }
  };
  add(static_cast<uint64_t>(spec.core.macros),
      static_cast<uint64_t>(spec.cim.rows) * static_cast<uint64_t>(spec.cim.cols), kBytesPerCell);
  add(spec.arith.accumulator_bytes, 4, 1);
  for (const auto& level : spec.memory_levels) add(level.rows(), kBytesPerMemoryRow, 1);
  uint64_t total = 0;
  if (!graph::multiply_checked(per_core, static_cast<uint64_t>(spec.cores()), total))
    total = saturated;
  return total;
}

void check_host_memory(const Config& config, const PlatformSpec& spec) {
  const uint64_t needed = host_memory_estimate(spec);
  const uint64_t budget = graph::memory_budget_bytes();
  if (needed <= budget) return;
  auto gib = [](uint64_t bytes) { return std::to_string(bytes / (uint64_t{1} << 30)) + " GiB"; };
  throw ConfigError(
      config.file() + ": the platform needs about " +
      (needed == std::numeric_limits<uint64_t>::max() ? std::string("more than 2^64 B")
                                                      : gib(needed)) +
      " of host memory to simulate (" + std::to_string(spec.cores()) +
      " cores from noc.rows x noc.cols x noc.concentration, core.macros x core.cim.rows x " +
      "core.cim.cols cells, core.arith.accumulator_bytes), more than the budget of " + gib(budget) +
      " (CIMTLM_MEMORY_BUDGET)");
}

memory::MemoryLevelParams technology_preset(const std::string& technology) {
  const Config preset = load_config_text(
      "core:\n  memory:\n    levels:\n      " + technology + ": {technology: " + technology + "}\n",
      "technology preset", platform_schema());
  return memory_levels(preset, 0).front();
}

}  // namespace cimtlm::platforms
