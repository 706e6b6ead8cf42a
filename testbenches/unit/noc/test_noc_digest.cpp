// Differential check of the engine's whole observable behaviour against its recorded past: every
// delivery (all fields, in delivery order, with the cycle it was taken), every counter (per-link
// flits included) and every observer event (link flits and router occupancies, in call order) of
// random traffic on a set of configurations, hashed (FNV-1a 64) and compared with the digests the
// unchanged round-8 engine produced. A speed change of the router pipeline must keep them all:
// the same packets in the same cycles, the same counters, the same VCD.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/noc/network.h"
#include "models/noc/traffic.h"

namespace cimtlm::noc {
namespace {

class Digest {
 public:
  void add(uint64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      hash_ ^= (value >> (8 * byte)) & 0xff;
      hash_ *= 0x100000001b3ull;
    }
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

class RecordingObserver : public NetworkObserver {
 public:
  explicit RecordingObserver(Digest& digest) : digest_(digest) {}
  void link_flit(int link_slot, uint64_t cycle) override {
    digest_.add(1);
    digest_.add(static_cast<uint64_t>(link_slot));
    digest_.add(cycle);
    ++events;
  }
  void router_occupancy(int router, int buffered_flits, uint64_t cycle) override {
    digest_.add(2);
    digest_.add(static_cast<uint64_t>(router));
    digest_.add(static_cast<uint64_t>(buffered_flits));
    digest_.add(cycle);
    ++events;
  }
  uint64_t events = 0;

