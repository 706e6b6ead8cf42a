#include "models/noc/traffic.h"

#include <cmath>

namespace cimtlm::noc {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang extension, silenced for -Wpedantic

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9e3779b97f4a7c15ULL + b;
  return splitmix64(x);
}

Rng::Rng(uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

uint64_t Rng::below(uint64_t bound) {
  // Lemire's multiply-shift; the bias for network-sized bounds is below 2^-50.
  const Uint128 product = static_cast<Uint128>(next()) * bound;
  return static_cast<uint64_t>(product >> 64);
}

uint64_t Rng::geometric_failures(double p) {
  if (p >= 1.0) return 0;
  const double u = 1.0 - uniform();  // (0, 1]
  return static_cast<uint64_t>(std::floor(std::log(u) / std::log1p(-p)));
}

std::string TrafficPattern::parse(const std::string& name, TrafficKind& kind) {
  if (name == "uniform") {
    kind = TrafficKind::Uniform;
  } else if (name == "transpose") {
    kind = TrafficKind::Transpose;
  } else if (name == "bitcomp") {
    kind = TrafficKind::BitComplement;
  } else if (name == "hotspot") {
    kind = TrafficKind::Hotspot;
  } else {
    return "unknown traffic \"" + name + "\" (uniform, transpose, bitcomp or hotspot)";
  }
  return "";
}

TrafficPattern::TrafficPattern(TrafficKind kind, const Topology& topology, int hotspot_node,
                               double hotspot_fraction)
    : kind_(kind),
      topology_(topology),
      hotspot_node_(hotspot_node >= 0
                        ? hotspot_node
                        // Default hot spot: the first core of the router nearest the centre.
                        : topology.router_at(topology.cols() / 2, topology.rows() / 2) *
                              topology.concentration()),
      hotspot_fraction_(hotspot_fraction) {}

std::string TrafficPattern::check() const {
  if (kind_ == TrafficKind::Transpose && topology_.rows() != topology_.cols()) {
    return "transpose traffic needs a square network (rows == cols)";
  }
  if (kind_ == TrafficKind::Hotspot) {
    if (hotspot_node_ < 0 || hotspot_node_ >= topology_.nodes()) return "hotspot node out of range";
    if (!(hotspot_fraction_ >= 0.0 && hotspot_fraction_ <= 1.0)) {
      return "hotspot fraction must be in [0, 1]";
    }
  }
  return "";
}

int TrafficPattern::destination(int source, Rng& rng) const {
  const int nodes = topology_.nodes();
  const int concentration = topology_.concentration();
  const int router = topology_.router_of_node(source);
  const int local = source % concentration;
  const int x = topology_.x_of(router);
  const int y = topology_.y_of(router);
  switch (kind_) {
    case TrafficKind::Uniform:
      return static_cast<int>(rng.below(static_cast<uint64_t>(nodes)));
    case TrafficKind::Transpose:
      return topology_.router_at(y, x) * concentration + local;
    case TrafficKind::BitComplement:
      return topology_.router_at(topology_.cols() - 1 - x, topology_.rows() - 1 - y) *
                 concentration +
             (concentration - 1 - local);
    case TrafficKind::Hotspot:
      if (rng.uniform() < hotspot_fraction_) return hotspot_node_;
      return static_cast<int>(rng.below(static_cast<uint64_t>(nodes)));
  }
  return source;
}

}  // namespace cimtlm::noc
