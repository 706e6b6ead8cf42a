// 2D mesh / torus geometry: router coordinates, port numbering, neighbours, links.
//
// Router r sits at column x = r % cols, row y = r / cols (BookSim's k-ary 2-cube numbering, where
// dimension 0 is x). Port numbering matches BookSim's KNCube router: port 2*d is the "+" direction
// of dimension d, port 2*d+1 the "-" direction, then one local port per concentrated core.
// Core (network node) n is attached to router n / concentration, local port 4 + n % concentration.
#pragma once

#include "models/noc/noc_params.h"

namespace cimtlm::noc {

enum Direction : int { kPlusX = 0, kMinusX = 1, kPlusY = 2, kMinusY = 3 };
constexpr int kNetworkPorts = 4;  // router-to-router ports per router

class Topology {
 public:
  explicit Topology(const NocParams& params);

  bool torus() const { return torus_; }
  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int routers() const { return rows_ * cols_; }
  int concentration() const { return concentration_; }
  int nodes() const { return routers() * concentration_; }
  int ports() const { return kNetworkPorts + concentration_; }

  int x_of(int router) const { return router % cols_; }
  int y_of(int router) const { return router / cols_; }
  int router_at(int x, int y) const { return y * cols_ + x; }

  int router_of_node(int node) const { return node / concentration_; }
  int local_port_of_node(int node) const { return kNetworkPorts + node % concentration_; }
  int node_at(int router, int local_port) const {
    return router * concentration_ + (local_port - kNetworkPorts);
  }
  static bool is_local_port(int port) { return port >= kNetworkPorts; }

  // Router on the other end of a network port, or -1 where the mesh has no link.
  int neighbor(int router, int direction) const;
  // The input port at which a flit sent out of `direction` arrives: the opposite direction.
  static int opposite(int direction) { return direction ^ 1; }
  // Whether the link out of `direction` is a torus wrap-around link (the dateline).
  bool is_wrap_link(int router, int direction) const;

  // Directed links are numbered router * 4 + direction (links that do not exist stay unused).
  int link_slots() const { return routers() * kNetworkPorts; }
  int link_count() const;  // links that exist
  // Minimal router-to-router hops between two nodes (zero-load path length).
  int hops(int source_node, int destination_node) const;

 private:
  bool torus_;
  int rows_;
  int cols_;
  int concentration_;
};

}  // namespace cimtlm::noc
