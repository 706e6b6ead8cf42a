// The NoC engine's promises: exact zero-load latency, exactly-once delivery, minimal routes, no
// deadlock at saturation (every routing policy), parameter checking, traffic patterns, sweeps.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/noc/network.h"
#include "models/noc/sweep.h"
#include "models/noc/traffic.h"

namespace cimtlm::noc {
namespace {

// Runs the network until it is idle (or `limit` cycles pass) and returns every delivery.
std::vector<Delivery> drain(Network& network, uint64_t limit) {
  std::vector<Delivery> all;
  std::vector<Delivery> batch;
  const uint64_t stop = network.now() + limit;
  while (!network.idle() && network.now() < stop) {
    network.run_until(network.now() + 1);
    network.take_deliveries(batch);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

uint64_t single_packet_latency(const NocParams& params, int source, int destination, int flits) {
  Network network(params);
  network.inject({7, source, destination, flits, 100, 0});
  const std::vector<Delivery> deliveries = drain(network, 10000);
  EXPECT_EQ(deliveries.size(), 1u);
  if (deliveries.size() != 1) return 0;
  EXPECT_EQ(deliveries[0].id, 7u);
  EXPECT_EQ(deliveries[0].create_cycle, 100u);
  EXPECT_EQ(deliveries[0].inject_cycle, 100u);  // an empty network takes the head at once
  return deliveries[0].latency_cycles();
}

TEST(NocZeroLoad, DefaultPipelineMatchesHandCountedCycles) {
  NocParams params;  // 4x4 mesh, 1-cycle stages, 1-cycle link: 5 cycles per hop
  // Source cycle + injection channel + read: 3; 4 router stages per router; 1 link per hop.
  EXPECT_EQ(single_packet_latency(params, 0, 0, 1), 3u + 4u);
  EXPECT_EQ(single_packet_latency(params, 0, 1, 1), 3u + 2 * 4u + 1u);
  EXPECT_EQ(single_packet_latency(params, 0, 15, 1), 3u + 7 * 4u + 6u);  // 37 cycles
  EXPECT_EQ(single_packet_latency(params, 0, 15, 4), 3u + 7 * 4u + 6u + 3u);
  // The mean over uniform traffic (2.5 hops) is 19.5 cycles: BookSim's 4x4 zero-load figure.
  EXPECT_DOUBLE_EQ(static_cast<double>(Network::zero_load_latency(params, 2, 1) +
                                       Network::zero_load_latency(params, 3, 1)) /
                       2.0,
                   19.5);
}

TEST(NocZeroLoad, EveryPairAndPacketSizeMatchesTheFormula) {
  for (const char* topology : {"mesh", "torus"}) {
    NocParams params;
    params.topology = topology;
    const Topology geometry(params);
    for (int flits = 1; flits <= params.vc_buffer_flits; ++flits) {
      for (int source = 0; source < geometry.nodes(); source += 3) {
        for (int destination = 0; destination < geometry.nodes(); ++destination) {
          const int hops = geometry.hops(source, destination);
          EXPECT_EQ(single_packet_latency(params, source, destination, flits),
                    Network::zero_load_latency(params, hops, flits))
              << topology << ' ' << source << "->" << destination << ' ' << flits << " flits";
        }
      }
    }
  }
}

TEST(NocZeroLoad, OtherPipelinesMatchTheFormula) {
  struct Pipeline {
    int routing, vc, sw, link;
  };
  for (const Pipeline& stages :
       {Pipeline{0, 1, 1, 1}, Pipeline{2, 1, 1, 3}, Pipeline{1, 3, 2, 1}, Pipeline{3, 2, 1, 2}}) {
    NocParams params;
    params.rows = 3;
    params.cols = 5;
    params.routing_cycles = stages.routing;
    params.vc_allocation_cycles = stages.vc;
    params.switch_allocation_cycles = stages.sw;
    params.link_cycles = stages.link;
    const Topology geometry(params);
    for (int destination = 0; destination < geometry.nodes(); ++destination) {
      EXPECT_EQ(single_packet_latency(params, 7, destination, 1),
                Network::zero_load_latency(params, geometry.hops(7, destination), 1))
          << "stages " << stages.routing << stages.vc << stages.sw << stages.link;
    }
  }
}

// Injects Bernoulli traffic for `cycles`, then drains; checks exactly-once delivery, minimal
// routes and that the network empties (a deadlock would leave packets stuck forever).
void saturate_and_drain(const NocParams& params, const std::string& traffic, double rate,
                        int packet_flits, uint64_t cycles) {
  Network network(params);
  const Topology& topology = network.topology();
  TrafficKind kind;
  ASSERT_EQ(TrafficPattern::parse(traffic, kind), "");
  const TrafficPattern pattern(kind, topology, -1, 0.1);
  Rng rng(42);
  std::map<uint64_t, std::pair<int, int>> sent;  // id -> (source, destination)
  std::vector<Delivery> deliveries;
  std::vector<Delivery> batch;
  uint64_t id = 0;
  for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
    for (int node = 0; node < topology.nodes(); ++node) {
      if (rng.uniform() >= rate / packet_flits) continue;
      const int destination = pattern.destination(node, rng);
      sent[id] = {node, destination};
      network.inject({id++, node, destination, packet_flits, cycle, 0});
    }
    network.step();
    network.take_deliveries(batch);
    deliveries.insert(deliveries.end(), batch.begin(), batch.end());
  }
  // Saturated: the source queues are long. Everything must still come out.
  const std::vector<Delivery> rest = drain(network, 2'000'000);
  deliveries.insert(deliveries.end(), rest.begin(), rest.end());
  ASSERT_TRUE(network.idle()) << "packets stuck in the network: deadlock";
  ASSERT_EQ(deliveries.size(), sent.size());
  std::map<uint64_t, int> seen;
  for (const Delivery& delivery : deliveries) {
    ++seen[delivery.id];
    const auto& route = sent.at(delivery.id);
    EXPECT_EQ(delivery.source, route.first);
    EXPECT_EQ(delivery.destination, route.second);
    EXPECT_EQ(delivery.hops, topology.hops(route.first, route.second));  // minimal routing
    EXPECT_GE(delivery.arrival_cycle, delivery.inject_cycle);
    EXPECT_GE(delivery.inject_cycle, delivery.create_cycle);
  }
  for (const auto& entry : seen) EXPECT_EQ(entry.second, 1) << "packet " << entry.first;
  EXPECT_EQ(seen.size(), sent.size());
  EXPECT_EQ(network.counters().flits_delivered, network.counters().flits_injected);
  EXPECT_EQ(network.counters().flits_delivered, sent.size() * static_cast<uint64_t>(packet_flits));
}

TEST(NocSaturation, ExactlyOnceDeliveryUnderSaturatingLoad) {
  NocParams params;
  saturate_and_drain(params, "uniform", 0.9, 4, 4000);
}

TEST(NocSaturation, XyMeshDoesNotDeadlock) {
  NocParams params;
  params.rows = params.cols = 8;
  saturate_and_drain(params, "uniform", 1.0, 4, 3000);
  saturate_and_drain(params, "transpose", 1.0, 2, 3000);
}

TEST(NocSaturation, WestFirstDoesNotDeadlock) {
  NocParams params;
  params.rows = params.cols = 6;
  params.routing = "west_first";
  saturate_and_drain(params, "uniform", 1.0, 4, 3000);
  saturate_and_drain(params, "bitcomp", 1.0, 3, 3000);
}

TEST(NocSaturation, OddEvenDoesNotDeadlock) {
  NocParams params;
  params.rows = params.cols = 6;
  params.routing = "odd_even";
  saturate_and_drain(params, "uniform", 1.0, 4, 3000);
  saturate_and_drain(params, "transpose", 1.0, 3, 3000);
}

TEST(NocSaturation, TorusWithDatelineClassesDoesNotDeadlock) {
  NocParams params;
  params.topology = "torus";
  params.rows = params.cols = 6;
  saturate_and_drain(params, "uniform", 1.0, 4, 3000);
  saturate_and_drain(params, "bitcomp", 1.0, 5, 3000);  // packets longer than a VC buffer
}

TEST(NocSaturation, ConcentratedMeshDeliversEverything) {
  NocParams params;
  params.rows = 3;
  params.cols = 4;
  params.concentration = 2;
  saturate_and_drain(params, "uniform", 1.0, 2, 2000);
}

// Bursts separated by idle stretches: run_until jumps over idle cycles while credits are still
// in flight (they land through a wheel at their due cycle, so a jump must apply the ones due in
// the skipped cycles), and the next burst depends on them. Stepping every cycle instead must give
// the same deliveries, cycle for cycle.
TEST(NocEventDriven, JumpingOverIdleCyclesEqualsSteppingEveryCycle) {
  NocParams params;
  params.rows = params.cols = 3;
  params.vc_buffer_flits = 2;  // 6-flit packets: credits gate every flit
  params.credit_delay_cycles = 3;
  auto run = [&](bool jump) {
    Network network(params);
    std::vector<Delivery> all;
    std::vector<Delivery> batch;
    uint64_t id = 0;
    for (int burst = 0; burst < 6; ++burst) {
      const uint64_t start = static_cast<uint64_t>(burst) * 150;
      for (int source = 0; source < network.nodes(); ++source) {
        Packet packet;
        packet.id = id++;
        packet.source = source;
        packet.destination = (source * 5 + burst) % network.nodes();
        packet.flits = 6;
        packet.create_cycle = start + static_cast<uint64_t>(source % 3);
        network.inject(packet);
      }
      const uint64_t until = start + 150;
      while (network.now() < until) {
        if (jump) {
          network.run_until(until);
        } else {
          network.step();
        }
      }
      EXPECT_TRUE(network.idle());
      network.take_deliveries(batch);
      all.insert(all.end(), batch.begin(), batch.end());
    }
    return all;
  };
  const std::vector<Delivery> jumped = run(true);
  const std::vector<Delivery> stepped = run(false);
  ASSERT_EQ(jumped.size(), 54u);
  ASSERT_EQ(stepped.size(), jumped.size());
  for (size_t i = 0; i < jumped.size(); ++i) {
    EXPECT_EQ(jumped[i].id, stepped[i].id) << i;
    EXPECT_EQ(jumped[i].inject_cycle, stepped[i].inject_cycle) << i;
    EXPECT_EQ(jumped[i].arrival_cycle, stepped[i].arrival_cycle) << i;
    EXPECT_EQ(jumped[i].hops, stepped[i].hops) << i;
  }
}

TEST(NocParams, DefaultsAreValid) {
  EXPECT_EQ(NocParams{}.validate(), "");
}

TEST(NocParams, BadTopologyParametersNameTheField) {
  auto problem = [](auto change) {
    NocParams params;
    change(params);
    return params.validate();
  };
  EXPECT_NE(problem([](NocParams& p) { p.rows = 0; }).find("noc.rows"), std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.cols = -2; }).find("noc.cols"), std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.topology = "ring"; }).find("noc.topology"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.concentration = 0; }).find("noc.concentration"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.vcs = 0; }).find("noc.vcs"), std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.vc_buffer_flits = 0; }).find("noc.vc_buffer_flits"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.routing = "yx"; }).find("noc.routing"), std::string::npos);
  EXPECT_NE(problem([](NocParams& p) {
              p.switch_traversal_cycles = 0;
            }).find("noc.switch_traversal_cycles"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) { p.link_cycles = 0; }).find("noc.link_cycles"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) {
              p.link_energy_pj_per_flit = -1.0;
            }).find("noc.link_energy_pj_per_flit"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) {
              p.topology = "torus";
              p.vcs = 1;
            }).find("noc.vcs"),
            std::string::npos);
  EXPECT_NE(problem([](NocParams& p) {
              p.topology = "torus";
              p.routing = "odd_even";
            }).find("noc.routing"),
            std::string::npos);
  NocParams bad;
  bad.rows = 0;
  EXPECT_THROW(Network{bad}, std::invalid_argument);
}

