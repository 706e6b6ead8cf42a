// NoC engine speed: simulated cycles per host second on an 8x8 mesh with uniform random traffic
// and 4-flit packets at offered loads from 0.02 to 0.3 flits/node/cycle (saturation is near
// 0.35), against BookSim2 on this machine class (measured with its own 8x8 mesh configuration:
// about 40.5 k cycles/s at 0.02, 13.3 k at 0.1, 6.8 k at 0.2, 4.2 k at 0.3). The target is 10x.
// Prints `FIGURE noc.cycles_per_s.<load> <value> cycles/s` and `RATIO noc.vs_booksim.<load>
// <measured> 10` per load (scripts/bench.sh); a benchmark, so it never fails on a slow machine.
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
  struct Load {
    double rate;
    double booksim_cycles_per_s;
  };
  for (const Load load : {Load{0.02, 40.5e3}, Load{0.1, 13.3e3}, Load{0.2, 6.8e3}, Load{0.3, 4.2e3}}) {
    const auto start = std::chrono::steady_clock::now();
    const auto point = cimtlm::noc::run_sweep_point(params, options, load.rate);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double speed = static_cast<double>(point.simulated_cycles) / seconds;
    std::printf("FIGURE noc.cycles_per_s.%.2f %.0f cycles/s (avg latency %.2f cycles, accepted "
                "%.4f flits/node/cycle)\n",
                load.rate, speed, point.avg_latency_cycles, point.accepted_flits_per_node_cycle);
    std::printf("RATIO noc.vs_booksim.%.2f %.2f 10\n", load.rate, speed / load.booksim_cycles_per_s);
    std::fflush(stdout);
  }
  return 0;
}
