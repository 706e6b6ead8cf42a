#include "platforms/run/run.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <systemc>
#include <thread>
#include <tlm>

#include "compiler/map/mapper.h"
#include "compiler/onnx/onnx_io.h"
#include "models/cim/cim_area.h"
#include "models/cim/cim_params.h"
#include "models/memory/memory_hierarchy.h"
#include "platform_keys.h"
#include "platforms/builder/chip.h"
#include "platforms/report/report.h"
#include "platforms/run/allocation.h"
#include "platforms/run/output_files.h"
#include "platforms/run/workload.h"
#include "platforms/spec/platform_spec.h"

namespace cimtlm::platforms {

namespace fs = std::filesystem;

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!(out << text) || !out.flush()) {
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
}

}  // namespace

map::ArchInfo arch_info(const PlatformSpec& spec) {
  map::ArchInfo arch;
  arch.cores = spec.cores();
  arch.mesh_rows = spec.noc.rows;
  arch.mesh_cols = spec.noc.cols * spec.noc.concentration;
  arch.macros_per_core = spec.core.macros;
  arch.macro_rows = spec.cim.rows;
  arch.macro_cols = spec.cim.cols;
  const cim::CimMacroParams cim = spec.cim;
  arch.logical_columns = [cim](int bits) { return cim::logical_weight_columns(cim, bits); };
  arch.accumulator_bytes = spec.arith.accumulator_bytes;
  arch.weight_base =
      memory::MemoryHierarchy::kLevelAddressStride * static_cast<uint64_t>(spec.weights_level);
  arch.weight_capacity = spec.memory_levels[static_cast<size_t>(spec.weights_level)].capacity_bytes;
  arch.activation_base =
      memory::MemoryHierarchy::kLevelAddressStride * static_cast<uint64_t>(spec.activations_level);
  arch.activation_capacity =
      spec.memory_levels[static_cast<size_t>(spec.activations_level)].capacity_bytes;
  // Weights that do not fit the weight memory go to off-chip levels, then to other levels.
  for (size_t level = 0; level < spec.memory_levels.size(); ++level) {
    const auto& params = spec.memory_levels[level];
    if (static_cast<int>(level) == spec.weights_level ||
        static_cast<int>(level) == spec.activations_level)
      continue;
    map::ArchInfo::Region region{memory::MemoryHierarchy::kLevelAddressStride * level,
                                 params.capacity_bytes, params.off_chip};
    if (params.off_chip) {
      arch.weight_overflow.insert(arch.weight_overflow.begin(), region);
      // Activations that do not fit spill to the first off-chip level.
      if (arch.activation_spill.capacity == 0) arch.activation_spill = region;
    } else {
      arch.weight_overflow.push_back(region);
    }
  }
  if (spec.weights_level == spec.activations_level) {
    // One level holds both: weights from the bottom, activations from the middle.
    arch.weight_capacity /= 2;
    arch.activation_base += arch.weight_capacity;
    arch.activation_capacity -= arch.weight_capacity;
  }
  return arch;
}

namespace {

// A progress line on a terminal for runs longer than a couple of seconds.
class ProgressLine {
 public:
  ProgressLine(const Chip& chip, uint64_t total_inferences, double clock_hz, bool enabled)
      : chip_(chip), total_(total_inferences), clock_hz_(clock_hz) {
    if (enabled) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressLine() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    if (shown_) std::cerr << '\n';
  }

 private:
  void loop() {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::seconds(2), [this] { return done_; })) return;
    while (!done_) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double simulated_s = static_cast<double>(chip_.progress().simulated_ps.load()) * 1e-12;
      const bool seconds = simulated_s >= 1.0, milliseconds = simulated_s >= 1e-3;
      std::cerr << "\r[cimtlm] simulated " << std::fixed << std::setprecision(3)
                << (seconds        ? simulated_s
                    : milliseconds ? simulated_s * 1e3
                                   : simulated_s * 1e6)
                << (seconds        ? " s"
                    : milliseconds ? " ms"
                                   : " us")
                << ", inferences " << chip_.progress().inferences.load() << "/" << total_ << ", "
                << std::setprecision(2) << simulated_s * clock_hz_ / wall / 1e6
                << " M cycles/s host speed   " << std::flush;
      shown_ = true;
      wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return done_; });
    }
  }
  const Chip& chip_;
  uint64_t total_;
  double clock_hz_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  bool shown_ = false;
};

