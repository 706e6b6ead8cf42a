// Latency-throughput sweeps with synthetic traffic (`cimtlm noc`).
//
// Each offered load is one independent simulation, deterministic from (seed, rate, packet size):
// warm up for `warmup` cycles, measure packets created in [warmup, cycles), keep the traffic
// running while those packets drain (as BookSim does), and report
//   avg_latency_cycles: mean creation-to-tail-ejection latency of the measured packets,
//   accepted_flits_per_node_cycle: flits ejected during the window per node and cycle.
// A point is saturated when the network cannot keep up with the offered load: the window's
// ejected flits fall short of its created flits by more than 3 % (source queues grow), or the
// measured packets do not drain within twice the window. A saturated point still reports the
// latency it measured (packets that never arrived count with their age at the end of the run,
// so the figure is a lower bound).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/noc/noc_params.h"

namespace cimtlm::noc {

struct NocSweepOptions {
  std::string traffic = "uniform";  // uniform | transpose | bitcomp | hotspot
  std::vector<double> rates;        // offered load, flits/node/cycle
  int packet_flits = 1;
  uint64_t cycles = 20000;  // end of the measurement window
  uint64_t warmup = 5000;   // start of the measurement window
  uint64_t seed = 1;
  int hotspot_node = -1;          // hotspot traffic: target node (-1 = centre of the network)
  double hotspot_fraction = 0.1;  // hotspot traffic: share of packets sent to the hot spot
};

struct NocSweepPoint {
  double rate = 0.0;
  double avg_latency_cycles = 0.0;
  double accepted_flits_per_node_cycle = 0.0;
  bool saturated = false;
  uint64_t packets = 0;  // measured packets (created in the window)
  double max_latency_cycles = 0.0;
  double offered_flits_per_node_cycle = 0.0;  // flits actually created in the window
  double avg_network_latency_cycles = 0.0;    // head injection to tail ejection
  double avg_hops = 0.0;
  uint64_t simulated_cycles = 0;  // warm-up + window + drain
};

// Empty when the options can run on this network; otherwise the reason.
std::string validate_sweep_options(const NocParams& params, const NocSweepOptions& options);

// One simulation at one offered load (params and options must be valid).
NocSweepPoint run_sweep_point(const NocParams& params, const NocSweepOptions& options, double rate);
// All of options.rates, in order.
std::vector<NocSweepPoint> run_sweep(const NocParams& params, const NocSweepOptions& options);

// The lowest offered load (flits/node/cycle) that saturates the network, found by bisection to
// `resolution` (options.rates is ignored).
double find_saturation_rate(const NocParams& params, const NocSweepOptions& options,
                            double resolution = 0.005);

void print_sweep_table(std::ostream& out, const NocParams& params, const NocSweepOptions& options,
                       const std::vector<NocSweepPoint>& points);
// Header `rate,avg_latency_cycles,accepted_flits_per_node_cycle`, one row per point.
bool write_sweep_csv(const std::string& path, const std::vector<NocSweepPoint>& points,
                     std::string* error);

// The whole `cimtlm noc` command after option parsing: validates, runs, prints the table and
// writes the CSV (when csv_path is not empty). Returns 0, or 2 with a message on `out`'s
// companion error stream (`err`) for bad parameters/options or an unwritable CSV.
int run_noc_command(const NocParams& params, const NocSweepOptions& options, std::ostream& out,
                    const std::string& csv_path);
int run_noc_command(const NocParams& params, const NocSweepOptions& options, std::ostream& out,
                    std::ostream& err, const std::string& csv_path);

}  // namespace cimtlm::noc
