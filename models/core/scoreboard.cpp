#include "models/core/scoreboard.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace cimtlm::core {

using sc_core::sc_time;

Scoreboard::Map::const_iterator Scoreboard::first_candidate(Addr begin) const {
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto previous = std::prev(it);
    if (previous->second.end > begin) return previous;
  }
  return it;
}

sc_time Scoreboard::ready_time(Addr begin, uint64_t bytes) const {
  const Addr end = begin + bytes;
  sc_time ready = sc_core::SC_ZERO_TIME;
  for (auto it = first_candidate(begin);
       it != ranges_.end() && it->first < std::max(end, begin + 1); ++it) {
    // Overlap as intervals; a zero-byte read overlaps only a range strictly containing it.
    const bool overlaps = bytes > 0 ? it->first < end : it->first < begin;
    if (overlaps && it->second.end > begin) ready = std::max(ready, it->second.ready);
  }
  return ready;
}

void Scoreboard::mark_written(Addr begin, uint64_t bytes, const sc_time& ready,
                              const sc_time& forget_before) {
  if (bytes == 0) return;
  const Addr end = begin + bytes;
  // The new range's pieces: gaps get `ready`, overlaps with older ranges the later time; the
  // older ranges' parts outside [begin, end) stay as they were.
  std::vector<std::pair<Addr, Range>>& pieces = pieces_;
  pieces.clear();
  Addr cursor = begin;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin() && std::prev(it)->second.end > begin) --it;
  while (it != ranges_.end() && it->first < end) {
    const Addr old_begin = it->first;
    const Range old = it->second;
    if (old_begin < begin) pieces.push_back({old_begin, {begin, old.ready}});
    if (old.end > end) pieces.push_back({end, {old.end, old.ready}});
    const Addr overlap_begin = std::max(old_begin, begin);
    if (cursor < overlap_begin) pieces.push_back({cursor, {overlap_begin, ready}});
    const Addr overlap_end = std::min(old.end, end);
    pieces.push_back({overlap_begin, {overlap_end, std::max(old.ready, ready)}});
    cursor = overlap_end;
    it = erase(it);
  }
  if (cursor < end) pieces.push_back({cursor, {end, ready}});
  for (const auto& piece : pieces) insert(piece.first, piece.second);
  if (ranges_.size() > sweep_at_) sweep(forget_before);
}

Scoreboard::Map::iterator Scoreboard::erase(Map::iterator it) {
  auto next = std::next(it);
  spare_.push_back(ranges_.extract(it));
  return next;
}

void Scoreboard::insert(Addr begin, const Range& range) {
  if (spare_.empty()) {
    ranges_.emplace(begin, range);
    return;
  }
  Map::node_type node = std::move(spare_.back());
  spare_.pop_back();
  node.key() = begin;
  node.mapped() = range;
  ranges_.insert(std::move(node));
}

void Scoreboard::sweep(const sc_time& forget_before) {
  for (auto it = ranges_.begin(); it != ranges_.end();) {
    it = it->second.ready <= forget_before ? erase(it) : std::next(it);
  }
  // Amortised: the next sweep when the table has doubled again.
  sweep_at_ = std::max(kMinSweep, 2 * ranges_.size());
}

}  // namespace cimtlm::core