std::string default_stats_path(const std::string& config_path) {
  return "traces/" + fs::path(config_path).stem().string() + ".stats.json";
}

std::string effective_config_path(const std::string& stats_path) {
  std::string base = stats_path;
  const std::string suffix = ".stats.json";
  if (base.size() > suffix.size() &&
      base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base.resize(base.size() - suffix.size());
  } else if (fs::path(base).has_extension()) {
    base = (fs::path(base).parent_path() / fs::path(base).stem()).string();
  }
  return base + ".config.yaml";
}

// An off-chip level the run had to add (the network does not fit on chip), and why.
struct AddedLevel {
  std::string name, reason;
};

int simulate(const RunOptions& options, PlatformSpec& spec, const Config& config,
             const std::vector<PreparedNetwork>& networks, const Allocation& allocation,
             const AddedLevel& added, OutputFiles& outputs,
             const std::vector<std::string>& output_paths, const std::string& stats_path,
             std::ostream& out, std::ostream& err);

}  // namespace

int run_platform(const RunOptions& options, std::ostream& out, std::ostream& err) {
  // 1. Configuration and workload: every problem here is bad input (exit 2).
  PlatformSpec spec;
  Config config;
  std::string added_level, added_level_reason;  // an off-chip level the run had to add
  std::vector<PreparedNetwork> networks;
  Allocation allocation;
  try {
    config = load_config(options.config_path, platform_schema(), options.overrides);
    spec = build_platform_spec(config);
    std::vector<std::string> paths = options.networks.empty() ? spec.networks : options.networks;
    if (paths.empty()) {
      throw ConfigError(options.config_path +
                        ": no networks to run (set workload.networks or give --network NET)");
    }
    if (options.inferences > 0) {
      // The command line obeys the schema's range of workload.inferences too.
      const SchemaNode* limit = platform_schema().find(keys::workload::inferences);
      if (limit && limit->max && options.inferences > *limit->max) {
        throw ConfigError("command line --inferences " + std::to_string(options.inferences) +
                          ": above the maximum " +
                          std::to_string(static_cast<int64_t>(*limit->max)) +
                          " of workload.inferences");
      }
      spec.inferences = options.inferences;
    }
    networks = prepare_networks(paths, options.inputs, spec.seed);
    try {
      allocation = allocate_cores(networks, spec, arch_info(spec));
    } catch (const map::CapacityError& error) {
      // The network does not fit on chip and the platform names no off-chip level: add one with
      // the schema's LPDDR4 defaults, say so in the report, and map again.
      added_level = "lpddr4";
      for (const auto& level : spec.memory_levels) {
        if (level.name == added_level) added_level = "lpddr4_added";
      }
      added_level_reason = error.what();
      std::vector<Override> overrides = options.overrides;
      overrides.push_back({"core.memory.levels." + added_level + ".technology", "dram"});
      config = load_config(options.config_path, platform_schema(), overrides);
      spec = build_platform_spec(config);
      if (options.inferences > 0) spec.inferences = options.inferences;
      allocation = allocate_cores(networks, spec, arch_info(spec));
    }
  } catch (const ConfigError& error) {
    err << error.what() << '\n';
    return kExitBadInput;
  } catch (const graph::ModelError& error) {
    err << error.what() << '\n';
    return kExitBadInput;
  }

  // Every output is checked before the simulation (a bad path fails fast, exit 2) and all are
  // written together at the end, or none.
  const std::string stats_path =
      options.stats_path.empty() ? default_stats_path(options.config_path) : options.stats_path;
  const std::string config_dump_path = effective_config_path(stats_path);
  const std::string gtkw_path =
      options.vcd_path.empty() ? std::string()
                               : fs::path(options.vcd_path).replace_extension(".gtkw").string();
  std::vector<std::string> output_paths;
  OutputFiles outputs;
  try {
    outputs.add(stats_path, "--stats");
    outputs.add(config_dump_path, "--stats (effective configuration beside it)");
    if (!options.vcd_path.empty()) {
      outputs.add(options.vcd_path, "--vcd");
      outputs.add(gtkw_path, "--vcd (GTKWave file beside it)");
    }
    if (!options.output_dir.empty()) {
      outputs.add_folder(options.output_dir, "--output-dir");
      size_t count = 0;
      for (const auto& network : networks) count += network.graph.outputs.size();
      for (size_t k = 0; k < count; ++k) {
        const std::string base =
            (fs::path(options.output_dir) / ("output_" + std::to_string(k))).string();
        output_paths.push_back(base);
        outputs.add(base + ".pb", "--output-dir");
        outputs.add(base + ".npy", "--output-dir");
      }
    }
    std::vector<std::string> distinct;
    for (const auto& path : {stats_path, config_dump_path, options.vcd_path, gtkw_path}) {
      if (path.empty()) continue;
      for (const auto& other : distinct) {
        std::error_code code;
        if (fs::weakly_canonical(path, code) == fs::weakly_canonical(other, code)) {
          throw ConfigError("command line: two outputs of this run are the same file " + path);
        }
      }
      distinct.push_back(path);
    }
    outputs.check();
  } catch (const ConfigError& error) {
    err << "cimtlm run: " << error.what() << '\n';
    return kExitBadInput;
  }

  // 2. Build the chip and run. An exception from here on (a model's own check, a process that
  // throws inside sc_start) is a simulation failure: exit 1 naming it, never an uncaught
  // exception printed by the SystemC kernel.
  try {
    return simulate(options, spec, config, networks, allocation, {added_level, added_level_reason},
                    outputs, output_paths, stats_path, out, err);
  } catch (const std::bad_alloc&) {
    err << "cimtlm run: simulation failed: out of host memory (lower the platform size or the "
           "workload; CIMTLM_MEMORY_BUDGET is the planning limit)\n";
    return kExitFailure;
  } catch (const std::exception& error) {
    err << "cimtlm run: simulation failed: " << error.what() << '\n';
    return kExitFailure;
  }
}

