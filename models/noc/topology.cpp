#include "models/noc/topology.h"

#include <cstdlib>

namespace cimtlm::noc {

Topology::Topology(const NocParams& params)
    : torus_(params.topology == "torus"),
      rows_(params.rows),
      cols_(params.cols),
      concentration_(params.concentration) {}

int Topology::neighbor(int router, int direction) const {
  int x = x_of(router);
  int y = y_of(router);
  switch (direction) {
    case kPlusX: x += 1; break;
    case kMinusX: x -= 1; break;
    case kPlusY: y += 1; break;
    case kMinusY: y -= 1; break;
    default: return -1;
  }
  if (torus_) {
    x = (x + cols_) % cols_;
    y = (y + rows_) % rows_;
  } else if (x < 0 || x >= cols_ || y < 0 || y >= rows_) {
    return -1;
  }
  const int other = router_at(x, y);
  // A 1-wide torus dimension would link a router to itself; there is no such link.
  return other == router ? -1 : other;
}

bool Topology::is_wrap_link(int router, int direction) const {
  if (!torus_) return false;
  switch (direction) {
    case kPlusX: return x_of(router) == cols_ - 1;
    case kMinusX: return x_of(router) == 0;
    case kPlusY: return y_of(router) == rows_ - 1;
    case kMinusY: return y_of(router) == 0;
    default: return false;
  }
}

int Topology::link_count() const {
  int count = 0;
  for (int r = 0; r < routers(); ++r) {
    for (int d = 0; d < kNetworkPorts; ++d) {
      if (neighbor(r, d) >= 0) ++count;
    }
  }
  return count;
}

int Topology::hops(int source_node, int destination_node) const {
  const int a = router_of_node(source_node);
  const int b = router_of_node(destination_node);
  int dx = std::abs(x_of(a) - x_of(b));
  int dy = std::abs(y_of(a) - y_of(b));
  if (torus_) {
    if (cols_ - dx < dx) dx = cols_ - dx;
    if (rows_ - dy < dy) dy = rows_ - dy;
  }
  return dx + dy;
}

}  // namespace cimtlm::noc
