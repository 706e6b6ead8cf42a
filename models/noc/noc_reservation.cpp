// The Noc module's path for `noc.model: reservation` (see noc.h): sends are reserved in the
// plain C++ ReservationNetwork, and the engine thread only waits for and delivers the completed
// transfers in arrival order.
#include <limits>
#include <utility>

#include "models/noc/noc.h"

namespace cimtlm::noc {

void Noc::start_reserved(const Packet& first, uint64_t packets, int last_flits) {
  reserved_[first.tag] = ReservedTransfer{};
  reservation_->submit_train(first, packets, last_flits);
  // Reserved by the engine thread in the next delta cycle, together with the other sends made at
  // this time (so their order does not matter).
  work_event_.notify(sc_core::SC_ZERO_TIME);
}

void Noc::resolve_reserved() {
  if (!reservation_->has_submitted()) return;
  reserved_batch_.clear();
  reservation_->resolve(reserved_batch_);
  for (const Delivery& delivery : reserved_batch_) {
    ReservedTransfer& reserved = reserved_.at(delivery.tag);
    reserved.arrival_cycle = std::max(reserved.arrival_cycle, delivery.arrival_cycle);
    ++reserved.packets;
    reserved.flits += static_cast<uint64_t>(delivery.flits);
    reserved.latency_sum += delivery.latency_cycles();
    reserved.max_latency = std::max(reserved.max_latency, delivery.latency_cycles());
    if (reserved.packets == transfers_.at(delivery.tag).packets_left) {
      completions_.push({reserved.arrival_cycle, delivery.tag});
    }
  }
}

void Noc::deliver_reserved(uint64_t cycle) {
  committed_ = cycle + 1;
  // Every later send is created at committed_ or after: older reservations cannot matter.
  reservation_->release_before(committed_);
  commit_trace(committed_);
  std::vector<std::pair<Transfer, uint64_t>> completed;
  while (!completions_.empty() && completions_.top().first == cycle) {
    const uint64_t id = completions_.top().second;  // ties: by transfer id, i.e. send order
    completions_.pop();
    const auto reserved = reserved_.find(id);
    delivered_packets_ += reserved->second.packets;
    delivered_flits_ += reserved->second.flits;
    delivered_latency_sum_ += reserved->second.latency_sum;
    delivered_max_latency_ = std::max(delivered_max_latency_, reserved->second.max_latency);
    reserved_.erase(reserved);
    const auto transfer = transfers_.find(id);
    completed.emplace_back(std::move(transfer->second), cycle);
    transfers_.erase(transfer);
  }
  deliver_completed(completed);
}

void Noc::run_reserved() {
  uint64_t target_cycle = std::numeric_limits<uint64_t>::max();
  bool settled = false;
  for (;;) {
    resolve_reserved();
    if (completions_.empty()) {
      update_statistics(sc_core::sc_time_stamp(), true);
      sc_core::wait(work_event_);
      continue;
    }
    const uint64_t cycle = completions_.top().first;
    if (cycle != target_cycle) {
      target_cycle = cycle;
      settled = false;
    }
    // A send while waiting may complete earlier.
    if (!ready_to_deliver(cycle, settled)) continue;
    deliver_reserved(cycle);
    target_cycle = std::numeric_limits<uint64_t>::max();
  }
}

}  // namespace cimtlm::noc