 private:
  Digest& digest_;
};

struct Scenario {
  std::string name;
  NocParams params;
  std::string traffic = "uniform";
  double rate = 0.1;     // flits/node/cycle while traffic is on
  int packet_flits = 4;  // of single packets; trains use 1..packet_flits per packet
  uint64_t cycles = 3000;
  bool trains = false;  // some sends are trains of several packets (Noc transfers)
  bool observe = true;
};

struct Outcome {
  uint64_t digest = 0;
  uint64_t deliveries = 0;
  uint64_t observer_events = 0;
};

// Traffic in bursts with idle gaps (so run_until jumps with credits in flight), stepped cycle by
// cycle while it is on, then drained.
Outcome run(const Scenario& scenario) {
  Network network(scenario.params);
  Digest digest;
  RecordingObserver observer(digest);
  if (scenario.observe) network.set_observer(&observer);
  const Topology& topology = network.topology();
  TrafficKind kind;
  EXPECT_EQ(TrafficPattern::parse(scenario.traffic, kind), "");
  const TrafficPattern pattern(kind, topology, -1, 0.2);
  Rng rng(mix_seed(7, scenario.cycles));
  std::vector<Delivery> batch;
  Outcome outcome;
  auto take = [&] {
    network.take_deliveries(batch);
    for (const Delivery& d : batch) {
      for (uint64_t field :
           {d.id, d.tag, static_cast<uint64_t>(d.source), static_cast<uint64_t>(d.destination),
            static_cast<uint64_t>(d.flits), static_cast<uint64_t>(d.hops), d.create_cycle,
            d.inject_cycle, d.arrival_cycle, network.now()}) {
        digest.add(field);
      }
    }
    outcome.deliveries += batch.size();
  };
  uint64_t id = 0;
  const uint64_t burst = 500;
  for (uint64_t cycle = 0; cycle < scenario.cycles; ++cycle) {
    const bool on = (cycle / burst) % 3 != 2;  // two bursts on, one off
    if (on) {
      for (int node = 0; node < topology.nodes(); ++node) {
        if (rng.uniform() >= scenario.rate / scenario.packet_flits) continue;
        Packet packet;
        packet.id = id;
        packet.source = node;
        packet.destination = pattern.destination(node, rng);
        packet.flits = scenario.packet_flits;
        packet.create_cycle = cycle + rng.below(3);  // some created in the future
        packet.tag = id % 97;
        if (scenario.trains && rng.below(4) == 0) {
          const uint64_t count = 1 + rng.below(5);
          const int last_flits = 1 + static_cast<int>(rng.below(scenario.packet_flits));
          network.inject_train(packet, count, last_flits);
          id += count;
        } else {
          network.inject(packet);
          ++id;
        }
      }
      network.step();
    } else {
      network.run_until(cycle + 1);
    }
    take();
  }
  while (!network.idle() && network.now() < scenario.cycles + 1'000'000) {
    network.run_until(network.next_activity_cycle() + 1);
    take();
  }
  EXPECT_TRUE(network.idle()) << scenario.name;
  EXPECT_EQ(outcome.deliveries, id) << scenario.name;
  const NetworkCounters& c = network.counters();
  for (uint64_t value : {c.packets_created, c.packets_delivered, c.flits_injected,
                         c.flits_delivered, c.buffer_writes, c.crossbar_traversals,
                         c.link_traversals, c.latency_sum_cycles, c.max_latency_cycles}) {
    digest.add(value);
  }
  for (uint64_t flits : c.link_flits) digest.add(flits);
  digest.add(network.now());
  outcome.digest = digest.value();
  outcome.observer_events = observer.events;
  return outcome;
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> all;
  auto add = [&](const std::string& name, auto&& configure) {
    Scenario scenario;
    scenario.name = name;
    configure(scenario);
    all.push_back(scenario);
  };
  add("mesh4_low", [](Scenario& s) { s.rate = 0.05; });
  add("mesh4_saturated", [](Scenario& s) { s.rate = 0.8; });
  add("mesh8_trains", [](Scenario& s) {
    s.params.rows = s.params.cols = 8;
    s.rate = 0.25;
    s.trains = true;
    s.cycles = 2000;
  });
  add("west_first", [](Scenario& s) {
    s.params.routing = "west_first";
    s.params.rows = s.params.cols = 5;
    s.rate = 0.35;
    s.traffic = "transpose";
  });
  add("odd_even", [](Scenario& s) {
    s.params.routing = "odd_even";
    s.params.rows = s.params.cols = 6;
    s.rate = 0.3;
  });
  add("torus_long_packets", [](Scenario& s) {
    s.params.topology = "torus";
    s.params.rows = s.params.cols = 4;
    s.params.vcs = 4;
    s.packet_flits = 6;
    s.rate = 0.3;
    s.traffic = "bitcomp";
  });
  add("concentrated", [](Scenario& s) {
    s.params.rows = 3;
    s.params.cols = 4;
    s.params.concentration = 3;
    s.packet_flits = 2;
    s.rate = 0.25;
    s.trains = true;
  });
  add("multi_cycle_stages", [](Scenario& s) {
    s.params.routing_cycles = 2;
    s.params.vc_allocation_cycles = 2;
    s.params.switch_allocation_cycles = 3;
    s.params.switch_traversal_cycles = 2;
    s.params.link_cycles = 2;
    s.params.credit_delay_cycles = 0;
    s.params.vcs = 3;
    s.rate = 0.3;
    s.traffic = "hotspot";
  });
  add("lookahead_routing_small_buffers", [](Scenario& s) {
    s.params.routing_cycles = 0;
    s.params.vc_buffer_flits = 2;
    s.params.credit_delay_cycles = 2;
    s.packet_flits = 3;
    s.rate = 0.3;
    s.trains = true;
  });
  add("one_vc_unobserved", [](Scenario& s) {
    s.params.vcs = 1;
    s.rate = 0.3;
    s.observe = false;
  });
  return all;
}

// Recorded with the round-8 engine (git main 47c7516); see the file comment.
struct Expected {
  const char* name;
  uint64_t digest;
  uint64_t deliveries;
  uint64_t observer_events;
};
constexpr Expected kExpected[] = {
    {"mesh4_low", 0x36a79da53200659full, 410, 9359},
    {"mesh4_saturated", 0xcf840e458e50a1a9ull, 6283, 91221},
    {"mesh8_trains", 0x7609e1c434cb87f1ull, 8958, 252325},
    {"west_first", 0xbf8778a6cad6b01full, 4345, 87271},
    {"odd_even", 0xfe2bd7467e552029ull, 5450, 126562},
    {"torus_long_packets", 0xa2987537d8504150ull, 1633, 36370},
    {"concentrated", 0xc388b9e5e62272b6ull, 13498, 84738},
    {"multi_cycle_stages", 0x3d0e4f938c329412ull, 2467, 66391},
    {"lookahead_routing_small_buffers", 0xce98933b4437b55cull, 4853, 64245},
    {"one_vc_unobserved", 0x80666735edf250f9ull, 2466, 0},
};

TEST(NocEngineDigest, EveryConfigurationBehavesExactlyAsRecorded) {
  const std::vector<Scenario> all = scenarios();
  for (const Scenario& scenario : all) {
    const Outcome outcome = run(scenario);
    bool found = false;
    for (const Expected& expected : kExpected) {
      if (scenario.name != expected.name) continue;
      found = true;
      EXPECT_EQ(outcome.deliveries, expected.deliveries) << scenario.name;
      EXPECT_EQ(outcome.observer_events, expected.observer_events) << scenario.name;
      EXPECT_EQ(outcome.digest, expected.digest) << scenario.name;
    }
    EXPECT_TRUE(found) << scenario.name;
  }
}

}  // namespace
}  // namespace cimtlm::noc