TEST(NocTraffic, PatternsSendWhereTheyShould) {
  NocParams params;  // 4x4
  const Topology topology(params);
  Rng rng(1);
  const TrafficPattern transpose(TrafficKind::Transpose, topology, -1, 0.0);
  EXPECT_EQ(transpose.destination(1 + 2 * 4, rng), 2 + 1 * 4);  // (1,2) -> (2,1)
  const TrafficPattern complement(TrafficKind::BitComplement, topology, -1, 0.0);
  for (int node = 0; node < 16; ++node) EXPECT_EQ(complement.destination(node, rng), 15 - node);
  const TrafficPattern hotspot(TrafficKind::Hotspot, topology, 5, 1.0);
  EXPECT_EQ(hotspot.destination(3, rng), 5);
  const TrafficPattern uniform(TrafficKind::Uniform, topology, -1, 0.0);
  std::vector<int> hits(16, 0);
  for (int i = 0; i < 16000; ++i) ++hits[uniform.destination(0, rng)];
  for (int count : hits) EXPECT_NEAR(count, 1000, 150);  // self included
  NocParams oblong;
  oblong.rows = 2;
  EXPECT_NE(TrafficPattern(TrafficKind::Transpose, Topology(oblong), -1, 0.0).check(), "");
}

TEST(NocSweep, CommandWritesTheCsvAndRejectsBadOptions) {
  NocParams params;
  NocSweepOptions options;
  options.rates = {0.05, 0.95};
  options.cycles = 4000;
  options.warmup = 1000;
  const std::string csv = ::testing::TempDir() + "noc_sweep.csv";
  std::ostringstream out, err;
  ASSERT_EQ(run_noc_command(params, options, out, err, csv), 0) << err.str();
  std::ifstream file(csv);
  std::string header, first, second;
  std::getline(file, header);
  std::getline(file, first);
  std::getline(file, second);
  EXPECT_EQ(header, "rate,avg_latency_cycles,accepted_flits_per_node_cycle");
  EXPECT_EQ(first.rfind("0.05,", 0), 0u);
  EXPECT_EQ(second.rfind("0.95,", 0), 0u);
  EXPECT_NE(out.str().find('*'), std::string::npos) << "0.95 saturates and is marked";

  auto rejected = [&](auto change) {
    NocParams p = params;
    NocSweepOptions o = options;
    change(p, o);
    std::ostringstream sink_out, sink_err;
    const int status = run_noc_command(p, o, sink_out, sink_err, "");
    EXPECT_FALSE(sink_err.str().empty());
    return status;
  };
  EXPECT_EQ(rejected([](NocParams& p, NocSweepOptions&) { p.rows = 0; }), 2);
  EXPECT_EQ(rejected([](NocParams& p, NocSweepOptions&) { p.cols = -1; }), 2);
  EXPECT_EQ(rejected([](NocParams&, NocSweepOptions& o) { o.traffic = "tornado"; }), 2);
  EXPECT_EQ(rejected([](NocParams&, NocSweepOptions& o) { o.rates.clear(); }), 2);
  EXPECT_EQ(rejected([](NocParams&, NocSweepOptions& o) { o.rates = {1.5}; }), 2);
  EXPECT_EQ(rejected([](NocParams&, NocSweepOptions& o) { o.cycles = o.warmup; }), 2);
  EXPECT_EQ(rejected([](NocParams& p, NocSweepOptions& o) {
              p.rows = 2;
              o.traffic = "transpose";
            }),
            2);
  EXPECT_EQ(run_noc_command(params, options, out, err, "/nonexistent/dir/x.csv"), 2);
}

TEST(NocSweep, PointsAreDeterministicFromTheSeed) {
  NocParams params;
  NocSweepOptions options;
  options.cycles = 3000;
  options.warmup = 500;
  options.packet_flits = 2;
  const NocSweepPoint a = run_sweep_point(params, options, 0.3);
  const NocSweepPoint b = run_sweep_point(params, options, 0.3);
  EXPECT_EQ(a.avg_latency_cycles, b.avg_latency_cycles);
  EXPECT_EQ(a.packets, b.packets);
  options.seed = 2;
  EXPECT_NE(run_sweep_point(params, options, 0.3).avg_latency_cycles, a.avg_latency_cycles);
}

}  // namespace
}  // namespace cimtlm::noc
