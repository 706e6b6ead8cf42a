// Routing policies behind one interface (STYLE.md item 6).
//
// A policy returns the route set of a head flit at a router: the output ports it may take, each
// with the range of output VCs it may be assigned there (BookSim's OutputSet). Deterministic
// policies return one port; the minimal adaptive turn models return up to two, and the VC
// allocator picks among them. All policies are minimal and deadlock-free as configured:
// - XyRouting (mesh): dimension order, x then y, all VCs.
// - XyRouting (torus): dimension order on the shortest way round each ring, with two dateline VC
//   classes per ring (Dally & Seitz 1987): a packet uses the lower half of the VCs until it takes
//   the wrap-around link of the ring it is on, the upper half from then on. Needs >= 2 VCs.
// - WestFirstRouting (mesh): west hops first, then adaptive among east/north/south (Glass & Ni).
// - OddEvenRouting (mesh): Chiu's odd-even turn model (no EN/ES turns in even columns, no NW/SW
//   turns in odd columns).
#pragma once

#include <array>
#include <memory>
#include <string>

#include "models/noc/topology.h"

namespace cimtlm::noc {

struct RouteChoice {
  int port = -1;
  int vc_begin = 0;  // inclusive
  int vc_end = 0;    // inclusive
};

struct RouteSet {
  std::array<RouteChoice, 2> choices{};
  int size = 0;

  void add(int port, int vc_begin, int vc_end) { choices[size++] = {port, vc_begin, vc_end}; }
};

class RoutingPolicy {
 public:
  explicit RoutingPolicy(const Topology& topology, int vcs) : topology_(topology), vcs_(vcs) {}
  virtual ~RoutingPolicy() = default;

  // Route set at `router` for a packet from node `source` to node `destination`.
  virtual RouteSet route(int router, int source, int destination) const = 0;
  virtual const char* name() const = 0;

 protected:
  // At the destination router: the local port of the destination core, any VC.
  bool eject_if_arrived(int router, int destination, RouteSet& set) const;

  Topology topology_;
  int vcs_;
};

class XyRouting : public RoutingPolicy {
 public:
  using RoutingPolicy::RoutingPolicy;
  RouteSet route(int router, int source, int destination) const override;
  const char* name() const override { return "xy"; }
};

class WestFirstRouting : public RoutingPolicy {
 public:
  using RoutingPolicy::RoutingPolicy;
  RouteSet route(int router, int source, int destination) const override;
  const char* name() const override { return "west_first"; }
};

class OddEvenRouting : public RoutingPolicy {
 public:
  using RoutingPolicy::RoutingPolicy;
  RouteSet route(int router, int source, int destination) const override;
  const char* name() const override { return "odd_even"; }
};

// Builds the policy named by params.routing (params must have passed validate()).
std::shared_ptr<const RoutingPolicy> make_routing_policy(const NocParams& params);

}  // namespace cimtlm::noc
