// NoC engine speed: simulated cycles per host second on an 8x8 mesh with uniform random traffic
// and 4-flit packets at 0.1 and 0.3 flits/node/cycle (BookSim2 runs ~13 k cycles/s at 0.1 on
// this machine class; the target is >= 130 k cycles/s). Prints one line per load and exits 1 if
// the 0.1 load is below the target, so it can run as a check.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "models/noc/sweep.h"

int main(int argc, char** argv) {
  using cimtlm::noc::NocParams;
  using cimtlm::noc::NocSweepOptions;
  NocParams params;
  params.rows = 8;
  params.cols = 8;
  NocSweepOptions options;
  options.packet_flits = 4;
  options.warmup = 5000;
  options.cycles = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  constexpr double kTargetCyclesPerSecond = 130e3;
  bool below_target = false;
  for (double rate : {0.1, 0.3}) {
    const auto start = std::chrono::steady_clock::now();
    const auto point = cimtlm::noc::run_sweep_point(params, options, rate);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double speed = static_cast<double>(point.simulated_cycles) / seconds;
    std::printf("noc 8x8 mesh, 4-flit packets, offered %.2f: %llu cycles in %.3f s = %.0f cycles/s"
                " (avg latency %.2f cycles, accepted %.4f flits/node/cycle)\n",
                rate, static_cast<unsigned long long>(point.simulated_cycles), seconds, speed,
                point.avg_latency_cycles, point.accepted_flits_per_node_cycle);
    if (rate == 0.1 && speed < kTargetCyclesPerSecond) below_target = true;
  }
  return below_target ? 1 : 0;
}
