// cimtlm_memory_demo: the OS-FET memory hierarchy on its own, until the platform wires it in.
//
//   cimtlm_memory_demo run [--temperature-c C] [--inferences N] [--idle-s S]
//                          [--weights-in nosram|dosram] [--vcd FILE]
//       Weights (512 KiB) in NOSRAM on OS layer 1, activations in DOSRAM on OS layer 2. Each
//       inference streams the weights and writes/reads activations; between inferences both
//       levels are power gated for --idle-s seconds. Prints the footprint and the energy per
//       level next to what silicon SRAM would have cost. Exit 1 on a retention violation.
//   cimtlm_memory_demo retention [--csv FILE]
//       Retention versus temperature (25..125 °C) of the default technologies.
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <systemc>
#include <tlm>
#include <vector>

#include "models/kernel/environment.h"
#include "models/kernel/stats.h"
#include "models/kernel/vcd.h"
#include "models/memory/memory_hierarchy.h"
#include "models/memory/memory_report.h"

namespace {

using cimtlm::memory::MemoryHierarchy;
using cimtlm::memory::MemoryLevelParams;

struct Options {
  std::string command;
  double temperature_c = 85.0;
  int inferences = 4;
  double idle_s = 1.0;
  std::string weights_in = "nosram";
  std::string vcd;
  std::string csv;
};

// An accelerator core reduced to its memory traffic, loosely timed with a local time offset.
class TrafficCore : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<TrafficCore> socket{"socket"};

  TrafficCore(const sc_core::sc_module_name& name, MemoryHierarchy& memory, const Options& options,
              int weights_level, int activations_level)
      : sc_core::sc_module(name),
        memory_(memory),
        options_(options),
        weights_level_(weights_level),
        activations_level_(activations_level) {
    sc_core::sc_spawn([this] { run(); }, "run");
  }
  bool failed = false;

 private:
  static constexpr size_t kWeightBytes = 512 * 1024;
  static constexpr size_t kActivationBytes = 96 * 1024;
  static constexpr size_t kChunk = 64 * 1024;

  bool transfer(tlm::tlm_command command, uint64_t address, uint8_t* data, size_t length,
                sc_core::sc_time& local) {
    tlm::tlm_generic_payload trans;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(static_cast<unsigned int>(length));
    trans.set_streaming_width(static_cast<unsigned int>(length));
    socket->b_transport(trans, local);
    return trans.is_response_ok();
  }

  void run() {
    const uint64_t weights = memory_.base(weights_level_);
    const uint64_t activations = memory_.base(activations_level_);
    std::vector<uint8_t> buffer(kChunk);
    for (int inference = 0; inference < options_.inferences; ++inference) {
      sc_core::sc_time local = sc_core::SC_ZERO_TIME;
      for (size_t offset = 0; offset < kWeightBytes; offset += kChunk) {
        if (!transfer(tlm::TLM_READ_COMMAND, weights + offset, buffer.data(), kChunk, local)) {
          failed = true;
          return;
        }
        for (size_t i = 0; i < kChunk; ++i) {
          if (buffer[i] != static_cast<uint8_t>((offset + i) * 13 + 5)) failed = true;
        }
        // A layer's activations: written, then read by the next layer.
        const uint64_t slot = activations + (offset / kChunk % 2) * kActivationBytes / 2;
        transfer(tlm::TLM_WRITE_COMMAND, slot, buffer.data(), kActivationBytes / 2, local);
        if (!transfer(tlm::TLM_READ_COMMAND, slot, buffer.data(), kActivationBytes / 2, local)) {
          failed = true;
          return;
        }
      }
      sc_core::wait(local);
      // Idle until the next inference: both OS levels gated, data kept.
      memory_.set_gated(weights_level_, true, sc_core::sc_time_stamp());
      memory_.set_gated(activations_level_, true, sc_core::sc_time_stamp());
      sc_core::wait(options_.idle_s, sc_core::SC_SEC);
    }
  }

  MemoryHierarchy& memory_;
  const Options& options_;
  int weights_level_;
  int activations_level_;
};

