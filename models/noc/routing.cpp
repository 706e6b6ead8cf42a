#include "models/noc/routing.h"

namespace cimtlm::noc {

bool RoutingPolicy::eject_if_arrived(int router, int destination, RouteSet& set) const {
  if (topology_.router_of_node(destination) != router) return false;
  set.add(topology_.local_port_of_node(destination), 0, vcs_ - 1);
  return true;
}

namespace {

// Dateline VC class on a torus ring for a packet that started travelling along the ring at
// coordinate `start`, is now at `current` and moves in the + (plus = true) or - direction.
// Class 1 once the packet takes or has taken the wrap-around link between k-1 and 0.
bool past_dateline(int start, int current, int ring_size, bool plus) {
  if (plus) return current < start || current == ring_size - 1;
  return current > start || current == 0;
}

}  // namespace

RouteSet XyRouting::route(int router, int source, int destination) const {
  RouteSet set;
  if (eject_if_arrived(router, destination, set)) return set;
  const int here_x = topology_.x_of(router);
  const int here_y = topology_.y_of(router);
  const int source_router = topology_.router_of_node(source);
  const int dest_router = topology_.router_of_node(destination);
  const int dest_x = topology_.x_of(dest_router);
  const int dest_y = topology_.y_of(dest_router);

  const bool along_x = here_x != dest_x;
  const int here = along_x ? here_x : here_y;
  const int target = along_x ? dest_x : dest_y;
  const int ring_size = along_x ? topology_.cols() : topology_.rows();
  bool plus = target > here;
  if (!topology_.torus()) {
    set.add(along_x ? (plus ? kPlusX : kMinusX) : (plus ? kPlusY : kMinusY), 0, vcs_ - 1);
    return set;
  }
  // Shortest way round the ring; a tie goes the + way (consistent along the path, since the
  // remaining distance then shrinks below half the ring).
  const int distance_plus = (target - here + ring_size) % ring_size;
  plus = distance_plus <= ring_size - distance_plus;
  // The packet started along x at the source's x; along y at the source's y (x is done first).
  const int start = along_x ? topology_.x_of(source_router) : topology_.y_of(source_router);
  const int lower_half_end = vcs_ / 2 - 1;
  const int port = along_x ? (plus ? kPlusX : kMinusX) : (plus ? kPlusY : kMinusY);
  if (past_dateline(start, here, ring_size, plus)) {
    set.add(port, lower_half_end + 1, vcs_ - 1);
  } else {
    set.add(port, 0, lower_half_end);
  }
  return set;
}

RouteSet WestFirstRouting::route(int router, int /*source*/, int destination) const {
  RouteSet set;
  if (eject_if_arrived(router, destination, set)) return set;
  const int dest_router = topology_.router_of_node(destination);
  const int dx = topology_.x_of(dest_router) - topology_.x_of(router);
  const int dy = topology_.y_of(dest_router) - topology_.y_of(router);
  if (dx < 0) {  // all west hops first: no turn into the west direction ever
    set.add(kMinusX, 0, vcs_ - 1);
    return set;
  }
  if (dx > 0) set.add(kPlusX, 0, vcs_ - 1);
  if (dy > 0) set.add(kPlusY, 0, vcs_ - 1);
  if (dy < 0) set.add(kMinusY, 0, vcs_ - 1);
  return set;
}

RouteSet OddEvenRouting::route(int router, int source, int destination) const {
  RouteSet set;
  if (eject_if_arrived(router, destination, set)) return set;
  const int dest_router = topology_.router_of_node(destination);
  const int source_router = topology_.router_of_node(source);
  const int here_x = topology_.x_of(router);
  const int dest_x = topology_.x_of(dest_router);
  const int source_x = topology_.x_of(source_router);
  const int dx = dest_x - here_x;
  const int dy = topology_.y_of(dest_router) - topology_.y_of(router);
  const int vertical = dy > 0 ? kPlusY : kMinusY;
  const bool odd_column = (here_x % 2) == 1;
  if (dx == 0) {
    set.add(vertical, 0, vcs_ - 1);
  } else if (dx > 0) {  // eastbound
    if (dy == 0) {
      set.add(kPlusX, 0, vcs_ - 1);
    } else {
      // A north/south hop here would be followed by an east turn later, or comes from an east
      // hop (EN/ES turn): allowed in odd columns, or at the source column (no turn taken yet).
      if (odd_column || here_x == source_x) set.add(vertical, 0, vcs_ - 1);
      // Going east must leave a chance to turn north/south in an odd column before arriving:
      // forbidden only when the destination is the next column and that column is even.
      if ((dest_x % 2) == 1 || dx != 1) set.add(kPlusX, 0, vcs_ - 1);
    }
  } else {  // westbound
    set.add(kMinusX, 0, vcs_ - 1);
    // NW/SW turns are forbidden in odd columns.
    if (!odd_column && dy != 0) set.add(vertical, 0, vcs_ - 1);
  }
  return set;
}

std::shared_ptr<const RoutingPolicy> make_routing_policy(const NocParams& params) {
  const Topology topology(params);
  if (params.routing == "west_first") {
    return std::make_shared<WestFirstRouting>(topology, params.vcs);
  }
  if (params.routing == "odd_even") {
    return std::make_shared<OddEvenRouting>(topology, params.vcs);
  }
  return std::make_shared<XyRouting>(topology, params.vcs);
}

}  // namespace cimtlm::noc