namespace {

int simulate(const RunOptions& options, PlatformSpec& spec, const Config& config,
             const std::vector<PreparedNetwork>& networks, const Allocation& allocation,
             const AddedLevel& added, OutputFiles& outputs,
             const std::vector<std::string>& output_paths, const std::string& stats_path,
             std::ostream& out, std::ostream& err) {
  const std::string config_dump_path = effective_config_path(stats_path);
  const std::string gtkw_path =
      options.vcd_path.empty() ? std::string()
                               : fs::path(options.vcd_path).replace_extension(".gtkw").string();
  kernel::StatGroup chip_stats("chip", "chip");
  std::unique_ptr<kernel::VcdTrace> trace;
  if (!options.vcd_path.empty()) trace = std::make_unique<kernel::VcdTrace>();
  sc_core::sc_time quantum(spec.quantum_s * 1e12, sc_core::SC_PS);
  tlm::tlm_global_quantum::instance().set(quantum);
  Chip chip("chip", spec, chip_stats, trace.get());
  chip.load(allocation.program, spec.inferences);
  for (const auto& binding : allocation.program.inputs) {
    const auto& network =
        networks[static_cast<size_t>(allocation.network_of_binding.at(binding.name))];
    const graph::Tensor& tensor = network.inputs.at(allocation.value_of_binding.at(binding.name));
    chip.write(binding.core, binding.tensor.addr, tensor.raw(), tensor.bytes());
  }
  // Every network runs spec.inferences times; progress counts the inferences every core finished.
  const auto total_inferences = static_cast<uint64_t>(spec.inferences);
  const auto wall_start = std::chrono::steady_clock::now();
  {
    ProgressLine progress(chip, total_inferences, spec.clock_hz,
                          !options.quiet && isatty(STDERR_FILENO) != 0);
    sc_core::sc_start();
    progress.stop();
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  chip.finalize();

  // 3. Compare outputs with the reference executor.
  RunSummary summary;
  summary.platform = spec.name;
  summary.config_file = options.config_path;
  summary.seed = spec.seed;
  summary.clock_hz = spec.clock_hz;
  summary.cores = spec.cores();
  summary.inferences = spec.inferences;
  summary.check_reference = spec.check_reference;
  summary.tolerance = spec.tolerance;
  summary.memory_levels = spec.memory_levels;
  summary.sram_reference = spec.sram_reference;
  summary.temperature_k = spec.temperature_k;
  summary.cim_area_um2 = cim::cim_macro_area_um2(spec.cim);
  summary.cim_macros_per_core = spec.core.macros;
  summary.arith_datapath_um2 = spec.arith.datapath_area_um2();
  summary.arith_accumulator_um2 = spec.arith.accumulator_area_um2();
  summary.failure = chip.failure();
  summary.simulated_ns = kernel::to_ns(chip.finish_time());
  summary.cycles = chip.clock().cycles_to_cover(chip.finish_time());
  summary.wall_s = wall_s;
  summary.allocation = allocation.report;
  summary.added_level = added.name;
  summary.added_level_reason = added.reason;
  summary.layer_accounts = chip.layer_accounts();
  std::vector<graph::Tensor> produced;
  std::vector<std::string> produced_names;
  for (size_t index = 0; index < networks.size(); ++index) {
    const PreparedNetwork& network = networks[index];
    NetworkSummary entry;
    entry.name = network.name;
    entry.path = network.path;
    entry.cores = allocation.cores[index];
    entry.precision_bits = allocation.precision_bits[index];
    entry.mapping = allocation.mappings[index];
    entry.schedule = allocation.schedules[index];
    for (const auto& output : network.graph.outputs) {
      const graph::Tensor& expected = network.values.at(output.name);
      graph::Tensor simulated(expected.type(), expected.shape());
      const auto& binding = allocation.output_binding(index, output.name);
      chip.read(binding.core, binding.tensor.addr, simulated.raw(), simulated.bytes());
      entry.outputs_compared += expected.elements();
      const bool is_float = expected.type() == graph::DataType::Float;
      for (int64_t i = 0; i < expected.elements(); ++i) {
        const double a = expected.as_double(i), b = simulated.as_double(i);
        const double difference = std::fabs(a - b);
        entry.max_abs_error = std::max(entry.max_abs_error, difference);
        // Integers: within the tolerance (default 0, bit-exact). Floats: identical bits.
        const bool differs =
            is_float ? std::memcmp(static_cast<const float*>(expected.raw()) + i,
                                   static_cast<const float*>(simulated.raw()) + i, 4) != 0 &&
                           !(std::isnan(a) && std::isnan(b))
                     : difference > static_cast<double>(spec.tolerance);
        if (differs) ++entry.mismatches;
        if (difference != 0.0) ++entry.values_different;
      }
      produced.push_back(std::move(simulated));
      produced_names.push_back(output.name);
    }
    entry.match_reference = !spec.check_reference || entry.mismatches == 0;
    if (!spec.check_reference) entry.mismatches = 0;
    summary.networks.push_back(std::move(entry));
  }

  // 4. Results: stats JSON and effective configuration, outputs, VCD (all or none), report.
  try {
    const nlohmann::json stats = stats_json(summary, chip_stats);
    outputs.stage(stats_path, [&](const std::string& temporary) {
      write_text(temporary, stats.dump(2) + "\n");
    });
    outputs.stage(config_dump_path, [&](const std::string& temporary) {
      write_text(temporary, config.effective_yaml());
    });
    for (size_t k = 0; k < produced.size() && k < output_paths.size(); ++k) {
      outputs.stage(output_paths[k] + ".pb", [&](const std::string& temporary) {
        onnx::save_tensor_pb(produced[k], produced_names[k], temporary);
      });
      outputs.stage(output_paths[k] + ".npy",
                    [&](const std::string& temporary) { onnx::save_npy(produced[k], temporary); });
    }
    if (trace) {
      outputs.stage(options.vcd_path, [&](const std::string& temporary) {
        if (!trace->write_vcd(temporary))
          throw std::runtime_error("cannot write " + options.vcd_path);
      });
      outputs.stage(gtkw_path, [&](const std::string& temporary) {
        if (!trace->write_gtkw(temporary, fs::path(options.vcd_path).filename().string())) {
          throw std::runtime_error("cannot write " + gtkw_path);
        }
      });
    }
    outputs.commit();
    if (!options.quiet) {
      print_report(out, summary, chip_stats);
      out << "stats: " << stats_path
          << "  (effective configuration: " << effective_config_path(stats_path) << ")\n";
      if (trace)
        out << "trace: " << options.vcd_path << " (gtkwave "
            << fs::path(options.vcd_path).replace_extension(".gtkw").string() << ")\n";
    }
  } catch (const std::exception& error) {
    // The simulation ran; its results could not be written (disk full, folder removed): a
    // failure of this run, not of its input.
    err << "cimtlm run: " << error.what() << " (the outputs of this run were not written)\n";
    return kExitFailure;
  }

  if (!summary.failure.empty()) {
    err << "cimtlm run: simulation failed: " << summary.failure << '\n';
    return kExitFailure;
  }
  if (!summary.match_reference()) {
    err << "cimtlm run: " << summary.mismatches()
        << " output values differ from the reference executor\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

}  // namespace cimtlm::platforms
