// The controller's scoreboard of written address ranges: when each byte range that a command
// wrote will hold its data, so that a later command reading it starts no earlier.
//
// Exact and bounded by the outstanding work: ranges are kept disjoint in an ordered map, a write
// over part of an older range splits it (each piece keeps the later ready time), and ranges ready
// before the controller's issue time are forgotten (no command starts before it). Nothing is
// ever dropped to keep the table small, so a reader can never start early.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <systemc>
#include <utility>
#include <vector>

namespace cimtlm::core {

class Scoreboard {
 public:
  using Addr = uint64_t;

  // The latest ready time of any write overlapping [begin, begin + bytes) (zero when none). A
  // zero-byte read at `begin` depends on a range that strictly contains `begin`.
  sc_core::sc_time ready_time(Addr begin, uint64_t bytes) const;
  // Records that [begin, begin + bytes) holds its data at `ready`. Ranges ready at or before
  // `forget_before` (the issue time, which only grows) may be forgotten.
  void mark_written(Addr begin, uint64_t bytes, const sc_core::sc_time& ready,
                    const sc_core::sc_time& forget_before);
  size_t ranges() const { return ranges_.size(); }

 private:
  struct Range {
    Addr end;
    sc_core::sc_time ready;
  };
  using Map = std::map<Addr, Range>;
  // The first range that may overlap [begin, ...): the one containing `begin`, else the next.
  Map::const_iterator first_candidate(Addr begin) const;
  void sweep(const sc_core::sc_time& forget_before);
  // Map nodes are recycled (C++17 node handles): a write allocates nothing once the table has
  // reached its working size.
  Map::iterator erase(Map::iterator it);
  void insert(Addr begin, const Range& range);

  Map ranges_;                                  // begin -> (end, ready), disjoint
  std::vector<Map::node_type> spare_;           // erased nodes, for reuse
  std::vector<std::pair<Addr, Range>> pieces_;  // mark_written's new ranges, reused
  size_t sweep_at_ = kMinSweep;
  static constexpr size_t kMinSweep = 64;
};

}  // namespace cimtlm::core
