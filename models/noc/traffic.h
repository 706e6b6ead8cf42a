// Synthetic traffic for validation: destination patterns and Bernoulli injection.
//
// Patterns (nodes are numbered router * concentration + local core; router (x, y) = y*cols + x):
// - uniform: every node, the source included, with equal probability (BookSim's "uniform").
// - transpose: router (x, y) sends to router (y, x), same local core; needs rows == cols.
// - bitcomp: router (x, y) sends to (cols-1-x, rows-1-y), local core c to C-1-c; on power-of-two
//   sizes this is the bitwise complement of the node number.
// - hotspot: with probability `hotspot_fraction` to the hotspot node, otherwise uniform.
// Injection is Bernoulli: each node creates a packet in a cycle with probability
// rate / packet_flits (rate in flits/node/cycle), sampled as geometric gaps between packets.
#pragma once

#include <cstdint>
#include <string>

#include "models/noc/topology.h"

namespace cimtlm::noc {

// xoshiro256** (Blackman & Vigna), seeded through splitmix64: fast and identical on every
// platform, so sweeps are reproducible from their seed.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();                     // [0, 1)
  uint64_t below(uint64_t bound);       // [0, bound)
  uint64_t geometric_failures(double p);  // failures before the first success, P(success) = p

 private:
  uint64_t state_[4];
};

uint64_t mix_seed(uint64_t a, uint64_t b);

enum class TrafficKind { Uniform, Transpose, BitComplement, Hotspot };

class TrafficPattern {
 public:
  // Empty string on success; otherwise why the pattern does not fit the topology.
  static std::string parse(const std::string& name, TrafficKind& kind);

  TrafficPattern(TrafficKind kind, const Topology& topology, int hotspot_node,
                 double hotspot_fraction);
  std::string check() const;  // empty when usable on this topology
  int destination(int source, Rng& rng) const;

 private:
  TrafficKind kind_;
  Topology topology_;
  int hotspot_node_;
  double hotspot_fraction_;
};

}  // namespace cimtlm::noc
