#include "models/noc/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "models/noc/network.h"
#include "models/noc/traffic.h"

namespace cimtlm::noc {

namespace {

// Slack before a window counts as saturated: 3 % of its created flits plus two packets per node,
// far above the boundary effects of a stable network (flits in flight at the window edges).
bool falls_behind(uint64_t created_flits, uint64_t accepted_flits, int nodes, int packet_flits) {
  const double slack = 0.03 * static_cast<double>(created_flits) + 2.0 * nodes * packet_flits;
  return static_cast<double>(created_flits) - static_cast<double>(accepted_flits) > slack;
}

uint64_t rate_seed(uint64_t seed, double rate, int packet_flits) {
  uint64_t rate_bits = 0;
  static_assert(sizeof(rate_bits) == sizeof(rate), "double is 64-bit");
  std::memcpy(&rate_bits, &rate, sizeof(rate));
  return mix_seed(mix_seed(seed, rate_bits), static_cast<uint64_t>(packet_flits));
}

}  // namespace

std::string validate_sweep_options(const NocParams& params, const NocSweepOptions& options) {
  const std::string problem = params.validate();
  if (!problem.empty()) return problem;
  // Latency-throughput sweeps measure saturation, which the reservation model does not model
  // (no back-pressure, infinite buffers): they run on the cycle-level engine only.
  if (params.model != "cycle") {
    return "noc.model: traffic sweeps need the cycle-level engine (\"cycle\"); \"" + params.model +
           "\" has no back-pressure, so it cannot show saturation";
  }
  TrafficKind kind;
  std::string traffic_problem = TrafficPattern::parse(options.traffic, kind);
  if (!traffic_problem.empty()) return "--traffic: " + traffic_problem;
  const TrafficPattern pattern(kind, Topology(params), options.hotspot_node,
                               options.hotspot_fraction);
  traffic_problem = pattern.check();
  if (!traffic_problem.empty()) return "--traffic: " + traffic_problem;
  if (options.packet_flits < 1 || options.packet_flits > 4096) {
    return "--packet-flits: must be in [1, 4096]";
  }
  if (options.cycles <= options.warmup) return "--cycles: must be larger than --warmup";
  if (options.cycles > (uint64_t{1} << 40)) return "--cycles: too large";
  for (double rate : options.rates) {
    if (!(rate > 0.0 && rate <= 1.0)) {
      std::ostringstream message;
      message << "--rates: offered load " << rate << " is outside (0, 1] flits/node/cycle";
      return message.str();
    }
  }
  return "";
}

NocSweepPoint run_sweep_point(const NocParams& params, const NocSweepOptions& options, double rate) {
  Network network(params);
  const Topology& topology = network.topology();
  TrafficKind kind = TrafficKind::Uniform;
  TrafficPattern::parse(options.traffic, kind);
  const TrafficPattern pattern(kind, topology, options.hotspot_node, options.hotspot_fraction);
  Rng rng(rate_seed(options.seed, rate, options.packet_flits));
  const int nodes = topology.nodes();
  const int flits = options.packet_flits;
  const double packet_probability = std::min(1.0, rate / flits);

  std::vector<uint64_t> next_creation(nodes);
  for (auto& cycle : next_creation) cycle = rng.geometric_failures(packet_probability);

  const uint64_t window_start = options.warmup;
  const uint64_t window_end = options.cycles;
  const uint64_t window = window_end - window_start;
  const uint64_t stop_limit = window_end + 2 * window + 1000;

  // Measured packets have consecutive ids: [first_measured, first_measured + created).
  uint64_t next_id = 0;
  uint64_t first_measured = 0;
  std::vector<uint64_t> measured_create;
  std::vector<uint8_t> measured_done;
  uint64_t measured_outstanding = 0;
  uint64_t created_flits = 0;
  uint64_t delivered_at_start = 0;
  uint64_t delivered_at_end = 0;
  double latency_sum = 0.0;
  double network_latency_sum = 0.0;
  double hops_sum = 0.0;
  uint64_t latency_max = 0;
  uint64_t measured_delivered = 0;
  std::vector<Delivery> deliveries;

  uint64_t cycle = 0;
  for (; cycle < stop_limit; ++cycle) {
    if (cycle == window_start) {
      delivered_at_start = network.counters().flits_delivered;
      first_measured = next_id;
    }
    if (cycle == window_end) {
      delivered_at_end = network.counters().flits_delivered;
      if (measured_outstanding == 0) break;
    }
    if (cycle > window_end && measured_outstanding == 0) break;
    const bool measuring = cycle >= window_start && cycle < window_end;
    for (int node = 0; node < nodes; ++node) {
      if (next_creation[node] != cycle) continue;
      Packet packet;
      packet.id = next_id++;
      packet.source = node;
      packet.destination = pattern.destination(node, rng);
      packet.flits = flits;
      packet.create_cycle = cycle;
      network.inject(packet);
      if (measuring) {
        measured_create.push_back(cycle);
        measured_done.push_back(0);
        ++measured_outstanding;
        created_flits += static_cast<uint64_t>(flits);
      }
      next_creation[node] = cycle + 1 + rng.geometric_failures(packet_probability);
    }
    network.step();
    if (network.has_deliveries()) {
      network.take_deliveries(deliveries);
      for (const Delivery& delivery : deliveries) {
        if (delivery.id < first_measured || delivery.create_cycle < window_start ||
            delivery.create_cycle >= window_end) {
          continue;
        }
        const uint64_t index = delivery.id - first_measured;
        measured_done[index] = 1;
        --measured_outstanding;
        ++measured_delivered;
        const uint64_t latency = delivery.latency_cycles();
        latency_sum += static_cast<double>(latency);
        network_latency_sum += static_cast<double>(delivery.arrival_cycle - delivery.inject_cycle);
        hops_sum += delivery.hops;
        latency_max = std::max(latency_max, latency);
      }
    }
  }
  if (cycle < window_end) delivered_at_end = network.counters().flits_delivered;  // not reached

  NocSweepPoint point;
  point.rate = rate;
  point.packets = measured_create.size();
  const double node_cycles = static_cast<double>(nodes) * static_cast<double>(window);
  point.accepted_flits_per_node_cycle =
      static_cast<double>(delivered_at_end - delivered_at_start) / node_cycles;
  point.offered_flits_per_node_cycle = static_cast<double>(created_flits) / node_cycles;
  // Packets still undelivered at the end count with their age then (a lower bound).
  double undelivered_sum = 0.0;
  if (measured_outstanding > 0) {
    for (size_t i = 0; i < measured_create.size(); ++i) {
      if (measured_done[i]) continue;
      const uint64_t age = cycle - measured_create[i];
      undelivered_sum += static_cast<double>(age);
      latency_max = std::max(latency_max, age);
    }
  }
  if (point.packets > 0) {
    point.avg_latency_cycles = (latency_sum + undelivered_sum) / static_cast<double>(point.packets);
  }
  if (measured_delivered > 0) {
    point.avg_network_latency_cycles = network_latency_sum / static_cast<double>(measured_delivered);
    point.avg_hops = hops_sum / static_cast<double>(measured_delivered);
  }
  point.max_latency_cycles = static_cast<double>(latency_max);
  point.simulated_cycles = cycle;
  point.saturated = measured_outstanding > 0 ||
                    falls_behind(created_flits, delivered_at_end - delivered_at_start, nodes, flits);
  return point;
}

std::vector<NocSweepPoint> run_sweep(const NocParams& params, const NocSweepOptions& options) {
  std::vector<NocSweepPoint> points;
  points.reserve(options.rates.size());
  for (double rate : options.rates) points.push_back(run_sweep_point(params, options, rate));
  return points;
}

double find_saturation_rate(const NocParams& params, const NocSweepOptions& options,
                            double resolution) {
  double low = 0.0;   // known to be stable
  double high = 1.0;  // assumed saturated (one flit per node per cycle is the injection limit)
  if (!run_sweep_point(params, options, high).saturated) return high;
  while (high - low > resolution) {
    const double middle = 0.5 * (low + high);
    if (run_sweep_point(params, options, middle).saturated) {
      high = middle;
    } else {
      low = middle;
    }
  }
  return 0.5 * (low + high);
}

void print_sweep_table(std::ostream& out, const NocParams& params, const NocSweepOptions& options,
                       const std::vector<NocSweepPoint>& points) {
  const Topology topology(params);
  out << "NoC sweep: " << params.topology << ' ' << params.cols << 'x' << params.rows << " ("
      << topology.nodes() << " nodes), " << params.routing << " routing, " << params.vcs
      << " VCs x " << params.vc_buffer_flits << " flits, " << options.traffic << " traffic, "
      << options.packet_flits << "-flit packets, window [" << options.warmup << ", "
      << options.cycles << ") cycles, seed " << options.seed << '\n';
  out << "    rate  offered  accepted  avg_latency  max_latency  packets\n";
  bool any_saturated = false;
  for (const NocSweepPoint& point : points) {
    out << std::fixed << std::setprecision(3) << std::setw(8) << point.rate << ' ' << std::setw(8)
        << point.offered_flits_per_node_cycle << ' ' << std::setprecision(4) << std::setw(9)
        << point.accepted_flits_per_node_cycle << ' ' << std::setprecision(2) << std::setw(12)
        << point.avg_latency_cycles << (point.saturated ? '*' : ' ') << std::setprecision(0)
        << std::setw(12) << point.max_latency_cycles << ' ' << std::setw(8) << point.packets
        << '\n';
    any_saturated = any_saturated || point.saturated;
  }
  out << std::defaultfloat;
  out << "(rate, offered, accepted: flits/node/cycle; latency: cycles from packet creation to tail"
         " ejection)\n";
  if (any_saturated) {
    out << "* saturated: the network does not keep up with the offered load; the latency shown is"
           " a lower bound that grows with the run length\n";
  }
}

bool write_sweep_csv(const std::string& path, const std::vector<NocSweepPoint>& points,
                     std::string* error) {
  std::ofstream file(path);
  if (!file) {
    if (error) *error = "cannot write " + path;
    return false;
  }
  file << "rate,avg_latency_cycles,accepted_flits_per_node_cycle\n";
  for (const NocSweepPoint& point : points) {
    file << std::defaultfloat << std::setprecision(6) << point.rate << ',' << std::fixed
         << std::setprecision(3) << point.avg_latency_cycles << ',' << std::setprecision(5)
         << point.accepted_flits_per_node_cycle << '\n';
  }
  file.flush();
  if (!file) {
    if (error) *error = "cannot write " + path;
    return false;
  }
  return true;
}

int run_noc_command(const NocParams& params, const NocSweepOptions& options, std::ostream& out,
                    const std::string& csv_path) {
  return run_noc_command(params, options, out, std::cerr, csv_path);
}

int run_noc_command(const NocParams& params, const NocSweepOptions& options, std::ostream& out,
                    std::ostream& err, const std::string& csv_path) {
  std::string problem = validate_sweep_options(params, options);
  if (problem.empty() && options.rates.empty()) problem = "--rates: give at least one offered load";
  if (!problem.empty()) {
    err << "cimtlm noc: " << problem << '\n';
    return 2;
  }
  const std::vector<NocSweepPoint> points = run_sweep(params, options);
  print_sweep_table(out, params, options, points);
  if (!csv_path.empty()) {
    std::string error;
    if (!write_sweep_csv(csv_path, points, &error)) {
      err << "cimtlm noc: " << error << '\n';
      return 2;
    }
    out << "wrote " << csv_path << '\n';
  }
  return 0;
}

}  // namespace cimtlm::noc