int run_demo(const Options& options) {
  std::vector<MemoryLevelParams> levels = {cimtlm::memory::technology_defaults("nosram"),
                                           cimtlm::memory::technology_defaults("dosram")};
  levels[0].name = "weights";
  levels[1].name = "activations";
  if (options.weights_in == "dosram") std::swap(levels[0], levels[1]);
  levels[0].name = "weights";
  levels[1].name = "activations";

  cimtlm::kernel::StatGroup stats("memory", "memory");
  cimtlm::kernel::FixedTemperature temperature(options.temperature_c +
                                               cimtlm::memory::kZeroCelsiusK);
  cimtlm::kernel::Clock clock(1e9);
  std::unique_ptr<cimtlm::kernel::VcdTrace> vcd;
  if (!options.vcd.empty()) vcd = std::make_unique<cimtlm::kernel::VcdTrace>();
  MemoryHierarchy memory("memory", levels, clock, stats, temperature, vcd.get(), 1);

  std::vector<uint8_t> weights(512 * 1024);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<uint8_t>(i * 13 + 5);
  memory.write_image(memory.base(0), weights.data(), weights.size());

  TrafficCore core("core", memory, options, 0, 1);
  core.socket.bind(memory.target);
  sc_core::sc_start();
  const sc_core::sc_time end = sc_core::sc_time_stamp();
  memory.finalize(end);

  std::cout << "OS-FET memory hierarchy: weights in " << levels[0].technology << " (layer "
            << levels[0].stack_layer << "), activations in " << levels[1].technology << " (layer "
            << levels[1].stack_layer << "), " << options.temperature_c << " °C, "
            << options.inferences << " inferences, " << options.idle_s
            << " s gated between them; simulated " << end.to_seconds() << " s\n\n";
  cimtlm::memory::print_footprint(std::cout, cimtlm::memory::stack_footprint(levels));
  std::cout << '\n';
  std::vector<cimtlm::memory::SramComparison> rows;
  const auto activity = memory.activity();
  for (size_t index = 0; index < levels.size(); ++index) {
    rows.push_back(cimtlm::memory::sram_equivalent(levels[index], activity[index]));
  }
  cimtlm::memory::print_sram_comparison(std::cout, rows);
  std::cout << '\n';
  stats.for_each([](const cimtlm::kernel::StatGroup& group, const std::string& path) {
    std::string line;
    for (const auto& stat : group.stats()) {
      if (stat->name == "reads" || stat->name == "writes" || stat->name == "refreshes" ||
          stat->name == "retention_violations" || stat->name == "power_gated_ns" ||
          stat->name == "wakeups") {
        std::ostringstream value;
        value << stat->as_double();
        line += ' ' + stat->name + '=' + value.str();
      }
    }
    if (!line.empty()) std::cout << path << ':' << line << '\n';
  });
  if (vcd) {
    vcd->write_vcd(options.vcd);
    std::cout << "VCD written to " << options.vcd << '\n';
  }
  const auto violations = memory.violations();
  for (size_t index = 0; index < violations.size() && index < 5; ++index) {
    std::cerr << violations[index].message() << '\n';
  }
  if (violations.size() > 5) std::cerr << "... " << violations.size() - 5 << " more\n";
  if (memory.failed() || core.failed) {
    std::cerr << "FAILED: data lost in the memory hierarchy\n";
    return 1;
  }
  return 0;
}

int run_retention(const Options& options) {
  const auto table = cimtlm::memory::default_retention_table();
  if (!options.csv.empty()) {
    std::ofstream out(options.csv);
    if (!out) {
      std::cerr << "cannot write " << options.csv << '\n';
      return 2;
    }
    cimtlm::memory::write_retention_csv(out, table);
    std::cout << "retention table written to " << options.csv << '\n';
  } else {
    cimtlm::memory::print_retention_table(std::cout, table);
  }
  return 0;
}

int usage() {
  std::cerr << "usage: cimtlm_memory_demo run [--temperature-c C] [--inferences N] [--idle-s S]"
               " [--weights-in nosram|dosram] [--vcd FILE]\n"
               "       cimtlm_memory_demo retention [--csv FILE]\n";
  return 2;
}

}  // namespace

int sc_main(int argc, char** argv) {
  Options options;
  if (argc < 2) return usage();
  options.command = argv[1];
  for (int index = 2; index < argc; ++index) {
    const std::string key = argv[index];
    if (index + 1 >= argc) return usage();
    const std::string value = argv[++index];
    if (key == "--temperature-c") {
      options.temperature_c = std::atof(value.c_str());
    } else if (key == "--inferences") {
      options.inferences = std::atoi(value.c_str());
    } else if (key == "--idle-s") {
      options.idle_s = std::atof(value.c_str());
    } else if (key == "--weights-in") {
      options.weights_in = value;
    } else if (key == "--vcd") {
      options.vcd = value;
    } else if (key == "--csv") {
      options.csv = value;
    } else {
      return usage();
    }
  }
  if (options.command == "run") return run_demo(options);
  if (options.command == "retention") return run_retention(options);
  return usage();
}
