#include "platforms/spec/platform_spec.h"

#include <cmath>
#include <limits>
#include <regex>

#include "compiler/graph/input_limits.h"
#include "models/cim/cim_area.h"
#include "models/cim/cim_energy.h"
#include "platform_keys.h"

namespace cimtlm::platforms {

namespace {

namespace level_key = keys::core::memory::levels::item;

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
  p.topology = config.string(keys::noc::topology);
  p.rows = static_cast<int>(config.integer(keys::noc::rows));
  p.cols = static_cast<int>(config.integer(keys::noc::cols));
  p.concentration = static_cast<int>(config.integer(keys::noc::concentration));
  p.routing = config.string(keys::noc::routing);
  p.model = config.string(keys::noc::model);
  p.vcs = static_cast<int>(config.integer(keys::noc::vcs));
  p.vc_buffer_flits = static_cast<int>(config.integer(keys::noc::vc_buffer_flits));
  p.flit_bits = static_cast<int>(config.integer(keys::noc::flit_bits));
  p.routing_cycles = static_cast<int>(config.integer(keys::noc::routing_cycles));
  p.vc_allocation_cycles = static_cast<int>(config.integer(keys::noc::vc_allocation_cycles));
  p.switch_allocation_cycles =
      static_cast<int>(config.integer(keys::noc::switch_allocation_cycles));
  p.switch_traversal_cycles = static_cast<int>(config.integer(keys::noc::switch_traversal_cycles));
  p.link_cycles = static_cast<int>(config.integer(keys::noc::link_cycles));
  p.credit_delay_cycles = static_cast<int>(config.integer(keys::noc::credit_delay_cycles));
  p.max_packet_payload_bytes = static_cast<int>(config.integer(keys::noc::max_packet_payload));
  p.buffer_energy_pj_per_flit = config.number(keys::noc::buffer_energy_per_flit) * kPico;
  p.crossbar_energy_pj_per_flit = config.number(keys::noc::crossbar_energy_per_flit) * kPico;
  p.link_energy_pj_per_flit = config.number(keys::noc::link_energy_per_flit) * kPico;
  p.router_leakage_mw = config.number(keys::noc::router_leakage) * kMilli;
  const std::string problem = p.validate();
  if (!problem.empty()) invalid(config, keys::noc::kPath, keys_of(keys::noc::kPath), problem);
  return p;
}

cim::CimMacroParams cim_params(const Config& config, uint64_t seed, double clock_hz) {
  cim::CimMacroParams p;
  p.rows = config.integer(keys::core::cim::rows);
  p.cols = config.integer(keys::core::cim::cols);
  p.cell_bits = static_cast<int>(config.integer(keys::core::cim::cell_bits));
  p.encoding = config.string(keys::core::cim::encoding);
  p.max_weight_bits = static_cast<int>(config.integer(keys::core::cim::max_weight_bits));
  p.max_input_bits = static_cast<int>(config.integer(keys::core::cim::max_input_bits));
  p.rows_per_activation = config.integer(keys::core::cim::rows_per_activation);
  p.row_block = config.integer(keys::core::cim::row_block);
  p.activation_packing = config.string(keys::core::cim::activation_packing);
  p.sparsity_threshold = config.number(keys::core::cim::sparsity_threshold);
  p.adc_bits = static_cast<int>(config.integer(keys::core::cim::adc_bits));
  p.cols_per_adc = config.integer(keys::core::cim::cols_per_adc);
  p.adc_range_narrowing = config.boolean(keys::core::cim::adc_range_narrowing);
  p.adc_walden_fom_fj_per_step = config.number(keys::core::cim::adc_walden_fom) * kFemto;
  p.adc_schreier_fom_db = config.number(keys::core::cim::adc_schreier_fom_db);
  p.row_activation_cycles = config.integer(keys::core::cim::row_activation_cycles);
  p.adc_conversion_cycles = config.integer(keys::core::cim::adc_conversion_cycles);
  p.shift_add_cycles = config.integer(keys::core::cim::shift_add_cycles);
  p.detection_cycles = config.integer(keys::core::cim::detection_cycles);
  p.compensation_cycles = config.integer(keys::core::cim::compensation_cycles);
  p.weight_write_cycles_per_row = config.integer(keys::core::cim::weight_write_cycles_per_row);
  p.technology_nm = config.number(keys::core::cim::technology_nm);
  p.supply_v = config.number(keys::core::cim::supply_v);
  p.bitline_cap_ff_per_cell = config.number(keys::core::cim::bitline_cap_ff_per_cell);
  p.bitline_swing_v = config.number(keys::core::cim::bitline_swing_v);
  p.wordline_cap_ff_per_cell = config.number(keys::core::cim::wordline_cap_ff_per_cell);
  p.adc_type = config.string(keys::core::cim::adc_type);
  p.comparator_energy_fj = config.number(keys::core::cim::comparator_energy) * kFemto;
  p.read_voltage_v = config.number(keys::core::cim::read_voltage_v);
  p.cell_read_current_ua = config.number(keys::core::cim::cell_read_current_ua);
  p.sense_time_ns = config.number(keys::core::cim::sense_time) * 1e9;
  p.bitline_series_resistance_kohm = config.number(keys::core::cim::bitline_series_resistance_kohm);
  p.adc_signal_fraction = config.number(keys::core::cim::adc_signal_fraction);
  p.cell_leakage_pw = config.number(keys::core::cim::cell_leakage) * 1e12;
  p.adc_leakage_nw = config.number(keys::core::cim::adc_leakage) * 1e9;
  p.periphery_leakage_uw = config.number(keys::core::cim::periphery_leakage) * 1e6;
  p.cell_area_f2 = config.number(keys::core::cim::cell_area_f2);
  p.comparator_area_f2 = config.number(keys::core::cim::comparator_area_f2);
  p.sar_area_f2_per_bit = config.number(keys::core::cim::sar_area_f2_per_bit);
  p.sar_area_f2_per_unit_cap = config.number(keys::core::cim::sar_area_f2_per_unit_cap);
  p.adder_area_f2_per_bit = config.number(keys::core::cim::adder_area_f2_per_bit);
  p.driver_area_f2_per_row = config.number(keys::core::cim::driver_area_f2_per_row);
  p.mux_area_f2_per_column = config.number(keys::core::cim::mux_area_f2_per_column);
  p.buffer_area_f2_per_bit = config.number(keys::core::cim::buffer_area_f2_per_bit);
  // Digital energies are given at 45 nm, 0.9 V and scaled to the node (C V^2, C ~ F).
  const double digital_scale = cim::scaled_adder_energy_pj(1e3, p.technology_nm, p.supply_v, 1);
  p.shift_add_energy_pj = cim::scaled_adder_energy_pj(
      config.number(keys::core::cim::adder_energy_per_bit_45nm) * kFemto, p.technology_nm,
      p.supply_v, cim::shift_add_bits(p));
  p.detection_energy_pj_per_row =
      config.number(keys::core::cim::detection_energy_per_row) * kPico * digital_scale;
  p.compensation_energy_pj =
      config.number(keys::core::cim::compensation_energy) * kPico * digital_scale;
  p.write_energy_pj_per_cell = config.number(keys::core::cim::write_energy_per_cell) * kPico;
  p.leakage_mw = cim::cim_leakage_mw(p);
  if (config.boolean(keys::core::cim::sense_limits_clock)) {
    // The conversion cannot be shorter than its sensing: one sensing for flash and MLSA, a
    // sampling plus one per bit trial for SAR.
    const double sensings = p.adc_type == "sar" ? p.adc_bits + 1 : 1;
    const double needed = std::ceil(sensings * p.sense_time_ns * 1e-9 * clock_hz - 1e-9);
    p.adc_conversion_cycles =
        std::max<int64_t>(p.adc_conversion_cycles, static_cast<int64_t>(std::max(1.0, needed)));
  }
  p.conductance_sigma = config.number(keys::core::cim::conductance_sigma);
  p.adc_offset_lsb = config.number(keys::core::cim::adc_offset_lsb);
  p.adc_noise_lsb = config.number(keys::core::cim::adc_noise_lsb);
  p.seed = seed;
  const std::string problem = p.validate();
  if (!problem.empty())
    invalid(config, keys::core::cim::kPath, keys_of(keys::core::cim::kPath), problem);
  return p;
}

arith::ArithParams arith_params(const Config& config) {
  arith::ArithParams p;
  p.simd_lanes = static_cast<int>(config.integer(keys::core::arith::simd_lanes));
  p.accumulator_bytes = static_cast<uint64_t>(config.integer(keys::core::arith::accumulator_bytes));
  p.pipeline_cycles = static_cast<uint64_t>(config.integer(keys::core::arith::pipeline_cycles));
  p.accumulate_energy_pj = config.number(keys::core::arith::accumulate_energy) * kPico;
  p.requantize_energy_pj = config.number(keys::core::arith::requantize_energy) * kPico;
  p.lookup_energy_pj = config.number(keys::core::arith::lookup_energy) * kPico;
  p.eltwise_energy_pj = config.number(keys::core::arith::eltwise_energy) * kPico;
  p.pool_energy_pj = config.number(keys::core::arith::pool_energy) * kPico;
  p.softmax_energy_pj = config.number(keys::core::arith::softmax_energy) * kPico;
  p.leakage_mw = config.number(keys::core::arith::leakage) * kMilli;
  p.lane_area_um2 = config.number(keys::core::arith::lane_area) * 1e12;  // m2 -> um2
  p.accumulator_area_um2_per_bit =
      config.number(keys::core::arith::accumulator_area_per_bit) * 1e12;
  const std::string problem = p.validate();
  if (!problem.empty())
    invalid(config, keys::core::arith::kPath, keys_of(keys::core::arith::kPath), problem);
  return p;
}

// The cycles of the latency key at the core clock (rounded up: the data is not there before), or
// `cycles` when the latency is 0 s or the file sets the cycles key instead.
int physical_latency_cycles(const Config& config, const std::string& latency_key,
                            const std::string& cycles_key, int cycles) {
  const double latency_s = config.number(latency_key);
  const bool latency_set = config.at(latency_key).source != "default";
  const bool cycles_set = config.at(cycles_key).source != "default";
  if (latency_set && cycles_set && latency_s > 0) {
    throw ConfigError(config.where(latency_key) + ": set either " + latency_key + " or " +
                      cycles_key + ", not both");
  }
  if (latency_s <= 0 || (cycles_set && !latency_set)) return cycles;
  const double frequency_hz = config.number(keys::clock::frequency);
  // 1e-6 absorbs the rounding of the product (40 ns at 1 GHz is 40 cycles, not 41).
  const double exact = latency_s * frequency_hz;
  const double rounded = std::ceil(exact - 1e-6);
  if (rounded > 100000) {
    throw ConfigError(config.where(latency_key) + ": " + latency_key + " is " +
                      std::to_string(static_cast<int64_t>(rounded)) +
                      " core cycles at this clock (at most 100000)");
  }
  return static_cast<int>(rounded);
}

std::vector<memory::MemoryLevelParams> memory_levels(const Config& config, uint64_t seed) {
  std::vector<memory::MemoryLevelParams> levels;
  memory::RetentionPolicy policy = memory::RetentionPolicy::Error;
  memory::parse_retention_policy(config.string(keys::core::memory::on_retention_violation), policy);
  for (const auto& name : config.items(keys::core::memory::levels::kPath)) {
    const std::string s = std::string(keys::core::memory::levels::kPath) + "." + name + ".";
    memory::MemoryLevelParams p;
    p.name = name;
    p.technology = config.string(s + level_key::technology);
    p.stack_layer = static_cast<int>(config.integer(s + level_key::stack_layer));
    p.off_chip = config.boolean(s + level_key::off_chip);
    p.capacity_bytes = static_cast<uint64_t>(config.integer(s + level_key::capacity));
    p.banks = static_cast<int>(config.integer(s + level_key::banks));
    p.word_bytes = static_cast<int>(config.integer(s + level_key::word_bytes));
    p.row_bytes = static_cast<int>(config.integer(s + level_key::row_bytes));
    p.alignment_bytes = static_cast<int>(config.integer(s + level_key::alignment));
    // Macro timing (array plus periphery) unless the level asks for the bare array's.
    const bool array_timing = config.string(s + level_key::timing) == "array";
    p.read_cycles = static_cast<int>(
        config.integer(s + (array_timing ? level_key::array_read_cycles : level_key::read_cycles)));
    p.write_cycles = static_cast<int>(config.integer(
        s + (array_timing ? level_key::array_write_cycles : level_key::write_cycles)));
    // A level with a physical latency (off-chip DRAM: its own clock) is converted at the core
    // clock, unless the file gives the level's cycles instead.
    p.read_cycles = physical_latency_cycles(
        config, s + level_key::read_latency,
        s + (array_timing ? level_key::array_read_cycles : level_key::read_cycles), p.read_cycles);
    p.write_cycles = physical_latency_cycles(
        config, s + level_key::write_latency,
        s + (array_timing ? level_key::array_write_cycles : level_key::write_cycles),
        p.write_cycles);
    p.bytes_per_cycle = static_cast<int>(config.integer(s + level_key::bytes_per_cycle));
    p.read_energy_pj_per_bit = config.number(s + level_key::read_energy_per_bit) * kPico;
    p.write_energy_pj_per_bit = config.number(s + level_key::write_energy_per_bit) * kPico;
    p.leakage_pw_per_bit = config.number(s + level_key::leakage_per_bit) * kPico;
    p.leakage_temperature_k = config.number(s + level_key::leakage_temperature);
    p.leakage_activation_energy_ev = config.number(s + level_key::leakage_activation_energy);
    p.static_cell = config.boolean(s + level_key::static_cell);
    p.retention_s_at_ref = config.number(s + level_key::retention);
    p.reference_temperature_k = config.number(s + level_key::retention_temperature);
    p.activation_energy_ev = config.number(s + level_key::activation_energy);
    memory::parse_retention_law(config.string(s + level_key::retention_law), p.retention_law);
    p.retention_floor_s_at_ref = config.number(s + level_key::retention_floor);
    p.floor_activation_energy_ev = config.number(s + level_key::floor_activation_energy);
    p.derating_temperature_k = config.number(s + level_key::derating_temperature);
    p.refresh_enabled = config.boolean(s + level_key::refresh);
    p.refresh_margin = config.number(s + level_key::refresh_margin);
    p.refresh_cycles_per_row =
        static_cast<int>(config.integer(s + level_key::refresh_cycles_per_row));
    p.refresh_energy_pj_per_row = config.number(s + level_key::refresh_energy_per_row) * kPico;
    p.wakeup_cycles = static_cast<int>(config.integer(s + level_key::wakeup_cycles));
    p.wakeup_energy_pj = config.number(s + level_key::wakeup_energy) * kPico;
    p.gate_entry_cycles = static_cast<int>(config.integer(s + level_key::gate_entry_cycles));
    p.gate_entry_energy_pj = config.number(s + level_key::gate_entry_energy) * kPico;
    p.gated_leakage_pw_per_bit = config.number(s + level_key::gated_leakage_per_bit) * kPico;
    p.gated_retention_s_at_ref = config.number(s + level_key::gated_retention);
    p.vertical_hop_cycles = static_cast<int>(config.integer(s + level_key::vertical_hop_cycles));
    p.vertical_hop_energy_pj_per_bit =
        config.number(s + level_key::vertical_hop_energy_per_bit) * kPico;
    p.area_um2_per_bit = config.number(s + level_key::area_per_bit) * 1e12;
    p.silicon_area_um2_per_bit = config.number(s + level_key::silicon_area_per_bit) * 1e12;
    p.decay_spread = config.number(s + level_key::decay_spread);
    p.on_retention_violation = policy;
    if (!p.static_cell && p.retention_floor_s_at_ref > 0 &&
        !(p.retention_floor_s_at_ref > p.retention_s_at_ref)) {
      // Valid alone, not together: name the one the file set (the floor if both or neither).
      const bool retention_set = config.at(s + level_key::retention).source != "default";
      const bool floor_set = config.at(s + level_key::retention_floor).source != "default";
      const std::string key =
          retention_set && !floor_set ? level_key::retention : level_key::retention_floor;
      throw ConfigError(config.where(s + key) +
                        ": retention_floor must exceed retention (the measured retention "
                        "includes the floor path); set retention_floor: 0 s for no floor");
    }
    const std::string problem = p.validate();
    if (!problem.empty()) {
      invalid(config, std::string(keys::core::memory::levels::kPath) + "." + name,
              keys_of(std::string(keys::core::memory::levels::kPath) + ".*"), problem);
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
      weights_level = level_by_name(config, levels, keys::core::memory::weights_level, true);
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
  spec.name = config.string(keys::platform::name);
  spec.seed = static_cast<uint64_t>(config.integer(keys::platform::seed));
  spec.clock_hz = config.number(keys::clock::frequency);
  spec.temperature_k = config.number(keys::environment::temperature);
  spec.noc = noc_params(config);
  spec.core.macros = static_cast<int>(config.integer(keys::core::macros));
  spec.core.command_cycles =
      static_cast<uint64_t>(config.integer(keys::core::controller::command_cycles));
  spec.core.double_buffering = config.boolean(keys::core::controller::double_buffering);
  spec.core.dmi = config.boolean(keys::core::controller::dmi);
  spec.core.inference_interval =
      sc_core::sc_time(config.number(keys::workload::inference_interval) * 1e12, sc_core::SC_PS);
  spec.cim = cim_params(config, spec.seed, spec.clock_hz);
  spec.arith = arith_params(config);
  spec.memory_levels = memory_levels(config, spec.seed);
  spec.weights_level =
      level_by_name(config, spec.memory_levels, keys::core::memory::weights_level, true);
  spec.activations_level =
      level_by_name(config, spec.memory_levels, keys::core::memory::activations_level, false);
  spec.sram_reference = technology_preset("sram");
  {
    const auto levels = config.items(keys::core::memory::levels::kPath);
    for (size_t index = 0; index < levels.size(); ++index) {
      if (config.boolean(std::string(keys::core::memory::levels::kPath) + "." + levels[index] +
                         "." + keys::core::memory::levels::item::gate_when_idle)) {
        spec.gated_levels.push_back(static_cast<int>(index));
      }
    }
  }
  spec.networks = config.list(keys::workload::networks);
  spec.inferences = static_cast<int>(config.integer(keys::workload::inferences));
  spec.precision_allocation = config.string(keys::workload::precision_allocation);
  spec.quantum_s = config.number(keys::simulation::quantum);
  spec.check_reference = config.boolean(keys::simulation::check_reference);
  spec.tolerance = config.integer(keys::simulation::tolerance);
  spec.placement = config.string(keys::mapping::placement);
  spec.accumulation = config.string(keys::mapping::accumulation);
  spec.compact = config.boolean(keys::mapping::compact);
  if (config.has(keys::mapping::memory_target)) {
    spec.memory_target_bytes = static_cast<uint64_t>(config.integer(keys::mapping::memory_target));
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
  // One level named after its technology, every other value from the schema's defaults.
  const Config preset =
      load_config_text("", "technology preset", platform_schema(),
                       {Override{std::string(keys::core::memory::levels::kPath) + "." + technology +
                                     "." + keys::core::memory::levels::item::technology,
                                 technology}});
  return memory_levels(preset, 0).front();
}

}  // namespace cimtlm::platforms
